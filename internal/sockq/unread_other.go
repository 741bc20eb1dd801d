//go:build !linux

package sockq

import "net"

// Unread reports false: only Linux tells how many received bytes wait unread; elsewhere a read
// under way and time (manager.SilentAfter) have to do.
func Unread(net.Conn) bool { return false }
