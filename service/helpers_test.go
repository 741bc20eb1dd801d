package service_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service"
	"github.com/bitsemu/bitsemu/service/client"
)

// testMachine is the machine SID of the tests' services.
const testMachine = service.Machine("S-1-5-21-11-22-33")

// shortDir makes a directory whose name is short enough for a socket path (108 bytes).
func shortDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "svc")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// served is a service run in the test's process: a manager on a store and a server on a socket.
type served struct {
	dir  string
	sock string
	m    *manager.Manager
	srv  *service.Server
}

// serve starts a service in the test's process on a new store.
func serve(t testing.TB, opts ...manager.Option) *served {
	dir := shortDir(t)
	m, err := manager.Open(filepath.Join(dir, "store"), opts...)
	require.NoError(t, err)
	s := &served{dir: dir, sock: filepath.Join(dir, "s.sock"), m: m}
	l, err := net.Listen("unix", s.sock)
	require.NoError(t, err)
	s.srv = service.NewServer(m, service.ServerOptions{Machine: testMachine, Dir: dir})
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(l) }()
	t.Cleanup(func() {
		s.srv.Stop()
		require.NoError(t, <-done)
		require.NoError(t, m.Close())
	})
	return s
}

// connect opens a client connection to s, closed when the test ends.
func (s *served) connect(t testing.TB) *client.Manager {
	c, err := client.Dial(s.sock)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}
