package upload_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// send sends the fragments of data from offset 0, in pieces of n bytes, following the server's
// BITS-Received-Content-Range after each Ack (a 416 included), until the server has it all.
// It reports unexpected answers with t.Errorf, so it can run on any goroutine.
func (s *srv) sendAll(t *testing.T, path, id string, data []byte, n int) {
	next := 0
	for next < len(data) {
		last := min(next+n, len(data)) - 1
		r := s.fragment(path, id, data, next, last)
		if r.Status != http.StatusOK && r.Status != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("%s: fragment %d-%d: %d %s", path, next, last, r.Status, r.Header.Get(bup.HeaderErrorCode))
			return
		}
		var got uint64
		if _, err := fmt.Sscan(r.Header.Get(bup.HeaderReceivedContentRange), &got); err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		next = int(got)
	}
}

// TestConcurrentSessions uploads many files at once, each by two senders racing with the same
// fragments: the packets of a session are processed one at a time, so every byte is written
// once, and each file arrives whole.
func TestConcurrentSessions(t *testing.T) {
	s := newSrv(t, upload.Options{MaxSessionsPerUser: -1})
	const files, senders = 8, 2
	size := 64 << 10
	if testing.Short() {
		size = 16 << 10
	}
	var wg sync.WaitGroup
	datas := make([][]byte, files)
	for i := range files {
		datas[i] = pattern(size, byte(i))
		name := fmt.Sprintf("/c%d.bin", i)
		id := s.create(name)
		for j := range senders {
			wg.Go(func() { s.sendAll(t, name, id, datas[i], 4096+j*1000) })
		}
		wg.Go(func() { _ = s.h.Sessions() })
	}
	wg.Wait()
	require.False(t, t.Failed())
	for _, info := range s.h.Sessions() {
		assert.True(t, info.Complete, info.Name)
		assertOK(t, s.closeSession("/"+info.Name, info.ID))
	}
	for i := range files {
		assert.Equal(t, datas[i], fileContent(t, filepath.Join(s.dir, fmt.Sprintf("c%d.bin", i))))
	}
}

// TestConcurrentCloseAndCancel races Close-Session against Cancel-Session and Remove on the
// same complete session: exactly one of them finds it.
func TestConcurrentCloseAndCancel(t *testing.T) {
	s := newSrv(t, upload.Options{})
	for round := range 10 {
		name := fmt.Sprintf("/r%d", round)
		id := s.create(name)
		s.upload(name, id, []byte("data"), 4)
		var wg sync.WaitGroup
		results := make(chan bool, 3)
		wg.Go(func() { results <- s.closeSession(name, id).Status == http.StatusOK })
		wg.Go(func() { results <- s.do(name, bup.CancelSession, nil, bup.HeaderSessionID, id).Status == http.StatusOK })
		wg.Go(func() { results <- s.h.Remove(id) })
		wg.Wait()
		close(results)
		won := 0
		for ok := range results {
			if ok {
				won++
			}
		}
		assert.Equal(t, 1, won, name)
		assert.NoDirExists(t, s.sessionDir(id))
	}
}
