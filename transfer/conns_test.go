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

// Pending tells bytes that arrived but were not read from a peer that sends nothing, and Reads
// counts the reads that brought bytes: a fetch held in its observer while the server sends the
// rest of the file leaves bytes waiting in the socket.
func TestClientPendingAndReads(t *testing.T) {
	body := make([]byte, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	c := transfer.New(transfer.Config{ChunkSize: 4096})
	t.Cleanup(c.Close)
	assert.False(t, c.Pending())
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !c.Pending() {
		require.NoError(t, ctx.Err(), "the server's bytes never showed as pending")
		time.Sleep(time.Millisecond)
	}
	reads := c.Reads()
	assert.NotZero(t, reads)
	close(release)
	require.NoError(t, <-done)
	assert.Greater(t, c.Reads(), reads, "the rest was read")
	assert.False(t, c.Pending(), "nothing left unread")
}
