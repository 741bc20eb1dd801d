package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/uptest"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/transfer"
)

// upObserver is an UploadObserver that keeps what it heard, as the manager would: the session
// and the acknowledged offset, for the next attempt.
type upObserver struct {
	recorder
	mu       sync.Mutex
	sessions []job.UploadSession
	waits    int // Waiting(true) calls
	depth    int // Waiting(true) not yet followed by Waiting(false)
}

func (o *upObserver) SessionChanged(s job.UploadSession) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sessions = append(o.sessions, s)
	return nil
}

func (o *upObserver) Waiting(w bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if w {
		o.waits++
		o.depth++
	} else {
		o.depth--
	}
}

func (o *upObserver) Sleeping(bool) {}

func (o *upObserver) session() job.UploadSession {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sessions) == 0 {
		return job.UploadSession{}
	}
	return o.sessions[len(o.sessions)-1]
}

// upload is one upload job's state across attempts, as the manager keeps it.
type upload struct {
	c    *transfer.Client
	spec transfer.UploadSpec
	opt  transfer.Options
	obs  *upObserver
}

func newUpload(c *transfer.Client, remote, local string) *upload {
	return &upload{c: c, spec: transfer.UploadSpec{Remote: remote, Local: local}, obs: &upObserver{}}
}

// attempt runs one attempt, then carries its session and progress over to the next.
func (u *upload) attempt(t *testing.T) error {
	t.Helper()
	err := u.c.Upload(context.Background(), u.spec, u.opt, u.obs)
	u.spec.Session = u.obs.session()
	if p := u.obs.last(); p.Validator != "" {
		u.spec.Offset, u.spec.Validator = p.Transferred, p.Validator
	}
	u.obs.mu.Lock()
	assert.Zero(t, u.obs.depth, "Waiting calls come in pairs")
	u.obs.mu.Unlock()
	return err
}

// stopAt runs an attempt that its observer stops once the server acknowledged n bytes.
func (u *upload) stopAt(t *testing.T, n uint64) {
	t.Helper()
	stop := errors.New("stop")
	u.obs.onProgress = func(p transfer.Progress) error {
		if p.Transferred == n {
			return stop
		}
		return nil
	}
	require.ErrorIs(t, u.attempt(t), stop)
	u.obs.onProgress = nil
}

// localFile writes data to a new file and returns its name.
func localFile(t *testing.T, data []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "report.bin")
	require.NoError(t, os.WriteFile(name, data, 0o600))
	return name
}

// upServer starts s on a new in-memory network at addr and returns a client on that network.
func upServer(t *testing.T, s *uptest.Server, addr string, cfg transfer.Config) (*bitstest.Network, string, *transfer.Client) {
	t.Helper()
	n := bitstest.NewNetwork()
	t.Cleanup(func() { n.Close() })
	base, stop := s.Listen(n, addr)
	t.Cleanup(stop)
	cfg.Dial = n.Dial
	return n, base, newClient(t, cfg)
}

// types returns the packet types the server saw, in order.
func types(s *uptest.Server) []string {
	var out []string
	for _, p := range s.Packets() {
		out = append(out, p.Type)
	}
	return out
}

func TestUploadEndToEnd(t *testing.T) {
	for _, size := range []int{0, 1, 100_000, 3*16384 + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := pattern(size, 3)
			s := &uptest.Server{}
			_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 16384})
			u := newUpload(c, base+"/in/report.bin", localFile(t, data))
			u.opt.Headers = "X-Test: hello\r\n"
			require.NoError(t, u.attempt(t))

			got, ok := s.File("/in/report.bin")
			require.True(t, ok, "published by Close-Session")
			assert.True(t, bytes.Equal(data, got), "the server holds the file")
			frags := (size + 16383) / 16384
			if size == 0 {
				frags = 1
			}
			want := []string{"Ping", "Create-Session"}
			for range frags {
				want = append(want, "Fragment")
			}
			want = append(want, "Close-Session")
			assert.Equal(t, want, types(s))
			for i, p := range s.Packets() {
				assert.Equal(t, "BITS_POST", p.Method)
				assert.Equal(t, "hello", p.Custom, "custom headers on every packet")
				if p.Type == "Fragment" {
					if i == 2 {
						assert.Equal(t, "report.bin", p.Name, "Content-Name on the first fragment")
					} else {
						assert.Empty(t, p.Name, "Content-Name on the first fragment only")
					}
				}
			}
			if size == 0 {
				assert.Equal(t, "bytes */0", s.Packets()[2].Range)
			} else {
				assert.Equal(t, fmt.Sprintf("bytes 0-%d/%d", min(size, 16384)-1, size), s.Packets()[2].Range)
			}
			last := u.obs.last()
			assert.Equal(t, uint64(size), last.Total)
			assert.Equal(t, uint64(size), last.Transferred)
			assert.True(t, u.spec.Session.CloseSent)
			assert.Equal(t, 1, u.obs.connects())
			checkMonotonic(t, u.obs.all())
			assert.Positive(t, u.obs.waits, "the upload waits on its peer")
		})
	}
}

func TestUploadReply(t *testing.T) {
	data := pattern(70_000, 9)
	s := &uptest.Server{Reply: func(name string, b []byte) []byte {
		return []byte(fmt.Sprintf("%s: %d bytes", name, len(b)))
	}}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 32768})
	u := newUpload(c, base+"/app/report.bin", localFile(t, data))
	u.spec.Reply = true
	require.NoError(t, u.attempt(t))
	sess := u.spec.Session
	assert.Equal(t, base+"/reply/"+strings.Trim(sess.ID, "{}"), sess.ReplyURL, "the relative reply URL is resolved")
	assert.NotContains(t, types(s), "Close-Session", "an upload-reply's session stays open until the reply is downloaded")

	res := fetch(t, c, wholeSpec(sess.ReplyURL), transfer.Options{}, nil)
	require.NoError(t, res.err)
	assert.Equal(t, "report.bin: 70000 bytes", string(contents(t, res.dst)))

	obs := &upObserver{}
	require.NoError(t, c.CloseSession(context.Background(), u.spec, transfer.Options{}, obs))
	assert.True(t, obs.session().CloseSent)
	assert.Equal(t, "Close-Session", types(s)[len(types(s))-1])
	got, _ := s.File("/app/report.bin")
	assert.Equal(t, data, got)
	assert.Zero(t, s.Sessions())

	// Closed again (its Ack was lost): the server does not know it, which counts as closed.
	u.spec.Session = obs.session()
	require.NoError(t, c.CloseSession(context.Background(), u.spec, transfer.Options{}, &upObserver{}))
}

func TestUploadReplyWithoutURL(t *testing.T) {
	s := &uptest.Server{}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{})
	u := newUpload(c, base+"/app", localFile(t, pattern(10, 1)))
	u.spec.Reply = true
	requireError(t, u.attempt(t), hresult.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, false, "http")
}

// TestUploadCuts cuts the connection at a random point of a random packet, over and over, and
// checks that each attempt goes on where the server is: at most one fragment is sent again per
// cut, and the server ends with the exact file.
func TestUploadCuts(t *testing.T) {
	const frag = 8192
	rng := rand.New(rand.NewPCG(7, 11))
	data := pattern(40*frag+123, 5)
	var mu sync.Mutex
	planned := 0
	s := &uptest.Server{}
	s.Fault = func(p uptest.Packet) uptest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(3) != 0 {
			return uptest.Fault{}
		}
		planned++
		after := int64(-1) // after the packet, before its Ack
		if p.Type == "Fragment" && rng.IntN(2) == 0 {
			after = rng.Int64N(p.Length + 1)
		}
		return uptest.Fault{Cut: true, CutAfter: after}
	}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: frag})
	u := newUpload(c, base+"/cut.bin", localFile(t, data))
	attempts := 0
	for {
		attempts++
		err := u.attempt(t)
		if err == nil {
			break
		}
		requireError(t, err, hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, true, "http")
		require.Less(t, attempts, 1000)
	}
	got, ok := s.File("/cut.bin")
	require.True(t, ok)
	require.Equal(t, data, got)
	cuts := s.Cuts()
	mu.Lock()
	assert.Equal(t, planned, cuts, "every planned cut happened")
	mu.Unlock()
	assert.GreaterOrEqual(t, cuts, 10, "the test cut often")
	assert.Equal(t, cuts+1, attempts, "each cut cost one attempt")
	need := (len(data) + frag - 1) / frag
	assert.LessOrEqual(t, s.Count("Fragment"), need+cuts, "at most one fragment sent again per cut")
	assert.LessOrEqual(t, s.BodyBytes(), int64(len(data))+int64(cuts)*frag, "at most a fragment's bytes again per cut")
	checkMonotonic(t, u.obs.all())
}

func TestUpload416GoesWhereTheServerIs(t *testing.T) {
	data := pattern(5*4096, 2)
	s := &uptest.Server{}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 4096})
	// The first attempt is stopped by its observer after two fragments.
	u := newUpload(c, base+"/f", localFile(t, data))
	u.stopAt(t, 2*4096)
	// The client believes the server has more than it has (a record restored from another
	// time): the server answers 416 with where it is, and the upload goes on from there.
	u.spec.Offset = 4 * 4096
	require.NoError(t, u.attempt(t))
	got, _ := s.File("/f")
	assert.Equal(t, data, got)
	var ranges []string
	for _, p := range s.Packets() {
		if p.Type == "Fragment" {
			ranges = append(ranges, p.Range)
		}
	}
	assert.Equal(t, []string{"bytes 0-4095/20480", "bytes 4096-8191/20480", "bytes 16384-20479/20480",
		"bytes 8192-12287/20480", "bytes 12288-16383/20480", "bytes 16384-20479/20480"}, ranges)
}

func TestUploadSessionLost(t *testing.T) {
	data := pattern(6*4096, 4)
	s := &uptest.Server{}
	n := 0
	s.Fault = func(p uptest.Packet) uptest.Fault {
		if p.Type == "Fragment" {
			n++
			return uptest.Fault{Forget: n == 3} // the server restarted and forgot its sessions
		}
		return uptest.Fault{}
	}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 4096})
	u := newUpload(c, base+"/f", localFile(t, data))
	require.NoError(t, u.attempt(t))
	got, _ := s.File("/f")
	assert.Equal(t, data, got)
	assert.Equal(t, 2, s.Count("Create-Session"), "a new session after BG_E_SESSION_NOT_FOUND")
	p := s.Packets()
	assert.Equal(t, "bytes 0-4095/24576", p[len(p)-7].Range, "the new session starts from byte 0")

	// A server that forgets every time: a transient BG_E_SESSION_NOT_FOUND, not a loop.
	s2 := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault { return uptest.Fault{Forget: p.Type == "Fragment"} }}
	_, base2, c2 := upServer(t, s2, "up2.test:80", transfer.Config{})
	u2 := newUpload(c2, base2+"/f", localFile(t, data))
	requireError(t, u2.attempt(t), hresult.BG_E_SESSION_NOT_FOUND, bits.ContextRemoteFile, true, "http")
	assert.Equal(t, 2, s2.Count("Create-Session"))
}

func TestUploadClosedSessionLost(t *testing.T) {
	// The server forgets the session when Close-Session arrives, the first time: the upload it
	// held is lost, so the client uploads again in a new session.
	data := pattern(5000, 4)
	closes := 0
	s := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
		if p.Type == "Close-Session" {
			closes++
			return uptest.Fault{Forget: closes == 1}
		}
		return uptest.Fault{}
	}}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{})
	u := newUpload(c, base+"/f", localFile(t, data))
	require.NoError(t, u.attempt(t))
	assert.Equal(t, []string{"Ping", "Create-Session", "Fragment", "Close-Session", "Create-Session", "Fragment", "Close-Session"}, types(s))
	got, _ := s.File("/f")
	assert.Equal(t, data, got)

	// A Close-Session whose Ack was lost: sent again, the server does not know the session any
	// more, and that is the close that got through.
	closes = 0
	s2 := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
		if p.Type == "Close-Session" {
			closes++
			return uptest.Fault{Cut: closes == 1, CutAfter: -1}
		}
		return uptest.Fault{}
	}}
	_, base2, c2 := upServer(t, s2, "up2.test:80", transfer.Config{})
	u2 := newUpload(c2, base2+"/f", localFile(t, data))
	requireError(t, u2.attempt(t), hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, true, "http")
	require.True(t, u2.spec.Session.CloseSent)
	require.NoError(t, u2.attempt(t))
	assert.Equal(t, 1, s2.Count("Create-Session"), "not uploaded again")
	got, _ = s2.File("/f")
	assert.Equal(t, data, got)
}

func TestUpload413SmallerFragments(t *testing.T) {
	data := pattern(100_000, 6)
	s := &uptest.Server{MaxFragment: 20_000}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 64 << 10})
	u := newUpload(c, base+"/f", localFile(t, data))
	require.NoError(t, u.attempt(t))
	got, _ := s.File("/f")
	assert.Equal(t, data, got)
	assert.Equal(t, uint64(16384), u.spec.Session.FragmentLimit, "64 KiB, 32 KiB, then 16 KiB fits")
	var lengths []int64
	for _, p := range s.Packets() {
		if p.Type == "Fragment" {
			lengths = append(lengths, p.Length)
		}
	}
	assert.Equal(t, []int64{65536, 32768, 16384, 16384, 16384, 16384, 16384, 16384, 1696}, lengths)

	// A server that takes no fragment at all: the 413 is the job's error once fragments are as
	// small as they get.
	s2 := &uptest.Server{MaxFragment: 100}
	_, base2, c2 := upServer(t, s2, "up2.test:80", transfer.Config{})
	u2 := newUpload(c2, base2+"/f", localFile(t, data))
	requireError(t, u2.attempt(t), hresult.HTTP(413), bits.ContextRemoteFile, false, "http")
}

func TestUploadErrorReplies(t *testing.T) {
	tests := []struct {
		name      string
		packet    string
		fault     uptest.Fault
		code      hresult.Code
		ctx       bits.ErrorContext
		transient bool
	}{
		{"application refused", "Fragment", uptest.Fault{Status: 500, Code: "0x80070005", Context: "0x7"}, hresult.E_ACCESSDENIED, bits.ContextRemoteApplication, true},
		{"too large", "Create-Session", uptest.Fault{Status: 413, Code: "0x80200020", Context: "0x5"}, hresult.BG_E_TOO_LARGE, bits.ContextRemoteFile, false},
		{"BITS-Error header", "Fragment", uptest.Fault{Status: 403, Code: "80070005", Context: "0x00000007", ErrorHeader: "BITS-Error"}, hresult.E_ACCESSDENIED, bits.ContextRemoteApplication, false},
		{"exists", "Create-Session", uptest.Fault{Status: 409, Code: "0x800700B7", Context: "0x5"}, hresult.Code(0x800700B7), bits.ContextRemoteFile, true},
		{"no code", "Ping", uptest.Fault{Status: 404}, hresult.HTTP(404), bits.ContextRemoteFile, false},
		{"busy", "Fragment", uptest.Fault{Status: 503}, hresult.HTTP(503), bits.ContextRemoteFile, true},
		{"malformed code", "Close-Session", uptest.Fault{Status: 500, Code: "oops"}, hresult.HTTP(500), bits.ContextRemoteFile, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
				if p.Type == tt.packet {
					return tt.fault
				}
				return uptest.Fault{}
			}}
			_, base, c := upServer(t, s, "up.test:80", transfer.Config{})
			u := newUpload(c, base+"/f", localFile(t, pattern(1000, 1)))
			requireError(t, u.attempt(t), tt.code, tt.ctx, tt.transient, "http")
		})
	}
}

func TestUploadLocalFileChanged(t *testing.T) {
	data := pattern(4*4096, 8)
	s := &uptest.Server{}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 4096})
	name := localFile(t, data)

	// Between attempts: the next attempt refuses the file.
	u := newUpload(c, base+"/a", name)
	u.stopAt(t, 4096)
	require.NoError(t, os.WriteFile(name, pattern(4*4096, 9), 0o600))
	requireError(t, u.attempt(t), hresult.BG_E_LOCAL_FILE_CHANGED, bits.ContextLocalFile, false, "http")

	// During an attempt: the fragment after the change fails.
	name2 := localFile(t, data)
	u2 := newUpload(c, base+"/b", name2)
	u2.obs.onProgress = func(p transfer.Progress) error {
		if p.Transferred == 4096 {
			f, err := os.OpenFile(name2, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, _ = f.Write([]byte("more"))
			require.NoError(t, f.Close())
		}
		return nil
	}
	requireError(t, u2.attempt(t), hresult.BG_E_LOCAL_FILE_CHANGED, bits.ContextLocalFile, false, "http")

	// Replaced by another file of the same size and time: its identity tells.
	name3 := localFile(t, data)
	u3 := newUpload(c, base+"/c", name3)
	u3.obs.onProgress = func(p transfer.Progress) error {
		if p.Transferred == 4096 {
			fi, err := os.Stat(name3)
			require.NoError(t, err)
			other := name3 + ".new"
			require.NoError(t, os.WriteFile(other, data, 0o600))
			require.NoError(t, os.Chtimes(other, fi.ModTime(), fi.ModTime()))
			require.NoError(t, os.Rename(other, name3))
		}
		return nil
	}
	requireError(t, u3.attempt(t), hresult.BG_E_LOCAL_FILE_CHANGED, bits.ContextLocalFile, false, "http")

	// Missing: the local file's own error, context LOCAL_FILE.
	u4 := newUpload(c, base+"/d", filepath.Join(t.TempDir(), "missing"))
	requireError(t, u4.attempt(t), hresult.ERROR_FILE_NOT_FOUND, bits.ContextLocalFile, false, "http")
}

func TestUploadHostID(t *testing.T) {
	data := pattern(3*4096, 1)
	s := &uptest.Server{HostID: "node2.test", HostFallback: 60}
	clk := clock.NewVirtual(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	n, base, c := upServer(t, s, "farm.test:80", transfer.Config{FragmentSize: 4096, Clock: clk})
	_, stop2 := s.Listen(n, "node2.test:80")
	u := newUpload(c, base+"/f", localFile(t, data))
	u.stopAt(t, 4096)
	assert.Equal(t, "node2.test", u.spec.Session.HostID)
	assert.Equal(t, time.Minute, u.spec.Session.HostFallback)
	var hosts []string
	for _, p := range s.Packets() {
		hosts = append(hosts, p.Type+"@"+p.Host)
	}
	assert.Equal(t, []string{"Ping@farm.test:80", "Create-Session@farm.test:80", "Ping@node2.test:80", "Fragment@node2.test:80"}, hosts,
		"packets after Create-Session go to BITS-Host-Id (on the remote name's port), after a Ping")

	// node2 goes away: the attempt fails to connect and the fallback time starts.
	stop2()
	requireError(t, u.attempt(t), hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, true, "http")
	assert.Equal(t, clk.Now(), u.spec.Session.HostFailedSince)
	// Before the fallback timeout: still node2.
	clk.Advance(59 * time.Second)
	requireError(t, u.attempt(t), hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, true, "http")
	// After it: back to the remote name's host, where the session is known (one farm, one
	// store), and the upload ends there.
	clk.Advance(time.Second)
	before := len(s.Packets())
	s.HostID = ""
	require.NoError(t, u.attempt(t))
	for _, p := range s.Packets()[before:] {
		assert.Equal(t, "farm.test:80", p.Host, p.Type)
	}
	got, _ := s.File("/f")
	assert.Equal(t, data, got)
	assert.Empty(t, u.spec.Session.HostID)
}

func TestCancelSession(t *testing.T) {
	s := &uptest.Server{}
	_, base, c := upServer(t, s, "up.test:80", transfer.Config{FragmentSize: 4096})
	u := newUpload(c, base+"/f", localFile(t, pattern(3*4096, 1)))
	u.stopAt(t, 4096)
	require.Equal(t, 1, s.Sessions())
	require.NoError(t, c.CancelSession(context.Background(), u.spec.Remote, u.spec.Session, transfer.Options{}, nil))
	assert.Equal(t, []string{u.spec.Session.ID}, s.Cancelled())
	assert.Zero(t, s.Sessions())
	_, published := s.File("/f")
	assert.False(t, published)
	// Again: the server does not know it any more, which is what cancelling wants.
	require.NoError(t, c.CancelSession(context.Background(), u.spec.Remote, u.spec.Session, transfer.Options{}, nil))
	// No session: nothing to send.
	before := len(s.Packets())
	require.NoError(t, c.CancelSession(context.Background(), u.spec.Remote, job.UploadSession{}, transfer.Options{}, nil))
	assert.Len(t, s.Packets(), before)
}

func TestUploadProtocolChecks(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, typ string)
		code   hresult.Code
	}{
		{"other protocol", func(w http.ResponseWriter, typ string) {
			w.Header().Set("BITS-Packet-Type", "Ack")
			if typ == "Create-Session" {
				w.Header().Set("BITS-Protocol", "{11111111-2222-3333-4444-555555555555}")
				w.Header().Set("BITS-Session-Id", "{s}")
			}
		}, hresult.BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH},
		{"no session id", func(w http.ResponseWriter, typ string) {
			w.Header().Set("BITS-Packet-Type", "Ack")
			if typ == "Create-Session" {
				w.Header().Set("BITS-Protocol", "{7DF0354D-249B-430F-820D-3D2A9BEF4931}")
			}
		}, hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"not an Ack", func(w http.ResponseWriter, typ string) {}, hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"no received range", func(w http.ResponseWriter, typ string) {
			w.Header().Set("BITS-Packet-Type", "Ack")
			w.Header().Set("BITS-Protocol", "{7df0354d-249b-430f-820d-3d2a9bef4931}")
			w.Header().Set("BITS-Session-Id", "{s}")
		}, hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"received past the end", func(w http.ResponseWriter, typ string) {
			w.Header().Set("BITS-Packet-Type", "Ack")
			w.Header().Set("BITS-Protocol", "{7df0354d-249b-430f-820d-3d2a9bef4931}")
			w.Header().Set("BITS-Session-Id", "{s}")
			w.Header().Set("BITS-Received-Content-Range", "11")
		}, hresult.BG_E_INVALID_SERVER_RESPONSE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.answer(w, r.Header.Get("BITS-Packet-Type"))
			}))
			c := newClient(t, transfer.Config{})
			u := newUpload(c, srv.URL+"/f", localFile(t, pattern(10, 1)))
			requireError(t, u.attempt(t), tt.code, bits.ContextRemoteFile, false, "http")
		})
	}
}

// TestUploadSilentServer: a server that never answers a fragment leaves the upload waiting on
// its peer (so a manager stepping a virtual clock counts it idle), until the stall timeout,
// measured on the client's clock, fails it.
func TestUploadSilentServer(t *testing.T) {
	s := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault { return uptest.Fault{Stall: p.Type == "Fragment"} }}
	clk := clock.NewVirtual(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	n, base, c := upServer(t, s, "up.test:80", transfer.Config{Clock: clk, StallTimeout: time.Minute})
	u := newUpload(c, base+"/f", localFile(t, pattern(1000, 1)))
	done := make(chan error, 1)
	go func() { done <- c.Upload(context.Background(), u.spec, u.opt, u.obs) }()
	require.Eventually(t, func() bool {
		u.obs.mu.Lock()
		defer u.obs.mu.Unlock()
		return u.obs.depth == 1 && c.Quiet() && n.Quiet() && s.Count("Fragment") == 1
	}, 10*time.Second, time.Millisecond, "waiting on a silent peer")
	clk.Advance(time.Minute)
	requireError(t, <-done, hresult.ERROR_WINHTTP_TIMEOUT, bits.ContextGeneralTransport, true, "http")
}
