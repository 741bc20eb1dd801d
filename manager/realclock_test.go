package manager_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// On the real clock nothing waits for a step: a worker picks a job as soon as an application's call
// (Resume) has queued it, and the transfer goes on on its own goroutine. The call does not wait for
// the pick: BITS's Resume, too, returns with the job QUEUED and the service picks it afterwards. A
// second background job waits in QUEUED behind the first. (On a virtual clock the pick waits for
// the next step; see package bitstest.)
func TestRealClockPicksOnAWorker(t *testing.T) {
	url, accepted := silentServer(t)

	var insideResume atomic.Int32
	manager.SetPickedHook(func(*job.Engine) {
		if callerIs("(*Job).Resume") {
			insideResume.Add(1)
		}
	})
	t.Cleanup(func() { manager.SetPickedHook(nil) }) // after Close: no pick can run then
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
	conn := <-accepted // picked, and the transfer's request arrived
	t.Cleanup(func() { _ = conn.Close() })
	assert.Equal(t, state.Connecting, stateOf(t, jobs[0]), "picked, waiting for the server")
	assert.Equal(t, state.Queued, stateOf(t, jobs[1]), "one background job at a time")
	assert.Zero(t, insideResume.Load(), "no pick ran inside Resume")
}

// callerIs reports whether the calling goroutine's stack holds a call of the function named
// name (as a stack trace spells it, e.g. "(*Job).Resume").
func callerIs(name string) bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte(name))
}

// silentServer returns the URL of a server on loopback that reads requests and never answers
// them, holding their connections open, and a channel that gets each connection once a request
// has arrived on it. (A connection alone proves nothing: a transfer cancelled while it dials leaves
// the connection idle, for the next transfer to reuse.)
func silentServer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	requested := make(chan net.Conn, 4)
	done := make(chan struct{}) // closed when the test ends: nobody reads requested any more
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				continue
			}
			conns = append(conns, c)
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				// Its first line is enough to know that a request arrived; it is never answered.
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
					return
				}
				select {
				case requested <- c:
				case <-done:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String() + "/f.bin", requested
}

// readingClock is the real clock whose every reading is a new second past base, and is kept.
// Readings taken on a watched goroutine are kept apart too.
type readingClock struct {
	mu   sync.Mutex
	base time.Time
	read []time.Time
	g    string      // the goroutine watched (goroutineID), if any
	mine []time.Time // the readings taken on it since watch
}

func (c *readingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.base.Add(time.Duration(len(c.read)+1) * time.Second)
	c.read = append(c.read, t)
	if c.g != "" && goroutineID() == c.g {
		c.mine = append(c.mine, t)
	}
	return t
}

// watch keeps apart, from now on, the readings taken on goroutine g.
func (c *readingClock) watch(g string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.g, c.mine = g, nil
}

// watched returns the readings taken on the watched goroutine since watch.
func (c *readingClock) watched() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mine)
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

// A job the scheduler picks inside the engine event that queued it (here the network coming back)
// enters CONNECTING at that event's time: the event reads the clock once for both (README,
// Scheduling and timers). A job a worker picks after Resume enters CONNECTING at the pick's own
// time, after Resume's.
func TestPickInsideAnEventTakesItsTime(t *testing.T) {
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
	conn := <-accepted // picked by a worker, and the transfer's request arrived
	t.Cleanup(func() { _ = conn.Close() })
	require.Equal(t, state.Connecting, stateOf(t, j))
	times, err := j.GetTimes()
	require.NoError(t, err)
	assert.True(t, times.ModificationTime.After(clk.at(before)),
		"the worker's pick is dated after Resume's reading")

	m.SetNetworkAvailable(false)
	require.Equal(t, state.TransientError, stateOf(t, j))
	me := goroutineID()
	clk.watch(me)
	m.SetNetworkAvailable(true)
	require.Equal(t, state.Connecting, stateOf(t, j), "picked inside the event")
	mine := clk.watched()
	require.Len(t, mine, 1, "the event and its pick read the clock once, on the calling goroutine")
	times, err = j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, mine[0], times.ModificationTime)
	conn = <-accepted // the new transfer's request arrived
	t.Cleanup(func() { _ = conn.Close() })
	assert.Equal(t, state.Connecting, stateOf(t, j), "still waiting for the server")
	times, err = j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, mine[0], times.ModificationTime, "nothing changed the job since")
}

// goroutineID returns the calling goroutine's number, as its stack trace shows it.
func goroutineID() string {
	buf := make([]byte, 64)
	line, _, _ := bytes.Cut(buf[:runtime.Stack(buf, false)], []byte(" ["))
	return string(line)
}

// A job cancelled right after Resume, before or after the worker picked it, leaves nothing behind:
// the pick that a Resume asked for is taken back or finds the job gone, and the manager is idle
// once the workers are done.
func TestResumeThenCancelLeavesNothingRunning(t *testing.T) {
	url, _ := silentServer(t)
	m := manager.New()
	t.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: userSID})
	require.NoError(t, err)
	local := filepath.Join(t.TempDir(), "f.bin")
	for range 500 {
		j, err := c.CreateJob("short-lived", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(url, local))
		require.NoError(t, j.Resume())
		_, err = j.Cancel()
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a bound for a hang, not a measure
	defer cancel()
	require.NoError(t, m.WaitIdle(ctx))
	jobs, err := c.EnumJobs(0)
	require.NoError(t, err)
	n, err := jobs.GetCount()
	require.NoError(t, err)
	assert.Zero(t, n)
}
