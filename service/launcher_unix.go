//go:build unix

package service

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"github.com/bitsemu/bitsemu/notify"
)

// nobodyGID is the group a command line runs with when its user has no entry in the user
// database.
const nobodyGID = 65534

// launcher returns how the service runs notify command lines. A service running as root runs
// each as the job's owner, as BITS runs it in the owner's logon session (the uid the owner's SID
// maps to, with that user's groups), and refuses one whose owner maps to no uid; root's own jobs
// run as root. A service running as another user runs them as itself, the only user it serves.
func launcher(m Machine) notify.Launcher {
	if os.Geteuid() != 0 {
		return nil // notify.ExecLauncher
	}
	return notify.LauncherFunc(func(ctx context.Context, l notify.Launch) error {
		uid, ok := m.UID(l.Owner)
		if !ok {
			return fmt.Errorf("service: the job's owner %s is no user of this machine; its command line is not run", l.Owner)
		}
		cmd := exec.CommandContext(ctx, l.Program)
		cmd.Args = l.Args()
		if uid != 0 {
			cred, err := credential(uid)
			if err != nil {
				return err
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd.Run()
	})
}

// credential is the uid, primary group and groups of a user.
func credential(uid int) (*syscall.Credential, error) {
	cred := &syscall.Credential{Uid: uint32(uid), Gid: nobodyGID}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return cred, nil // no entry: the uid alone, in no group of anyone's
	}
	if gid, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
		cred.Gid = uint32(gid)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return cred, nil
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}
