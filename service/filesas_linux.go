package service

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bitsemu/bitsemu/manager"
)

// filesAs returns how a service running as root does its users' jobs' file work
// (manager.WithFilesAs): as the job's owner, as BITS reads sources and creates, renames and
// removes local files in the owner's security context (Adding Files to a Job page: the owner
// must have write permissions to the local directory). The work runs on a thread of its own
// whose file-system uid, gid and groups are the owner's (the uid the owner's SID maps to, with
// that user's groups), so that the kernel checks every directory on the way and the file
// itself as it would for the owner, root's overriding capabilities are gone, and the files the
// job creates belong to the owner. Root's own jobs work as root; a job whose owner maps to no
// uid does nothing on disk (E_ACCESSDENIED). A service running as another user has that user's
// rights alone, the only user it serves: nil.
func filesAs(m Machine) func(manager.Identity, func()) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return func(owner manager.Identity, do func()) error {
		uid, ok := m.UID(owner.SID)
		if !ok {
			return fmt.Errorf("the job's owner %s is no user of this machine", owner.SID)
		}
		if uid == 0 {
			do()
			return nil
		}
		cred, err := credential(uid)
		if err != nil {
			return err
		}
		return asUser(cred, do)
	}
}

// asUser runs do on a new thread whose file-system identity is cred's. The thread is never
// given back to the runtime: it ends with its goroutine, and the identity with it.
func asUser(cred *syscall.Credential, do func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := setFSIdentity(cred); err != nil {
			errc <- err
			return
		}
		do()
		errc <- nil
	}()
	return <-errc
}

// setFSIdentity gives the calling thread cred's groups, file-system gid and file-system uid
// (the system calls act on the thread alone), and checks that they took.
func setFSIdentity(cred *syscall.Credential) error {
	groups := make([]int, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	unix.SetfsgidRetGid(int(cred.Gid))
	unix.SetfsuidRetUid(int(cred.Uid))
	// An invalid id changes nothing and returns the current one.
	gid, _ := unix.SetfsgidRetGid(-1)
	uid, _ := unix.SetfsuidRetUid(-1)
	if gid != int(cred.Gid) || uid != int(cred.Uid) {
		return fmt.Errorf("the file-system identity %d:%d did not take (it is %d:%d)", cred.Uid, cred.Gid, uid, gid)
	}
	return nil
}
