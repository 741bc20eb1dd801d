//go:build unix && !linux

package job

import "syscall"

// accessFS checks that the process may write in p. Only Linux gives a thread a file-system
// identity of its own; elsewhere the service acts with its own rights alone (for root's jobs,
// when it runs as root), and its real ids are its effective ones.
func accessFS(p string) error {
	return syscall.Access(p, 2 /* W_OK */)
}
