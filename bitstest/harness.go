package bitstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
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
// it would talk to BITS, and the test steps time and forces failures.
//
// Nothing moves between steps. On the virtual clock every engine action (the scheduler's pick, a
// transfer's start, a timer, a notification, a notify command line) is posted through the clock,
// so after any call the world is exactly as that call left it: after Resume the job is QUEUED,
// and it becomes CONNECTING when the test steps (Settle, Step, RunUntil, WaitState).
//
// A step runs every timer due, one at a time, in order of due time and then of arming, and after
// each waits until the engine is quiescent: no notification is being delivered, and every
// transfer has either returned or waits on a peer that sends nothing (see
// manager.Manager.WaitIdle). A silent peer is idle: its stall then runs on the virtual clock, so
// stepping past the no-progress timeout fails the job as BITS would. Transfers are real (from a
// Server, from files, or over an in-memory Network) and take the little real time they take.
//
// Every step is bounded in real time by Timeout: when the engine does not become quiescent in
// that time (a callback that never returns, say), the step fails the test with what was still
// busy instead of hanging. The Context forms return the error instead.
type Harness struct {
	Manager *manager.Manager
	Clock   *clock.Virtual
	// Timeout bounds each step's wait for quiescence in real time; DefaultTimeout when zero.
	Timeout time.Duration
	tb      testing.TB
	close   sync.Once
}

// DefaultTimeout is how long, in real time, a Harness step waits for the engine to become
// quiescent before it fails the test.
const DefaultTimeout = 10 * time.Second

// ErrLimit is returned (wrapped) by WaitState when the virtual time limit is reached before the
// job is in one of the states asked for.
var ErrLimit = errors.New("bitstest: virtual time limit reached")

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

// OnNetwork is the option that makes a manager's transfers connect through the in-memory
// network n (transfer.Config.Dial), trusting the TLS certificates of the servers given. With
// every peer on n, a Harness's steps know exactly when the network is quiet, and a seeded run
// gives the same trace every time.
func OnNetwork(n *Network, trust ...*Server) manager.Option {
	tc := transfer.Config{Dial: n.Dial}
	if len(trust) > 0 {
		pool := x509.NewCertPool()
		for _, s := range trust {
			if c := s.Certificate(); c != nil {
				pool.AddCert(c)
			}
		}
		tc.TLS = &tls.Config{RootCAs: pool}
	}
	return manager.WithTransfer(tc)
}

// Connect connects an application running as the user sid; the test fails if it cannot.
func (h *Harness) Connect(sid string) *manager.Client {
	c, err := h.Manager.Connect(manager.Identity{SID: sid})
	if err != nil {
		h.fatalf("bitstest: Connect(%q): %v", sid, err)
	}
	return c
}

// Settle runs every timer that is due now, one at a time, and waits after each until the
// engine is quiescent. Time does not pass. It fails the test when the engine does not become
// quiescent within Timeout after a timer.
func (h *Harness) Settle() {
	if err := h.SettleContext(context.Background()); err != nil {
		h.fatalf("bitstest: Settle: %v", err)
	}
}

// SettleContext is Settle, returning an error, with what was still busy, when ctx ends or the
// engine does not become quiescent within Timeout after a timer.
func (h *Harness) SettleContext(ctx context.Context) error {
	for {
		if err := h.quiesce(ctx); err != nil {
			return err
		}
		if !h.Clock.RunNext(h.Clock.Now()) {
			return nil
		}
	}
}

// quiesce waits, for at most Timeout, until the engine is quiescent and every bitstest server
// and network is quiet.
func (h *Harness) quiesce(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, h.timeout(), errNotQuiet)
	defer cancel()
	for round := 0; ; round++ {
		if err := h.Manager.WaitIdle(ctx); err != nil {
			return err
		}
		if peersQuiet() {
			return nil
		}
		// A Server is still answering (or bytes are still in flight on a Network): the
		// transfers that seemed to wait on a silent peer are about to hear from it.
		if err := pause(ctx, round); err != nil {
			return fmt.Errorf("a bitstest server is still answering: %w", context.Cause(ctx))
		}
	}
}

// pause lets the peers' goroutines run, then waits a moment of real time, or until ctx ends.
// A server usually finishes an answer within a few yields of its client; the wait, growing to a
// millisecond, covers the others without spinning.
func pause(ctx context.Context, round int) error {
	if round < 50 {
		runtime.Gosched()
		return ctx.Err()
	}
	t := time.NewTimer(min(time.Duration(round-49)*20*time.Microsecond, time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Step moves the clock forward by d, from one timer to the next, settling after each, so that
// every retry, timeout and notification due in that time happens in order. It fails the test
// when a step does not become quiescent within Timeout.
func (h *Harness) Step(d time.Duration) {
	if err := h.StepContext(context.Background(), d); err != nil {
		h.fatalf("bitstest: Step: %v", err)
	}
}

// StepContext is Step, returning an error, with what was still busy, when ctx ends or a step
// does not become quiescent within Timeout.
func (h *Harness) StepContext(ctx context.Context, d time.Duration) error {
	_, err := h.RunUntilContext(ctx, h.Clock.Now().Add(d), nil)
	return err
}

// RunUntil moves the clock forward timer by timer until done reports true (checked after each
// step, once the engine is quiescent) or the clock reaches limit. It reports whether done became
// true. A nil done runs to limit. It fails the test when a step does not become quiescent within
// Timeout.
func (h *Harness) RunUntil(limit time.Time, done func() bool) bool {
	ok, err := h.RunUntilContext(context.Background(), limit, done)
	if err != nil {
		h.fatalf("bitstest: RunUntil: %v", err)
	}
	return ok
}

// RunUntilContext is RunUntil, returning an error when ctx ends or a step does not become
// quiescent within Timeout.
func (h *Harness) RunUntilContext(ctx context.Context, limit time.Time, done func() bool) (bool, error) {
	for {
		if err := h.SettleContext(ctx); err != nil {
			return false, err
		}
		if done != nil && done() {
			return true, nil
		}
		if !h.Clock.RunNext(limit) {
			h.Clock.AdvanceTo(limit) // nothing is due by limit: only the reading moves
			if err := h.SettleContext(ctx); err != nil {
				return false, err
			}
			return done != nil && done(), nil
		}
	}
}

var errNotQuiet = errors.New("the engine did not become quiescent within the harness's Timeout")

func (h *Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

// WaitState runs the clock, for at most limit of virtual time, until j is in one of the states,
// and returns the state j is in. When the limit is reached first the error wraps ErrLimit and
// names the state j is in. It fails the test when a step does not become quiescent within
// Timeout.
func (h *Harness) WaitState(j bits.Job, limit time.Duration, states ...state.State) (state.State, error) {
	st, err := h.WaitStateContext(context.Background(), j, limit, states...)
	if err != nil && !errors.Is(err, ErrLimit) {
		h.fatalf("bitstest: WaitState: %v", err)
	}
	return st, err
}

// WaitStateContext is WaitState, returning every error: ErrLimit (wrapped) when the virtual
// limit is reached first, and an error with what was still busy when ctx ends or a step does
// not become quiescent within Timeout.
func (h *Harness) WaitStateContext(ctx context.Context, j bits.Job, limit time.Duration, states ...state.State) (state.State, error) {
	var (
		st     state.State
		getErr error
	)
	ok, err := h.RunUntilContext(ctx, h.Clock.Now().Add(limit), func() bool {
		st, getErr = j.GetState()
		if getErr != nil {
			return true
		}
		for _, want := range states {
			if st == want {
				return true
			}
		}
		return false
	})
	switch {
	case err != nil:
		return st, err
	case getErr != nil:
		return st, fmt.Errorf("bitstest: GetState: %w", getErr)
	case !ok:
		return st, fmt.Errorf("%w: job %s is %s after %v, not %v", ErrLimit, job.GUIDString(engine.Of(j).ID()), st, limit, states)
	}
	return st, nil
}

func (h *Harness) state(j bits.Job) state.State {
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
func (h *Harness) FailTransient(j bits.Job, code hresult.Code) (state.State, error) {
	return h.fail(j, state.TransientFailure, code)
}

// FailFatal makes j's transfer fail for good, as a 404 does: the job goes to ERROR and JobError
// is delivered. It returns the job's new state.
func (h *Harness) FailFatal(j bits.Job, code hresult.Code) (state.State, error) {
	return h.fail(j, state.FatalFailure, code)
}

func (h *Harness) fail(j bits.Job, ev state.Event, code hresult.Code) (state.State, error) {
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
	ctx, proto := bits.ContextGeneralTransport, "http"
	if code&0xFFFF0000 == 0x80190000 {
		ctx = bits.ContextRemoteFile
	}
	st, err := e.FireError(ev, job.Failure{Context: ctx, Code: code, File: file, Protocol: proto})
	h.Settle()
	return st, err
}

// ElapseRetryDelay moves the clock by j's minimum retry delay, so that a job in TRANSIENT_ERROR
// is queued again and retried. It returns the job's state once everything settled.
func (h *Harness) ElapseRetryDelay(j bits.Job) state.State {
	d, err := j.GetMinimumRetryDelay()
	if err != nil {
		h.fatalf("bitstest: GetMinimumRetryDelay: %v", err)
	}
	h.Step(time.Duration(d) * time.Second)
	return h.state(j)
}
