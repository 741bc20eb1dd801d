//go:build !linux

package service

import (
	"fmt"
	"os"
	"runtime"

	"github.com/bitsemu/bitsemu/manager"
)

// readAs returns how a service running as root reads its users' local sources
// (manager.WithReadAs). Only Linux lets one thread take another user's file-system identity, so
// elsewhere a root service reads local sources for root's own jobs alone, and refuses them to
// every other owner rather than read with root's rights. A service running as another user has
// that user's rights alone, the only user it serves: nil.
func readAs(m Machine) func(manager.Identity, func()) error {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		return nil
	}
	return func(owner manager.Identity, open func()) error {
		if uid, ok := m.UID(owner.SID); ok && uid == 0 {
			open()
			return nil
		}
		return fmt.Errorf("a service running as root reads local sources for root's jobs only on this system; %s is another user", owner.SID)
	}
}
