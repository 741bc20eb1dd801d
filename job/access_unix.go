//go:build unix

package job

import "syscall"

// writable reports whether the process may create files in dir.
func writable(dir string) bool { return syscall.Access(dir, 2 /* W_OK */) == nil }
