package manager

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// Changes made on different goroutines reach the scheduler in any order. A change reported
// after a newer one must not undo what the newer one set up: the job queued again stays in the
// queue, the run reserved for it stays, the retry timers of a job back in TRANSIENT_ERROR stay.
// Before, each of these left the job stranded (found by TestHammer).
func TestSchedulerIgnoresStaleChanges(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	m := New(WithClock(clk))
	defer m.Close()
	c, err := m.Connect(Identity{SID: "S-1-5-21-8100"})
	require.NoError(t, err)
	newJob := func() (bits.Job, *job.Engine) {
		j, err := c.CreateJob("stale", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://127.0.0.1:9/x.bin", filepath.Join(t.TempDir(), "x.bin")))
		// QUEUED; on the virtual clock the scheduler's kick waits for a step that never comes.
		require.NoError(t, j.Resume())
		return j, engine.Of(j)
	}
	s := m.sched
	late := func(j bits.Job, from, to state.State, ev state.Event) {
		s.changed(engine.Of(j), &job.Change{Job: engine.Job(j), Kind: job.StateChanged, From: from, To: to, Event: ev})
	}

	// A QUEUED→TRANSIENT_ERROR reported after the job was queued again.
	j1, e1 := newJob()
	late(j1, state.Queued, state.TransientError, state.NetworkLost)
	s.mu.Lock()
	listed := entryOf(e1).q.in
	assert.True(t, listed, "the queued job was dropped from the queue")
	// The run the scheduler reserved for it, before its Pick.
	r := s.reserve(entryOf(e1), bits.Normal)
	s.mu.Unlock()
	late(j1, state.Connecting, state.TransientError, state.NetworkLost)
	s.mu.Lock()
	assert.Same(t, r, entryOf(e1).run, "the reserved run was ended")
	s.mu.Unlock()
	assert.False(t, r.stopped.Load(), "the reserved run was stopped")

	// A TRANSIENT_ERROR→QUEUED reported after the job failed again.
	j2, e2 := newJob()
	_, err = e2.Fire(state.Pick)
	require.NoError(t, err)
	_, err = e2.FireError(state.TransientFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_503, File: 0, Protocol: "http"})
	require.NoError(t, err)
	s.mu.Lock()
	require.True(t, entryOf(e2).retry != nil && entryOf(e2).retry.retry.armed(), "the retry timer is set")
	s.mu.Unlock()
	late(j2, state.TransientError, state.Queued, state.RetryDelayElapsed)
	s.mu.Lock()
	assert.True(t, entryOf(e2).retry.retry.armed(), "the retry timer of the job in TRANSIENT_ERROR was stopped")
	s.mu.Unlock()
}
