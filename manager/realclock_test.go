package manager_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// On the real clock nothing waits for a step: the scheduler picks a job inside the call that
// queues it when the job may run, and the transfer goes on on its own goroutine. A second
// background job waits in QUEUED behind the first. (On a virtual clock the pick waits for the
// next step; see package bitstest.)
func TestRealClockPicksInsideTheCall(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never answered: the transfers wait
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for c := range accepted {
			_ = c.Close()
		}
	})
	url := "http://" + l.Addr().String() + "/f.bin"

	m := manager.New()
	t.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: userSID})
	require.NoError(t, err)
	var jobs []bits.Job
	for _, name := range []string{"first", "second"} {
		j, err := c.CreateJob(name, bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(url, filepath.Join(t.TempDir(), name)))
		require.NoError(t, j.Resume())
		jobs = append(jobs, j)
	}
	assert.Equal(t, state.Connecting, stateOf(t, jobs[0]), "picked inside Resume, waiting for the server")
	assert.Equal(t, state.Queued, stateOf(t, jobs[1]), "one background job at a time")
	conn := <-accepted // the transfer really connected
	t.Cleanup(func() { _ = conn.Close() })
}
