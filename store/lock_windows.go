//go:build windows

package store

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockRange is the byte range bbolt locks: the last byte of the largest file, which no data
// occupies.
var lockRange = windows.Overlapped{Offset: 1<<32 - 1, OffsetHigh: 1<<32 - 1}

// tryLockShared takes a shared lock on f, the kind bbolt's exclusive lock excludes, without
// waiting; busy reports that another holds it exclusively.
func tryLockShared(f *os.File) (busy bool, err error) {
	ol := lockRange
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if err == windows.ERROR_LOCK_VIOLATION {
		return true, nil
	}
	return false, err
}

func unlockShared(f *os.File) error {
	ol := lockRange
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
