//go:build unix

package service

import (
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive lock on the file at path (created if missing) without waiting; ok
// is false when another process holds it. The lock lasts until the file is closed, or the
// process ends, however it ends.
func tryLock(path string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	switch err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err {
	case nil:
		return f, true, nil
	case unix.EWOULDBLOCK:
		f.Close()
		return nil, false, nil
	default:
		f.Close()
		return nil, false, err
	}
}
