package manager

import "github.com/bitsemu/bitsemu/job"

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
