package bitstest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/notify"
)

// LaunchRecorder is a [notify.Launcher] that records every notify command line a manager
// launches, so that a test can check which programs the code under test would have started,
// for which job and event, with which parameter string. Install it with manager.WithLauncher:
//
//	rec := bitstest.NewLaunchRecorder(nil)
//	h := bitstest.NewHarness(t, manager.WithLauncher(rec))
//
// Each launch is answered with the next result of its script ([LaunchRecorder.Script]), else by
// the launcher it forwards to, else as a program that exited 0. Its methods are safe for
// concurrent use.
type LaunchRecorder struct {
	forward notify.Launcher

	mu      sync.Mutex
	records []LaunchRecord
	script  []error
	changed chan struct{} // closed and replaced at each new record
}

// LaunchRecord is the record of one launch: what the manager asked for and what it was told.
type LaunchRecord struct {
	notify.Launch
	// Err is what the launch returned: nil for a program that exited 0, else a scripted error
	// ([ExitCode] for a scripted exit code) or the forwarded launcher's error. The manager
	// launches a command line again, after the job's minimum retry delay, when it was not nil.
	Err error
}

// ExitCode is the error a LaunchRecorder's script gives for a program exiting with a non-zero
// code. ExitCode(0) is not an error a launcher should return: script nil instead.
type ExitCode int

// Error returns "exit status n", as os/exec words it.
func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// NewLaunchRecorder returns a recorder that passes each launch its script does not answer on to
// forward: notify.ExecLauncher{} runs the real programs as the manager would without a
// recorder. With a nil forward nothing is started and every unscripted launch succeeds.
func NewLaunchRecorder(forward notify.Launcher) *LaunchRecorder {
	return &LaunchRecorder{forward: forward, changed: make(chan struct{})}
}

// Script appends results to the recorder's script: the next launches return them in order
// (nil is a program that exited 0, [ExitCode] one that exited with that code, any other error a
// program that could not be started) instead of being forwarded.
func (r *LaunchRecorder) Script(results ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, results...)
}

// Launch records l and answers it; it implements [notify.Launcher]. The record is added once
// the launch has its result, so a forwarded program has exited by the time it is listed.
func (r *LaunchRecorder) Launch(ctx context.Context, l notify.Launch) error {
	r.mu.Lock()
	scripted := len(r.script) > 0
	var err error
	if scripted {
		err = r.script[0]
		r.script = r.script[1:]
	}
	r.mu.Unlock()
	if !scripted && r.forward != nil {
		err = r.forward.Launch(ctx, l)
	}
	r.mu.Lock()
	r.records = append(r.records, LaunchRecord{Launch: l, Err: err})
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return err
}

// Launches returns a copy of every record so far, in the order the launches ended.
func (r *LaunchRecorder) Launches() []LaunchRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// For returns the records of the launches of job id's command line, in order.
func (r *LaunchRecorder) For(id uuid.UUID) []LaunchRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LaunchRecord
	for _, rec := range r.records {
		if rec.Job == id {
			out = append(out, rec)
		}
	}
	return out
}

// Len returns the number of launches recorded so far.
func (r *LaunchRecorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// WaitFor blocks until cond holds for the records or ctx ends, and returns ctx.Err() in the
// latter case; it is for managers on the real clock (on a [Harness], Settle already waits for
// running launches). cond gets a copy of the records, with no lock held, each time one is
// added; it must not block.
func (r *LaunchRecorder) WaitFor(ctx context.Context, cond func([]LaunchRecord) bool) error {
	for {
		r.mu.Lock()
		recs, ch := slices.Clone(r.records), r.changed
		r.mu.Unlock()
		if cond(recs) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
