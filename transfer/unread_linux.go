package transfer

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unread reports whether the system holds bytes received on c that nobody has read yet
// (SIOCINQ). A connection that is not a system socket (an in-memory one) reports false: its
// network tells by itself.
func unread(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	return n > 0
}
