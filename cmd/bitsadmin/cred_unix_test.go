//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// credential is a user and group a command runs as.
type credential = syscall.Credential

func setCredential(cmd *exec.Cmd, c *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c}
}
