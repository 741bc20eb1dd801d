package manager

import "github.com/bitsemu/bitsemu/job"

// StoredRecords returns the records in the manager's store, as a manager opening it would read
// them.
func (m *Manager) StoredRecords() ([]job.Record, error) { return m.store.Load() }

// SetCheckpointHook makes f hear of every checkpoint a transfer's checkpointer writes (real
// clocks), with the bytes it claimed; nil stops it. Not safe while transfers run.
func SetCheckpointHook(f func(n uint64)) { testHookCheckpoint = f }
