package bitstest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// uploader speaks the upload protocol to an UploadServer by hand.
type uploader struct {
	t *testing.T
	s *bitstest.UploadServer
	c *http.Client
}

func newUploadServer(t *testing.T, opts upload.Options, faults ...bitstest.Fault) (*bitstest.UploadServer, *uploader) {
	t.Helper()
	s := bitstest.NewUploadServer(t.TempDir(), opts, faults...)
	t.Cleanup(s.Close)
	return s, &uploader{t: t, s: s, c: s.Client()}
}

// packet sends a packet; err is the transport's error (a cut connection).
func (u *uploader) packet(name string, pt bup.PacketType, body []byte, kv ...string) (*http.Response, error) {
	req, err := http.NewRequest(bup.Method, u.s.URLFor(name), bytes.NewReader(body))
	require.NoError(u.t, err)
	req.Header.Set(bup.HeaderPacketType, string(pt))
	for i := 0; i < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := u.c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func (u *uploader) ok(name string, pt bup.PacketType, body []byte, kv ...string) *http.Response {
	u.t.Helper()
	resp, err := u.packet(name, pt, body, kv...)
	require.NoError(u.t, err)
	require.Equal(u.t, http.StatusOK, resp.StatusCode, "%s: %s", pt, resp.Header.Get(bup.HeaderErrorCode))
	return resp
}

func (u *uploader) create(name string) string {
	u.t.Helper()
	return u.ok(name, bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol).Header.Get(bup.HeaderSessionID)
}

func (u *uploader) fragment(name, id string, data []byte, first, last int) (*http.Response, error) {
	return u.packet(name, bup.Fragment, data[first:last+1], bup.HeaderSessionID, id,
		bup.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
}

func received(t *testing.T, s *bitstest.UploadServer) uint64 {
	t.Helper()
	info := s.Handler.Sessions()
	require.Len(t, info, 1)
	return info[0].Received
}

func TestUploadServerUploads(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{})
	data := content(1000)
	id := u.create("dir-less.bin")
	for first := 0; first < len(data); first += 400 {
		resp, err := u.fragment("dir-less.bin", id, data, first, min(first+400, len(data))-1)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	u.ok("dir-less.bin", bup.CloseSession, nil, bup.HeaderSessionID, id)
	got, err := os.ReadFile(filepath.Join(s.Dir, "dir-less.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	st := s.Stats()
	assert.Equal(t, 5, st.Requests)
	assert.Equal(t, map[string]int{"Create-Session": 1, "Fragment": 3, "Close-Session": 1}, st.Packets)
	assert.Equal(t, int64(1000), st.BytesReceived)
	assert.Zero(t, st.Faults)
	reqs := s.Requests()
	require.Len(t, reqs, 5)
	assert.Equal(t, "bytes 400-799/1000", reqs[2].Range)
	assert.Equal(t, id, reqs[2].SessionID)
	assert.Equal(t, 200, reqs[2].Status)
	assert.Equal(t, int64(400), reqs[2].Received)
}

// TestUploadServerDropAfter cuts a fragment in its body: the server keeps what it got, and the
// client goes on from there.
func TestUploadServerDropAfter(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.DropAfter(100).Method("Fragment").Times(1))
	data := content(300)
	id := u.create("cut.bin")
	_, err := u.fragment("cut.bin", id, data, 0, 299)
	require.Error(t, err, "the connection is cut")
	assert.Equal(t, uint64(100), received(t, s))
	st := s.Stats()
	assert.Equal(t, 1, st.Cut)
	assert.Equal(t, 1, st.Faults)
	assert.Equal(t, []string{`DropAfter(100).Method("FRAGMENT").Times(1)`}, s.Requests()[1].Faults)
	assert.Equal(t, 0, s.Requests()[1].Status)

	resp, err := u.fragment("cut.bin", id, data, 0, 299)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "300", resp.Header.Get(bup.HeaderReceivedContentRange))
}

// TestUploadServerLostAck processes a whole fragment and loses its Ack.
func TestUploadServerLostAck(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.DropAfter(1000).Method("Fragment").Times(1))
	data := content(300)
	id := u.create("ack.bin")
	_, err := u.fragment("ack.bin", id, data, 0, 299)
	require.Error(t, err)
	assert.Equal(t, uint64(300), received(t, s), "the fragment was stored")
	assert.Equal(t, 1, s.Stats().Cut)
	resp, err := u.fragment("ack.bin", id, data, 0, 299)
	require.NoError(t, err)
	assert.Equal(t, "300", resp.Header.Get(bup.HeaderReceivedContentRange))
}

// TestUploadServerStall holds a fragment after 50 bytes until Release.
func TestUploadServerStall(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.Stall(50).Method("Fragment").Times(1))
	data := content(200)
	id := u.create("stall.bin")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := u.fragment("stall.bin", id, data, 0, 199)
		assert.NoError(t, err)
		done <- resp
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, func(st bitstest.UploadStats) bool { return st.Stalled == 1 }))
	assert.Equal(t, int64(50), s.Requests()[1].Received)
	assert.True(t, s.Quiet(), "a held request waits by design")
	s.Release()
	resp := <-done
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uint64(200), received(t, s))
	assert.Zero(t, s.Stats().Stalled)
}

// TestUploadServerStallsTheAck holds the Ack of a fragment shorter than the stall point.
func TestUploadServerStallsTheAck(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.Stall(1<<20).Method("Fragment").Times(1))
	data := content(10)
	id := u.create("a.bin")
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := u.fragment("a.bin", id, data, 0, 9)
		assert.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, func(st bitstest.UploadStats) bool { return st.Stalled == 1 }))
	assert.Equal(t, uint64(10), received(t, s), "stored before the Ack is held")
	s.Release()
	<-done
}

// TestUploadServerLoseSession forgets the session at the second fragment.
func TestUploadServerLoseSession(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.LoseSession().Method("Fragment").Skip(1).Times(1))
	data := content(300)
	id := u.create("lost.bin")
	resp, err := u.fragment("lost.bin", id, data, 0, 99)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = u.fragment("lost.bin", id, data, 100, 199)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, bup.FormatErrorCode(hresult.BG_E_SESSION_NOT_FOUND), resp.Header.Get(bup.HeaderErrorCode))
	assert.Equal(t, 1, s.Stats().SessionsLost)
	assert.Empty(t, s.Handler.Sessions())
	assert.NoDirExists(t, filepath.Join(s.Dir, "BITS-Sessions", id))
	resp, err = u.packet("lost.bin", bup.CloseSession, nil, bup.HeaderSessionID, id)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "the session stays lost")

	// The client starts again with a new session, as [MC-BUP] says it must.
	id = u.create("lost.bin")
	for _, r := range [][2]int{{0, 149}, {150, 299}} {
		resp, err = u.fragment("lost.bin", id, data, r[0], r[1])
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	u.ok("lost.bin", bup.CloseSession, nil, bup.HeaderSessionID, id)
	assert.Equal(t, 1, s.Stats().SessionsLost, "the fault was used once")
}

// TestUploadServerStatusAndHangup answer before the handler, with no Ack.
func TestUploadServerStatusAndHangup(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{}, bitstest.Status(503, 1).Method("Create-Session"), bitstest.Hangup().Method("Ping").Times(1))
	resp, err := u.packet("x", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Empty(t, resp.Header.Get(bup.HeaderPacketType), "not an Ack")
	u.create("x")

	_, err = u.packet("x", bup.Ping, nil)
	assert.Error(t, err)
	u.ok("x", bup.Ping, nil)
	st := s.Stats()
	assert.Equal(t, 1, st.Cut)
	assert.Equal(t, 2, st.Faults)
}

// TestUploadServerFlakyIsDeterministic fails the same fragments with the same seed.
func TestUploadServerFlakyIsDeterministic(t *testing.T) {
	run := func() []string {
		s, u := newUploadServer(t, upload.Options{}, bitstest.Flaky(7, 0.5))
		data := content(100)
		id := u.create("f.bin")
		var outcomes []string
		for i := range 20 {
			resp, err := u.fragment("f.bin", id, data, 0, 99)
			switch {
			case err != nil:
				outcomes = append(outcomes, "cut")
			default:
				outcomes = append(outcomes, fmt.Sprint(resp.StatusCode))
			}
			_ = i
		}
		assert.Positive(t, s.Stats().Faults)
		return outcomes
	}
	first := run()
	assert.Equal(t, first, run())
	assert.Contains(t, first, "cut")
	assert.Contains(t, first, "503")
	assert.Contains(t, first, "200")
}

// TestUploadServerOnANetwork serves on the in-memory network; a held request leaves the
// network quiet.
func TestUploadServerOnANetwork(t *testing.T) {
	n := bitstest.NewNetwork()
	s := bitstest.NewTLSUploadServerOn(n, "up.test:443", t.TempDir(), upload.Options{}, bitstest.Stall(0).Method("Close-Session").Times(1))
	defer s.Close()
	assert.Equal(t, "https://up.test", s.URL)
	require.NotNil(t, s.Certificate())
	u := &uploader{t: t, s: s, c: s.Client()}
	data := content(64)
	id := u.create("net.bin")
	resp, err := u.fragment("net.bin", id, data, 0, 63)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.ok("net.bin", bup.CloseSession, nil, bup.HeaderSessionID, id)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, func(st bitstest.UploadStats) bool { return st.Stalled == 1 }), "%+v %+v", s.Stats(), s.Requests())
	assert.Eventually(t, n.Quiet, 5*time.Second, time.Millisecond, "a held request is parked")
	s.Release()
	<-done
	got, err := os.ReadFile(filepath.Join(s.Dir, "net.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// TestUploadServerReplyFaults cuts the download of a reply.
func TestUploadServerReplyFaults(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the reply of the application")
	}))
	defer app.Close()
	s, u := newUploadServer(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: app.URL},
		bitstest.DropAfter(5).Method("GET").Times(1))
	id := u.create("r.bin")
	resp, err := u.fragment("r.bin", id, []byte("x"), 0, 0)
	require.NoError(t, err)
	replyURL := resp.Header.Get(bup.HeaderReplyURL)
	require.NotEmpty(t, replyURL)

	get := func() ([]byte, error) {
		resp, err := u.c.Get(replyURL)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	b, err := get()
	assert.Error(t, err, "cut after 5 bytes")
	assert.Equal(t, []byte("the r"), b)
	b, err = get()
	require.NoError(t, err)
	assert.Equal(t, []byte("the reply of the application"), b)
	assert.Equal(t, 2, s.Stats().Gets)
	assert.Equal(t, 1, s.Stats().Cut)
}

// TestUploadServerRestart continues a session in a new server over the same directory.
func TestUploadServerRestart(t *testing.T) {
	dir := t.TempDir()
	s := bitstest.NewUploadServer(dir, upload.Options{})
	u := &uploader{t: t, s: s, c: s.Client()}
	data := content(200)
	id := u.create("again.bin")
	_, err := u.fragment("again.bin", id, data, 0, 99)
	require.NoError(t, err)
	s.Close()
	s.Close()

	s = bitstest.NewUploadServer(dir, upload.Options{})
	defer s.Close()
	u = &uploader{t: t, s: s, c: s.Client()}
	resp, err := u.fragment("again.bin", id, data, 100, 199)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestUploadServerConcurrent uploads in parallel through one server.
func TestUploadServerConcurrent(t *testing.T) {
	s, u := newUploadServer(t, upload.Options{MaxSessionsPerUser: -1})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			name := fmt.Sprintf("c%d.bin", i)
			data := content(5000 + i)
			resp, err := u.packet(name, bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
			if !assert.NoError(t, err) {
				return
			}
			id := resp.Header.Get(bup.HeaderSessionID)
			for first := 0; first < len(data); first += 1000 {
				resp, err := u.fragment(name, id, data, first, min(first+1000, len(data))-1)
				if !assert.NoError(t, err) || !assert.Equal(t, http.StatusOK, resp.StatusCode) {
					return
				}
			}
			resp, err = u.packet(name, bup.CloseSession, nil, bup.HeaderSessionID, id)
			assert.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	wg.Wait()
	assert.Equal(t, 6+35+6, s.Stats().Requests, "6 Create-Session, 5+5×6 fragments, 6 Close-Session")
}

func TestLoseSessionString(t *testing.T) {
	assert.Equal(t, `LoseSession().Method("FRAGMENT").Skip(2).Times(1)`, bitstest.LoseSession().Method("Fragment").Skip(2).Times(1).String())
}
