//go:build !linux

package manager

import "os"

// finalSyncLater is not set: a temporary file may not be renamed or removed while open, so it
// is synced before its file counts as done (finalsync.go).
const finalSyncLater = false

// writeBack would start writing the n bytes of f from off to disk; only Linux has a call that
// does, and elsewhere the data waits for dataSync.
func writeBack(*os.File, uint64, uint64) {}

// dataSync waits until the data of f is on disk.
func dataSync(f *os.File) error { return f.Sync() }
