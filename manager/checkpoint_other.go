//go:build !linux

package manager

import "os"

// writeBack would start writing the n bytes of f from off to disk; only Linux has a call that
// does, and elsewhere the data waits for dataSync.
func writeBack(*os.File, uint64, uint64) {}

// dataSync waits until the data of f is on disk.
func dataSync(f *os.File) error { return f.Sync() }
