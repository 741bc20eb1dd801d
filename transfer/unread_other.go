//go:build !linux

package transfer

import "net"

// unread reports false: only Linux tells how many received bytes wait unread; elsewhere a read
// under way and time (manager.SilentAfter) have to do.
func unread(net.Conn) bool { return false }
