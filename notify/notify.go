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
// When no work is due a Dispatcher runs no goroutine at all (a worker that delivered its last
// notification stays parked, ready for the next, for 20 to 40 ms, then exits); retries wait on
// the clock's timers. On a clock.Virtual the
// start of every delivery is posted through the clock too, so nothing is delivered until the
// clock is stepped.
package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/internal/workpool"
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

	mu      sync.Mutex
	closed  bool
	jobs    map[*job.Engine]*entry
	entries atomic.Int32 // len(jobs), read without the lock
	users   map[string]*slots
	active  int        // entries being drained
	settled *sync.Cond // signalled when active drops to 0; uses mu

	// Workers that drained their entry wait there, parked, for another.
	pool *workpool.Pool[*entry]
	free []*entry // dropped entries, for reuse
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
	gen      uint64    // changes each time the entry is reused for another job
	retrying bool      // a retry delay is running: nothing is delivered until it ends
	gone     bool      // the job reached a final state while a worker ran: drop the entry when it is done
	posted   bool      // on a virtual clock: a start is posted through the clock
	retry    clock.Timer
	modWait  bool // the notification interval is running: the due JobModification waits
	modTimer clock.Timer

	// Kept by the worker that drains the entry (one at a time), from the last view it read.
	view        job.NotifyView // the last view read, valid while viewRead
	viewRead    bool
	minInterval time.Duration
	final       bool
	sem         *slots // the owner's in-flight slots
	semUser     string
}

// New returns a dispatcher whose retries and intervals run on clk, configured by opts.
func New(clk clock.Clock, opts ...Option) *Dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{clock: clk, launcher: ExecLauncher{}, ctx: ctx, cancel: cancel,
		jobs: make(map[*job.Engine]*entry), users: make(map[string]*slots)}
	_, d.stepped = clk.(*clock.Virtual)
	d.settled = sync.NewCond(&d.mu)
	d.pool = workpool.New(&d.mu, linger, d.drain)
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
	d.pool.Close()
	d.mu.Unlock()
	d.cancel()
	d.pool.Wait()
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
			d.forget(engine.Of(ch.Job))
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	eng := engine.Of(ch.Job)
	e := d.jobs[eng]
	if e == nil {
		e = d.newEntry(eng)
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
func (d *Dispatcher) forget(j *job.Engine) {
	if d.entries.Load() == 0 {
		return // nothing to forget: no lock taken
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.jobs[j]
	if e == nil {
		return
	}
	if e.running || e.terminal || e.mod || len(e.files) > 0 {
		e.gone = true // the worker drops it when done
		return
	}
	d.dropLocked(e)
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
		gen := e.gen
		d.clock.AfterFunc(0, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if e.gen != gen {
				return
			}
			e.posted = false
			d.start(e)
		})
		return
	}
	d.start(e)
}

// start starts a worker for e, or hands e to a parked one. Called with d.mu held.
func (d *Dispatcher) start(e *entry) {
	if e.running || e.retrying || d.closed {
		return
	}
	e.running = true
	d.active++
	d.pool.Go(e)
}

// linger is how long at least a worker that drained its entry stays parked, ready for another,
// before it exits (workpool.Pool): it saves starting a goroutine per notification under load;
// when idle, no worker remains.
const linger = 20 * time.Millisecond

// retryAfter pauses every delivery of e for dur. Called with d.mu held.
func (d *Dispatcher) retryAfter(e *entry, dur time.Duration) {
	e.retrying = true
	gen := e.gen
	e.retry = d.clock.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if e.gen != gen {
			return
		}
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
	gen := e.gen
	e.modTimer = d.clock.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if e.gen != gen {
			return
		}
		e.modWait, e.modTimer = false, nil
		d.kick(e)
	})
}

// drain delivers what is due for e, in order: the FileTransferred calls, then the TRANSFERRED or
// ERROR notification, then a JobModification. Each pass takes everything due at once and
// records the outcome at once; it repeats until nothing is due or a wait begins. It returns with
// d.mu held and e stopped. It is called with d.mu held (workpool.Pool).
func (d *Dispatcher) drain(e *entry) {
	for !d.closed && !e.retrying {
		files := e.files
		terminal, gen, cbFailed := e.terminal, e.termGen, e.cbFailed
		mod := false
		if e.mod && !e.modWait {
			mod = true
			if e.minInterval > 0 { // no interval: no need to read the clock
				now := d.clock.Now()
				if next := e.lastMod.Add(e.minInterval); !e.lastMod.IsZero() && now.Before(next) {
					d.modAfter(e, next.Sub(now))
					mod = false
				} else {
					e.lastMod = now
				}
			}
			if mod {
				e.mod = false
			}
		}
		if len(files) == 0 && !terminal && !mod {
			break
		}
		d.mu.Unlock()

		// The job is read after the items were taken, so the view is never older than the
		// change that made them due: a stale view would drop a TRANSFERRED not yet seen, or a
		// callback or flag just set. After a callback ran it is read again, since the callback
		// may have changed the job. A JobModification alone needs no State, so the last view
		// serves while nothing else in it can have changed (Engine.NotifyGen): no job lock.
		v := e.view
		if len(files) > 0 || terminal || !e.viewRead || v.Gen != e.j.NotifyGen() ||
			(v.Caller != nil && v.Caller.Closed()) {
			v = e.j.NotifyView()
		}
		sent, ok, callbackFailed := 0, true, false
		for _, f := range files {
			if ok = d.deliverFile(e, &v, f); !ok {
				break
			}
			sent++
			v = e.j.NotifyView()
		}
		if ok && terminal {
			ok, callbackFailed = d.deliverTerminal(e, &v, cbFailed)
			v = e.j.NotifyView()
		}
		if ok && mod {
			d.deliverMod(e, &v)
		}
		e.minInterval, e.final = v.MinInterval, v.State.Final()
		e.view, e.viewRead = v, true

		d.mu.Lock()
		e.files = e.files[sent:] // only this worker removes files: the first sent are the ones taken
		if terminal && e.termGen == gen {
			if ok {
				e.terminal = false
			}
			if callbackFailed {
				e.cbFailed = true
			}
		}
		if !ok {
			if mod {
				e.mod = true // not delivered: it waits behind the retry
			}
			if !d.closed {
				d.retryAfter(e, max(v.RetryDelay, time.Second))
			}
			break
		}
	}
	d.stopped(e)
	if (e.final || e.gone) && !e.terminal && !e.mod && len(e.files) == 0 {
		d.dropLocked(e)
	}
}

// newEntry adds an entry for j, reusing one that was dropped when it can. Called with d.mu held.
func (d *Dispatcher) newEntry(j *job.Engine) *entry {
	var e *entry
	if n := len(d.free); n > 0 {
		e = d.free[n-1]
		d.free[n-1] = nil
		d.free = d.free[:n-1]
		e.j = j
	} else {
		e = &entry{j: j}
	}
	d.jobs[j] = e
	d.entries.Add(1)
	return e
}

// maxFree is how many dropped entries are kept for reuse.
const maxFree = 64

// dropLocked forgets e, whose job is final and owes nothing more, and keeps it for reuse: its
// generation changes, so that a timer of the job it served that fires late leaves it alone.
// Called with d.mu held.
func (d *Dispatcher) dropLocked(e *entry) {
	if e.retry != nil {
		e.retry.Stop()
	}
	if e.modTimer != nil {
		e.modTimer.Stop()
	}
	if d.jobs[e.j] != e {
		return
	}
	delete(d.jobs, e.j)
	d.entries.Add(-1)
	if len(d.free) < maxFree {
		// The user's slots are kept: the next job is likely the same user's.
		*e = entry{gen: e.gen + 1, sem: e.sem, semUser: e.semUser}
		d.free = append(d.free, e)
	}
}

// deliverMod makes a JobModification call, when the job's listener takes it. It is never
// retried.
func (d *Dispatcher) deliverMod(e *entry, v *job.NotifyView) {
	if v.Callback != nil && v.Flags&bits.NotifyDisable == 0 && v.Flags&bits.NotifyJobModification != 0 {
		_ = d.invoke(e, v, callJobModification, nil)
	}
}

// deliverFile makes the FileTransferred call of file i, when the job's listener takes it. It
// reports false when the call must be retried.
func (d *Dispatcher) deliverFile(e *entry, v *job.NotifyView, i int) bool {
	if _, is2 := v.Callback.(Callback2); !is2 || v.Flags&bits.NotifyDisable != 0 || v.Flags&bits.NotifyFileTransferred == 0 {
		return true
	}
	f := engine.Of(v.Handle).FileAt(i)
	if f == nil {
		return true
	}
	return d.invoke(e, v, callFileTransferred, f) == nil
}

// deliverTerminal makes the TRANSFERRED or ERROR notification, when that is still the job's
// state. ok is false when it must be retried; callbackFailed reports that the callback failed
// and a command line then ran. With skipCallback the callback failed this event before: only
// the command line runs.
func (d *Dispatcher) deliverTerminal(e *entry, v *job.NotifyView, skipCallback bool) (ok, callbackFailed bool) {
	var flag uint32
	switch v.State {
	case state.Transferred:
		flag = bits.NotifyJobTransferred
	case state.Error:
		flag = bits.NotifyJobError
	default:
		return true, false
	}
	if v.Flags&bits.NotifyDisable != 0 || v.Flags&flag == 0 {
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
	h := v.Handle // the job keeps it: a notification makes no handle
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
// goes straight to the longest waiter. Taking and freeing a slot when none is short is two
// atomic operations; the lock is for the waiters.
type slots struct {
	n       atomic.Int32 // slots taken
	waiting atomic.Int32 // len(waiters), and notifications about to join them
	mu      sync.Mutex
	waiters []chan struct{}
}

// take takes a free slot, if there is one.
func (s *slots) take() bool {
	for {
		n := s.n.Load()
		if n >= MaxInFlightPerUser {
			return false
		}
		if s.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release frees a slot, or hands it to a waiter.
func (s *slots) release() {
	s.n.Add(-1)
	// A waiter counts itself in waiting before it looks for a free slot, and the slot is freed
	// before waiting is read here: either the waiter saw the slot free or this sees the waiter.
	if s.waiting.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 && s.take() {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.waiting.Add(-1)
		close(w) // the slot is the waiter's
	}
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
	if sem.take() {
		return sem, true
	}
	sem.mu.Lock()
	sem.waiting.Add(1)
	if sem.take() {
		sem.waiting.Add(-1)
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
				sem.waiting.Add(-1)
				sem.mu.Unlock()
				return nil, false
			}
		}
		sem.mu.Unlock()
		sem.release() // the slot was handed over as Close came
		return nil, false
	}
}
