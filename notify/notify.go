// Package notify delivers a job's notifications the way BITS does: the callback registered with
// SetNotifyInterface (IBackgroundCopyCallback, 2 and 3) and the notify command line.
//
// A Dispatcher hears every change of every job (it is the job.Observer a manager installs) and
// delivers on its own goroutines, never under a lock, in order for each job, so a callback may
// call back into its job or the manager: Complete inside JobTransferred is the normal pattern.
// The rules:
//
//   - JobTransferred when the job becomes TRANSFERRED, JobError when it enters ERROR (never for
//     TRANSIENT_ERROR), each only with its flag set and BG_NOTIFY_DISABLE clear. Every
//     FileTransferred of the job comes first.
//   - JobModification for state changes (but not the moves into TRANSFERRED and ERROR), progress,
//     files added and property changes, at most one per the job's minimum notification interval;
//     changes in between are folded into the next call.
//   - At least once: when a callback, the flags or the command line are set while the job is
//     already TRANSFERRED or in ERROR, the notification is delivered at once.
//   - A JobTransferred, JobError or FileTransferred that returns an error or panics is called
//     again after the job's minimum retry delay, until it returns nil. A panic is recovered.
//   - The command line runs, as a real process and never through a shell, for TRANSFERRED and
//     ERROR when there is no valid callback or the callback failed (the callback is then not
//     called again for that event). A non-zero exit runs it again after the minimum retry delay
//     while the job is still TRANSFERRED or in ERROR. It never runs for service accounts' jobs.
//     The process is started by a Launcher (ExecLauncher unless WithLauncher gives another), the
//     seam through which tests record or script the command lines instead of running them.
//   - At most MaxInFlightPerUser notifications of one user's jobs run at once.
//
// When no work is due a Dispatcher runs no goroutine at all (a worker lingers 20 ms after its
// last notification, then exits); retries wait on the clock's timers. On a clock.Virtual the
// start of every delivery is posted through the clock too, so nothing is delivered until the
// clock is stepped.
package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// Callback is IBackgroundCopyCallback; see bits.Callback.
type Callback = bits.Callback

// Callback2 is IBackgroundCopyCallback2 (FileTransferred); see bits.Callback2.
type Callback2 = bits.Callback2

// Callback3 is IBackgroundCopyCallback3 (FileRangesTransferred); see bits.Callback3.
type Callback3 = bits.Callback3

// MaxInFlightPerUser is how many notifications of one user's jobs may run at once.
const MaxInFlightPerUser = 4

// ErrPanicked is the error a callback or Launcher that panicked is taken to have returned.
var ErrPanicked = errors.New("notify: callback panicked")

// Dispatcher delivers notifications. It implements job.Observer.
type Dispatcher struct {
	clock    clock.Clock
	launcher Launcher
	stepped  bool // clock is a *clock.Virtual: deliveries start when it is stepped
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	idle chan *entry // a worker that finished its entry waits here briefly for another

	mu      sync.Mutex
	closed  bool
	jobs    map[uuid.UUID]*entry
	users   map[string]*slots
	active  int        // entries being drained
	settled *sync.Cond // signalled when active drops to 0; uses mu
}

// entry is the notification state of one job.
type entry struct {
	j        *job.Engine
	running  bool      // a worker is draining this entry
	terminal bool      // a TRANSFERRED or ERROR notification is due
	termGen  uint64    // counts requests for the terminal notification
	cbFailed bool      // the callback failed this terminal event and a command line exists: do not call it again
	files    []int     // FileTransferred due, in order
	mod      bool      // a JobModification is due
	lastMod  time.Time // when the last JobModification was started
	retrying bool      // a retry delay is running: nothing is delivered until it ends
	posted   bool      // on a virtual clock: a start is posted through the clock
	retry    clock.Timer
	modWait  bool // the notification interval is running: the due JobModification waits
	modTimer clock.Timer

	// Kept by the worker that drains the entry (one at a time), from the last view it read.
	minInterval time.Duration
	final       bool
	handle      bits.Job    // the handle callbacks get, acting as the callback's caller
	caller      *job.Caller // handle's caller
	sem         *slots      // the owner's in-flight slots
	semUser     string
}

// New returns a dispatcher whose retries and intervals run on clk, configured by opts.
func New(clk clock.Clock, opts ...Option) *Dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{clock: clk, launcher: ExecLauncher{}, ctx: ctx, cancel: cancel, idle: make(chan *entry),
		jobs: make(map[uuid.UUID]*entry), users: make(map[string]*slots)}
	_, d.stepped = clk.(*clock.Virtual)
	d.settled = sync.NewCond(&d.mu)
	for _, o := range opts {
		o(d)
	}
	return d
}

// Close stops delivering: pending retries are dropped, running command-line programs are killed,
// and Close waits for callbacks already running to return.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	d.closed = true
	d.settled.Broadcast()
	for _, e := range d.jobs {
		if e.retry != nil {
			e.retry.Stop()
		}
		if e.modTimer != nil {
			e.modTimer.Stop()
		}
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// stopped marks e's delivery as no longer running. Called with d.mu held.
func (d *Dispatcher) stopped(e *entry) {
	e.running = false
	d.active--
	if d.active == 0 {
		d.settled.Broadcast()
	}
}

// WaitIdle blocks until no delivery is running: every callback and command line that was due
// has returned, or waits for a retry or a notification interval. It reports whether it had to
// wait.
func (d *Dispatcher) WaitIdle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	waited := false
	for d.active > 0 && !d.closed {
		waited = true
		d.settled.Wait()
	}
	return waited
}

// Active returns the number of jobs whose notifications are being delivered now.
func (d *Dispatcher) Active() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0
	}
	return d.active
}

// Pending returns the number of jobs with notifications still to deliver or to retry.
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, e := range d.jobs {
		if e.running || e.terminal || e.mod || len(e.files) > 0 {
			n++
		}
	}
	return n
}

// JobChanged records what a change makes due and starts delivery. Changes that no listener
// could take cost nothing.
func (d *Dispatcher) JobChanged(ch job.Change) {
	var due uint8
	listener := false // a listener was just set: a running retry delay does not hold it back
	switch ch.Kind {
	case job.StateChanged:
		if ch.To == state.Transferred || ch.To == state.Error {
			due = job.WantTerminal
		} else {
			due = job.WantModification
		}
	case job.FileCompleted:
		due = job.WantFiles
		// The last file's completion is the move into TRANSFERRED, which is no modification.
		if ch.Event != state.LastFileDone {
			due |= job.WantModification
		}
	case job.PropertyChanged:
		due = job.WantModification
		switch ch.Method {
		case state.SetNotifyInterface, state.SetNotifyFlags, state.SetNotifyCmdLine:
			// At least once: a listener set after the event gets it now.
			if st := engine.Of(ch.Job).NotifyView().State; st == state.Transferred || st == state.Error {
				due |= job.WantTerminal
				listener = true
			}
		}
	default:
		due = job.WantModification
	}
	due &= ch.Wants
	if due == 0 {
		if ch.Kind == job.StateChanged && ch.To.Final() {
			d.forget(engine.Of(ch.Job).ID())
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	eng := engine.Of(ch.Job)
	e := d.jobs[eng.ID()]
	if e == nil {
		e = &entry{j: eng}
		d.jobs[eng.ID()] = e
	}
	if due&job.WantTerminal != 0 {
		d.requestTerminal(e, listener)
	}
	if due&job.WantFiles != 0 {
		e.files = append(e.files, ch.File)
	}
	if due&job.WantModification != 0 {
		e.mod = true
	}
	d.kick(e)
}

// forget drops the entry of a job that reached a final state with nothing left to deliver, so
// that jobs whose listeners went away before the end are not kept for ever.
func (d *Dispatcher) forget(id uuid.UUID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.jobs[id]
	if e == nil || e.running || e.terminal || e.mod || len(e.files) > 0 {
		return // a worker will drop it when done
	}
	if e.retry != nil {
		e.retry.Stop()
	}
	if e.modTimer != nil {
		e.modTimer.Stop()
	}
	delete(d.jobs, id)
}

// requestTerminal makes the job's TRANSFERRED or ERROR notification due again. With now, for a
// listener just set, it ends a running retry delay so that it is delivered at once; otherwise a
// failed notification (a FileTransferred, say) keeps its delay, and this one waits behind it.
func (d *Dispatcher) requestTerminal(e *entry, now bool) {
	e.terminal = true
	e.termGen++
	e.cbFailed = false
	if now && e.retrying && e.retry.Stop() {
		e.retrying, e.retry = false, nil
	}
}

// kick starts a worker for e when something is due and no worker runs. On a virtual clock the
// start is posted through the clock, so that delivery happens only when the clock is stepped.
// Called with d.mu held.
func (d *Dispatcher) kick(e *entry) {
	if e.running || e.retrying || e.posted || d.closed {
		return
	}
	if !e.terminal && len(e.files) == 0 && !(e.mod && !e.modWait) {
		return
	}
	if d.stepped {
		e.posted = true
		d.clock.AfterFunc(0, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			e.posted = false
			d.start(e)
		})
		return
	}
	d.start(e)
}

// start starts a worker for e, or hands e to a lingering one. Called with d.mu held.
func (d *Dispatcher) start(e *entry) {
	if e.running || e.retrying || d.closed {
		return
	}
	e.running = true
	d.active++
	select {
	case d.idle <- e: // a lingering worker takes it
	default:
		d.wg.Add(1)
		go d.work(e)
	}
}

// linger is how long a worker that drained its entry waits for another before it exits. It saves
// starting a goroutine per notification under load; when idle, no worker remains.
const linger = 20 * time.Millisecond

// retryAfter pauses every delivery of e for dur. Called with d.mu held.
func (d *Dispatcher) retryAfter(e *entry, dur time.Duration) {
	e.retrying = true
	e.retry = d.clock.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		e.retrying, e.retry = false, nil
		d.kick(e)
	})
}

// modAfter holds the due JobModification back for dur. Called with d.mu held.
func (d *Dispatcher) modAfter(e *entry, dur time.Duration) {
	if e.modWait {
		return
	}
	e.modWait = true
	e.modTimer = d.clock.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		e.modWait, e.modTimer = false, nil
		d.kick(e)
	})
}

type item uint8

const (
	itemNone item = iota
	itemFile
	itemTerminal
	itemMod
)

func (d *Dispatcher) work(e *entry) {
	defer d.wg.Done()
	var t *time.Timer
	for {
		d.drain(e)
		if t == nil {
			t = time.NewTimer(linger)
		} else {
			t.Reset(linger)
		}
		select {
		case e = <-d.idle:
			t.Stop()
		case <-t.C:
			return
		case <-d.ctx.Done():
			t.Stop()
			return
		}
	}
}

// drain delivers what is due for e, in order, until nothing is or a wait begins.
func (d *Dispatcher) drain(e *entry) {
	for {
		d.mu.Lock()
		if d.closed || e.retrying {
			d.stopped(e)
			d.mu.Unlock()
			return
		}
		var it item
		var file int
		var gen uint64
		switch {
		case len(e.files) > 0:
			it, file = itemFile, e.files[0]
		case e.terminal:
			it, gen = itemTerminal, e.termGen
		case e.mod && !e.modWait:
			it = itemMod
			e.mod = false
			if e.minInterval == 0 {
				break // no interval: no need to read the clock
			}
			now := d.clock.Now()
			if next := e.lastMod.Add(e.minInterval); !e.lastMod.IsZero() && now.Before(next) {
				d.modAfter(e, next.Sub(now))
				e.mod = true
				d.stopped(e)
				d.mu.Unlock()
				return
			}
			e.lastMod = now
		}
		if it == itemNone {
			d.stopped(e)
			if e.final && !e.mod {
				delete(d.jobs, e.j.ID())
			}
			d.mu.Unlock()
			return
		}
		cbFailed := e.cbFailed
		d.mu.Unlock()

		// Read the job after the item was taken, so the view is never older than the change that
		// made the item due: a stale view would drop a TRANSFERRED not yet seen, or a callback or
		// flag just set.
		v := e.j.NotifyView()
		e.minInterval, e.final = v.MinInterval, v.State.Final()
		ok, callbackFailed := d.deliver(e, &v, it, file, cbFailed)
		if it == itemMod {
			continue // never retried: nothing to record
		}

		d.mu.Lock()
		switch {
		case it == itemFile && ok:
			e.files = e.files[1:]
		case it == itemTerminal && ok:
			if e.termGen == gen {
				e.terminal = false
			}
		}
		if it == itemTerminal && callbackFailed && e.termGen == gen {
			e.cbFailed = true
		}
		if !ok && !d.closed {
			d.retryAfter(e, max(v.RetryDelay, time.Second))
			d.stopped(e)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// handleFor returns the job handle callbacks get: one acting as the callback's caller.
func (e *entry) handleFor(v *job.NotifyView) bits.Job {
	if e.handle == nil || e.caller != v.Caller {
		e.handle, e.caller = e.j.As(v.Caller), v.Caller
	}
	return e.handle
}

// deliver makes one notification. ok is false when it must be retried; callbackFailed reports
// that the callback failed a terminal event for which a command line then ran.
func (d *Dispatcher) deliver(e *entry, v *job.NotifyView, it item, file int, skipCallback bool) (ok, callbackFailed bool) {
	enabled := v.Flags&bits.NotifyDisable == 0
	switch it {
	case itemMod:
		if v.Callback != nil && enabled && v.Flags&bits.NotifyJobModification != 0 {
			_ = d.invoke(e, v, callJobModification, nil)
		}
		return true, false
	case itemFile:
		if _, is2 := v.Callback.(Callback2); !is2 || !enabled || v.Flags&bits.NotifyFileTransferred == 0 {
			return true, false
		}
		f := engine.Of(e.handleFor(v)).FileAt(file)
		if f == nil {
			return true, false
		}
		return d.invoke(e, v, callFileTransferred, f) == nil, false
	}
	// The terminal event: it must still be the job's state.
	var flag uint32
	switch v.State {
	case state.Transferred:
		flag = bits.NotifyJobTransferred
	case state.Error:
		flag = bits.NotifyJobError
	default:
		return true, false
	}
	if !enabled || v.Flags&flag == 0 {
		return true, false
	}
	hasCmd := v.CmdProgram != "" && !v.CmdService
	if v.Callback != nil && !skipCallback {
		if d.invoke(e, v, callTerminal, nil) == nil {
			return true, false
		}
		if !hasCmd {
			return false, false
		}
		callbackFailed = true
	}
	if !hasCmd {
		// Nobody to tell now; a callback or command line set later gets it at once.
		return true, callbackFailed
	}
	err := d.run(e, v)
	return err == nil, callbackFailed
}

type call uint8

const (
	callJobModification call = iota
	callFileTransferred
	callTerminal
)

// invoke runs one callback method under the owner's in-flight limit, turning a panic into an
// error.
func (d *Dispatcher) invoke(e *entry, v *job.NotifyView, c call, f bits.File) (err error) {
	sem, ok := d.acquire(e, v.OwnerSID)
	if !ok {
		return errClosed
	}
	defer sem.release()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	h := e.handleFor(v)
	switch c {
	case callJobModification:
		return v.Callback.JobModification(h)
	case callFileTransferred:
		return v.Callback.(Callback2).FileTransferred(h, f)
	}
	if v.State == state.Transferred {
		return v.Callback.JobTransferred(h)
	}
	return v.Callback.JobError(h, engine.Of(h).ErrorSnapshot())
}

// run hands the command line to the launcher and waits for it. Any error, a panic included, is a
// failure.
func (d *Dispatcher) run(e *entry, v *job.NotifyView) (err error) {
	sem, ok := d.acquire(e, v.OwnerSID)
	if !ok {
		return errClosed
	}
	defer sem.release()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	l := Launch{Job: e.j.ID(), State: v.State, Program: v.CmdProgram, Params: v.CmdParams,
		Owner: v.OwnerSID, Time: d.clock.Now()}
	if err := d.launcher.Launch(d.ctx, l); err != nil {
		return &hresult.Error{Op: "notify command line", Code: hresult.E_FAIL, Err: err}
	}
	return nil
}

// errClosed is what a notification the dispatcher closed before it could start returns.
var errClosed = errors.New("notify: dispatcher closed")

// slots is one user's allowance of MaxInFlightPerUser notifications in flight. A freed slot
// goes straight to the longest waiter.
type slots struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

// release frees a slot, or hands it to a waiter.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		close(w)
		return
	}
	s.n--
}

// acquire takes one of the user's in-flight slots; the caller gives it back with release. ok is
// false, and no slot is held, when the dispatcher closes first: a notification waiting for a
// slot does not start after Close. The user's slots are kept in the entry, so a job's repeated
// notifications look the user up once.
func (d *Dispatcher) acquire(e *entry, user string) (sem *slots, ok bool) {
	if e.sem == nil || e.semUser != user {
		d.mu.Lock()
		s := d.users[user]
		if s == nil {
			s = &slots{}
			d.users[user] = s
		}
		d.mu.Unlock()
		e.sem, e.semUser = s, user
	}
	sem = e.sem
	sem.mu.Lock()
	if sem.n < MaxInFlightPerUser {
		sem.n++
		sem.mu.Unlock()
		return sem, true
	}
	w := make(chan struct{})
	sem.waiters = append(sem.waiters, w)
	sem.mu.Unlock()
	select {
	case <-w:
		if d.ctx.Err() != nil { // closed while waiting: hand the slot on
			sem.release()
			return nil, false
		}
		return sem, true
	case <-d.ctx.Done():
		sem.mu.Lock()
		for i, x := range sem.waiters {
			if x == w {
				sem.waiters = append(sem.waiters[:i], sem.waiters[i+1:]...)
				sem.mu.Unlock()
				return nil, false
			}
		}
		sem.mu.Unlock()
		sem.release() // the slot was handed over as Close came
		return nil, false
	}
}
