//go:build !unix

package main

import "os/exec"

// credential is a user and group a command runs as; only Unix systems run commands as others.
type credential struct{ Uid, Gid uint32 }

func setCredential(*exec.Cmd, *credential) {}
