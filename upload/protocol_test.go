package upload_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// rawConn sends requests written byte for byte over one connection and reads the answers.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, s *srv) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.ts.URL, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// roundTrip writes head (lines joined with CRLF, ending with an empty line) and body, and reads
// the answer.
func (rc *rawConn) roundTrip(head []string, body []byte) reply {
	rc.t.Helper()
	_, err := io.WriteString(rc.c, strings.Join(head, "\r\n")+"\r\n\r\n")
	require.NoError(rc.t, err)
	_, err = rc.c.Write(body)
	require.NoError(rc.t, err)
	resp, err := http.ReadResponse(rc.br, nil)
	require.NoError(rc.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(rc.t, err)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var sessionIDForm = regexp.MustCompile(`^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$`)

// TestSuccessfulUploadAsInMCBUP replays the packets of [MC-BUP] section 4.1 (a successful
// upload of rfc2119.txt to /upload/2000mb-rfc2119.txt) byte for byte, on one keep-alive
// connection, and checks each Ack against the example's.
func TestSuccessfulUploadAsInMCBUP(t *testing.T) {
	s := newSrv(t, upload.Options{})
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "upload"), 0o755))
	rc := dialRaw(t, s)
	host := strings.TrimPrefix(s.ts.URL, "http://")
	data := pattern(4892, 'R')
	final := filepath.Join(s.dir, "upload", "2000mb-rfc2119.txt")

	r := rc.roundTrip([]string{
		"BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1",
		"Accept: */*",
		"BITS-Packet-Type: Create-Session",
		"BITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}",
		"Content-Name: rfc2119.txt",
		"User-Agent: Microsoft BITS/6.7",
		"Host: " + host,
		"Content-Length: 0",
		"Connection: Keep-Alive",
	}, nil)
	assertOK(t, r)
	assert.Equal(t, "{7df0354d-249b-430f-820d-3d2a9bef4931}", r.Header.Get("BITS-Protocol"))
	id := r.Header.Get("BITS-Session-Id")
	assert.Regexp(t, sessionIDForm, id)
	assert.Equal(t, "0", r.Header.Get("Content-Length"))
	assert.True(t, strings.EqualFold(r.Header.Get("Accept-Encoding"), "identity"))
	assert.Empty(t, r.Body)

	r = rc.roundTrip([]string{
		"BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1",
		"Accept: */*",
		"BITS-Packet-Type: Fragment",
		"BITS-Session-Id: " + id,
		"Content-Name: rfc2119.txt",
		"Content-Range: bytes 0-4891/4892",
		"User-Agent: Microsoft BITS/6.7",
		"Host: " + host,
		"Content-Length: 4892",
		"Connection: Keep-Alive",
	}, data)
	assertOK(t, r)
	assert.Equal(t, "4892", r.Header.Get("BITS-Received-Content-Range"))
	assert.Equal(t, id, r.Header.Get("BITS-Session-Id"))
	assert.Empty(t, r.Header.Get("BITS-Reply-URL"), "a plain upload has no reply")
	assert.Nil(t, fileContent(t, final), "nothing appears under the name before Close-Session")

	r = rc.roundTrip([]string{
		"BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1",
		"Accept: */*",
		"BITS-Packet-Type: Close-Session",
		"BITS-Session-Id: " + id,
		"Content-Name: rfc2119.txt",
		"User-Agent: Microsoft BITS/6.7",
		"Host: " + host,
		"Content-Length: 0",
		"Connection: Keep-Alive",
	}, nil)
	assertOK(t, r)
	assert.Equal(t, data, fileContent(t, final))
	assert.NoDirExists(t, s.sessionDir(id), "Close-Session frees the session's data")
	assert.Empty(t, s.h.Sessions())
}

// TestPingAndFragments drives a session with a Ping first and several fragments, then checks
// what Close-Session publishes.
func TestPingAndFragments(t *testing.T) {
	s := newSrv(t, upload.Options{})
	r := s.do("/a.bin", bup.Ping, nil)
	assertOK(t, r)
	assert.Empty(t, r.Header.Get(bup.HeaderSessionID))
	assert.Equal(t, "0", r.Header.Get("Content-Length"))

	data := pattern(1000, 1)
	id := s.create("/a.bin")
	s.upload("/a.bin", id, data, 128)
	info := s.h.Sessions()
	require.Len(t, info, 1)
	assert.Equal(t, upload.SessionInfo{ID: id, Name: "a.bin", User: "127.0.0.1", Received: 1000, Total: 1000,
		Complete: true, LastActive: info[0].LastActive}, info[0])
	assertOK(t, s.closeSession("/a.bin", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(s.dir, "a.bin")))
}

// TestPacketTypesIgnoreCase accepts the upper-case packet names of [MC-BUP].
func TestPacketTypesIgnoreCase(t *testing.T) {
	s := newSrv(t, upload.Options{})
	assertOK(t, s.do("/x", "PING", nil))
	r := s.do("/x", "CREATE-SESSION", nil, bup.HeaderSupportedProtocols, strings.ToUpper(bup.Protocol))
	assertOK(t, r)
	id := r.Header.Get(bup.HeaderSessionID)
	assertOK(t, s.do("/x", "FRAGMENT", []byte("abc"), bup.HeaderSessionID, strings.ToLower(id), bup.HeaderContentRange, "bytes 0-2/3"))
	assertOK(t, s.do("/x", "CLOSE-SESSION", nil, bup.HeaderSessionID, id))
	assert.Equal(t, []byte("abc"), fileContent(t, filepath.Join(s.dir, "x")))
}

// TestCancelSession removes the session's data; the upload never appears and the session is
// gone for later packets.
func TestCancelSession(t *testing.T) {
	s := newSrv(t, upload.Options{})
	data := pattern(300, 2)
	id := s.create("/c.bin")
	s.fragment("/c.bin", id, data, 0, 99)
	require.DirExists(t, s.sessionDir(id))
	r := s.do("/c.bin", bup.CancelSession, nil, bup.HeaderSessionID, id)
	assertOK(t, r)
	assert.Equal(t, id, r.Header.Get(bup.HeaderSessionID))
	assert.NoDirExists(t, s.sessionDir(id))
	assertFailure(t, s.fragment("/c.bin", id, data, 100, 299), http.StatusInternalServerError,
		hresult.BG_E_SESSION_NOT_FOUND, bup.ContextRemoteFile)
	assertFailure(t, s.closeSession("/c.bin", id), http.StatusInternalServerError,
		hresult.BG_E_SESSION_NOT_FOUND, bup.ContextRemoteFile)
	assert.NoFileExists(t, filepath.Join(s.dir, "c.bin"))
	assert.Empty(t, s.h.Sessions())
}

// TestCloseBeforeTheLastFragment deletes the partial upload and publishes nothing.
func TestCloseBeforeTheLastFragment(t *testing.T) {
	s := newSrv(t, upload.Options{})
	data := pattern(300, 3)
	id := s.create("/p.bin")
	s.fragment("/p.bin", id, data, 0, 99)
	assertOK(t, s.closeSession("/p.bin", id))
	assert.NoFileExists(t, filepath.Join(s.dir, "p.bin"))
	assert.NoDirExists(t, s.sessionDir(id))
}

// TestEmptyUpload sends the empty file as one fragment "bytes */0".
func TestEmptyUpload(t *testing.T) {
	s := newSrv(t, upload.Options{})
	id := s.create("/empty")
	r := s.do("/empty", bup.Fragment, nil, bup.HeaderSessionID, id, bup.HeaderContentRange, "bytes */0")
	assertOK(t, r)
	assert.Equal(t, uint64(0), r.next(t))
	assertOK(t, s.closeSession("/empty", id))
	b := fileContent(t, filepath.Join(s.dir, "empty"))
	assert.NotNil(t, b)
	assert.Empty(t, b)
}

// TestOverlappingFragment writes only the bytes that are new: the overlapping part of a
// fragment is not written again, as the "Fragment" page says (its example: 0-100 then 50-150
// writes 101-150 of the second).
func TestOverlappingFragment(t *testing.T) {
	s := newSrv(t, upload.Options{})
	first := pattern(200, 10)
	second := pattern(200, 99) // other bytes at the same offsets
	id := s.create("/o.bin")
	r := s.fragment("/o.bin", id, first, 0, 100)
	assertOK(t, r)
	assert.Equal(t, uint64(101), r.next(t))
	r = s.fragment("/o.bin", id, second, 50, 150)
	assertOK(t, r)
	assert.Equal(t, uint64(151), r.next(t))
	// A fragment wholly received already is acknowledged and changes nothing.
	r = s.fragment("/o.bin", id, second, 0, 30)
	assertOK(t, r)
	assert.Equal(t, uint64(151), r.next(t))
	r = s.fragment("/o.bin", id, second, 151, 199)
	assertOK(t, r)
	assertOK(t, s.closeSession("/o.bin", id))
	want := append(append([]byte{}, first[:101]...), second[101:]...)
	assert.Equal(t, want, fileContent(t, filepath.Join(s.dir, "o.bin")))
}

// TestWrongOffset answers a fragment that leaves a gap 416 with the offset to send next, and
// the upload goes on from there.
func TestWrongOffset(t *testing.T) {
	s := newSrv(t, upload.Options{})
	data := pattern(300, 4)
	id := s.create("/w.bin")
	s.fragment("/w.bin", id, data, 0, 127)
	r := s.fragment("/w.bin", id, data, 200, 299)
	assertFailure(t, r, http.StatusRequestedRangeNotSatisfiable, hresult.HTTP(416), bup.ContextRemoteFile)
	assert.Equal(t, uint64(128), r.next(t))
	assert.Equal(t, id, r.Header.Get(bup.HeaderSessionID))
	assertOK(t, s.fragment("/w.bin", id, data, 128, 299))
	assertOK(t, s.closeSession("/w.bin", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(s.dir, "w.bin")))
}

// TestBadPackets answers every malformed or unexpected packet as [MC-BUP] and the packet
// pages say, in protocol form, and leaves the session usable.
func TestBadPackets(t *testing.T) {
	s := newSrv(t, upload.Options{})
	data := pattern(100, 5)
	id := s.create("/b.bin")
	assertOK(t, s.fragment("/b.bin", id, data, 0, 9))
	frag := func(cr string, body []byte, kv ...string) func() reply {
		return func() reply {
			return s.do("/b.bin", bup.Fragment, body, append([]string{bup.HeaderSessionID, id, bup.HeaderContentRange, cr}, kv...)...)
		}
	}
	raw := func(method string, kv ...string) func() reply {
		return func() reply {
			req, err := http.NewRequest(method, s.ts.URL+"/b.bin", nil)
			require.NoError(t, err)
			for i := 0; i < len(kv); i += 2 {
				req.Header.Set(kv[i], kv[i+1])
			}
			return send(t, s.ts.Client(), req)
		}
	}
	chunked := func() reply {
		req, err := http.NewRequest(bup.Method, s.ts.URL+"/b.bin", io.MultiReader(strings.NewReader("0123456789")))
		require.NoError(t, err)
		req.Header.Set(bup.HeaderPacketType, "Fragment")
		req.Header.Set(bup.HeaderSessionID, id)
		req.Header.Set(bup.HeaderContentRange, "bytes 10-19/100")
		return send(t, s.ts.Client(), req)
	}
	long := strings.Repeat("x", bup.MaxHeaderValueLen+1)
	otherID := "{00000000-0000-4000-8000-000000000000}"
	invalid := func(name string, do func() reply) struct {
		name   string
		do     func() reply
		status int
		code   hresult.Code
	} {
		return struct {
			name   string
			do     func() reply
			status int
			code   hresult.Code
		}{name, do, http.StatusBadRequest, hresult.E_INVALIDARG}
	}
	tests := []struct {
		name   string
		do     func() reply
		status int
		code   hresult.Code
	}{
		invalid("no packet type", func() reply { return s.do("/b.bin", "", nil) }),
		invalid("unknown packet type", func() reply { return s.do("/b.bin", "Upload", nil) }),
		invalid("an Ack as request", func() reply { return s.do("/b.bin", bup.Ack, nil) }),
		invalid("header over 4 KB", func() reply { return s.do("/b.bin", bup.Ping, nil, "X-Long", long) }),
		invalid("Create-Session without protocols", func() reply { return s.do("/n.bin", bup.CreateSession, nil) }),
		invalid("Create-Session with unknown protocols", func() reply {
			return s.do("/n.bin", bup.CreateSession, nil, bup.HeaderSupportedProtocols, "{11111111-2222-3333-4444-555555555555}")
		}),
		invalid("Create-Session with a body", func() reply {
			return s.do("/n.bin", bup.CreateSession, []byte("x"), bup.HeaderSupportedProtocols, bup.Protocol)
		}),
		invalid("Close-Session with a body", func() reply {
			return s.do("/b.bin", bup.CloseSession, []byte("x"), bup.HeaderSessionID, id)
		}),
		invalid("no Content-Range", func() reply {
			return s.do("/b.bin", bup.Fragment, data[10:20], bup.HeaderSessionID, id)
		}),
		invalid("Content-Range with another unit", frag("items 10-19/100", data[10:20])),
		invalid("Content-Range without total", frag("bytes 10-19", data[10:20])),
		invalid("Content-Range with unknown total", frag("bytes 10-19/*", data[10:20])),
		invalid("Content-Range backwards", frag("bytes 19-10/100", data[10:20])),
		invalid("Content-Range past the total", frag("bytes 10-100/100", data[10:20])),
		invalid("Content-Range with spaces", frag("bytes 10 - 19/100", data[10:20])),
		invalid("Content-Range not a number", frag("bytes ten-19/100", data[10:20])),
		invalid("Content-Length not the range's", frag("bytes 10-19/100", data[10:25])),
		invalid("another total length", frag("bytes 10-19/101", data[10:20])),
		invalid("an encoded fragment", frag("bytes 10-19/100", data[10:20], "Content-Encoding", "gzip")),
		invalid("a chunked fragment", chunked),
		{"a gap", frag("bytes 20-29/100", data[20:30]), http.StatusRequestedRangeNotSatisfiable, hresult.HTTP(416)},
		{"a good fragment after all that", func() reply {
			return s.do("/b.bin", bup.Fragment, data[10:20], bup.HeaderSessionID, id, bup.HeaderContentRange, "bytes 10-19/100")
		}, http.StatusOK, 0},
		{"unknown session", func() reply {
			return s.do("/b.bin", bup.Fragment, data[10:20], bup.HeaderSessionID, otherID, bup.HeaderContentRange, "bytes 10-19/100")
		}, http.StatusInternalServerError, hresult.BG_E_SESSION_NOT_FOUND},
		{"session id not a GUID", func() reply {
			return s.do("/b.bin", bup.CloseSession, nil, bup.HeaderSessionID, "../../etc")
		}, http.StatusInternalServerError, hresult.BG_E_SESSION_NOT_FOUND},
		{"no session id", func() reply { return s.do("/b.bin", bup.CancelSession, nil) },
			http.StatusInternalServerError, hresult.BG_E_SESSION_NOT_FOUND},
		{"another method", raw(http.MethodPut, bup.HeaderPacketType, "Ping"), http.StatusMethodNotAllowed, hresult.E_INVALIDARG},
		{"a POST", raw(http.MethodPost, bup.HeaderPacketType, "Ping"), http.StatusMethodNotAllowed, hresult.E_INVALIDARG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if tt.code == 0 {
				assertOK(t, r) // the session still works after the bad packets before
				return
			}
			assertFailure(t, r, tt.status, tt.code, bup.ContextRemoteFile)
		})
	}
	assert.Equal(t, []upload.SessionInfo{{ID: id, Name: "b.bin", User: "127.0.0.1", Received: 20, Total: 100,
		LastActive: s.h.Sessions()[0].LastActive}}, s.h.Sessions())
	assertOK(t, s.fragment("/b.bin", id, data, 20, 99))
	assertOK(t, s.closeSession("/b.bin", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(s.dir, "b.bin")))
}

// TestMethodNotAllowedNamesTheMethods says which methods the handler takes.
func TestMethodNotAllowedNamesTheMethods(t *testing.T) {
	s := newSrv(t, upload.Options{})
	req, err := http.NewRequest(http.MethodDelete, s.ts.URL+"/x", nil)
	require.NoError(t, err)
	r := send(t, s.ts.Client(), req)
	assert.Equal(t, http.StatusMethodNotAllowed, r.Status)
	assert.Equal(t, "BITS_POST, GET, HEAD", r.Header.Get("Allow"))
	assertFailure(t, r, http.StatusMethodNotAllowed, hresult.E_INVALIDARG, bup.ContextRemoteFile)
}
