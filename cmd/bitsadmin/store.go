package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bitsemu/bitsemu/service/client"
)

// The environment variables bitsadmin reads.
const (
	envStore = "BITSEMU_STORE" // the job store directory
)

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

// serviceProgram is the program started as the service: this bitsadmin. Tests that run the
// command in their own process point it at a built bitsadmin.
var serviceProgram = os.Executable

// serviceCommand is the command line that runs the service on the store in dir, in the
// foreground: what a client starts, detached, when no service answers.
func serviceCommand(dir string) ([]string, error) {
	exe, err := serviceProgram()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to start the service: %w", err)
	}
	return []string{exe, "/store", dir, "/service", "/foreground"}, nil
}

// session is the caller's connection to the service on the job store.
type session struct {
	client *client.Manager
	dir    string
}

// open connects to the service on the job store, starting it when none runs. The service knows
// the caller by the process's uid.
func (c *cli) open(extra ...string) (*session, error) {
	dir, err := c.storeDir()
	if err != nil {
		return nil, err
	}
	start, err := serviceCommand(dir)
	if err != nil {
		return nil, err
	}
	start = append(start, extra...)
	m, err := client.Connect(dir, client.Options{Start: start})
	if err != nil {
		return nil, &serviceError{dir: dir, err: err}
	}
	return &session{client: m, dir: dir}, nil
}

// close ends the connection.
func (s *session) close() error { return s.client.Close() }

// serviceError is a service that could not be reached or started.
type serviceError struct {
	dir string
	err error
}

func (e *serviceError) Error() string {
	return fmt.Sprintf("cannot reach the bitsemu service of the job store %s: %v", e.dir, e.err)
}

func (e *serviceError) Unwrap() error { return e.err }

// isNoService reports whether err says no service runs.
func isNoService(err error) bool { return errors.Is(err, client.ErrNoService) }
