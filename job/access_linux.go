package job

import "golang.org/x/sys/unix"

// accessFS checks that the calling thread's file-system identity (fsuid, fsgid, groups and the
// capabilities left to it) may write in p, with faccessat2(AT_EACCESS): access(2) would check
// the process's real uid instead, root's for a service running as root. A kernel without
// faccessat2 (before Linux 5.8), or a sandbox that refuses the call (some seccomp profiles
// answer EPERM), answers nothing here: the temporary file's creation, made with the same
// identity, is then the check.
func accessFS(p string) error {
	err := unix.Faccessat2(unix.AT_FDCWD, p, unix.W_OK, unix.AT_EACCESS)
	if err == unix.ENOSYS || err == unix.EPERM {
		return nil
	}
	return err
}
