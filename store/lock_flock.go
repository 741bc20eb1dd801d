//go:build unix && !solaris && !aix

package store

import (
	"os"
	"syscall"
)

// tryLockShared takes a shared lock on f, the kind bbolt's exclusive lock excludes, without
// waiting; busy reports that another holds it exclusively.
func tryLockShared(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == syscall.EWOULDBLOCK {
		return true, nil
	}
	return false, err
}

func unlockShared(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
