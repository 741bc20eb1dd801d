//go:build !linux

package transfer

import "net"

// unread reports false: only Linux tells how many received bytes wait unread, and elsewhere the
// manager relies on time alone (manager.SilentAfter).
func unread(net.Conn) bool { return false }
