package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is the modification time the test servers give their files.
var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// pattern returns n deterministic bytes that differ from one offset to the next.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>8) ^ seed
	}
	return b
}

// seen is one request as a test server received it.
type seen struct {
	Method, URI, Range string
	Header             http.Header
}

// origin is a test HTTP server for one file, with switches to break BITS's requirements.
type origin struct {
	mu       sync.Mutex
	content  []byte
	etag     string
	modified time.Time
	requests []seen

	noHeadLength bool // HEAD answers without Content-Length
	noHead       bool // HEAD answers 405
	ignoreRange  bool // GET answers 200 with the whole file
	shiftRange   bool // 206 with a Content-Range one byte off
	chunked      bool // no Content-Length on GET answers (streamed)
	wrongLength  bool // 206 whose Content-Length is one byte short of the range
	beforeGet    func(o *origin, nth int)
	gets         int
}

func newOrigin(content []byte) *origin {
	return &origin{content: content, etag: `"v1"`, modified: epoch}
}

// set replaces the file, as an edit on the server would.
func (o *origin) set(content []byte, etag string, modified time.Time) {
	o.content, o.etag, o.modified = content, etag, modified
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests = append(o.requests, seen{Method: r.Method, URI: r.RequestURI, Range: r.Header.Get("Range"), Header: r.Header.Clone()})
	if r.Method != http.MethodHead {
		o.gets++
		if o.beforeGet != nil {
			o.beforeGet(o, o.gets)
		}
	}
	content, etag, modified := o.content, o.etag, o.modified
	o.mu.Unlock()

	h := w.Header()
	if etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	switch {
	case r.Method == http.MethodHead && o.noHead:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.Method == http.MethodHead && o.noHeadLength:
		w.WriteHeader(http.StatusOK)
	case r.Method != http.MethodHead && o.chunked:
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		_, _ = w.Write(content)
	case r.Method != http.MethodHead && o.ignoreRange:
		h.Set("Content-Length", fmt.Sprint(len(content)))
		_, _ = w.Write(content)
	case r.Method != http.MethodHead && (o.shiftRange || o.wrongLength):
		var first, last int
		_, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &first, &last)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body := content[first : last+1]
		if o.shiftRange {
			first++
			last++
		} else {
			body = body[:len(body)-1]
		}
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(content)))
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(body)
	default:
		http.ServeContent(w, r, "", modified, bytes.NewReader(content))
	}
}

// log returns the requests received so far.
func (o *origin) log() []seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]seen(nil), o.requests...)
}

// ranges returns the Range headers of the requests other than HEAD.
func (o *origin) ranges() []string {
	var out []string
	for _, s := range o.log() {
		if s.Method != http.MethodHead {
			out = append(out, s.Range)
		}
	}
	return out
}

// serve starts an HTTP server for o, closed at the end of the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// recorder is an Observer that keeps what it heard. onProgress, when set, is called with every
// report; its error stops the fetch.
type recorder struct {
	mu         sync.Mutex
	connected  int
	reports    []transfer.Progress
	onProgress func(transfer.Progress) error
}

func (r *recorder) Connected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected++
}

func (r *recorder) Progressed(p transfer.Progress) error {
	r.mu.Lock()
	r.reports = append(r.reports, p)
	f := r.onProgress
	r.mu.Unlock()
	if f != nil {
		return f(p)
	}
	return nil
}

func (r *recorder) all() []transfer.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transfer.Progress(nil), r.reports...)
}

func (r *recorder) last() transfer.Progress {
	all := r.all()
	if len(all) == 0 {
		return transfer.Progress{}
	}
	return all[len(all)-1]
}

func (r *recorder) connects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected
}

// newClient returns a Client closed at the end of the test.
func newClient(t *testing.T, cfg transfer.Config) *transfer.Client {
	t.Helper()
	c := transfer.New(cfg)
	t.Cleanup(c.Close)
	return c
}

// tempFile returns an open, empty temporary file for the output, with prefix already in it.
func tempFile(t *testing.T, prefix []byte) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "BIT1.tmp"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	_, err = f.Write(prefix)
	require.NoError(t, err)
	return f
}

// contents returns what dst holds.
func contents(t *testing.T, dst *os.File) []byte {
	t.Helper()
	b, err := os.ReadFile(dst.Name())
	require.NoError(t, err)
	return b
}

// result is the outcome of one fetch.
type result struct {
	err error
	dst *os.File
	obs *recorder
}

// fetch runs one fetch into a fresh temporary file holding prefix.
func fetch(t *testing.T, c *transfer.Client, spec transfer.Spec, opt transfer.Options, prefix []byte) result {
	t.Helper()
	res := result{dst: tempFile(t, prefix), obs: &recorder{}}
	res.err = c.Fetch(context.Background(), spec, opt, res.dst, res.obs)
	return res
}

// wholeSpec is the Spec of a first attempt at remote.
func wholeSpec(remote string) transfer.Spec {
	return transfer.Spec{Remote: remote, Total: bits.SizeUnknown}
}

// requireError checks that err is an *Error with the given classification, and that errors.Is
// finds its code.
func requireError(t *testing.T, err error, code hresult.Code, ctx bits.ErrorContext, transient bool, protocol string) *transfer.Error {
	t.Helper()
	require.Error(t, err)
	var te *transfer.Error
	require.True(t, errors.As(err, &te), "not a *transfer.Error: %v", err)
	assert.Equal(t, code.String(), te.Code.String(), "code (%v)", err)
	assert.Equal(t, ctx.String(), te.Context.String(), "context (%v)", err)
	assert.Equal(t, transient, te.Transient, "transient (%v)", err)
	assert.Equal(t, protocol, te.Protocol, "protocol")
	assert.True(t, errors.Is(err, code), "errors.Is(err, %s)", code.Name())
	return te
}

// checkMonotonic checks that the reports never go backwards except to 0 (a restart), and never
// pass Total when it is known.
func checkMonotonic(t *testing.T, reports []transfer.Progress) {
	t.Helper()
	var prev uint64
	for i, p := range reports {
		if p.Transferred != 0 {
			assert.GreaterOrEqual(t, p.Transferred, prev, "report %d goes backwards", i)
		}
		if p.Total != bits.SizeUnknown {
			assert.LessOrEqual(t, p.Transferred, p.Total, "report %d past Total", i)
		}
		prev = p.Transferred
	}
}

// urlOf returns srv's URL for name.
func urlOf(srv *httptest.Server, name string) string {
	return srv.URL + "/" + strings.TrimPrefix(name, "/")
}

// genTable is the repeating content of a generated file.
var genTable = pattern(64<<10, 0x5a)

// genFile is an io.ReadSeeker over size generated bytes: a file of any size held in no memory.
type genFile struct{ size, off int64 }

func (g *genFile) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.size-g.off)]
	n := 0
	for n < len(p) {
		n += copy(p[n:], genTable[(g.off+int64(n))%int64(len(genTable)):])
	}
	g.off += int64(n)
	return n, nil
}

func (g *genFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	}
	if offset < 0 {
		return 0, errors.New("negative offset")
	}
	g.off = offset
	return offset, nil
}

// serveGenerated returns a handler serving size generated bytes with ranges.
func serveGenerated(size int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", epoch, &genFile{size: size})
	})
}
