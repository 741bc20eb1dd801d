package main

import (
	"errors"
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/store"
)

// The environment variables bitsadmin reads.
const (
	envStore     = "BITSEMU_STORE"      // the job store directory
	envSID       = "BITSEMU_SID"        // the caller's SID
	envAdmin     = "BITSEMU_ADMIN"      // "1": the caller is an elevated administrator
	envStoreWait = "BITSEMU_STORE_WAIT" // how long to wait for a store another process holds
)

// defaultStoreWait is how long a command waits for the store while another bitsadmin process
// (a /monitor, say) holds it.
const defaultStoreWait = 5 * time.Second

// storeDir returns the job store directory: /store DIR, else $BITSEMU_STORE, else "bitsemu" in
// the user's configuration directory (os.UserConfigDir: ~/.config/bitsemu on Linux,
// ~/Library/Application Support/bitsemu on macOS, %AppData%\bitsemu on Windows).
func (c *cli) storeDir() (string, error) {
	dir := c.storeFlag
	if dir == "" {
		dir = c.env(envStore)
	}
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no default job store directory (%v): use /store DIR or set %s", err, envStore)
		}
		dir = filepath.Join(base, "bitsemu")
	}
	return filepath.Abs(dir)
}

// identity returns who the commands run as: the SID in $BITSEMU_SID (by default one derived
// from the operating-system user), an administrator when $BITSEMU_ADMIN is 1.
func (c *cli) identity() manager.Identity {
	sid := c.env(envSID)
	if sid == "" {
		sid = defaultSID()
	}
	switch strings.ToLower(c.env(envAdmin)) {
	case "1", "true", "yes":
		return manager.Identity{SID: sid, Admin: true}
	}
	return manager.Identity{SID: sid}
}

// defaultSID is a stable SID for the operating-system user: the user's own SID on Windows,
// S-1-5-21-<uid> elsewhere.
func defaultSID() string {
	if runtime.GOOS == "windows" {
		if u, err := osuser.Current(); err == nil && strings.HasPrefix(u.Uid, "S-1-") {
			return u.Uid
		}
		return "S-1-5-21-0"
	}
	return fmt.Sprintf("S-1-5-21-%d", os.Getuid())
}

// storeWait returns how long to keep trying a store held by another process: $BITSEMU_STORE_WAIT
// (a Go duration such as 200ms, or seconds), 5 s by default.
func (c *cli) storeWait() (time.Duration, error) {
	s := c.env(envStoreWait)
	if s == "" {
		return defaultStoreWait, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	if d, err := parseSeconds(nil, envStoreWait, s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("%s=%q is not a duration (for example 200ms or 5s)", envStoreWait, s)
}

// session is an open job store: the service and the caller's connection to it.
type session struct {
	m      *manager.Manager
	client *manager.Client
	dir    string
}

// storeBusyError is a store another process held for the whole wait.
type storeBusyError struct {
	dir    string
	waited time.Duration
	err    error
}

func (e *storeBusyError) Error() string {
	return fmt.Sprintf("job store %s in use: %v", e.dir, e.err)
}

func (e *storeBusyError) Unwrap() error { return e.err }

// open opens the job store. A hosting session runs the transfer engine, so queued jobs transfer
// while it is open; any other session has the engine off (manager.WithManualTransfers), so that
// a one-shot command changes only what it was asked to. While another process holds the store,
// open tries again until the store wait has passed.
func (c *cli) open(host bool) (*session, error) {
	dir, err := c.storeDir()
	if err != nil {
		return nil, err
	}
	wait, err := c.storeWait()
	if err != nil {
		return nil, err
	}
	var opts []manager.Option
	if !host {
		opts = append(opts, manager.WithManualTransfers())
	}
	start := time.Now()
	var m *manager.Manager
	for {
		// Each attempt itself waits store.DefaultTimeout (100 ms) for the lock.
		m, err = manager.Open(dir, opts...)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrInUse) {
			return nil, failed("open the job store "+dir, err)
		}
		if time.Since(start) >= wait {
			return nil, &storeBusyError{dir: dir, waited: time.Since(start).Round(10 * time.Millisecond), err: err}
		}
		select {
		case <-c.ctx.Done():
			return nil, &storeBusyError{dir: dir, waited: time.Since(start).Round(10 * time.Millisecond), err: err}
		default:
		}
	}
	client, err := m.Connect(c.identity())
	if err != nil {
		_ = m.Close()
		return nil, failed("connect to the service", err)
	}
	return &session{m: m, client: client, dir: dir}, nil
}

// close disconnects and stops the service; transfers stop where they are, their state kept.
// It reports a change the store could not write.
func (s *session) close() error {
	_ = s.client.Close()
	cerr := s.m.Close()
	if err := s.m.StoreErr(); err != nil {
		return fmt.Errorf("a change could not be written to the job store: %w", err)
	}
	return cerr
}
