//go:build !linux && !darwin

package service

import (
	"errors"
	"net"
)

// errNoPeerCred is the failure of every connection on a system where the kernel does not tell
// who is at the other end of a Unix-domain socket.
var errNoPeerCred = errors.New("service: this system gives no peer credentials for Unix-domain sockets; the service runs on Linux and macOS")

func peerUID(*net.UnixConn) (int, error) { return 0, errNoPeerCred }
