package transfer_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// hijack answers with raw bytes written on the connection, then closes it.
func hijack(w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
	_ = conn.Close()
}

func TestFetchConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	c := newClient(t, transfer.Config{})
	res := fetch(t, c, wholeSpec("http://"+addr+"/f"), transfer.Options{}, nil)
	requireError(t, res.err, hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, true, "http")
	assert.Equal(t, 0, res.obs.connects())
	assert.Empty(t, res.obs.all())
}

func TestFetchBrokenAnswers(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		code hresult.Code
	}{
		{name: "closed before answering", raw: "", code: hresult.BG_E_CONNECTION_CLOSED},
		{name: "not HTTP", raw: "garbage\r\n\r\n", code: hresult.BG_E_INVALID_SERVER_RESPONSE},
		{name: "cut inside the headers", raw: "HTTP/1.1 200 OK\r\nContent-Len", code: hresult.BG_E_CONNECTION_CLOSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hijack(w, tt.raw) }))
			c := newClient(t, transfer.Config{})
			res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
			requireError(t, res.err, tt.code, bits.ContextGeneralTransport, true, "http")
		})
	}
}

func TestFetchConnectionCutMidBody(t *testing.T) {
	content := pattern(10_000, 40)
	o := newOrigin(content)
	const cut = 3_500
	var cutDone atomic.Bool
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || cutDone.Swap(true) {
			o.ServeHTTP(w, r)
			return
		}
		hijack(w, fmt.Sprintf("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9999/10000\r\nContent-Length: 10000\r\nETag: %s\r\n\r\n%s",
			o.etag, content[:cut]))
	}))
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	requireError(t, res.err, hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, true, "http")
	assert.Equal(t, content[:cut], contents(t, res.dst), "every byte received is kept")
	last := res.obs.last()
	assert.Equal(t, uint64(cut), last.Transferred, "and reported")
	checkMonotonic(t, res.obs.all())

	// The next attempt resumes where the cut left the file.
	spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: last.Transferred, Total: last.Total, Validator: last.Validator}
	dst := res.dst
	require.NoError(t, c.Fetch(t.Context(), spec, transfer.Options{}, dst, &recorder{}))
	assert.Equal(t, content, contents(t, dst))
	assert.Equal(t, "bytes=3500-9999", o.ranges()[len(o.ranges())-1])
}

// stallingServer serves o's HEAD normally, or with headArrived set signals it and never answers
// it. A GET gets the answer's headers and the first sent bytes of the file, then nothing until
// the client goes away.
func stallingServer(t *testing.T, o *origin, sent int, headArrived chan<- struct{}) string {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			if headArrived != nil {
				headArrived <- struct{}{}
				<-r.Context().Done()
				return
			}
			o.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(o.content)))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(o.content)-1, len(o.content)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(o.content[:sent])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	return urlOf(srv, "f")
}

func TestFetchStallTimeout(t *testing.T) {
	content := pattern(10_000, 41)
	const stall = time.Minute

	t.Run("mid-body", func(t *testing.T) {
		o := newOrigin(content)
		remote := stallingServer(t, o, 3000, nil)
		v := clock.NewVirtual(epoch)
		c := newClient(t, transfer.Config{Clock: v, StallTimeout: stall, ChunkSize: 1000})
		reached := make(chan struct{})
		obs := &recorder{onProgress: func(p transfer.Progress) error {
			if p.Transferred == 3000 {
				close(reached)
			}
			return nil
		}}
		dst := tempFile(t, nil)
		errc := make(chan error, 1)
		go func() { errc <- c.Fetch(t.Context(), wholeSpec(remote), transfer.Options{}, dst, obs) }()
		<-reached
		v.Advance(stall - time.Second)
		v.Advance(time.Second)
		err := <-errc
		requireError(t, err, hresult.ERROR_WINHTTP_TIMEOUT, bits.ContextGeneralTransport, true, "http")
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, content[:3000], contents(t, dst))
	})

	t.Run("no answer", func(t *testing.T) {
		o := newOrigin(content)
		arrived := make(chan struct{}, 1)
		remote := stallingServer(t, o, 0, arrived)
		v := clock.NewVirtual(epoch)
		c := newClient(t, transfer.Config{Clock: v, StallTimeout: stall})
		obs := &recorder{}
		errc := make(chan error, 1)
		go func() { errc <- c.Fetch(t.Context(), wholeSpec(remote), transfer.Options{}, tempFile(t, nil), obs) }()
		<-arrived
		v.Advance(stall)
		err := <-errc
		requireError(t, err, hresult.ERROR_WINHTTP_TIMEOUT, bits.ContextGeneralTransport, true, "http")
		assert.Equal(t, 0, obs.connects())
	})

	t.Run("timer stopped after the fetch", func(t *testing.T) {
		srv := serve(t, newOrigin(content))
		v := clock.NewVirtual(epoch)
		c := newClient(t, transfer.Config{Clock: v, StallTimeout: stall})
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, 0, v.Pending())
	})
}

func TestFetchContextCancel(t *testing.T) {
	content := pattern(10_000, 42)

	t.Run("mid-body", func(t *testing.T) {
		remote := stallingServer(t, newOrigin(content), 2000, nil)
		c := newClient(t, transfer.Config{ChunkSize: 1000})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		obs := &recorder{onProgress: func(p transfer.Progress) error {
			if p.Transferred == 2000 {
				cancel()
			}
			return nil
		}}
		dst := tempFile(t, nil)
		err := c.Fetch(ctx, wholeSpec(remote), transfer.Options{}, dst, obs)
		assert.Equal(t, context.Canceled, err)
		assert.Equal(t, content[:2000], contents(t, dst))
	})

	t.Run("waiting for the answer", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		remote := stallingServer(t, newOrigin(content), 0, arrived)
		c := newClient(t, transfer.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- c.Fetch(ctx, wholeSpec(remote), transfer.Options{}, tempFile(t, nil), &recorder{}) }()
		<-arrived
		cancel()
		assert.Equal(t, context.Canceled, <-errc)
	})

	t.Run("before the fetch", func(t *testing.T) {
		o := newOrigin(content)
		srv := serve(t, o)
		c := newClient(t, transfer.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := c.Fetch(ctx, wholeSpec(urlOf(srv, "f")), transfer.Options{}, tempFile(t, nil), &recorder{})
		assert.Equal(t, context.Canceled, err)
		assert.Empty(t, o.log())
	})
}

func TestFetchLimiter(t *testing.T) {
	content := pattern(100_000, 43)
	srv := serve(t, newOrigin(content))

	t.Run("tokens are taken for every byte", func(t *testing.T) {
		const burst = 1 << 20
		lim := rate.NewLimiter(rate.Every(time.Hour), burst) // full bucket, nothing refills meanwhile
		c := newClient(t, transfer.Config{ChunkSize: 16 << 10})
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{Limiter: lim}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, content, contents(t, res.dst))
		assert.InDelta(t, burst-len(content), lim.Tokens(), 1)
	})

	t.Run("burst smaller than a chunk", func(t *testing.T) {
		lim := rate.NewLimiter(rate.Limit(1e12), 100)
		c := newClient(t, transfer.Config{ChunkSize: 4096})
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{Limiter: lim}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, content, contents(t, res.dst))
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		for name, lim := range map[string]*rate.Limiter{
			"empty bucket": rate.NewLimiter(rate.Every(time.Hour), 10),
			"zero burst":   rate.NewLimiter(rate.Every(time.Hour), 0),
		} {
			t.Run(name, func(t *testing.T) {
				lim.AllowN(time.Now(), lim.Burst())
				c := newClient(t, transfer.Config{})
				ctx, cancel := context.WithCancel(t.Context())
				started := make(chan struct{})
				obs := &recorder{onProgress: func(transfer.Progress) error { close(started); return nil }}
				dst := tempFile(t, nil)
				errc := make(chan error, 1)
				go func() { errc <- c.Fetch(ctx, wholeSpec(urlOf(srv, "f")), transfer.Options{Limiter: lim}, dst, obs) }()
				<-started
				cancel()
				assert.Equal(t, context.Canceled, <-errc)
				assert.Empty(t, contents(t, dst))
			})
		}
	})
}

func TestFetchLocalWriteFailure(t *testing.T) {
	srv := serve(t, newOrigin(pattern(1000, 44)))
	c := newClient(t, transfer.Config{})
	name := tempFile(t, nil).Name()
	ro, err := os.Open(name)
	require.NoError(t, err)
	defer ro.Close()
	err = c.Fetch(t.Context(), wholeSpec(urlOf(srv, "f")), transfer.Options{}, ro, &recorder{})
	requireError(t, err, hresult.E_ACCESSDENIED, bits.ContextLocalFile, false, "http")
}

// TestFetchMemoryBounded checks that a fetch holds O(ChunkSize) memory, not the file: the heap
// is measured while a fetch of a 1 GiB file is held mid-way.
func TestFetchMemoryBounded(t *testing.T) {
	const size, hold = 1 << 30, 16 << 20
	srv := serve(t, serveGenerated(size))
	c := newClient(t, transfer.Config{})
	var before, during runtime.MemStats
	runtime.GC()
	runtime.GC() // twice: empties the buffer pool, so the fetch's chunk buffer is counted
	runtime.ReadMemStats(&before)

	ctx, cancel := context.WithCancel(t.Context())
	held, release := make(chan struct{}), make(chan struct{})
	obs := &recorder{onProgress: func(p transfer.Progress) error {
		if p.Transferred >= hold {
			close(held)
			<-release
			cancel()
		}
		return nil
	}}
	dst := tempFile(t, nil)
	errc := make(chan error, 1)
	go func() { errc <- c.Fetch(ctx, wholeSpec(urlOf(srv, "big")), transfer.Options{}, dst, obs) }()
	<-held
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(release)
	assert.Equal(t, context.Canceled, <-errc)

	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d KiB during a fetch of a %d MiB file held at %d MiB", grown>>10, size>>20, hold>>20)
	// A fetch this large is written directly: two chunk buffers of 4 MiB, one read while the
	// other is written, and the connection's buffers.
	assert.Less(t, grown, int64(10<<20), "heap held by one active fetch")
}

// TestFetchStatusOutsideHTTP: a status no HTTP version defines (below 100 or above 599) is
// BG_E_INVALID_SERVER_RESPONSE, a code with a name and a description, and not an unnamed
// 0x80190000+nnn; the same holds for such an answer of a proxy to CONNECT.
func TestFetchStatusOutsideHTTP(t *testing.T) {
	tests := []struct {
		status string
		code   hresult.Code
	}{
		{"600 Beyond", hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"999 Far Beyond", hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"099 Below", hresult.BG_E_INVALID_SERVER_RESPONSE},
		{"599 Edge", hresult.HTTP(599)}, // the last status HTTP defines keeps its own code
	}
	for _, tt := range tests {
		status := tt.status
		t.Run(status, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hijack(w, "HTTP/1.1 "+status+"\r\nContent-Length: 0\r\n\r\n")
			}))
			c := newClient(t, transfer.Config{})
			res := fetch(t, c, wholeSpec(srv.URL+"/f"), transfer.Options{}, nil)
			te := requireError(t, res.err, tt.code, bits.ContextRemoteFile, true, "http")
			assert.NotContains(t, te.Code.Name(), "0x", "a named code")
			desc, err := hresult.Description(te.Code, 0)
			require.NoError(t, err)
			assert.NotEmpty(t, desc)
			assert.Contains(t, te.Error(), status[:3])
		})
	}

	t.Run("proxy CONNECT", func(t *testing.T) {
		origin := httptest.NewTLSServer(newOrigin(pattern(10, 1)))
		t.Cleanup(origin.Close)
		p, psrv := newProxy(t)
		p.refuse = 600
		c := newClient(t, transfer.Config{TLS: trusting(origin)})
		opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: strings.TrimPrefix(psrv.URL, "http://")}
		res := fetch(t, c, wholeSpec(urlOf(origin, "f")), opt, nil)
		requireError(t, res.err, hresult.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, true, "http")
	})

}
