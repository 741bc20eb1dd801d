package upload_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// srv is a Handler behind a loopback httptest server.
type srv struct {
	t   *testing.T
	h   *upload.Handler
	ts  *httptest.Server
	dir string
}

// newSrv starts a handler over a new directory.
func newSrv(t *testing.T, opts upload.Options) *srv {
	t.Helper()
	return newSrvIn(t, t.TempDir(), opts)
}

// newSrvIn starts a handler over dir.
func newSrvIn(t *testing.T, dir string, opts upload.Options) *srv {
	t.Helper()
	h, err := upload.New(dir, opts)
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	s := &srv{t: t, h: h, ts: ts, dir: dir}
	t.Cleanup(s.stop)
	return s
}

// stop closes the server and the handler; calling it again does nothing.
func (s *srv) stop() {
	if s.ts == nil {
		return
	}
	s.ts.Close()
	_ = s.h.Close()
	s.ts = nil
}

// reply is an answer, its body read.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// code is the answer's BITS-Error-Code, 0 when it has none.
func (r reply) code(t *testing.T) hresult.Code {
	t.Helper()
	e, err := bup.ErrorFromHeaders(r.Status, r.Header)
	require.NoError(t, err)
	if e == nil {
		return 0
	}
	return e.Code
}

// next is the answer's BITS-Received-Content-Range.
func (r reply) next(t *testing.T) uint64 {
	t.Helper()
	n, err := bup.ParseReceivedContentRange(r.Header.Get(bup.HeaderReceivedContentRange))
	require.NoError(t, err)
	return n
}

// assertFailure checks that r is a failed Ack with status, code and context.
func assertFailure(t *testing.T, r reply, status int, code hresult.Code, ctx bup.ErrorContext) {
	t.Helper()
	assert.Equal(t, status, r.Status)
	assert.Equal(t, "Ack", r.Header.Get(bup.HeaderPacketType))
	assert.Equal(t, "0", r.Header.Get("Content-Length"))
	e, err := bup.ErrorFromHeaders(r.Status, r.Header)
	require.NoError(t, err)
	require.NotNil(t, e, "no BITS-Error-Code in %v", r.Header)
	assert.Equal(t, code, e.Code, "BITS-Error-Code %s", r.Header.Get(bup.HeaderErrorCode))
	assert.Equal(t, ctx, e.Context)
}

// assertOK checks that r is a successful Ack.
func assertOK(t *testing.T, r reply) {
	t.Helper()
	assert.Equal(t, http.StatusOK, r.Status, "error %s", r.Header.Get(bup.HeaderErrorCode))
	assert.Equal(t, "Ack", r.Header.Get(bup.HeaderPacketType))
	assert.Empty(t, r.Header.Get(bup.HeaderErrorCode))
	assert.Empty(t, r.Header.Get(bup.HeaderErrorContext))
}

// do sends a BITS_POST packet to path with the given headers (name, value, ...) and body.
func (s *srv) do(path string, pt bup.PacketType, body []byte, kv ...string) reply {
	s.t.Helper()
	return s.doURL(s.ts.URL+path, pt, body, kv...)
}

func (s *srv) doURL(url string, pt bup.PacketType, body []byte, kv ...string) reply {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(bup.Method, url, rd)
	require.NoError(s.t, err)
	if pt != "" {
		req.Header.Set(bup.HeaderPacketType, string(pt))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	return send(s.t, s.ts.Client(), req)
}

func send(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// create opens a session for path and returns its id.
func (s *srv) create(path string, kv ...string) string {
	s.t.Helper()
	r := s.do(path, bup.CreateSession, nil, append([]string{bup.HeaderSupportedProtocols, bup.Protocol}, kv...)...)
	assertOK(s.t, r)
	id := r.Header.Get(bup.HeaderSessionID)
	require.NotEmpty(s.t, id)
	return id
}

// fragment sends data[first:last+1] of data as a fragment of session id.
func (s *srv) fragment(path, id string, data []byte, first, last int) reply {
	s.t.Helper()
	return s.do(path, bup.Fragment, data[first:last+1], bup.HeaderSessionID, id,
		bup.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
}

// upload sends data in fragments of size n and returns the Ack of the last one.
func (s *srv) upload(path, id string, data []byte, n int) reply {
	s.t.Helper()
	var r reply
	for first := 0; first < len(data); first += n {
		last := min(first+n, len(data)) - 1
		r = s.fragment(path, id, data, first, last)
		require.Equal(s.t, http.StatusOK, r.Status, "fragment %d-%d: %s", first, last, r.Header.Get(bup.HeaderErrorCode))
		require.Equal(s.t, strconv.Itoa(last+1), r.Header.Get(bup.HeaderReceivedContentRange))
	}
	return r
}

// closeSession sends Close-Session.
func (s *srv) closeSession(path, id string) reply {
	s.t.Helper()
	return s.do(path, bup.CloseSession, nil, bup.HeaderSessionID, id)
}

// sessionDir is the directory of session id.
func (s *srv) sessionDir(id string) string { return filepath.Join(s.dir, "BITS-Sessions", id) }

// pattern returns n bytes that differ from one offset to the next, seeded by seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// fileContent reads dir/name, or returns nil when it does not exist.
func fileContent(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return b
}

// logBuffer collects what a handler logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *log.Logger { return log.New(b, "", 0) }
