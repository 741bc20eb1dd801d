package bitstest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
)

// content returns n deterministic bytes.
func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func newServer(t *testing.T, files map[string][]byte, faults ...bitstest.Fault) *bitstest.Server {
	t.Helper()
	s := bitstest.NewServer(files, faults...)
	t.Cleanup(s.Close)
	return s
}

// do sends a request and reads the whole body; err is the error of the request or of the
// body.
func do(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// get is do that requires success.
func get(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := do(t, c, method, url, hdr...)
	require.NoError(t, err)
	return resp, body
}

// freshClient has no keep-alives, so that every request uses its own connection.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestHead(t *testing.T) {
	data := content(1000)
	s := newServer(t, map[string][]byte{"a.bin": data})
	resp, body := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(1000), resp.ContentLength)
	assert.Equal(t, "1000", resp.Header.Get("Content-Length"))
	assert.Empty(t, body)
	assert.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))
	assert.Equal(t, s.ETag("a.bin"), resp.Header.Get("ETag"))
	assert.NotEmpty(t, resp.Header.Get("ETag"))
	lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	require.NoError(t, err)
	assert.True(t, lm.Equal(s.LastModified("a.bin")))

	// HEAD ignores Range.
	resp, _ = get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"), "Range", "bytes=0-9")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(1000), resp.ContentLength)
}

func TestGetWhole(t *testing.T) {
	data := content(100 << 10)
	s := newServer(t, map[string][]byte{"dir/a b.bin": data})
	assert.Equal(t, s.URL+"/dir/a%20b.bin", s.URLFor("dir/a b.bin"))
	assert.Equal(t, s.URLFor("dir/a b.bin"), s.URLFor("/dir/a b.bin"))
	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("dir/a b.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(len(data)), resp.ContentLength)
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, data, body)

	// Any method but HEAD is answered as GET.
	resp, body = get(t, s.Client(), http.MethodPost, s.URLFor("dir/a b.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body)
}

func TestNotFound(t *testing.T) {
	s := newServer(t, nil)
	resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("missing"))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = get(t, s.Client(), http.MethodHead, s.URLFor("missing"))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, 2, s.StatsFor("missing").Requests)
}

func TestRange(t *testing.T) {
	data := content(1000)
	s := newServer(t, map[string][]byte{"a.bin": data, "empty": {}})
	url := s.URLFor("a.bin")
	for _, tc := range []struct {
		rng         string
		first, last int
	}{
		{"bytes=0-9", 0, 9},
		{"bytes=100-199", 100, 199},
		{"bytes=990-", 990, 999},
		{"bytes=990-5000", 990, 999},
		{"bytes=-10", 990, 999},
		{"bytes=-5000", 0, 999},
		{"bytes=999-999", 999, 999},
		{" bytes= 5 - 6 ", 5, 6},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			resp, body := get(t, s.Client(), http.MethodGet, url, "Range", tc.rng)
			assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
			assert.Equal(t, fmt.Sprintf("bytes %d-%d/1000", tc.first, tc.last), resp.Header.Get("Content-Range"))
			assert.Equal(t, int64(tc.last-tc.first+1), resp.ContentLength)
			assert.Equal(t, data[tc.first:tc.last+1], body)
			assert.Equal(t, s.ETag("a.bin"), resp.Header.Get("ETag"))
		})
	}
	for _, rng := range []string{"bytes=1000-", "bytes=2000-3000", "bytes=5-4", "bytes=-0", "bytes=0-9,20-29", "bytes=x-y", "items=0-9", "bytes=-"} {
		t.Run(rng, func(t *testing.T) {
			resp, _ := get(t, s.Client(), http.MethodGet, url, "Range", rng)
			assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
			assert.Equal(t, "bytes */1000", resp.Header.Get("Content-Range"))
		})
	}
	resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("empty"), "Range", "bytes=0-")
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	assert.Equal(t, "bytes */0", resp.Header.Get("Content-Range"))
	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("empty"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(0), resp.ContentLength)
	assert.Empty(t, body)
}

func TestIfRange(t *testing.T) {
	data := content(100)
	s := newServer(t, map[string][]byte{"a.bin": data})
	url := s.URLFor("a.bin")
	lm := s.LastModified("a.bin").Format(http.TimeFormat)

	resp, body := get(t, s.Client(), http.MethodGet, url, "Range", "bytes=10-", "If-Range", s.ETag("a.bin"))
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[10:], body)
	resp, _ = get(t, s.Client(), http.MethodGet, url, "Range", "bytes=10-", "If-Range", lm)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)

	old := s.ETag("a.bin")
	s.SetContent("a.bin", data)
	resp, body = get(t, s.Client(), http.MethodGet, url, "Range", "bytes=10-", "If-Range", old)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body)
	resp, _ = get(t, s.Client(), http.MethodGet, url, "Range", "bytes=10-", "If-Range", lm)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestSetContentAndValidators(t *testing.T) {
	s := newServer(t, map[string][]byte{"a": []byte("one"), "b": []byte("one")})
	assert.NotEqual(t, s.ETag("a"), s.ETag("b"), "every version has its own ETag")
	e1, lm1 := s.ETag("a"), s.LastModified("a")
	s.SetContent("a", []byte("one")) // same bytes, new version
	e2, lm2 := s.ETag("a"), s.LastModified("a")
	assert.NotEqual(t, e1, e2)
	assert.True(t, lm2.After(lm1))
	assert.Equal(t, []byte("one"), s.Content("a"))

	s.SetContent("c", []byte("new file"))
	_, body := get(t, s.Client(), http.MethodGet, s.URLFor("c"))
	assert.Equal(t, "new file", string(body))

	s.Remove("c")
	resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("c"))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Nil(t, s.Content("c"))
	assert.Empty(t, s.ETag("c"))
	assert.True(t, s.LastModified("c").IsZero())

	// Validators are deterministic.
	s2 := newServer(t, map[string][]byte{"b": []byte("one"), "a": []byte("one")})
	assert.Equal(t, e1, s2.ETag("a"))
	assert.Equal(t, lm1, s2.LastModified("a"))
}

func TestDropAfter(t *testing.T) {
	data := content(100 << 10)
	for _, n := range []int64{0, 1, 1000, 40 << 10, 99 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.DropAfter(n).Times(1))
			resp, body, err := do(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, int64(len(data)), resp.ContentLength)
			assert.Equal(t, data[:n], body, "exactly n bytes arrive")
			assert.Equal(t, n, s.Stats().BytesSent)
			assert.Empty(t, s.PendingFaults())

			// Used up: the next GET is whole.
			_, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
			assert.Equal(t, data, body)
		})
	}
}

func TestDropAfterRangeAndChunked(t *testing.T) {
	data := content(10000)
	s := newServer(t, map[string][]byte{"a.bin": data},
		bitstest.DropAfter(100).Times(1), bitstest.NoContentLength().Times(2))

	resp, body, err := do(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=5000-")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	assert.Equal(t, data[5000:5100], body)

	// Body shorter than n: whole, then the connection is closed.
	s.AddFaults(bitstest.DropAfter(100).Times(1))
	resp, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=0-9")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[:10], body)
	assert.Empty(t, s.PendingFaults())
}

func TestStatus(t *testing.T) {
	data := content(10)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.Status(503, 3))
	for i := range 3 {
		resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "request %d", i)
		assert.Empty(t, resp.Header.Get("ETag"))
	}
	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body)
	st := s.Stats()
	assert.Equal(t, 4, st.Requests)
	assert.Equal(t, 3, st.Faults)

	// HEAD matches too; Status(code, 0) is always.
	s.AddFaults(bitstest.Status(404, 0).On("b"))
	for range 3 {
		resp, _ = get(t, s.Client(), http.MethodHead, s.URLFor("b"))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	}
	assert.Empty(t, s.PendingFaults())
}

func TestNoRange(t *testing.T) {
	data := content(1000)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.NoRange().Times(1))
	// A GET without Range does not use the fault.
	resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))
	require.Len(t, s.PendingFaults(), 1)

	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=10-19")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Content-Range"))
	assert.Empty(t, resp.Header.Get("Accept-Ranges"))
	assert.Equal(t, int64(1000), resp.ContentLength)
	assert.Equal(t, data, body)

	resp, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=10-19")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[10:20], body)
}

func TestNoContentLength(t *testing.T) {
	data := content(100) // small enough that net/http would add a Content-Length itself
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.NoContentLength())
	resp, _ := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.Empty(t, resp.Header.Get("Content-Length"))

	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	assert.Equal(t, data, body)

	resp, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=50-")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "bytes 50-99/100", resp.Header.Get("Content-Range"))
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.Equal(t, data[50:], body)
}

func TestNoValidators(t *testing.T) {
	s := newServer(t, map[string][]byte{"a.bin": content(10)}, bitstest.NoValidators().On("a.bin"))
	resp, _ := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Empty(t, resp.Header.Get("ETag"))
	assert.Empty(t, resp.Header.Get("Last-Modified"))
	assert.Equal(t, int64(10), resp.ContentLength)
}

func TestHTTP10(t *testing.T) {
	data := content(5000)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.HTTP10())
	resp, _ := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, "HTTP/1.0", resp.Proto)
	assert.Equal(t, int64(5000), resp.ContentLength)

	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=100-199")
	assert.Equal(t, 0, resp.ProtoMinor)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "bytes 100-199/5000", resp.Header.Get("Content-Range"))
	assert.True(t, resp.Close)
	assert.Equal(t, data[100:200], body)

	// Combined with the others: no length (the body ends with the connection), and a cut.
	s.AddFaults(bitstest.NoContentLength().Times(1))
	resp, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.Equal(t, data, body)

	s.AddFaults(bitstest.DropAfter(10).Times(1))
	resp, body, err := do(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "HTTP/1.0", resp.Proto)
	assert.Equal(t, data[:10], body)
	assert.Equal(t, int64(100+5000+10), s.Stats().BytesSent)
}

func TestChangeContent(t *testing.T) {
	v1, v2 := []byte("version one"), []byte("version two!")
	s := newServer(t, map[string][]byte{"a.bin": v1}, bitstest.ChangeContent(v2).On("a.bin").Skip(1))
	resp1, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, v1, body)
	resp2, _ := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, int64(len(v2)), resp2.ContentLength)
	assert.NotEqual(t, resp1.Header.Get("ETag"), resp2.Header.Get("ETag"))
	assert.NotEqual(t, resp1.Header.Get("Last-Modified"), resp2.Header.Get("Last-Modified"))
	_, body = get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, v2, body)
	assert.Equal(t, resp2.Header.Get("ETag"), s.ETag("a.bin"), "applies once by default")
	assert.Empty(t, s.PendingFaults())
}

func TestChangeAfter(t *testing.T) {
	v1, v2 := content(50000), []byte("new")
	s := newServer(t, map[string][]byte{"a.bin": v1}, bitstest.ChangeAfter(20000, v2))
	old := s.ETag("a.bin")

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URLFor("a.bin"), nil)
	require.NoError(t, err)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, old, resp.Header.Get("ETag"))
	first := make([]byte, 20000)
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)

	// Having read n bytes, the client sees the new version.
	head, _ := get(t, freshClient(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, int64(3), head.ContentLength)
	assert.NotEqual(t, old, head.Header.Get("ETag"))

	// The GET goes on with the old content.
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, v1, append(first, rest...))
	assert.Equal(t, v2, s.Content("a.bin"))

	// With DropAfter at the same offset: changed and cut.
	s.SetContent("b", v1)
	s.AddFaults(bitstest.ChangeAfter(100, v2).On("b"), bitstest.DropAfter(100).On("b").Times(1))
	_, body, err := do(t, s.Client(), http.MethodGet, s.URLFor("b"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, v1[:100], body)
	assert.Equal(t, v2, s.Content("b"))
}

func TestStall(t *testing.T) {
	data := content(10000)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.Stall(3000).Times(1))
	resp, err := s.Client().Get(s.URLFor("a.bin"))
	require.NoError(t, err)
	defer resp.Body.Close()
	first := make([]byte, 3000)
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	assert.Equal(t, data[:3000], first)

	require.NoError(t, s.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Stalled == 1 }))
	assert.Equal(t, int64(3000), s.Stats().BytesSent)
	assert.Equal(t, 1, s.StatsFor("a.bin").Stalled)

	// Nothing more arrives until Release.
	more := make(chan []byte)
	go func() {
		rest, _ := io.ReadAll(resp.Body)
		more <- rest
	}()
	select {
	case <-more:
		t.Fatal("body went on before Release")
	default:
	}
	s.Release()
	rest := <-more
	assert.Equal(t, data, append(first, rest...))
	require.NoError(t, s.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Stalled == 0 }))
}

func TestStallEndsWithClient(t *testing.T) {
	s := newServer(t, map[string][]byte{"a.bin": content(1000)}, bitstest.Stall(10))
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URLFor("a.bin"), nil)
	require.NoError(t, err)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, s.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Stalled == 1 }))
	cancel()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, context.Canceled)
	resp.Body.Close()
	require.NoError(t, s.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Stalled == 0 }))
}

func TestStallReleasedByClose(t *testing.T) {
	data := content(1000)
	s := bitstest.NewServer(map[string][]byte{"a.bin": data}, bitstest.Stall(10))
	got := make(chan []byte)
	go func() {
		_, body, _ := do(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
		got <- body
	}()
	require.NoError(t, s.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Stalled == 1 }))
	s.Close()
	assert.Equal(t, data, <-got)
}

func TestWaitForContext(t *testing.T) {
	s := newServer(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.WaitFor(ctx, func(st bitstest.Stats) bool { return st.Requests > 0 })
	require.ErrorIs(t, err, context.Canceled)
}

func TestNoHead(t *testing.T) {
	data := content(10)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.NoHead())
	resp, _ := get(t, s.Client(), http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET", resp.Header.Get("Allow"))
	_, body := get(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, data, body)
}

func TestRedirect(t *testing.T) {
	data := content(10)
	s := newServer(t, map[string][]byte{"new.bin": data}, bitstest.Redirect("new.bin", http.StatusMovedPermanently).On("old.bin"))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := get(t, noFollow, http.MethodGet, s.URLFor("old.bin"))
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, s.URLFor("new.bin"), resp.Header.Get("Location"))

	resp, body := get(t, s.Client(), http.MethodGet, s.URLFor("old.bin"))
	assert.Equal(t, data, body)
	assert.Equal(t, s.URLFor("new.bin"), resp.Request.URL.String())

	// To a URL, 302 by default.
	s.AddFaults(bitstest.Redirect("https://example.invalid/x", 0).On("elsewhere"))
	resp, _ = get(t, noFollow, http.MethodHead, s.URLFor("elsewhere"))
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "https://example.invalid/x", resp.Header.Get("Location"))
}

func TestHangup(t *testing.T) {
	s := newServer(t, map[string][]byte{"a.bin": content(10)}, bitstest.Hangup().Times(1))
	_, _, err := do(t, freshClient(), http.MethodGet, s.URLFor("a.bin"))
	require.Error(t, err)
	resp, _ := get(t, freshClient(), http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, 0, reqs[0].Status)
	assert.Equal(t, []string{"Hangup().Times(1)"}, reqs[0].Faults)
}

func TestScript(t *testing.T) {
	data := content(1000)
	s := newServer(t, map[string][]byte{"a.bin": data, "b.bin": data},
		bitstest.Status(503, 2).On("a.bin"),
		bitstest.DropAfter(10).Times(1),
		bitstest.DropAfter(20).Times(1),
		bitstest.Status(500, 1).Method("HEAD"),
	)
	c := freshClient()
	// b.bin: not concerned by the Status; first DropAfter.
	_, body, err := do(t, c, http.MethodGet, s.URLFor("b.bin"))
	require.Error(t, err)
	assert.Len(t, body, 10)
	// a.bin: the Status answers and ends the scan; the second DropAfter waits.
	for range 2 {
		resp, _ := get(t, c, http.MethodGet, s.URLFor("a.bin"))
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
	// HEAD: the DropAfter does not apply to it; the HEAD-only Status does.
	resp, _ := get(t, c, http.MethodHead, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	// One DropAfter per request: the second one.
	_, body, err = do(t, c, http.MethodGet, s.URLFor("a.bin"))
	require.Error(t, err)
	assert.Len(t, body, 20)
	assert.Empty(t, s.PendingFaults())
	// The script is played out.
	_, body = get(t, c, http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, data, body)

	reqs := s.Requests()
	var faults [][]string
	for _, r := range reqs {
		faults = append(faults, r.Faults)
	}
	assert.Equal(t, [][]string{
		{"DropAfter(10).Times(1)"},
		{`Status(503, 2).On("a.bin")`},
		{`Status(503, 2).On("a.bin")`},
		{`Status(500, 1).Method("HEAD")`},
		{"DropAfter(20).Times(1)"},
		nil,
	}, faults)

	// Faults before an answering one still apply; ClearFaults drops the rest.
	s.AddFaults(bitstest.NoValidators(), bitstest.Status(502, 1), bitstest.NoContentLength())
	resp, _ = get(t, c, http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, int64(len("Bad Gateway\n")), resp.ContentLength)
	s.ClearFaults()
	resp, _ = get(t, c, http.MethodGet, s.URLFor("a.bin"))
	assert.NotEmpty(t, resp.Header.Get("ETag"))
	assert.Empty(t, s.PendingFaults())
}

func TestFaultString(t *testing.T) {
	for want, f := range map[string]bitstest.Fault{
		`Fault{}`:                            {},
		`Status(503, 3)`:                     bitstest.Status(503, 3),
		`Status(503, 1)`:                     bitstest.Status(503, 3).Times(1),
		`Redirect("b", 302)`:                 bitstest.Redirect("b", 0),
		`NoHead()`:                           bitstest.NoHead(),
		`NoRange().On("a").Skip(2).Times(1)`: bitstest.NoRange().On("/a").Skip(2).Times(1),
		`ChangeContent(<3 bytes>)`:           bitstest.ChangeContent([]byte("abc")),
		`ChangeAfter(5, <3 bytes>).Times(0)`: bitstest.ChangeAfter(5, []byte("abc")).Times(0),
		`Stall(7).Method("GET")`:             bitstest.Stall(7).Method("get"),
		`Flaky(1, 0.5)`:                      bitstest.Flaky(1, 0.5),
		`DropAfter(0)`:                       bitstest.DropAfter(-3),
		`HTTP10()`:                           bitstest.HTTP10(),
		`Hangup()`:                           bitstest.Hangup(),
		`NoContentLength()`:                  bitstest.NoContentLength(),
		`NoValidators().On("dir/x")`:         bitstest.NoValidators().On("dir/x"),
	} {
		assert.Equal(t, want, f.String())
	}
	// The zero Fault does nothing.
	s := newServer(t, map[string][]byte{"a": content(5)}, bitstest.Fault{})
	resp, _ := get(t, s.Client(), http.MethodGet, s.URLFor("a"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, s.PendingFaults())
}

// flakyRun returns the outcome of n GETs against a Flaky server.
func flakyRun(t *testing.T, seed int64, n int) []string {
	data := content(10000)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.Flaky(seed, 0.5))
	var out []string
	c := freshClient()
	for range n {
		resp, body, err := do(t, c, http.MethodGet, s.URLFor("a.bin"))
		switch {
		case err != nil && resp == nil:
			out = append(out, "hangup")
		case err != nil:
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			require.Less(t, len(body), len(data))
			assert.Equal(t, data[:len(body)], body)
			out = append(out, fmt.Sprintf("cut@%d", len(body)))
		case resp.StatusCode == http.StatusServiceUnavailable:
			out = append(out, "503")
		default:
			require.Equal(t, data, body)
			out = append(out, "ok")
		}
	}
	return out
}

func TestFlaky(t *testing.T) {
	a := flakyRun(t, 42, 40)
	assert.Equal(t, a, flakyRun(t, 42, 40), "same seed, same outcomes")
	assert.NotEqual(t, a, flakyRun(t, 43, 40))
	counts := map[string]int{}
	for _, o := range a {
		counts[strings.SplitN(o, "@", 2)[0]]++
	}
	assert.Positive(t, counts["ok"])
	assert.Positive(t, counts["503"])
	assert.Positive(t, counts["cut"])

	// Times counts failures only; p = 1 always fails.
	s := newServer(t, map[string][]byte{"a.bin": content(10)}, bitstest.Flaky(1, 1).Times(3))
	c := freshClient()
	for range 3 {
		resp, _, err := do(t, c, http.MethodGet, s.URLFor("a.bin"))
		assert.True(t, err != nil || resp.StatusCode == http.StatusServiceUnavailable)
	}
	_, body := get(t, c, http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, content(10), body)
	assert.Equal(t, 3, s.Stats().Faults)
}

func TestStatsAndRequests(t *testing.T) {
	data := content(1000)
	s := newServer(t, map[string][]byte{"a.bin": data, "b.bin": data})
	c := s.Client()
	get(t, c, http.MethodHead, s.URLFor("a.bin"))
	get(t, c, http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=0-99", "X-Test", "1")
	get(t, c, http.MethodGet, s.URLFor("a.bin"))
	get(t, c, http.MethodGet, s.URLFor("b.bin"), "Range", "bytes=900-")

	assert.Equal(t, bitstest.Stats{Requests: 4, Heads: 1, Gets: 3, RangeGets: 2, BytesSent: 100 + 1000 + 100}, s.Stats())
	assert.Equal(t, bitstest.Stats{Requests: 3, Heads: 1, Gets: 2, RangeGets: 1, BytesSent: 1100}, s.StatsFor("a.bin"))
	assert.Equal(t, bitstest.Stats{Requests: 1, Gets: 1, RangeGets: 1, BytesSent: 100}, s.StatsFor("/b.bin"))
	assert.Equal(t, bitstest.Stats{}, s.StatsFor("none"))

	reqs := s.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "HEAD", reqs[0].Method)
	assert.Equal(t, "/a.bin", reqs[0].Path)
	assert.Equal(t, http.StatusOK, reqs[0].Status)
	assert.Equal(t, int64(0), reqs[0].Sent)
	assert.Equal(t, "bytes=0-99", reqs[1].Range)
	assert.Equal(t, "1", reqs[1].Header.Get("X-Test"))
	assert.Equal(t, http.StatusPartialContent, reqs[1].Status)
	assert.Equal(t, int64(100), reqs[1].Sent)
	assert.Empty(t, reqs[2].Range)
	assert.Equal(t, "/b.bin", reqs[3].Path)

	// The log is a copy.
	reqs[1].Header.Set("X-Test", "2")
	assert.Equal(t, "1", s.Requests()[1].Header.Get("X-Test"))
}

func TestConcurrent(t *testing.T) {
	data := content(64 << 10)
	s := newServer(t, map[string][]byte{"a.bin": data}, bitstest.Flaky(7, 0.3), bitstest.DropAfter(1000).Skip(5).Times(5))
	c := s.Client()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 10 {
				first := (i*10 + j) * 100
				resp, body, err := do(t, c, http.MethodGet, s.URLFor("a.bin"), "Range", fmt.Sprintf("bytes=%d-", first))
				if err != nil || resp.StatusCode != http.StatusPartialContent {
					continue
				}
				if !bytes.Equal(body, data[first:]) {
					t.Errorf("bad body at %d", first)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.SetContent("b.bin", content(10))
			s.AddFaults(bitstest.Status(500, 1).On("b.bin"))
			_ = s.Stats()
			_ = s.Requests()
			_ = s.PendingFaults()
		}
	})
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, 160, st.Requests)
	assert.Equal(t, 160, st.RangeGets)
	assert.Positive(t, st.Faults)
}

func TestTLS(t *testing.T) {
	data := content(1000)
	s := bitstest.NewTLSServer(map[string][]byte{"a.bin": data}, bitstest.DropAfter(10).Times(1))
	defer s.Close()
	assert.True(t, strings.HasPrefix(s.URL, "https://127.0.0.1:"))
	require.NotNil(t, s.Certificate())

	_, body, err := do(t, s.Client(), http.MethodGet, s.URLFor("a.bin"))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, data[:10], body)

	c := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig()}}
	defer c.CloseIdleConnections()
	resp, body := get(t, c, http.MethodGet, s.URLFor("a.bin"), "Range", "bytes=10-19")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[10:20], body)

	// An HTTP/1.0 answer over TLS.
	s.AddFaults(bitstest.HTTP10().Times(1))
	resp, body = get(t, c, http.MethodGet, s.URLFor("a.bin"))
	assert.Equal(t, "HTTP/1.0", resp.Proto)
	assert.Equal(t, data, body)

	// A client that does not trust the certificate fails.
	_, _, err = do(t, freshClient(), http.MethodGet, s.URLFor("a.bin"))
	var certErr *tls.CertificateVerificationError
	assert.True(t, errors.As(err, &certErr), "%v", err)

	plain := newServer(t, nil)
	assert.Nil(t, plain.TLSConfig())
	assert.Nil(t, plain.Certificate())
	assert.True(t, strings.HasPrefix(plain.URL, "http://127.0.0.1:"))
}

func TestCloseTwice(t *testing.T) {
	s := bitstest.NewServer(nil)
	s.Close()
	s.Close()
	s.Release()
}

func TestLastModifiedIsHTTPDate(t *testing.T) {
	s := newServer(t, map[string][]byte{"a": nil})
	assert.Equal(t, time.UTC, s.LastModified("a").Location())
	assert.Zero(t, s.LastModified("a").Nanosecond())
}
