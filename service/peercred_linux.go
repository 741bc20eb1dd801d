package service

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerUID returns the uid of the process at the other end of a Unix-domain connection, as the
// kernel recorded it when that process connected (SO_PEERCRED).
func peerUID(c *net.UnixConn) (uid int, err error) {
	err = controlFD(c, func(fd int) error {
		cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err == nil {
			uid = int(cred.Uid)
		}
		return err
	})
	return uid, err
}
