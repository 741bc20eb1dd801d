package manager_test

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// On the real clock nothing waits for a step: the scheduler picks a job inside the call that
// queues it when the job may run, and the transfer goes on on its own goroutine. A second
// background job waits in QUEUED behind the first. (On a virtual clock the pick waits for the
// next step; see package bitstest.)
func TestRealClockPicksInsideTheCall(t *testing.T) {
	url, accepted := silentServer(t)

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

// silentServer returns the URL of a server on loopback that accepts connections, holds them
// open and never answers, and the connections it accepted.
func silentServer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
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
	return "http://" + l.Addr().String() + "/f.bin", accepted
}

// readingClock is the real clock whose every reading is a new second past base, and is kept.
type readingClock struct {
	mu   sync.Mutex
	base time.Time
	read []time.Time
}

func (c *readingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.base.Add(time.Duration(len(c.read)+1) * time.Second)
	c.read = append(c.read, t)
	return t
}

func (c *readingClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return clock.Real().AfterFunc(d, f)
}

// readings returns how many times the clock was read.
func (c *readingClock) readings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.read)
}

// at returns the clock's i-th reading.
func (c *readingClock) at(i int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read[i]
}

// A job the scheduler picks inside Resume enters CONNECTING at Resume's time: the call reads the
// clock once for both (README, Scheduling and timers).
func TestPickInsideTheCallTakesItsTime(t *testing.T) {
	url, accepted := silentServer(t)
	clk := &readingClock{base: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	m := manager.New(manager.WithClock(clk))
	t.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: userSID})
	require.NoError(t, err)
	j, err := c.CreateJob("picked", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(url, filepath.Join(t.TempDir(), "f.bin")))
	before := clk.readings()
	require.NoError(t, j.Resume())
	require.Equal(t, state.Connecting, stateOf(t, j), "picked inside Resume, waiting for the server")
	resumed := clk.at(before) // Resume's reading: the worker reads the clock only after the pick
	times, err := j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, resumed, times.ModificationTime)
	conn := <-accepted // the transfer really connected
	t.Cleanup(func() { _ = conn.Close() })
	assert.Equal(t, state.Connecting, stateOf(t, j), "still waiting for the server")
	times, err = j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, resumed, times.ModificationTime, "nothing changed the job since")
}
