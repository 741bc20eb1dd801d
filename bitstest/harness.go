package bitstest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// Epoch is the time a Harness's virtual clock starts at.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Harness is a manager running on a virtual clock, with a driver for the things that happen to
// jobs on their own: transfers finishing, errors, retry delays and timeouts passing. It is the
// way to fake BITS in a test: the code under test talks to Manager's clients and jobs exactly as
// it would talk to BITS, and the test moves time and forces failures.
//
// Transfers are real (from a Server, or from files) and take the little real time they take;
// timers (retry delays, the no-progress timeout, the maximum download time, time slices,
// notification retries) wait for the test to move the clock with Advance or RunUntil. Settle
// waits until nothing is moving, so that what the test then reads is the outcome.
type Harness struct {
	Manager *manager.Manager
	Clock   *clock.Virtual
	tb      testing.TB
	close   sync.Once
}

// NewHarness starts a manager on a virtual clock reading Epoch, with opts applied after the
// clock. The manager is closed when the test ends. tb may be nil outside a test, for a
// simulation program: the caller then calls Close, and the harness panics where it would fail
// the test.
func NewHarness(tb testing.TB, opts ...manager.Option) *Harness {
	clk := clock.NewVirtual(Epoch)
	m := manager.New(append([]manager.Option{manager.WithClock(clk)}, opts...)...)
	return wrap(tb, m, clk)
}

// OpenHarness is NewHarness for a manager that keeps its jobs in a store in dir (manager.Open),
// on the virtual clock clk (a new one reading Epoch when nil). A test of restarts opens the same
// directory again, on the same clock, once the first harness is closed. The error is Open's.
func OpenHarness(tb testing.TB, dir string, clk *clock.Virtual, opts ...manager.Option) (*Harness, error) {
	if clk == nil {
		clk = clock.NewVirtual(Epoch)
	}
	m, err := manager.Open(dir, append([]manager.Option{manager.WithClock(clk)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return wrap(tb, m, clk), nil
}

func wrap(tb testing.TB, m *manager.Manager, clk *clock.Virtual) *Harness {
	h := &Harness{Manager: m, Clock: clk, tb: tb}
	if tb != nil {
		tb.Helper()
		tb.Cleanup(h.Close)
	}
	return h
}

// Close closes the manager: transfers stop and no timer fires any more. Closing again does
// nothing.
func (h *Harness) Close() { h.close.Do(func() { _ = h.Manager.Close() }) }

// fatalf fails the test, or panics without one.
func (h *Harness) fatalf(format string, args ...any) {
	if h.tb == nil {
		panic(fmt.Sprintf(format, args...))
	}
	h.tb.Helper()
	h.tb.Fatalf(format, args...)
}

// Trust returns the option that makes a manager's transfers trust s's TLS certificate.
func Trust(s *Server) manager.Option {
	return manager.WithTransfer(transfer.Config{TLS: s.TLSConfig()})
}

// Connect connects an application running as the user sid; the test fails if it cannot.
func (h *Harness) Connect(sid string) *manager.Client {
	c, err := h.Manager.Connect(manager.Identity{SID: sid})
	if err != nil {
		h.fatalf("bitstest: Connect(%q): %v", sid, err)
	}
	return c
}

// Settle waits until nothing moves: no transfer runs, no notification is being delivered and
// no timer function started by the clock is still running. Time does not pass.
func (h *Harness) Settle() {
	for {
		h.Manager.WaitIdle()
		if !h.Clock.Wait() {
			return
		}
	}
}

// Advance moves the clock forward by d, from one timer to the next, settling after each, so
// that every retry, timeout and notification due in that time happens in order.
func (h *Harness) Advance(d time.Duration) {
	h.RunUntil(h.Clock.Now().Add(d), nil)
}

// RunUntil moves the clock forward timer by timer until done reports true (checked after each
// step, once everything settled) or the clock reaches limit. It reports whether done became
// true. A nil done runs to limit.
func (h *Harness) RunUntil(limit time.Time, done func() bool) bool {
	for {
		h.Settle()
		if done != nil && done() {
			return true
		}
		next, ok := h.Clock.Next()
		if !ok || next.After(limit) {
			h.Clock.AdvanceTo(limit)
			h.Settle()
			return done != nil && done()
		}
		h.Clock.AdvanceTo(next)
	}
}

// WaitState runs the clock, for at most limit, until j is in one of the states; it returns the
// state j ended in.
func (h *Harness) WaitState(j *job.Job, limit time.Duration, states ...state.State) state.State {
	var st state.State
	h.RunUntil(h.Clock.Now().Add(limit), func() bool {
		st = h.state(j)
		for _, want := range states {
			if st == want {
				return true
			}
		}
		return false
	})
	return st
}

func (h *Harness) state(j *job.Job) state.State {
	st, err := j.GetState()
	if err != nil {
		h.fatalf("bitstest: GetState: %v", err)
	}
	return st
}

// FailTransient makes j's transfer fail with a recoverable error, as a dropped connection or a
// busy server does: the job goes to TRANSIENT_ERROR (or to ERROR when its no-progress timeout
// rules out a retry), and its retry timer starts. A QUEUED job is picked first. The error is
// recorded against the first unfinished file, with context REMOTE_FILE for BG_E_HTTP_ERROR_nnn
// codes and GENERAL_TRANSPORT otherwise. It returns the job's new state.
func (h *Harness) FailTransient(j *job.Job, code hresult.Code) (state.State, error) {
	return h.fail(j, state.TransientFailure, code)
}

// FailFatal makes j's transfer fail for good, as a 404 does: the job goes to ERROR and JobError
// is delivered. It returns the job's new state.
func (h *Harness) FailFatal(j *job.Job, code hresult.Code) (state.State, error) {
	return h.fail(j, state.FatalFailure, code)
}

func (h *Harness) fail(j *job.Job, ev state.Event, code hresult.Code) (state.State, error) {
	e := engine.Of(j)
	if st := h.state(j); st == state.Queued {
		if _, err := e.Fire(state.Pick); err != nil {
			return st, err
		}
	}
	v := e.TransferView()
	file := -1
	for i, f := range v.Files {
		if !f.Done {
			file = i
			break
		}
	}
	ctx, proto := job.ContextGeneralTransport, "http"
	if code&0xFFFF0000 == 0x80190000 {
		ctx = job.ContextRemoteFile
	}
	st, err := e.FireError(ev, job.Failure{Context: ctx, Code: code, File: file, Protocol: proto})
	h.Settle()
	return st, err
}

// ElapseRetryDelay moves the clock by j's minimum retry delay, so that a job in TRANSIENT_ERROR
// is queued again and retried. It returns the job's state once everything settled.
func (h *Harness) ElapseRetryDelay(j *job.Job) state.State {
	d, err := j.GetMinimumRetryDelay()
	if err != nil {
		h.fatalf("bitstest: GetMinimumRetryDelay: %v", err)
	}
	h.Advance(time.Duration(d) * time.Second)
	return h.state(j)
}
