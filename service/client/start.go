package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// dialOrStart connects to the service's socket, starting the service when none answers.
//
// Starting is race-free between clients: a client that finds no service takes the store's start
// lock, tries the socket again (another client may have started the service meanwhile), and only
// then starts one, holding the lock until the socket answers. The service itself holds its own
// lock for its whole life, so that a second service on the same store waits for the first to
// stop or gives up.
func dialOrStart(dir, sock string, opt Options) (net.Conn, error) {
	c, err := net.Dial("unix", sock)
	if err == nil {
		return c, nil
	}
	if opt.Start == nil {
		return nil, fmt.Errorf("%w (%s): %w", ErrNoService, dir, err)
	}
	timeout := startTimeout(opt)
	deadline := time.Now().Add(timeout)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockWait(filepath.Join(dir, wire.StartLockName), deadline)
	if err != nil {
		return nil, fmt.Errorf("client: starting the service on %s: %w", dir, err)
	}
	defer unlock()
	if c, err := net.Dial("unix", sock); err == nil {
		return c, nil // started by another client while this one waited
	}
	exited, err := spawn(dir, opt.Start)
	if err != nil {
		return nil, fmt.Errorf("client: starting the service on %s: %w", dir, err)
	}
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			return c, nil
		}
		select {
		case werr := <-exited:
			return nil, fmt.Errorf("client: the service started on %s exited (%v) before it listened; %s says:\n%s",
				dir, werr, wire.LogName, logTail(filepath.Join(dir, wire.LogName)))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("client: the service started on %s did not listen within %v: %w", dir, timeout, err)
		}
	}
}

// errNotStarted is what spawn's channel gives on a system where it cannot start the service.
var errNotStarted = errors.New("client: this system cannot start the bitsemu service")

// logTail returns the last lines of the service's log, for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// Shutdown asks the service on the store in dir to stop and waits, up to timeout, until it has
// let the store go. It returns the service's process id, or 0 and no error when no service was
// running.
func Shutdown(dir string, timeout time.Duration) (pid int, err error) {
	m, err := Dial(socketPath(dir))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid = m.ServicePID()
	if err := m.Shutdown(); err != nil {
		return pid, err
	}
	unlock, err := lockWait(filepath.Join(dir, wire.LockName), time.Now().Add(timeout))
	if err != nil {
		return pid, fmt.Errorf("client: the service (pid %d) did not stop within %v: %w", pid, timeout, err)
	}
	unlock()
	return pid, nil
}
