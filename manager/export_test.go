package manager

import (
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/job"
)

// StoredRecords returns the records in the manager's store, as a manager opening it would read
// them.
func (m *Manager) StoredRecords() ([]job.Record, error) { return m.store.Load() }

// SetCheckpointHook makes f hear of every checkpoint a transfer's checkpointer writes (real
// clocks), with the bytes it claimed; nil stops it. Not safe while transfers run.
func SetCheckpointHook(f func(n uint64)) { testHookCheckpoint = f }

// FinalSyncLater reports whether a kept job's finished file is synced after it counts as done
// (finalsync.go).
const FinalSyncLater = finalSyncLater

// SetFinalSyncHook makes f run before each final sync of a finished file begins; nil stops it.
// Not safe while transfers run.
func SetFinalSyncHook(f func()) {
	if f == nil {
		testHookFinalSync = nil
		return
	}
	testHookFinalSync = func(*job.Engine, int) { f() }
}

// WaitFinalSyncs blocks until every finished file handed to the final syncer is synced and
// recorded.
func (m *Manager) WaitFinalSyncs() { m.finals.wait() }

// SetPickedHook makes f run in the scheduler right after each Pick, before the run's timers are
// armed; nil stops it. Not safe while transfers run.
func SetPickedHook(f func(j *job.Engine)) { testHookPicked = f }

// RunDeadline returns when the maximum download time of the job's current run is armed to fire,
// and whether it is armed.
func (m *Manager) RunDeadline(id uuid.UUID) (time.Time, bool) {
	m.mu.Lock()
	e := m.jobs[id]
	m.mu.Unlock()
	s := m.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	if e == nil || e.run == nil || !e.run.deadline.armed() {
		return time.Time{}, false
	}
	return s.timers.base.Add(time.Duration(e.run.deadline.when)), true
}
