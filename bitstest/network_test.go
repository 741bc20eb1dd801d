package bitstest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
)

// pair returns the two ends of a connection on a fresh network: the dialer's and the
// listener's.
func pair(t *testing.T) (*bitstest.Network, net.Conn, net.Conn) {
	t.Helper()
	n := bitstest.NewNetwork()
	t.Cleanup(func() { _ = n.Close() })
	l, err := n.Listen("bits.test:80")
	require.NoError(t, err)
	c, err := n.Dial(context.Background(), "tcp", "bits.test:80")
	require.NoError(t, err)
	s, err := l.Accept()
	require.NoError(t, err)
	return n, c, s
}

func TestNetworkListenAndDial(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()

	_, err := n.Dial(context.Background(), "tcp", "bits.test:80")
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "dial", op.Op)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	l, err := n.Listen("Bits.Test:80")
	require.NoError(t, err)
	assert.Equal(t, "bits.test:80", l.Addr().String())
	_, err = n.Listen("bits.test:80")
	assert.ErrorIs(t, err, syscall.EADDRINUSE, "a second listener on the same address")
	_, err = n.Listen("bits.test")
	assert.Error(t, err, "an address without a port")

	_, err = n.Dial(context.Background(), "udp", "bits.test:80")
	assert.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = n.Dial(ctx, "tcp", "bits.test:80")
	assert.ErrorIs(t, err, context.Canceled)

	c, err := n.Dial(context.Background(), "tcp", "BITS.test:80")
	require.NoError(t, err)
	s, err := l.Accept()
	require.NoError(t, err)
	assert.Equal(t, c.LocalAddr().String(), s.RemoteAddr().String())
	assert.Equal(t, "bits.test:80", c.RemoteAddr().String())
	assert.Equal(t, "bits.test:80", s.LocalAddr().String())
	assert.Equal(t, "tcp", c.LocalAddr().Network())

	// A connection queued but not accepted when the listener closes is closed.
	queued, err := n.Dial(context.Background(), "tcp", "bits.test:80")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = queued.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	_, err = l.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = n.Dial(context.Background(), "tcp", "bits.test:80")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the listener is gone")
	_, err = n.Listen("bits.test:80")
	assert.NoError(t, err, "the address is free again")

	// Closing the network closes what is left.
	require.NoError(t, n.Close())
	_, err = s.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = n.Listen("other.test:80")
	assert.Error(t, err)
}

func TestNetworkClose(t *testing.T) {
	_, c, s := pair(t)
	_, err := c.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Close(), net.ErrClosed, "a second Close")

	got, err := io.ReadAll(s)
	require.NoError(t, err, "buffered bytes, then EOF")
	assert.Equal(t, "hello", string(got))
	_, err = s.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)

	_, err = c.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed, "write after Close")
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed, "read after Close")
	_, err = s.Write([]byte("x"))
	assert.ErrorIs(t, err, syscall.EPIPE, "write to a closed peer")
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "write", op.Op)
	assert.Error(t, c.SetDeadline(time.Now()))
}

func TestNetworkCloseWakesBlockedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, s := pair(t)
		// The peer's blocked calls: a Read (nothing comes) and a Write (nobody reads).
		readErr := make(chan error, 1)
		go func() {
			_, err := s.Read(make([]byte, 1))
			readErr <- err
		}()
		writeErr := make(chan error, 1)
		go func() {
			_, err := s.Write(make([]byte, 1<<20))
			writeErr <- err
		}()
		synctest.Wait()
		require.Len(t, readErr, 0)
		require.Len(t, writeErr, 0)
		require.NoError(t, c.Close())
		assert.ErrorIs(t, <-readErr, io.EOF)
		assert.ErrorIs(t, <-writeErr, syscall.EPIPE)

		// The closing side's own blocked Read.
		_, c2, _ := pair(t)
		ownErr := make(chan error, 1)
		go func() {
			_, err := c2.Read(make([]byte, 1))
			ownErr <- err
		}()
		synctest.Wait()
		require.Len(t, ownErr, 0)
		require.NoError(t, c2.Close())
		assert.ErrorIs(t, <-ownErr, net.ErrClosed)
	})
}

func TestNetworkDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, c, s := pair(t)
		start := time.Now()
		require.NoError(t, c.SetReadDeadline(start.Add(time.Second)))
		g := n.Gen()
		_, err := c.Read(make([]byte, 1))
		assert.Greater(t, n.Gen(), g, "an expired deadline counts as movement")
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.Equal(t, time.Second, time.Since(start), "the read waited until the deadline")

		// Expired deadlines fail at once, also when data is there; clearing them restores.
		_, err = s.Write([]byte("ab"))
		require.NoError(t, err)
		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		b := make([]byte, 2)
		k, err := c.Read(b)
		require.NoError(t, err)
		assert.Equal(t, "ab", string(b[:k]))

		// A deadline moved later while a Read waits applies; the earlier one does not.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
		done := make(chan time.Time, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			done <- time.Now()
		}()
		synctest.Wait()
		start = time.Now()
		require.NoError(t, c.SetReadDeadline(start.Add(3*time.Second)))
		assert.Equal(t, 3*time.Second, (<-done).Sub(start))

		// Write deadlines: a writer waiting for room gives up with part of its bytes buffered.
		start = time.Now()
		require.NoError(t, s.SetDeadline(start.Add(2*time.Second)))
		k, err = s.Write(make([]byte, 1<<20))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Positive(t, k)
		assert.Less(t, k, 1<<20)
		assert.Equal(t, 2*time.Second, time.Since(start))
		_, err = s.Write([]byte("x"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.NoError(t, s.SetWriteDeadline(time.Time{}))
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		got := make([]byte, k)
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		_, err = s.Write([]byte("x"))
		assert.NoError(t, err)
	})
}

func TestNetworkBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, c, s := pair(t)
		data := content(300 << 10)
		done := make(chan int, 1)
		go func() {
			k, err := c.Write(data)
			assert.NoError(t, err)
			done <- k
		}()
		synctest.Wait()
		require.Empty(t, done, "the writer waits while the buffer is full")
		assert.False(t, n.Quiet())

		// A small write returns once buffered, before anyone reads it.
		go func() {
			_, err := s.Write([]byte("pong"))
			assert.NoError(t, err)
		}()
		synctest.Wait()
		b := make([]byte, 4)
		_, err := io.ReadFull(c, b)
		require.NoError(t, err)
		assert.Equal(t, "pong", string(b))

		got := make([]byte, len(data))
		_, err = io.ReadFull(s, got)
		require.NoError(t, err)
		assert.Equal(t, len(data), <-done)
		assert.Equal(t, data, got)
	})
}

func TestNetworkConcurrentUse(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	l, err := n.Listen("echo.test:7")
	require.NoError(t, err)
	var servers sync.WaitGroup
	go func() {
		for {
			s, err := l.Accept()
			if err != nil {
				return
			}
			servers.Go(func() {
				defer s.Close()
				_, _ = io.Copy(s, s)
			})
		}
	}()

	const clients, writers, size = 4, 3, 50_000
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := n.Dial(context.Background(), "tcp", "echo.test:7")
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			// Several goroutines write to one connection at once; each Write arrives whole.
			var w sync.WaitGroup
			for j := range writers {
				w.Go(func() {
					msg := bytes.Repeat([]byte{byte('a' + i*writers + j)}, size)
					_, err := c.Write(msg)
					assert.NoError(t, err)
				})
			}
			got := make([]byte, writers*size)
			_, err = io.ReadFull(c, got)
			assert.NoError(t, err)
			w.Wait()
			seen := map[byte]int{}
			for k := 0; k < len(got); k += size {
				chunk := got[k : k+size]
				assert.Equal(t, bytes.Repeat(chunk[:1], size), chunk, "writes do not interleave")
				seen[chunk[0]]++
			}
			assert.Len(t, seen, writers)
		})
	}
	wg.Wait()
	require.NoError(t, l.Close())
	servers.Wait()
	assert.True(t, n.Quiet())
}

func TestNetworkQuietAndGen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := bitstest.NewNetwork()
		defer n.Close()
		assert.True(t, n.Quiet(), "an empty network")
		l, err := n.Listen("bits.test:80")
		require.NoError(t, err)
		g := n.Gen()
		c, err := n.Dial(context.Background(), "tcp", "bits.test:80")
		require.NoError(t, err)
		assert.False(t, n.Quiet(), "a dialed connection waits to be accepted")
		assert.Greater(t, n.Gen(), g)

		s, err := l.Accept()
		require.NoError(t, err)
		assert.False(t, n.Quiet(), "nobody reads the accepted connection yet")

		// The server reads in a loop and answers each line.
		go func() {
			r := bufio.NewReader(s)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					_ = s.Close()
					return
				}
				_, _ = s.Write([]byte("re: " + line))
			}
		}()
		synctest.Wait()
		assert.True(t, n.Quiet(), "the server waits in Read")
		g = n.Gen()
		synctest.Wait()
		assert.Equal(t, g, n.Gen(), "nothing moved")

		// Bytes written and not read keep the network busy, in either direction.
		unblock := n.Park(s) // a parked connection does not count as busy...
		_, err = c.Write([]byte("ping\n"))
		require.NoError(t, err)
		assert.False(t, n.Quiet(), "...but bytes for it do")
		unblock()
		synctest.Wait()
		assert.Greater(t, n.Gen(), g)
		assert.False(t, n.Quiet(), "the answer waits for the client")
		b := make([]byte, 9)
		_, err = io.ReadFull(c, b)
		require.NoError(t, err)
		assert.Equal(t, "re: ping\n", string(b))
		synctest.Wait()
		assert.True(t, n.Quiet())

		// A busy connection is not quiet even with its reader blocked.
		n.SetBusy(s, true)
		assert.False(t, n.Quiet())
		unpark := n.Park(s)
		assert.True(t, n.Quiet(), "parked wins over busy")
		unpark()
		unpark() // only the first call counts
		assert.False(t, n.Quiet())
		n.SetBusy(s, false)
		assert.True(t, n.Quiet())

		// A connection closed by the client: the server reads EOF and closes its end.
		require.NoError(t, c.Close())
		synctest.Wait()
		assert.True(t, n.Quiet())
		require.NoError(t, l.Close())
	})
}

// TestNetworkQuietNoWindow looks at Quiet over and over while bytes go to a reader, and
// checks that it never holds while a byte written is not yet taken by the reader: a Quiet
// network has its reader blocked, so every byte written before the look has been read and
// counted.
func TestNetworkQuietNoWindow(t *testing.T) {
	n, c, s := pair(t)
	rounds := 2000
	if testing.Short() {
		rounds = 200
	}
	var (
		mu            sync.Mutex
		written, read int
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1)
		for range rounds {
			if _, err := s.Read(b); err != nil {
				return
			}
			mu.Lock()
			read++
			mu.Unlock()
		}
	}()
	looks, quiet, violations := 0, 0, 0
	stop := make(chan struct{})
	looker := make(chan struct{})
	looking := make(chan struct{}) // closed after the first look, so the writes overlap looks
	go func() {
		defer close(looker)
		for first := true; ; first = false {
			if !first && looks == 1 {
				close(looking)
			}
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			w := written
			mu.Unlock()
			q := n.Quiet()
			mu.Lock()
			r := read
			mu.Unlock()
			looks++
			if q {
				quiet++
				if w > r {
					violations++
				}
			}
		}
	}()
	<-looking
	for range rounds {
		_, err := c.Write([]byte{1})
		require.NoError(t, err)
		mu.Lock()
		written++
		mu.Unlock()
	}
	<-done
	close(stop)
	<-looker
	assert.Zero(t, violations, "of %d looks, %d quiet", looks, quiet)
	assert.Positive(t, looks)
}

func TestServerOnNetwork(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	data := content(100_000)
	s := bitstest.NewServerOn(n, "bits.test:80", map[string][]byte{"a.bin": data},
		bitstest.DropAfter(1000).Times(1))
	defer s.Close()
	assert.Equal(t, "http://bits.test", s.URL)
	assert.Equal(t, "http://bits.test/dir/a%20b.bin", s.URLFor("dir/a b.bin"))
	assert.Nil(t, s.Certificate())
	assert.Nil(t, s.TLSConfig())

	cl := s.Client()
	resp, err := cl.Get(s.URLFor("a.bin"))
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "DropAfter cut the first GET")

	req, err := http.NewRequest(http.MethodGet, s.URLFor("a.bin"), nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=1000-1999")
	resp, err = cl.Do(req)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, data[1000:2000], got)
	st := s.Stats()
	assert.Equal(t, 2, st.Gets)
	assert.Equal(t, 1, st.Faults)
	assert.Empty(t, s.PendingFaults())

	// Another server cannot take the same address; one on another port can.
	assert.Panics(t, func() { bitstest.NewServerOn(n, "bits.test:80", nil) })
	s2 := bitstest.NewServerOn(n, "bits.test:8080", nil)
	defer s2.Close()
	assert.Equal(t, "http://bits.test:8080", s2.URL)
}

func TestTLSServerOnNetwork(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	data := content(5000)
	s := bitstest.NewTLSServerOn(n, "secure.test:443", map[string][]byte{"a.bin": data})
	defer s.Close()
	assert.Equal(t, "https://secure.test", s.URL)
	require.NotNil(t, s.Certificate())
	assert.Equal(t, []string{"secure.test"}, s.Certificate().DNSNames)

	resp, err := s.Client().Get(s.URLFor("a.bin"))
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, data, got)
	require.NotNil(t, resp.TLS)

	// A client that does not trust the certificate fails.
	plain := &http.Client{Transport: &http.Transport{DialContext: n.Dial}}
	defer plain.CloseIdleConnections()
	_, err = plain.Get(s.URLFor("a.bin"))
	assert.Error(t, err)
}

func TestServerOnNetworkStallIsQuiet(t *testing.T) {
	tests := []struct {
		name   string
		tls    bool
		faults []bitstest.Fault
	}{
		{name: "HTTP/1.1", faults: []bitstest.Fault{bitstest.Stall(1000)}},
		{name: "HTTP/1.0, hijacked", faults: []bitstest.Fault{bitstest.Stall(1000), bitstest.HTTP10()}},
		{name: "TLS", tls: true, faults: []bitstest.Fault{bitstest.Stall(1000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := bitstest.NewNetwork()
				defer n.Close()
				data := content(200_000)
				files := map[string][]byte{"a.bin": data}
				var s *bitstest.Server
				addr := "bits.test:80"
				if tt.tls {
					addr = "bits.test:443"
					s = bitstest.NewTLSServerOn(n, addr, files, tt.faults...)
				} else {
					s = bitstest.NewServerOn(n, addr, files, tt.faults...)
				}
				defer s.Close()

				// A raw client: the stalled response's first bytes stay buffered until it
				// reads.
				c, err := n.Dial(t.Context(), "tcp", addr)
				require.NoError(t, err)
				if tt.tls {
					cfg := s.TLSConfig()
					cfg.ServerName = "bits.test"
					c = tls.Client(c, cfg)
				}
				defer c.Close()
				_, err = fmt.Fprintf(c, "GET /a.bin HTTP/1.1\r\nHost: bits.test\r\n\r\n")
				require.NoError(t, err)
				synctest.Wait()
				require.Equal(t, 1, s.Stats().Stalled)
				assert.False(t, n.Quiet(), "the headers and 1000 bytes wait for the client")

				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				require.NoError(t, err)
				defer resp.Body.Close()
				_, err = io.ReadFull(resp.Body, make([]byte, 1000))
				require.NoError(t, err)
				rest := make(chan []byte, 1)
				go func() {
					b, err := io.ReadAll(resp.Body)
					assert.NoError(t, err)
					rest <- b
				}()
				synctest.Wait()
				assert.True(t, n.Quiet(), "only a stalled server and a waiting client are left")
				g := n.Gen()
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.Equal(t, g, n.Gen(), "nothing moves while the response stalls")

				s.Release()
				assert.Equal(t, data[1000:], <-rest)
				synctest.Wait()
				assert.True(t, n.Quiet())
			})
		})
	}
}

func TestServerOnNetworkCloseReportsStuckConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var report bytes.Buffer
		defer bitstest.SetCloseReport(&report)()
		n := bitstest.NewNetwork()
		defer n.Close()
		s := bitstest.NewServerOn(n, "bits.test:80", map[string][]byte{"big.bin": content(1 << 20)})

		// A client that asks for a big file and never reads: the handler blocks in Write.
		c, err := n.Dial(t.Context(), "tcp", "bits.test:80")
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: bits.test\r\n\r\n")
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, 1, s.Stats().Gets)

		start := time.Now()
		s.Close()
		took := time.Since(start)
		assert.GreaterOrEqual(t, took, 5*time.Second, "Close waited its bound, then closed the connection")
		assert.Less(t, took, 6*time.Second)
		assert.Contains(t, report.String(), "1 connection(s) open")
		assert.Contains(t, report.String(), "busy")
		assert.Less(t, s.Stats().BytesSent, int64(1<<20))

		// A server whose requests end in time closes without a report.
		report.Reset()
		s2 := bitstest.NewServerOn(n, "bits.test:81", map[string][]byte{"a.bin": content(10)})
		resp, err := s2.Client().Get(s2.URLFor("a.bin"))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		start = time.Now()
		s2.Close()
		// http.Server.Shutdown polls a connection that has not yet gone idle every few
		// milliseconds, so a little virtual time may pass; never the bound.
		assert.Less(t, time.Since(start), time.Second)
		assert.Empty(t, report.String())
	})
}

// ExampleNetwork shows a server and a client on an in-memory network: no sockets are opened,
// and the names are the test's own.
func ExampleNetwork() {
	n := bitstest.NewNetwork()
	defer n.Close()
	srv := bitstest.NewServerOn(n, "downloads.test:80", map[string][]byte{"hello.txt": []byte("hello, network\n")})
	defer srv.Close()

	// http.Transport's DialContext has the signature of Network.Dial (and of
	// transfer.Config.Dial).
	client := &http.Client{Transport: &http.Transport{DialContext: n.Dial}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://downloads.test/hello.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, ": ", string(body))

	_, err = client.Get("http://elsewhere.test/")
	fmt.Println(errors.Is(err, syscall.ECONNREFUSED))
	// Output:
	// 200 OK: hello, network
	// true
}
