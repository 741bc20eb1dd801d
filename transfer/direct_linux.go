package transfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// directIO reports that the system has direct I/O (O_DIRECT).
const directIO = true

// setDirect turns direct I/O on or off for the writes through f. It fails when the file system
// does not allow it (EINVAL).
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		var fl int
		if fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0); ferr != nil {
			return
		}
		if on {
			fl |= unix.O_DIRECT
		} else {
			fl &^= unix.O_DIRECT
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	})
	if err != nil {
		return err
	}
	return ferr
}
