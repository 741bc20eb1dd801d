package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service"
	"github.com/bitsemu/bitsemu/service/client"
	"github.com/bitsemu/bitsemu/store"
)

// runService runs service.Run in the test's process and waits until it listens. The returned
// channel gives Run's result.
func runService(t *testing.T, ctx context.Context, cfg service.Config) <-chan error {
	ready := make(chan struct{})
	cfg.Ready = func() { close(ready) }
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return done
}

func mode(t *testing.T, path string) os.FileMode {
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// Run owns the store while it runs: its pid file and owner-only socket are beside the store, an
// in-process Open of the store fails naming the service, a second service gives up; when its
// context ends it stops, removes its files, and the jobs stay in the store.
func TestRunOwnsTheStore(t *testing.T) {
	dir := filepath.Join(shortDir(t), "store")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := runService(t, ctx, service.Config{Dir: dir})
	p := service.PathsOf(dir)

	assert.Equal(t, os.Getpid(), service.ReadPID(dir))
	assert.Equal(t, os.FileMode(0o700), mode(t, dir))
	assert.Equal(t, os.FileMode(0o600), mode(t, p.Socket))

	c, err := client.Connect(dir, client.Options{})
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), c.ServicePID())
	j, err := c.CreateJob("kept", bits.Download)
	require.NoError(t, err)
	id, _ := j.GetId()

	_, err = manager.Open(dir)
	require.Error(t, err)
	assert.True(t, errors.Is(err, store.ErrInUse))
	assert.True(t, errors.Is(err, hresult.ERROR_SHARING_VIOLATION))
	assert.Contains(t, err.Error(), "held by the bitsemu service (pid ")
	assert.Contains(t, err.Error(), p.Socket)

	err = service.Run(ctx, service.Config{Dir: dir, LockWait: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	assert.True(t, errors.Is(err, service.ErrRunning), "%v", err)

	cancel() // as SIGTERM does
	require.NoError(t, <-done)
	_, err = j.GetState()
	assert.True(t, errors.Is(err, hresult.RPC_E_DISCONNECTED), "%v", err)
	require.NoError(t, c.Close())
	for _, f := range []string{p.PID, p.Socket, filepath.Join(dir, store.HolderName)} {
		_, err := os.Stat(f)
		assert.True(t, errors.Is(err, os.ErrNotExist), "%s is left: %v", f, err)
	}
	_, err = client.Connect(dir, client.Options{})
	assert.True(t, errors.Is(err, client.ErrNoService), "%v", err)

	m, err := manager.Open(dir)
	require.NoError(t, err)
	defer m.Close()
	lc, err := m.Connect(testMachineOf(t, dir).Identity(os.Getuid()))
	require.NoError(t, err)
	got, err := lc.GetJob(id)
	require.NoError(t, err)
	name, _ := got.GetDisplayName()
	assert.Equal(t, "kept", name)
}

func testMachineOf(t *testing.T, dir string) service.Machine {
	m, err := service.LoadMachine(dir)
	require.NoError(t, err)
	return m
}

// client.Shutdown stops the service and returns once it has let the store go; a machine-wide
// service's socket and directory let every user reach the socket.
func TestShutdown(t *testing.T) {
	dir := filepath.Join(shortDir(t), "store")
	done := runService(t, context.Background(), service.Config{Dir: dir, AllUsers: true})
	assert.Equal(t, os.FileMode(0o711), mode(t, dir))
	assert.Equal(t, os.FileMode(0o666), mode(t, service.PathsOf(dir).Socket))
	pid, err := client.Shutdown(dir, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)
	select {
	case err := <-done:
		require.NoError(t, err)
	default:
		t.Fatal("Shutdown returned before Run did")
	}
	pid, err = client.Shutdown(dir, time.Minute)
	require.NoError(t, err)
	assert.Zero(t, pid, "no service runs any more")
}

// The machine part of the SIDs is made once per store and kept; uids map to RIDs and back.
func TestMachineIdentity(t *testing.T) {
	dir := shortDir(t)
	m, err := service.LoadMachine(dir)
	require.NoError(t, err)
	assert.Regexp(t, `^S-1-5-21-\d+-\d+-\d+$`, string(m))
	again, err := service.LoadMachine(dir)
	require.NoError(t, err)
	assert.Equal(t, m, again)

	root := m.Identity(0)
	assert.Equal(t, string(m)+"-500", root.SID)
	assert.True(t, root.Admin)
	user := m.Identity(1001)
	assert.Equal(t, string(m)+"-2001", user.SID)
	assert.False(t, user.Admin)
	for _, uid := range []int{0, 1, 1001, 65534} {
		back, ok := m.UID(m.Identity(uid).SID)
		assert.True(t, ok)
		assert.Equal(t, uid, back)
	}
	for _, sid := range []string{"S-1-5-21-1-2-3-2001", string(m) + "-999", string(m) + "-x", string(m)} {
		_, ok := m.UID(sid)
		assert.False(t, ok, sid)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "machine.sid"), []byte("S-1-5-18\n"), 0o600))
	_, err = service.LoadMachine(dir)
	assert.Error(t, err, "a damaged machine SID is not replaced silently")
}

// A store whose socket path would not fit a socket address is refused with a message that says
// so, before anything is made.
func TestRunSocketPathTooLong(t *testing.T) {
	dir := filepath.Join(shortDir(t), strings.Repeat("d", 100))
	err := service.Run(context.Background(), service.Config{Dir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "choose a shorter store directory")
	_, err = os.Stat(dir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "nothing was made")
}
