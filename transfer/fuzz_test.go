package transfer_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/transfer"
)

// Fuzz-server modes, the bits of FuzzRawHTTP's mode argument.
const (
	modeKeepAlive  = 1 << iota // answer every request of a connection; otherwise close after one answer
	modeDynamic                // Options.DynamicContent
	modeForeground             // Options.Foreground
)

// rawServer answers every request of every connection on ln with head (HEAD) or get (any other
// method): the bytes as they are, after which it closes the connection, or with keepAlive reads
// the next request. It returns when ln is closed and every connection has ended.
func rawServer(ln net.Listener, head, get []byte, keepAlive bool) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			br := bufio.NewReader(conn)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				answer := get
				if req.Method == http.MethodHead {
					answer = head
				}
				if _, err := conn.Write(answer); err != nil || !keepAlive {
					return
				}
			}
		}()
	}
}

// declared is the body a well-formed answer to a GET declares, and where it goes in the file:
// the whole file for 200 (and any 2xx of dynamic content), the Content-Range's bytes of a file
// of its size for 206.
type declared struct {
	ok     bool
	status int
	body   []byte
	start  int64 // the offset of body in the file
	size   int64 // the file's size (206: from Content-Range; 200: len(body))
}

// readAnswer reads raw as the answer to a request of method, skipping informational answers
// (but 101) as net/http does, and returns it with its body read.
func readAnswer(raw []byte, method string) (*http.Response, []byte, bool) {
	br := bufio.NewReader(bytes.NewReader(raw))
	req := &http.Request{Method: method}
	resp, err := http.ReadResponse(br, req)
	for i := 0; err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 && i < 5; i++ {
		resp, err = http.ReadResponse(br, req)
	}
	if err != nil {
		return nil, nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, false
	}
	return resp, body, true
}

// parseDeclared reads raw as the answer to a GET and reports what it declares. For dynamic
// content (a GET without Range) a 206 is taken as a whole body, like any 2xx.
func parseDeclared(raw []byte, dynamic bool) declared {
	resp, body, ok := readAnswer(raw, http.MethodGet)
	if !ok {
		return declared{}
	}
	d := declared{ok: true, status: resp.StatusCode, body: body, size: int64(len(body))}
	if resp.StatusCode == http.StatusPartialContent && !dynamic {
		var first, last, size int64
		cr := resp.Header.Get("Content-Range")
		rng, total, ok1 := strings.Cut(strings.TrimPrefix(cr, "bytes "), "/")
		a, b, ok2 := strings.Cut(rng, "-")
		var e1, e2, e3 error
		first, e1 = strconv.ParseInt(a, 10, 64)
		last, e2 = strconv.ParseInt(b, 10, 64)
		size, e3 = strconv.ParseInt(total, 10, 64)
		if !ok1 || !ok2 || e1 != nil || e2 != nil || e3 != nil || last-first+1 != int64(len(body)) {
			return declared{}
		}
		d.start, d.size = first, size
	}
	return d
}

// FuzzRawHTTP serves fuzzer-chosen raw bytes as the server's whole answer to HEAD and to GET,
// on an in-memory network inside a synctest bubble (so the stall timeout runs on the bubble's
// fake clock and fires deterministically), and runs Client.Fetch of a whole file into a
// temporary file. Fetch must return, within a bounded context and at most the stall timeout
// after the last byte, nil or an *transfer.Error with a failure HRESULT, an error context and
// the http protocol; it must not panic. On nil: without dynamic content the HEAD answer was a
// well-formed 2xx whose Content-Length is the file's size, and unless that is 0 the GET answer
// was a well-formed 206 whose bytes are in the file where its Content-Range put them, or (for a
// foreground job only) a 200 whose body is the file; with dynamic content the GET answer was a
// well-formed 2xx whose body is the file.
func FuzzRawHTTP(f *testing.F) {
	const (
		body    = "0123456789"
		headOK  = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\n\r\n"
		head0   = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		full200 = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n" + body
		part206 = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n" + body
	)
	seeds := []struct {
		head, get string
		mode      byte
	}{
		{headOK, part206, 0},
		{headOK, part206, modeKeepAlive},
		{headOK, full200, modeForeground},
		{headOK, full200, 0},
		{"HTTP/1.1 200 OK\r\n\r\n", full200, modeDynamic},
		{headOK, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nTransfer-Encoding: chunked\r\n\r\na\r\n" + body + "\r\n0\r\n\r\n", 0},
		{headOK, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n", modeDynamic},
		{headOK, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0},
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0},
		{"HTTP/1.1 302 Found\r\nLocation: http://bits.test/g\r\nContent-Length: 0\r\n\r\n", part206, 0},
		{"HTTP/1.1 301 Moved\r\nLocation: /f\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 301 Moved\r\nLocation: /f\r\nContent-Length: 0\r\n\r\n", modeKeepAlive},
		{headOK, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\n\r\n01234", 0},
		{headOK, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\n\r\n01234", modeKeepAlive},
		{headOK, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\nContent-Length: 5\r\n\r\n01234", 0},
		{headOK, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-10/10\r\nContent-Length: 10\r\n\r\n" + body, 0},
		{headOK, "garbage\r\n\r\n", 0},
		{"", "", 0},
		{"\x00\xff", "HTTP/9.9 999 ???\r\n\r\n", modeKeepAlive},
		{"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n", "HTTP/1.0 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\n\r\n" + body, 0},
		{"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n" + body, modeDynamic},
		{head0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
		{headOK, "HTTP/1.1 200 OK\r\n\r\n" + body, modeKeepAlive | modeDynamic},
		{"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", part206, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", part206, 0},
		{"HTTP/1.1 100 Continue\r\n\r\n" + headOK, "HTTP/1.1 100 Continue\r\n\r\n" + part206, 0},
	}
	for _, s := range seeds {
		f.Add([]byte(s.head), []byte(s.get), s.mode)
	}
	f.Fuzz(func(t *testing.T, head, get []byte, mode byte) {
		synctest.Test(t, func(t *testing.T) { fetchRaw(t, head, get, mode) })
	})
}

// fetchRaw runs one fetch against a raw server answering head and get, and checks the result.
func fetchRaw(t *testing.T, head, get []byte, mode byte) {
	n := bitstest.NewNetwork()
	defer n.Close()
	ln, err := n.Listen("bits.test:80")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		rawServer(ln, head, get, mode&modeKeepAlive != 0)
	}()
	const stall = time.Minute
	c := transfer.New(transfer.Config{Dial: n.Dial, StallTimeout: stall, ChunkSize: 4 << 10})
	defer c.Close()
	dst := tempFile(t, nil)
	obs := &recorder{}
	// The bound: far more than the stall timeout and ten redirects' worth of retries need.
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	start := time.Now()
	ferr := c.Fetch(ctx, wholeSpec("http://bits.test/f"), transfer.Options{
		DynamicContent: mode&modeDynamic != 0,
		Foreground:     mode&modeForeground != 0,
	}, dst, obs)
	took := time.Since(start)
	c.Close()
	_ = ln.Close()
	_ = n.Close()
	<-served

	require.NoError(t, ctx.Err(), "Fetch did not return before its context ended (took %v)", took)
	if ferr != nil {
		var te *transfer.Error
		require.Truef(t, errors.As(ferr, &te), "Fetch returned %T %v, not a *transfer.Error", ferr, ferr)
		assert.True(t, te.Code.Failed(), "code %v is not a failure", te.Code)
		assert.NotEqual(t, bits.ContextNone, te.Context, "no error context: %v", ferr)
		assert.Equal(t, "http", te.Protocol, "protocol: %v", ferr)
		assert.True(t, errors.Is(ferr, te.Code), "errors.Is(err, %v)", te.Code)
		assert.LessOrEqual(t, took, stall+time.Second, "one fetch waits at most the stall timeout: %v", ferr)
		return
	}
	got := contents(t, dst)
	if mode&modeDynamic == 0 {
		// A HEAD answer that is a 2xx with the file's size; a file of 0 bytes needs no GET.
		resp, _, ok := readAnswer(head, http.MethodHead)
		require.True(t, ok, "Fetch succeeded with a HEAD answer that is not well-formed: %q", head)
		require.Equal(t, 2, resp.StatusCode/100, "Fetch succeeded on HEAD status %d", resp.StatusCode)
		require.GreaterOrEqual(t, resp.ContentLength, int64(0), "Fetch succeeded without a size from HEAD")
		require.Equal(t, resp.ContentLength, int64(len(got)), "file size: HEAD answer %q", head)
		if resp.ContentLength == 0 {
			return
		}
	}
	d := parseDeclared(get, mode&modeDynamic != 0)
	require.True(t, d.ok, "Fetch succeeded with a GET answer that is not well-formed: %q", get)
	switch {
	case mode&modeDynamic != 0:
		// Dynamic content: one GET without Range, any 2xx, its body is the file.
		require.Equal(t, 2, d.status/100, "Fetch succeeded on status %d", d.status)
		assert.Equal(t, d.body, got, "file bytes: answer %q", get)
	case d.status == http.StatusPartialContent:
		require.Equal(t, d.size, int64(len(got)), "file size: answer %q", get)
		assert.Equal(t, d.body, got[d.start:d.start+int64(len(d.body))], "file bytes: answer %q", get)
	default:
		// Only a foreground job takes the whole file in a 200.
		require.Equal(t, http.StatusOK, d.status, "Fetch succeeded on status %d", d.status)
		require.NotZero(t, mode&modeForeground, "a 200 accepted for a job that is not foreground")
		assert.Equal(t, d.body, got, "file bytes: answer %q", get)
	}
	if p := obs.last(); len(obs.all()) > 0 {
		assert.Equal(t, uint64(len(got)), p.Transferred, "last progress")
	}
}
