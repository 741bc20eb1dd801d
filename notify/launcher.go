package notify

import (
	"context"
	"os/exec"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/state"
)

// Launch is one run of a job's notify command line: everything a Launcher is told about it.
type Launch struct {
	// Job is the GUID of the job whose command line it is.
	Job uuid.UUID
	// State is the state whose notification the command line stands in for: state.Transferred
	// or state.Error.
	State state.State
	// Program is the program as SetNotifyCmdLine set it: an absolute path.
	Program string
	// Params is the parameter string exactly as SetNotifyCmdLine set it, unsplit; by BITS's
	// convention it starts with the program itself. Args splits it.
	Params string
	// Owner is the SID of the job's owner, the account the program runs as.
	Owner string
	// Time is the time on the dispatcher's clock when the launch began.
	Time time.Time
}

// Args returns the argument vector the program gets: Params split as CommandLineToArgvW splits
// it (see SplitCmdLine), or just Program when Params holds no argument.
func (l Launch) Args() []string {
	args := SplitCmdLine(l.Params)
	if len(args) == 0 {
		args = []string{l.Program}
	}
	return args
}

// Launcher runs notify command lines. A Dispatcher hands each run of a command line to its
// Launcher (ExecLauncher unless WithLauncher gives another), so that a test can see, or stand
// in for, the programs a job would start.
//
// Launch runs the command line l describes and reports how it went. It is called on the
// dispatcher's delivery goroutine for l's job, with no lock held, at most once at a time for a
// job (the job's later notifications wait for it to return) and concurrently for different
// jobs, within the owner's MaxInFlightPerUser. It may call back into the job or its manager.
//
// A nil error means the program ran and exited 0: the notification is delivered. Any error,
// whether the program could not start, exited with a non-zero code or the launcher failed
// otherwise, means the notification failed: the dispatcher launches the command line again
// after the job's minimum retry delay (at least a second) while the job is still TRANSFERRED
// or in ERROR and still has a command line. A Launch that panics is taken to have failed.
//
// ctx is cancelled when the dispatcher closes; Launch should then stop what it started and
// return. Launch must not keep ctx after it returns. l is a copy that Launch owns.
type Launcher interface {
	Launch(ctx context.Context, l Launch) error
}

// LauncherFunc adapts an ordinary function to a Launcher.
type LauncherFunc func(ctx context.Context, l Launch) error

// Launch calls f(ctx, l).
func (f LauncherFunc) Launch(ctx context.Context, l Launch) error { return f(ctx, l) }

// ExecLauncher is the Launcher a Dispatcher uses by default: it starts Program as a real
// process, never through a shell, with l.Args() as its argument vector (the first becoming
// argv[0]) and the environment of the current process, and waits for it to exit. A program
// that cannot be started gives the error of os/exec; a non-zero exit gives an *exec.ExitError.
// When ctx is cancelled the process is killed.
type ExecLauncher struct{}

// Launch runs l's program and waits for it; see ExecLauncher.
func (ExecLauncher) Launch(ctx context.Context, l Launch) error {
	cmd := exec.CommandContext(ctx, l.Program)
	cmd.Args = l.Args()
	return cmd.Run()
}

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// WithLauncher makes the dispatcher run notify command lines through l instead of ExecLauncher.
// A nil l keeps ExecLauncher.
func WithLauncher(l Launcher) Option {
	return func(d *Dispatcher) {
		if l != nil {
			d.launcher = l
		}
	}
}
