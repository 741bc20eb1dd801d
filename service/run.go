package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// Config is what Run needs.
type Config struct {
	// Dir is the store's directory; the socket, the pid file, the lock and the machine SID live
	// there too. It is created (0700) when missing.
	Dir string
	// Options are more manager options (a test's TLS configuration, limits, ...).
	Options []manager.Option
	// Logger receives the service's log: start, stop and every job's state changes. nil logs
	// text to standard error.
	Logger *slog.Logger
	// LockWait is how long Run waits for a service that is stopping to let the directory go
	// (DefaultLockWait when 0).
	LockWait time.Duration
	// AllUsers lets every user of the machine connect: the directory becomes 0711 (others may
	// reach the socket by name, not list or read the store) and the socket 0666. Callers are
	// still told apart by their uid. By default only the directory's owner (and root) can
	// reach the socket: the directory is 0700, the socket 0600.
	AllUsers bool
	// Ready, when not nil, is called once the socket accepts connections.
	Ready func()
}

// DefaultLockWait is how long Run waits for the directory by default.
const DefaultLockWait = 10 * time.Second

// MaxSocketPath is the longest socket path Run accepts: what every Unix system's sockaddr_un holds
// (104 bytes with its terminating NUL on macOS, 108 on Linux).
const MaxSocketPath = 103

// ErrRunning is Run's error when another service holds the directory.
var ErrRunning = errors.New("service: another service runs on this store")

// Paths are the files of the service on the store in dir.
type Paths struct {
	Dir, Socket, PID, Lock, StartLock, Log string
}

// PathsOf returns the files of the service on the store in dir.
func PathsOf(dir string) Paths {
	return Paths{Dir: dir, Socket: filepath.Join(dir, wire.SocketName), PID: filepath.Join(dir, wire.PIDName),
		Lock: filepath.Join(dir, wire.LockName), StartLock: filepath.Join(dir, wire.StartLockName),
		Log: filepath.Join(dir, wire.LogName)}
}

// ReadPID returns the process id in the pid file of the store in dir, or 0.
func ReadPID(dir string) int {
	b, err := os.ReadFile(PathsOf(dir).PID)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// Run is the service's process body: it owns the store in cfg.Dir and runs its transfer engine
// until ctx ends (SIGTERM, say) or a client asks it to stop (bitsadmin /SHUTDOWN). While it
// runs, jobs move with no other process running; applications connect over the socket beside
// the store.
//
// It takes the directory's service lock (so that one service runs per store, and one that
// starts while another stops waits for it), opens the store (manager.Open, which resumes the
// jobs that were transferring), listens on the socket, and writes its pid file. To stop, it
// closes the socket, lets the calls under way finish, disconnects every application (their
// callbacks stop being valid) and closes the manager: transfers stop with their temporary files
// and checkpoints consistent, as manager.Close leaves them, and continue at the next start. Then
// it removes the pid file and the socket and lets the lock go.
func Run(ctx context.Context, cfg Config) (err error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	p := PathsOf(dir)
	if len(p.Socket) > MaxSocketPath {
		return fmt.Errorf("service: the socket path %s is %d bytes long; a Unix-domain socket's may have %d: choose a shorter store directory",
			p.Socket, len(p.Socket), MaxSocketPath)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	dirMode, sockMode := os.FileMode(0o700), os.FileMode(0o600)
	if cfg.AllUsers {
		dirMode, sockMode = 0o711, 0o666
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}

	lock, err := waitLock(ctx, p, orDefault(cfg.LockWait, DefaultLockWait))
	if err != nil {
		return err
	}
	defer lock.Close()

	machine, err := LoadMachine(dir)
	if err != nil {
		return err
	}
	holder := fmt.Sprintf("the bitsemu service (pid %d, socket %s): connect through it, or stop it with bitsadmin /shutdown",
		os.Getpid(), p.Socket)
	opts := []manager.Option{manager.WithStoreHolder(holder), manager.WithLogger(log), manager.WithLauncher(launcher(machine)),
		manager.WithFilesAs(filesAs(machine))}
	m, err := manager.Open(dir, append(opts, cfg.Options...)...)
	if err != nil {
		return err
	}
	pidWritten := false
	defer func() {
		cerr := m.Close()
		if pidWritten {
			_ = os.Remove(p.PID)
		}
		if serr := m.StoreErr(); serr != nil {
			log.Error("a change could not be written to the store", "err", serr)
		}
		if err == nil {
			err = cerr
		}
	}()

	// A socket left by a service that died: this one holds the lock, so none other uses it.
	if err := os.Remove(p.Socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l, err := net.Listen("unix", p.Socket)
	if err != nil {
		return err
	}
	if err := os.Chmod(p.Socket, sockMode); err != nil {
		l.Close()
		return err
	}
	if err := writeFileAtomic(p.PID, []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		l.Close()
		return err
	}
	pidWritten = true

	srv := NewServer(m, ServerOptions{Machine: machine, Dir: dir, Logger: log})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info("service started", "pid", os.Getpid(), "store", dir, "socket", p.Socket, "jobs", m.JobCount(),
		"all_users", cfg.AllUsers)
	if cfg.Ready != nil {
		cfg.Ready()
	}

	var serveErr error
	reason := "stop requested"
	select {
	case <-ctx.Done():
		reason = "signal"
	case <-srv.ShutdownRequested():
	case serveErr = <-served:
		reason = "listener failed"
	}
	srv.Stop()
	if serveErr == nil {
		serveErr = <-served
	}
	log.Info("service stopping", "reason", reason)
	return serveErr
}

// waitLock takes the service lock of the directory, waiting up to wait for a service that is
// stopping.
func waitLock(ctx context.Context, p Paths, wait time.Duration) (*os.File, error) {
	deadline := time.Now().Add(wait)
	for {
		f, ok, err := tryLock(p.Lock)
		if err != nil {
			return nil, err
		}
		if ok {
			return f, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s (pid %d)", ErrRunning, p.Dir, ReadPID(p.Dir))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
