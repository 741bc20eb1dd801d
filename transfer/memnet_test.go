package transfer_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// memProxy starts the test proxy on n at addr; its onward connections go through n too.
func memProxy(t *testing.T, n *bitstest.Network, addr string) *proxy {
	t.Helper()
	p := &proxy{tr: &http.Transport{DialContext: n.Dial, DisableCompression: true}, dial: n.Dial}
	l, err := n.Listen(addr)
	require.NoError(t, err)
	hs := &http.Server{Handler: p}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
		p.wg.Wait()
		p.tr.CloseIdleConnections()
	})
	return p
}

func TestFetchThroughConfigDial(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	data := pattern(300_000, 7)
	files := map[string][]byte{"a.bin": data}
	plain := bitstest.NewServerOn(n, "bits.test:80", files)
	defer plain.Close()
	secure := bitstest.NewTLSServerOn(n, "bits.test:443", files)
	defer secure.Close()

	c := newClient(t, transfer.Config{Dial: n.Dial, TLS: secure.TLSConfig(), ChunkSize: 64 << 10})
	for _, srv := range []*bitstest.Server{plain, secure} {
		t.Run(srv.URL, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(srv.URLFor("a.bin")), transfer.Options{}, nil)
			require.NoError(t, res.err)
			assert.Equal(t, data, contents(t, res.dst))
			assert.Equal(t, 1, srv.Stats().Heads)
			assert.Equal(t, 1, srv.Stats().RangeGets)
		})
	}

	t.Run("nothing listens", func(t *testing.T) {
		res := fetch(t, c, wholeSpec("http://elsewhere.test/a.bin"), transfer.Options{}, nil)
		requireError(t, res.err, hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, true, "http")
	})

	// Proxies are reached through Config.Dial too, for plain requests and CONNECT tunnels.
	p := memProxy(t, n, "proxy.test:3128")
	for _, srv := range []*bitstest.Server{plain, secure} {
		t.Run("proxied "+srv.URL, func(t *testing.T) {
			before := len(p.log())
			opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: "proxy.test:3128"}
			res := fetch(t, c, wholeSpec(srv.URLFor("a.bin")), opt, nil)
			require.NoError(t, res.err)
			assert.Equal(t, data, contents(t, res.dst))
			assert.Greater(t, len(p.log()), before, "the proxy saw the requests")
		})
	}
}

// TestFetchInSynctest runs a download through the transfer package from a server on an
// in-memory network inside a synctest bubble: a whole download completes, a stalled response
// lets synctest.Wait return while the client waits (the network is quiet), and with nothing
// released the stall timeout fires after exactly its duration of fake time.
func TestFetchInSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := bitstest.NewNetwork()
		defer n.Close()
		data := pattern(200_000, 3)
		srv := bitstest.NewServerOn(n, "bits.test:80", map[string][]byte{"a.bin": data, "b.bin": data},
			bitstest.Stall(48<<10).On("b.bin"))
		defer srv.Close()
		c := transfer.New(transfer.Config{Dial: n.Dial, StallTimeout: time.Minute, ChunkSize: 16 << 10})
		defer c.Close()
		dir := t.TempDir()
		open := func(name string) *os.File {
			f, err := os.Create(filepath.Join(dir, name))
			require.NoError(t, err)
			return f
		}

		a := open("a.tmp")
		defer a.Close()
		require.NoError(t, c.Fetch(t.Context(), wholeSpec(srv.URLFor("a.bin")), transfer.Options{}, a, &recorder{}))
		got, err := os.ReadFile(a.Name())
		require.NoError(t, err)
		assert.Equal(t, data, got)

		// A stalled response, released: the bubble becomes idle while the client waits.
		b := open("b.tmp")
		defer b.Close()
		obs := &recorder{}
		done := make(chan error, 1)
		go func() {
			done <- c.Fetch(context.Background(), wholeSpec(srv.URLFor("b.bin")), transfer.Options{}, b, obs)
		}()
		synctest.Wait()
		require.Len(t, done, 0, "the fetch waits")
		assert.Equal(t, 1, srv.Stats().Stalled)
		assert.True(t, n.Quiet(), "a stalled server and a waiting client")
		assert.Equal(t, uint64(48<<10), obs.last().Transferred, "every byte before the stall was written")
		time.Sleep(30 * time.Second) // less than the stall timeout
		srv.Release()
		require.NoError(t, <-done)
		got, err = os.ReadFile(b.Name())
		require.NoError(t, err)
		assert.Equal(t, data, got)

		// Not released: the stall timeout ends the fetch after exactly StallTimeout.
		b2 := open("b2.tmp")
		defer b2.Close()
		go func() {
			done <- c.Fetch(context.Background(), wholeSpec(srv.URLFor("b.bin")), transfer.Options{}, b2, &recorder{})
		}()
		synctest.Wait()
		require.Equal(t, 1, srv.Stats().Stalled)
		start := time.Now()
		err = <-done
		assert.Equal(t, time.Minute, time.Since(start))
		requireError(t, err, hresult.ERROR_WINHTTP_TIMEOUT, bits.ContextGeneralTransport, true, "http")
		synctest.Wait()
		assert.Equal(t, 0, srv.Stats().Stalled, "the client went away and the stall ended")
	})
}
