package transfer_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

func TestFetchWholeFile(t *testing.T) {
	content := pattern(300_000, 1)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{ChunkSize: 64 << 10})

	res := fetch(t, c, wholeSpec(urlOf(srv, "f.bin")), transfer.Options{}, nil)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))
	assert.Equal(t, 1, res.obs.connects())

	reports := res.obs.all()
	checkMonotonic(t, reports)
	// One report when the size is known, then one per chunk: 64 KiB × 4 + the rest.
	require.Len(t, reports, 1+5)
	assert.Equal(t, uint64(0), reports[0].Transferred)
	for _, p := range reports {
		assert.Equal(t, uint64(len(content)), p.Total)
		assert.NotEmpty(t, p.Validator)
		assert.Empty(t, p.URL)
	}
	assert.Equal(t, uint64(64<<10), reports[1].Transferred)
	assert.Equal(t, uint64(len(content)), res.obs.last().Transferred)

	log := o.log()
	require.Len(t, log, 2)
	assert.Equal(t, http.MethodHead, log[0].Method)
	assert.Equal(t, http.MethodGet, log[1].Method)
	assert.Equal(t, "bytes=0-299999", log[1].Range)
}

func TestFetchEmptyFile(t *testing.T) {
	o := newOrigin(nil)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{})

	res := fetch(t, c, wholeSpec(urlOf(srv, "empty")), transfer.Options{}, nil)
	require.NoError(t, res.err)
	assert.Empty(t, contents(t, res.dst))
	require.Len(t, res.obs.all(), 1)
	assert.Equal(t, uint64(0), res.obs.last().Total)
	assert.Equal(t, []string(nil), o.ranges(), "no GET for an empty file")
}

func TestFetchResume(t *testing.T) {
	content := pattern(200_000, 2)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{ChunkSize: 32 << 10})
	first := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, first.err)
	validator := first.obs.last().Validator

	const offset = 123_456
	kept := make([]byte, offset)
	for i := range kept {
		kept[i] = 'x' // not what the server has: proves those bytes are not fetched again
	}
	spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: offset, Total: uint64(len(content)), Validator: validator}
	before := len(o.log())
	res := fetch(t, c, spec, transfer.Options{}, kept)
	require.NoError(t, res.err)
	got := contents(t, res.dst)
	assert.Equal(t, kept, got[:offset])
	assert.Equal(t, content[offset:], got[offset:])
	assert.Equal(t, []string{"bytes=0-199999", "bytes=123456-199999"}, o.ranges())
	assert.Len(t, o.log()[before:], 2)
	assert.Equal(t, uint64(offset), res.obs.all()[0].Transferred, "the first report says where the fetch resumes")
	assert.Equal(t, uint64(len(content)), res.obs.last().Transferred)
}

func TestFetchAlreadyComplete(t *testing.T) {
	content := pattern(1000, 3)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{})
	first := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, first.err)

	spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: 1000, Total: 1000, Validator: first.obs.last().Validator}
	res := fetch(t, c, spec, transfer.Options{}, content)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))
	assert.Len(t, o.ranges(), 1, "nothing left to GET")
}

func TestFetchRanges(t *testing.T) {
	content := pattern(10_000, 4)
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name       string
		ranges     []bits.FileRange
		offset     uint64
		want       []byte
		wantRanges []string
	}{
		{
			name:       "two ranges in order",
			ranges:     []bits.FileRange{{InitialOffset: 10, Length: 100}, {InitialOffset: 5000, Length: 50}},
			want:       cat(content[10:110], content[5000:5050]),
			wantRanges: []string{"bytes=10-109", "bytes=5000-5049"},
		},
		{
			name:       "written in the order given, not the file's",
			ranges:     []bits.FileRange{{InitialOffset: 9000, Length: 10}, {InitialOffset: 0, Length: 5}},
			want:       cat(content[9000:9010], content[0:5]),
			wantRanges: []string{"bytes=9000-9009", "bytes=0-4"},
		},
		{
			name:       "length to EOF",
			ranges:     []bits.FileRange{{InitialOffset: 1, Length: 2}, {InitialOffset: 9990, Length: bits.LengthToEOF}},
			want:       cat(content[1:3], content[9990:]),
			wantRanges: []string{"bytes=1-2", "bytes=9990-9999"},
		},
		{
			name:       "whole file as one range",
			ranges:     []bits.FileRange{{InitialOffset: 0, Length: bits.LengthToEOF}},
			want:       content,
			wantRanges: []string{"bytes=0-9999"},
		},
		{
			name:       "resume inside the second range",
			ranges:     []bits.FileRange{{InitialOffset: 10, Length: 100}, {InitialOffset: 5000, Length: 50}, {InitialOffset: 7000, Length: 1}},
			offset:     120,
			want:       cat(content[10:110], content[5000:5050], content[7000:7001]),
			wantRanges: []string{"bytes=5020-5049", "bytes=7000-7000"},
		},
		{
			name:       "resume at a range boundary",
			ranges:     []bits.FileRange{{InitialOffset: 10, Length: 100}, {InitialOffset: 5000, Length: 50}},
			offset:     100,
			want:       cat(content[10:110], content[5000:5050]),
			wantRanges: []string{"bytes=5000-5049"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(content)
			srv := serve(t, o)
			c := newClient(t, transfer.Config{ChunkSize: 16})
			spec := wholeSpec(urlOf(srv, "f"))
			spec.Ranges = tt.ranges
			var prefix []byte
			if tt.offset > 0 {
				// What an earlier attempt wrote, and the version it saw.
				prefix = tt.want[:tt.offset]
				probe := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
				require.NoError(t, probe.err)
				spec.Offset, spec.Validator, spec.Total = tt.offset, probe.obs.last().Validator, uint64(len(tt.want))
				o.requests = nil
			}
			res := fetch(t, c, spec, transfer.Options{}, prefix)
			require.NoError(t, res.err)
			assert.Equal(t, tt.want, contents(t, res.dst))
			assert.Equal(t, tt.wantRanges, o.ranges())
			checkMonotonic(t, res.obs.all())
			assert.Equal(t, uint64(len(tt.want)), res.obs.last().Total)
			assert.Equal(t, uint64(len(tt.want)), res.obs.last().Transferred)
		})
	}
}

func TestFetchRangeOutsideFile(t *testing.T) {
	o := newOrigin(pattern(100, 5))
	srv := serve(t, o)
	c := newClient(t, transfer.Config{})
	for _, rg := range []bits.FileRange{
		{InitialOffset: 100, Length: 1},
		{InitialOffset: 99, Length: 2},
		{InitialOffset: 100, Length: bits.LengthToEOF},
		{InitialOffset: 1000, Length: bits.LengthToEOF},
		{InitialOffset: 5, Length: 0},
		{InitialOffset: bits.LengthToEOF, Length: 1},
	} {
		t.Run(fmt.Sprintf("%d+%d", rg.InitialOffset, rg.Length), func(t *testing.T) {
			spec := wholeSpec(urlOf(srv, "f"))
			spec.Ranges = []bits.FileRange{{InitialOffset: 0, Length: 10}, rg}
			res := fetch(t, c, spec, transfer.Options{}, nil)
			requireError(t, res.err, hresult.BG_E_INVALID_RANGE, bits.ContextRemoteFile, false, "http")
		})
	}
	assert.Empty(t, o.ranges(), "nothing is fetched when a range is outside the file")
}

func TestFetchServerRequirements(t *testing.T) {
	content := pattern(5000, 6)
	tests := []struct {
		name      string
		breakIt   func(o *origin)
		offset    uint64
		ranges    []bits.FileRange
		fg        bool         // Options.Foreground
		code      hresult.Code // 0: success
		wantBytes bool
	}{
		{name: "no Content-Length on HEAD", breakIt: func(o *origin) { o.noHeadLength = true }, code: hresult.BG_E_MISSING_FILE_SIZE},
		{name: "HEAD not allowed", breakIt: func(o *origin) { o.noHead = true }, code: hresult.HTTP(405)},
		{name: "Range ignored, foreground, whole file from 0 accepted", breakIt: func(o *origin) { o.ignoreRange = true }, fg: true, wantBytes: true},
		{name: "Range ignored, not foreground", breakIt: func(o *origin) { o.ignoreRange = true }, code: hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT},
		{name: "Range ignored when resuming", breakIt: func(o *origin) { o.ignoreRange = true }, fg: true, offset: 100, code: hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT},
		{name: "Range ignored for a range", breakIt: func(o *origin) { o.ignoreRange = true }, fg: true, ranges: []bits.FileRange{{InitialOffset: 10, Length: 10}}, code: hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT},
		{name: "Range ignored for a range from 0", breakIt: func(o *origin) { o.ignoreRange = true }, fg: true, ranges: []bits.FileRange{{InitialOffset: 0, Length: 10}}, code: hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT},
		{name: "Content-Range for other bytes", breakIt: func(o *origin) { o.shiftRange = true }, ranges: []bits.FileRange{{InitialOffset: 10, Length: 10}}, code: hresult.BG_E_INVALID_SERVER_RESPONSE},
		{name: "Content-Length not the range's", breakIt: func(o *origin) { o.wrongLength = true }, code: hresult.BG_E_INVALID_SERVER_RESPONSE},
		{name: "no Content-Length on GET", breakIt: func(o *origin) { o.chunked = true }, code: hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(content)
			tt.breakIt(o)
			srv := serve(t, o)
			c := newClient(t, transfer.Config{})
			spec := wholeSpec(urlOf(srv, "f"))
			spec.Ranges = tt.ranges
			spec.Offset = tt.offset
			res := fetch(t, c, spec, transfer.Options{Foreground: tt.fg}, make([]byte, tt.offset))
			if tt.code == 0 {
				require.NoError(t, res.err)
				assert.Equal(t, content, contents(t, res.dst))
				return
			}
			requireError(t, res.err, tt.code, bits.ContextRemoteFile, false, "http")
		})
	}
}

// partialNoLength answers range requests with a 206 streamed without Content-Length.
func TestFetchPartialWithoutLength(t *testing.T) {
	content := pattern(100, 7)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-99/%d", len(content)))
		w.WriteHeader(http.StatusPartialContent)
		w.(http.Flusher).Flush()
		_, _ = w.Write(content)
	}))
	c := newClient(t, transfer.Config{})
	res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	requireError(t, res.err, hresult.BG_E_MISSING_FILE_SIZE, bits.ContextRemoteFile, false, "http")
}

func TestFetchValidatorChangedBetweenAttempts(t *testing.T) {
	v1, v2 := pattern(3000, 8), pattern(4000, 9)
	o := newOrigin(v1)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	first := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, first.err)
	oldValidator := first.obs.last().Validator

	tests := []struct {
		name string
		edit func(o *origin)
	}{
		{name: "new ETag", edit: func(o *origin) { o.set(v2, `"v2"`, epoch) }},
		{name: "new Last-Modified", edit: func(o *origin) { o.set(v2, `"v1"`, epoch.Add(1e9)) }},
		{name: "new size only", edit: func(o *origin) { o.set(v2, "", epoch) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(v1)
			srv := serve(t, o)
			first := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
			require.NoError(t, first.err)
			if tt.name == "new size only" {
				o.set(v1, "", epoch)
				first = fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
				require.NoError(t, first.err)
			}
			tt.edit(o)
			spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: 2000, Total: 3000, Validator: first.obs.last().Validator}
			res := fetch(t, c, spec, transfer.Options{}, v1[:2000])
			require.NoError(t, res.err)
			assert.Equal(t, v2, contents(t, res.dst))
			reports := res.obs.all()
			assert.Equal(t, uint64(0), reports[0].Transferred, "restart reported with Transferred 0")
			assert.Equal(t, uint64(len(v2)), reports[0].Total)
			assert.NotEqual(t, spec.Validator, reports[0].Validator)
			assert.Equal(t, "bytes=0-3999", o.ranges()[len(o.ranges())-1])
		})
	}

	t.Run("same validator resumes", func(t *testing.T) {
		spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: 2000, Total: 3000, Validator: oldValidator}
		res := fetch(t, c, spec, transfer.Options{}, v1[:2000])
		require.NoError(t, res.err)
		assert.Equal(t, v1, contents(t, res.dst))
		assert.Equal(t, uint64(2000), res.obs.all()[0].Transferred)
	})
	t.Run("no validator but another total", func(t *testing.T) {
		spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: 2000, Total: 9999}
		res := fetch(t, c, spec, transfer.Options{}, []byte("stale"))
		require.NoError(t, res.err)
		assert.Equal(t, v1, contents(t, res.dst))
		assert.Equal(t, uint64(0), res.obs.all()[0].Transferred)
	})
	t.Run("offset beyond the file", func(t *testing.T) {
		spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: 5000, Total: bits.SizeUnknown}
		res := fetch(t, c, spec, transfer.Options{}, pattern(5000, 0))
		require.NoError(t, res.err)
		assert.Equal(t, v1, contents(t, res.dst), "truncated and fetched again")
	})
}

func TestFetchChangedMidTransfer(t *testing.T) {
	v1, v2 := pattern(3000, 10), pattern(2500, 11)
	ranges := []bits.FileRange{{InitialOffset: 0, Length: 1000}, {InitialOffset: 2000, Length: bits.LengthToEOF}}

	t.Run("restarts once", func(t *testing.T) {
		o := newOrigin(v1)
		o.beforeGet = func(o *origin, nth int) {
			if nth == 2 { // the file is replaced between the first and the second range
				o.set(v2, `"v2"`, epoch.Add(1e9))
			}
		}
		srv := serve(t, o)
		c := newClient(t, transfer.Config{ChunkSize: 400})
		spec := wholeSpec(urlOf(srv, "f"))
		spec.Ranges = ranges
		res := fetch(t, c, spec, transfer.Options{}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, append(append([]byte(nil), v2[:1000]...), v2[2000:]...), contents(t, res.dst))
		assert.Equal(t, []string{"bytes=0-999", "bytes=2000-2999", "bytes=0-999", "bytes=2000-2499"}, o.ranges())

		var sawRestart bool
		reports := res.obs.all()
		for i := 1; i < len(reports); i++ {
			if reports[i].Transferred == 0 && reports[i-1].Transferred > 0 {
				sawRestart = true
				assert.Equal(t, uint64(1500), reports[i].Total, "the new version's size")
			}
		}
		assert.True(t, sawRestart, "reports: %+v", reports)
		assert.Equal(t, 1, res.obs.connects())
	})

	t.Run("a second change is a transient error", func(t *testing.T) {
		o := newOrigin(v1)
		o.beforeGet = func(o *origin, nth int) { o.set(v1, fmt.Sprintf(`"g%d"`, nth), epoch) }
		srv := serve(t, o)
		c := newClient(t, transfer.Config{})
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
		requireError(t, res.err, hresult.BG_E_REMOTE_FILE_CHANGED, bits.ContextRemoteFile, true, "http")
		assert.Len(t, o.ranges(), 2)
	})

	t.Run("a whole-file 200 of another size", func(t *testing.T) {
		o := newOrigin(v1)
		o.ignoreRange = true
		o.beforeGet = func(o *origin, nth int) {
			if nth == 1 {
				o.set(v2, `"v1"`, epoch)
			}
		}
		srv := serve(t, o)
		c := newClient(t, transfer.Config{})
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{Foreground: true}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, v2, contents(t, res.dst))
	})
}

func TestFetchDynamicContent(t *testing.T) {
	content := pattern(70_000, 12)
	tests := []struct {
		name      string
		chunked   bool
		offset    uint64
		wantTotal uint64 // of the first report
	}{
		{name: "no length", chunked: true, wantTotal: bits.SizeUnknown},
		{name: "no length, restarted", chunked: true, offset: 5000, wantTotal: bits.SizeUnknown},
		{name: "with length", wantTotal: uint64(len(content))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(content)
			o.noHead, o.ignoreRange, o.chunked = true, true, tt.chunked
			srv := serve(t, o)
			c := newClient(t, transfer.Config{ChunkSize: 16 << 10})
			spec := transfer.Spec{Remote: urlOf(srv, "gen"), Offset: tt.offset, Total: bits.SizeUnknown, Validator: "whatever"}
			res := fetch(t, c, spec, transfer.Options{DynamicContent: true}, pattern(int(tt.offset)+100_000, 99))
			require.NoError(t, res.err)
			assert.Equal(t, content, contents(t, res.dst), "the temporary file holds exactly the answer")
			reports := res.obs.all()
			assert.Equal(t, uint64(0), reports[0].Transferred)
			assert.Equal(t, tt.wantTotal, reports[0].Total)
			last := res.obs.last()
			assert.Equal(t, uint64(len(content)), last.Total)
			assert.Equal(t, uint64(len(content)), last.Transferred)
			checkMonotonic(t, reports)
			log := o.log()
			require.Len(t, log, 1, "one GET, no HEAD")
			assert.Equal(t, http.MethodGet, log[0].Method)
			assert.Empty(t, log[0].Range)
			assert.Equal(t, 1, res.obs.connects())
		})
	}

	t.Run("with ranges", func(t *testing.T) {
		c := newClient(t, transfer.Config{})
		spec := wholeSpec("http://127.0.0.1:1/x")
		spec.Ranges = []bits.FileRange{{InitialOffset: 0, Length: 1}}
		res := fetch(t, c, spec, transfer.Options{DynamicContent: true}, nil)
		requireError(t, res.err, hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION, bits.ContextRemoteFile, false, "http")
	})
}

func TestFetchHeadersMethodAndCredentials(t *testing.T) {
	content := pattern(100, 13)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{})
	opt := transfer.Options{
		Headers: "X-One: 1\r\nX-Two:  two words \r\nHost: files.example\r\n",
		Method:  "FETCH",
		Credentials: []bits.Credentials{
			{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "alice", Password: "s3cret:x"},
			{Target: bits.TargetProxy, Scheme: bits.SchemeBasic, UserName: "proxyuser", Password: "p"},
		},
	}
	res := fetch(t, c, wholeSpec(urlOf(srv, "f")), opt, nil)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))
	log := o.log()
	require.Len(t, log, 2)
	assert.Equal(t, http.MethodHead, log[0].Method, "HEAD stays HEAD")
	assert.Equal(t, "FETCH", log[1].Method)
	for _, s := range log {
		assert.Equal(t, "1", s.Header.Get("X-One"))
		assert.Equal(t, "two words", s.Header.Get("X-Two"))
		req := &http.Request{Header: s.Header}
		user, pass, ok := req.BasicAuth()
		assert.True(t, ok)
		assert.Equal(t, "alice", user)
		assert.Equal(t, "s3cret:x", pass)
		assert.Empty(t, s.Header.Get("Proxy-Authorization"), "no proxy in use")
	}
}

func TestFetchBasicAuth(t *testing.T) {
	content := pattern(100, 14)
	o := newOrigin(content)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="files"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		o.ServeHTTP(w, r)
	}))
	c := newClient(t, transfer.Config{})
	tests := []struct {
		name  string
		creds []bits.Credentials
		ok    bool
	}{
		{name: "basic", creds: []bits.Credentials{{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "bob", Password: "pw"}}, ok: true},
		{name: "none"},
		{name: "wrong password", creds: []bits.Credentials{{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "bob", Password: "no"}}},
		{name: "NTLM is not sent", creds: []bits.Credentials{{Target: bits.TargetServer, Scheme: bits.SchemeNTLM, UserName: "bob", Password: "pw"}}},
		{name: "proxy credentials are not for the server", creds: []bits.Credentials{{Target: bits.TargetProxy, Scheme: bits.SchemeBasic, UserName: "bob", Password: "pw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{Credentials: tt.creds}, nil)
			if tt.ok {
				require.NoError(t, res.err)
				assert.Equal(t, content, contents(t, res.dst))
				return
			}
			requireError(t, res.err, hresult.BG_E_HTTP_ERROR_401, bits.ContextRemoteFile, false, "http")
			assert.Equal(t, 0, res.obs.connects())
		})
	}
}

func TestFetchStatusClassification(t *testing.T) {
	tests := []struct {
		status    int
		transient bool
	}{
		{300, false}, {301, false}, {302, false}, {303, false}, {304, false}, {305, false}, {306, true},
		{307, false}, {308, true}, {399, true},
		{400, false}, {401, false}, {403, false}, {404, false}, {405, false}, {407, false},
		{408, true}, {409, true}, {410, false}, {416, false}, {429, false}, {449, false}, {499, false},
		{500, true}, {501, false}, {502, true}, {503, true}, {504, true}, {505, false}, {599, true},
		{600, true}, {999, true},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodHead, http.MethodGet} {
			t.Run(fmt.Sprintf("%d on %s", tt.status, method), func(t *testing.T) {
				content := pattern(10, 15)
				o := newOrigin(content)
				srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == method {
						w.WriteHeader(tt.status) // a 3xx without Location is not a redirect
						return
					}
					o.ServeHTTP(w, r)
				}))
				c := newClient(t, transfer.Config{})
				res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
				code := hresult.HTTP(tt.status)
				if tt.status > 599 {
					code = hresult.BG_E_INVALID_SERVER_RESPONSE // no BG_E_HTTP_ERROR code beyond 599
				}
				te := requireError(t, res.err, code, bits.ContextRemoteFile, tt.transient, "http")
				assert.Contains(t, te.Error(), strconv.Itoa(tt.status))
			})
		}
	}
}

func TestFetchObserverErrorStops(t *testing.T) {
	content := pattern(10_000, 16)
	srv := serve(t, newOrigin(content))
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	stop := errors.New("stop here")
	res := result{dst: tempFile(t, nil), obs: &recorder{}}
	res.obs.onProgress = func(p transfer.Progress) error {
		if p.Transferred >= 3000 {
			return stop
		}
		return nil
	}
	res.err = c.Fetch(t.Context(), wholeSpec(urlOf(srv, "f")), transfer.Options{}, res.dst, res.obs)
	require.ErrorIs(t, res.err, stop)
	assert.Same(t, stop, res.err, "returned unchanged")
	assert.Equal(t, content[:3000], contents(t, res.dst))
}

func TestFetchConcurrent(t *testing.T) {
	const n = 6
	c := newClient(t, transfer.Config{ChunkSize: 4096})
	lim := rate.NewLimiter(rate.Inf, 0)
	var wg sync.WaitGroup
	for i := range n {
		content := pattern(50_000+i*1000, byte(i))
		srv := serve(t, newOrigin(content))
		dst := tempFile(t, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Fetch(t.Context(), wholeSpec(urlOf(srv, "f")), transfer.Options{Limiter: lim}, dst, &recorder{})
			if assert.NoError(t, err) {
				assert.Equal(t, content, contents(t, dst))
			}
		}()
	}
	wg.Wait()
}

// TestFetchNoRangesTooBigForOneAnswer: a foreground job cannot take a file of 2 GiB or more
// from a server that ignores Range (BITS fetches such files in 2 GB ranges), while it takes a
// smaller one.
func TestFetchNoRangesTooBigForOneAnswer(t *testing.T) {
	var gets atomic.Int32
	plain := func(size int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodHead {
				gets.Add(1)
			}
			// Like ServeContent without range support: the whole file, 200.
			r.Header.Del("Range")
			http.ServeContent(w, r, "", epoch, &genFile{size: size})
		})
	}
	c := newClient(t, transfer.Config{})
	big := serve(t, plain(2<<30))
	res := fetch(t, c, wholeSpec(urlOf(big, "f")), transfer.Options{Foreground: true}, nil)
	requireError(t, res.err, hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT, bits.ContextRemoteFile, false, "http")
	assert.Equal(t, int32(1), gets.Load())
	assert.Empty(t, contents(t, res.dst))

	small := serve(t, plain(3000))
	res = fetch(t, c, wholeSpec(urlOf(small, "f")), transfer.Options{Foreground: true}, nil)
	require.NoError(t, res.err)
	assert.Len(t, contents(t, res.dst), 3000)
}
