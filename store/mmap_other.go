//go:build !linux

package store

// mmapFlags are the flags bbolt maps the file with, beside its own: none.
const mmapFlags = 0
