// Package sockq tells whether bytes received on a connection wait unread in the system's
// socket buffer, for the engine's and the test servers' notion of a quiet network.
package sockq

import (
	"crypto/tls"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Unread reports whether the system holds bytes received on c that nobody has read yet
// (SIOCINQ). A connection that is not a system socket (an in-memory one) reports false: its
// network tells by itself.
func Unread(c net.Conn) bool {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
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
