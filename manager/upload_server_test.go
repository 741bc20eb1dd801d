package manager_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
	"github.com/bitsemu/bitsemu/upload"
)

// These tests run upload jobs against package upload's server (bitstest.UploadServer), the
// IIS BITS extension's counterpart, with its fault script, on the in-memory network.

// srvEnv is an UploadServer on an in-memory network and a harness using it.
type srvEnv struct {
	h   *bitstest.Harness
	c   *manager.Client
	n   *bitstest.Network
	s   *bitstest.UploadServer
	dir string // the client's files
}

func newSrvEnv(t *testing.T, opts upload.Options, faults ...bitstest.Fault) *srvEnv {
	t.Helper()
	n := bitstest.NewNetwork()
	t.Cleanup(func() { n.Close() })
	return newSrvEnvOn(t, n, opts, faults...)
}

func newSrvEnvOn(t *testing.T, n *bitstest.Network, opts upload.Options, faults ...bitstest.Fault) *srvEnv {
	t.Helper()
	if opts.ErrorLog == nil {
		opts.ErrorLog = log.New(io.Discard, "", 0)
	}
	s := bitstest.NewUploadServerOn(n, "uploads.test:80", t.TempDir(), opts, faults...)
	t.Cleanup(s.Close)
	h := bitstest.NewHarness(t, manager.WithTransfer(transfer.Config{Dial: n.Dial, FragmentSize: upFragment}))
	return &srvEnv{h: h, c: h.Connect(userSID), n: n, s: s, dir: t.TempDir()}
}

func (e *srvEnv) job(t *testing.T, typ bits.JobType, name string, data []byte) bits.Job {
	t.Helper()
	local := filepath.Join(e.dir, name)
	require.NoError(t, os.WriteFile(local, data, 0o600))
	j, err := e.c.CreateJob(name, typ)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(e.s.URLFor(name), local))
	require.NoError(t, j.SetMinimumRetryDelay(5))
	return j
}

func (e *srvEnv) transferred(t *testing.T, j bits.Job) {
	t.Helper()
	requireTransferred(t, e.h, j)
}

func (e *srvEnv) received(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.s.Dir, name))
	require.NoError(t, err)
	return b
}

func TestUploadToUploadServer(t *testing.T) {
	tests := []struct {
		name   string
		faults []bitstest.Fault
		check  func(t *testing.T, st bitstest.UploadStats, size int)
	}{
		{"plain", nil, func(t *testing.T, st bitstest.UploadStats, size int) {
			assert.Equal(t, 1, st.Packets["Create-Session"])
			assert.Equal(t, 1, st.Packets["Close-Session"])
		}},
		{"cut fragments", []bitstest.Fault{bitstest.DropAfter(5000).Method("Fragment").Skip(1).Times(3)}, func(t *testing.T, st bitstest.UploadStats, size int) {
			assert.Equal(t, 3, st.Cut)
			assert.Equal(t, 1, st.Packets["Create-Session"], "the same session after each cut")
			assert.LessOrEqual(t, st.BytesReceived, int64(size+3*upFragment), "at most one fragment again per cut")
		}},
		{"lost Ack", []bitstest.Fault{bitstest.DropAfter(1 << 30).Method("Fragment").Skip(2).Times(1)}, func(t *testing.T, st bitstest.UploadStats, size int) {
			assert.Equal(t, 1, st.Cut)
			assert.LessOrEqual(t, st.BytesReceived, int64(size+upFragment), "at most one fragment again")
		}},
		{"session lost", []bitstest.Fault{bitstest.LoseSession().Method("Fragment").Skip(2).Times(1)}, func(t *testing.T, st bitstest.UploadStats, size int) {
			assert.Equal(t, 1, st.SessionsLost)
			assert.Equal(t, 2, st.Packets["Create-Session"], "Create-Session again")
			assert.LessOrEqual(t, st.BytesReceived, int64(size+2*upFragment), "from byte 0 again, once")
		}},
		{"flaky", []bitstest.Fault{bitstest.Flaky(3, 0.3)}, func(t *testing.T, st bitstest.UploadStats, size int) {
			assert.Positive(t, st.Faults)
			assert.LessOrEqual(t, st.BytesReceived, int64(size+st.Faults*upFragment), "at most one fragment again per fault")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSrvEnv(t, upload.Options{}, tt.faults...)
			data := content(40, 6*upFragment+11)
			j := e.job(t, bits.Upload, "report.bin", data)
			require.NoError(t, j.Resume())
			e.transferred(t, j)
			assert.True(t, bytes.Equal(data, e.received(t, "report.bin")))
			tt.check(t, e.s.Stats(), len(data))
		})
	}
}

func TestUploadTooLargeForUploadServer(t *testing.T) {
	e := newSrvEnv(t, upload.Options{MaxUploadSize: 1000})
	j := e.job(t, bits.Upload, "big.bin", content(41, 5000))
	require.NoError(t, j.Resume())
	requireJobError(t, e.h, j, state.Error, bits.ContextRemoteFile, hresult.BG_E_TOO_LARGE)
}

// TestUploadReplyThroughUploadServer hands the upload to a server application that answers
// with the upload reversed, by value, as BITSServerNotificationType 2 does.
func TestUploadReplyThroughUploadServer(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	app := serveApp(t, n, "app.test:80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for i, k := 0, len(b)-1; i < k; i, k = i+1, k-1 {
			b[i], b[k] = b[k], b[i]
		}
		_, _ = w.Write(b)
	}))
	e := newSrvEnvOn(t, n, upload.Options{
		NotifyType: upload.NotifyByValue, NotifyURL: app,
		NotifyClient: &http.Client{Transport: &http.Transport{DialContext: n.Dial}},
	}, bitstest.DropAfter(100).Method("Fragment").Skip(1).Times(1))
	data := content(42, 3*upFragment)
	j := e.job(t, bits.UploadReply, "ask.bin", data)
	require.NoError(t, j.SetReplyFileName(filepath.Join(e.dir, "answer.bin")))
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	reply, err := j.GetReplyData()
	require.NoError(t, err)
	want := bytes.Clone(data)
	for i, k := 0, len(want)-1; i < k; i, k = i+1, k-1 {
		want[i], want[k] = want[k], want[i]
	}
	require.True(t, bytes.Equal(want, reply), "the application's reply")
	assert.Equal(t, 1, e.s.Stats().Packets["Close-Session"], "closed once the reply was downloaded")
	_, err = j.Complete()
	require.NoError(t, err)
	onDisk, err := os.ReadFile(filepath.Join(e.dir, "answer.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, onDisk))
}

// serveApp serves h on n at addr as a server application and returns its URL.
func serveApp(t *testing.T, n *bitstest.Network, addr string, h http.Handler) string {
	t.Helper()
	l, err := n.Listen(addr)
	require.NoError(t, err)
	hs := &http.Server{Handler: h, ConnState: func(c net.Conn, st http.ConnState) {
		n.SetBusy(c, st == http.StateActive)
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return "http://" + addr + "/app"
}

func TestUploadRestartWithUploadServer(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	srvDir := t.TempDir()
	s := bitstest.NewUploadServerOn(n, "uploads.test:80", srvDir, upload.Options{ErrorLog: log.New(io.Discard, "", 0)},
		bitstest.Stall(upFragment).Method("Fragment").Skip(3).Times(1))
	defer s.Close()
	data := content(43, 7*upFragment)
	r := startRestartable(t, n, transfer.Config{}, bits.Upload, s.URLFor("data.bin"), data)
	r.h.Settle()
	require.Equal(t, 1, s.Stats().Stalled, "the fourth fragment's Ack is held")
	r.restart(t, s.Release)
	requireTransferred(t, r.h, r.j)
	got, err := os.ReadFile(filepath.Join(srvDir, "data.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	stats := s.Stats()
	assert.Equal(t, 1, stats.Packets["Create-Session"], "the restarted manager went on in the same session")
	assert.LessOrEqual(t, stats.BytesReceived, int64(len(data)+upFragment), "at most the held fragment again")
}

// TestUploadReplyRestartResumesTheReply: a manager closed while the reply is downloading comes
// back with the reply's bytes and fetches the rest with a ranged GET; the upload is not sent
// again.
func TestUploadReplyRestartResumesTheReply(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	answer := content(44, 300_000)
	app := serveApp(t, n, "app.test:80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(answer)
	}))
	s := bitstest.NewUploadServerOn(n, "uploads.test:80", t.TempDir(), upload.Options{
		NotifyType: upload.NotifyByValue, NotifyURL: app, ErrorLog: log.New(io.Discard, "", 0),
		NotifyClient: &http.Client{Transport: &http.Transport{DialContext: n.Dial}},
	}, bitstest.Stall(100_000).Method("GET").Times(1))
	defer s.Close()
	r := startRestartable(t, n, transfer.Config{ChunkSize: 16 << 10}, bits.UploadReply, s.URLFor("ask.bin"), content(45, 2*upFragment))
	r.h.Settle()
	require.Equal(t, 1, s.Stats().Stalled, "the reply is held after 100,000 bytes")
	rp, err := r.j.GetReplyProgress()
	require.NoError(t, err)
	require.Equal(t, uint64(len(answer)), rp.BytesTotal)
	fragments := 0
	r.restart(t, func() {
		s.Release()
		fragments = s.Stats().Packets["Fragment"]
	})
	rp, err = r.j.GetReplyProgress()
	require.NoError(t, err)
	kept := rp.BytesTransferred
	assert.Positive(t, kept, "the reply's bytes were kept")
	requireTransferred(t, r.h, r.j)
	got, err := r.j.GetReplyData()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(answer, got))
	assert.Equal(t, fragments, s.Stats().Packets["Fragment"], "the upload was not sent again")
	var ranges []string
	for _, r := range s.Requests() {
		if r.Method == http.MethodGet {
			ranges = append(ranges, r.Range)
		}
	}
	require.NotEmpty(t, ranges)
	assert.Equal(t, fmt.Sprintf("bytes=%d-%d", kept, len(answer)-1), ranges[len(ranges)-1], "the rest of the reply, from the byte kept")
}

// TestUploadOverTLS uploads to an HTTPS upload server whose certificate the manager trusts.
func TestUploadOverTLS(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	s := bitstest.NewTLSUploadServerOn(n, "uploads.test:443", t.TempDir(), upload.Options{ErrorLog: log.New(io.Discard, "", 0)})
	defer s.Close()
	h := bitstest.NewHarness(t, manager.WithTransfer(transfer.Config{Dial: n.Dial, TLS: s.TLSConfig()}))
	e := &srvEnv{h: h, c: h.Connect(userSID), n: n, s: s, dir: t.TempDir()}
	data := content(46, 100_000)
	j := e.job(t, bits.Upload, "secure.bin", data)
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	assert.True(t, bytes.Equal(data, e.received(t, "secure.bin")))
	assert.True(t, strings.HasPrefix(s.URLFor("secure.bin"), "https://"))
}
