//go:build linux

package transfer_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/transfer"
)

// Quiet tells a client at work, or bytes that arrived but were not read, from a peer that sends
// nothing, and Reads counts the reads that brought bytes: a fetch held in its observer while the
// server sends the rest of the file leaves bytes waiting in the socket.
func TestClientQuietAndReads(t *testing.T) {
	body := make([]byte, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	c := transfer.New(transfer.Config{ChunkSize: 4096})
	t.Cleanup(c.Close)
	assert.False(t, c.Quiet(), "no connection: a client that waits now is still setting one up")
	assert.Zero(t, c.Reads())

	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rec := &recorder{}
	rec.onProgress = func(p transfer.Progress) error {
		if p.Transferred > 0 {
			once.Do(func() {
				close(held)
				<-release
			})
		}
		return nil
	}
	done := make(chan error, 1)
	dst := tempFile(t, nil)
	go func() { done <- c.Fetch(context.Background(), wholeSpec(srv.URL+"/f"), transfer.Options{}, dst, rec) }()
	<-held
	assert.False(t, c.Quiet(), "the fetch is held in its observer: no read is under way")
	reads := c.Reads()
	assert.NotZero(t, reads)
	close(release)
	require.NoError(t, <-done)
	assert.Greater(t, c.Reads(), reads, "the rest was read")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !c.Quiet() { // the connection goes back to the pool, where a read waits on it
		require.NoError(t, ctx.Err(), "the idle connection never showed quiet")
		time.Sleep(time.Millisecond)
	}
}

// A server that answers the headers and then sends nothing: the fetch waits in a read, and the
// client is quiet.
func TestClientQuietOnASilentServer(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(make([]byte, 10))
			w.(http.Flusher).Flush()
			<-stop
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	c := transfer.New(transfer.Config{ChunkSize: 4096})
	t.Cleanup(c.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dst := tempFile(t, nil)
	go func() {
		done <- c.Fetch(ctx, wholeSpec(srv.URL+"/f"), transfer.Options{DynamicContent: true}, dst, &recorder{})
	}()
	deadline, stopWaiting := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopWaiting()
	for c.Reads() == 0 || !c.Quiet() {
		require.NoError(t, deadline.Err(), "the client never showed quiet while its server was silent")
		time.Sleep(time.Millisecond)
	}
	cancel()
	require.Error(t, <-done)
}
