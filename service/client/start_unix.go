//go:build unix

package client

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// lockWait takes an exclusive lock on the file at path, trying until deadline.
func lockWait(path string, deadline time.Time) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if err != unix.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spawn starts the service detached: in a session of its own (no terminal, and no signal of the
// client's process group reaches it), standard input from /dev/null, standard output and error
// appended to the log beside the store. The channel gives the process's exit.
func spawn(dir string, argv []string) (<-chan error, error) {
	logf, err := os.OpenFile(filepath.Join(dir, wire.LogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the service if it ends while this process lives
	return exited, nil
}
