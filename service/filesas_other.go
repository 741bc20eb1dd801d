//go:build !linux

package service

import (
	"fmt"
	"os"
	"runtime"

	"github.com/bitsemu/bitsemu/manager"
)

// filesAs returns how a service running as root does its users' jobs' file work
// (manager.WithFilesAs). Only Linux lets one thread take another user's file-system identity,
// so elsewhere a root service reads sources and creates, renames and removes local files for
// root's own jobs alone, and refuses them to every other owner (E_ACCESSDENIED) rather than act
// with root's rights. A service running as another user has that user's rights alone, the only
// user it serves: nil.
func filesAs(m Machine) func(manager.Identity, func()) error {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		return nil
	}
	return func(owner manager.Identity, do func()) error {
		if uid, ok := m.UID(owner.SID); ok && uid == 0 {
			do()
			return nil
		}
		return fmt.Errorf("a service running as root does local file work for root's jobs only on this system; %s is another user", owner.SID)
	}
}
