package service

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerUID returns the effective uid of the process at the other end of a Unix-domain
// connection, as the kernel recorded it when that process connected (LOCAL_PEERCRED).
func peerUID(c *net.UnixConn) (uid int, err error) {
	err = controlFD(c, func(fd int) error {
		cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if err == nil {
			uid = int(cred.Uid)
		}
		return err
	})
	return uid, err
}
