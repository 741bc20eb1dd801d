package manager

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/internal/workpool"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// DefaultTimeSlice is how long a background job transfers before it yields to another queued job
// of the same priority. BITS shares time between jobs of one priority round-robin but does not
// document the length of a slice (life-cycle page); five minutes is bitsemu's choice.
const DefaultTimeSlice = 5 * time.Minute

// The scheduler decides which QUEUED jobs transfer (life-cycle page, BG_JOB_PRIORITY):
//
//   - every FOREGROUND job runs at once, alongside the others;
//   - of the background jobs (HIGH, NORMAL, LOW) at most one runs: the highest priority, and
//     among equals the one that has waited longest;
//   - a background job whose time slice ends while another job of its priority or higher waits
//     goes back to QUEUED, at the end of the line (round-robin);
//   - a queued background job of a higher priority than the running one pre-empts it.
//
// Decisions are made under sched.mu; the jobs are moved (Pick, SliceEnd) after it is released,
// because moving a job reports back to the scheduler through the manager's observer.
type sched struct {
	m      *Manager
	clk    clock.Clock
	client *transfer.Client
	slice  time.Duration
	bg     *rate.Limiter // bandwidth of background jobs; nil means unlimited
	// stop ends when the scheduler closes: the context of what runs beside the jobs'
	// transfers (Cancel-Session).
	stop     context.Context
	stopping context.CancelFunc

	netMu   sync.Mutex // serialises setOnline
	mu      sync.Mutex
	queue   queue     // QUEUED jobs, by priority, in the order they became QUEUED
	runs    runList   // the current runs (entry.run of some job)
	bgRun   *run      // the running background job, if any
	timers  timerHeap // every job's and run's timers
	pool    *workpool.Pool[*run]
	manual  bool // WithManualTransfers: no queue, no transfers, no timers
	offline bool
	closed  bool
	idleFor time.Duration // the inactivity timeout
	workers int           // runs whose worker has not returned (or not started), and a queued kick
	idle    *sync.Cond

	// stepped is set on a clock.Virtual: every engine action is then posted through the clock
	// and happens only when the clock is stepped (see Manager.WaitIdle).
	stepped     bool
	kickPending bool         // a posted kick has not run yet
	waiting     atomic.Int64 // transfers waiting on their peer (transfer.Waiter)
	sleeping    atomic.Int64 // transfers waiting on the clock alone (transfer.Waiter)

	// kicker stands for a kick in the pool's queue (real clock): the pick that an
	// application's call asks for is made on a worker, as BITS's service picks a job after
	// Resume has returned.
	kicker     *run
	kickQueued bool // kicker waits in the pool's queue
}

// jobSched is the scheduler's part of a job's entry, guarded by sched.mu.
type jobSched struct {
	q      queued       // the job's place in the queue
	run    *run         // the job's current run: reserved, or started and not ended
	live   *run         // the job's latest run whose worker has not returned
	expiry timerNode    // the inactivity timeout
	retry  *retryTimers // made when the job first enters TRANSIENT_ERROR
}

// retryTimers are the timers of a job in TRANSIENT_ERROR.
type retryTimers struct {
	retry, noProgress timerNode
}

// run is one job's turn: from Pick until the job leaves CONNECTING and TRANSFERRING. Its worker
// transfers the files on a goroutine of the scheduler's pool.
type run struct {
	e       *entry
	fg      atomic.Bool // the job is FOREGROUND: written under sched.mu, read by the worker too
	stopped atomic.Bool // the run ended: the worker stops; written under sched.mu
	prio    bits.Priority
	started bool // Pick succeeded: the job is CONNECTING or TRANSFERRING
	// deadlineStale is guarded by sched.mu: the maximum download time changed after the Pick
	// and before the run started, so the Pick's Timing no longer gives the deadline.
	deadlineStale bool
	// finished is guarded by sched.mu: the worker returned, or will never start.
	finished bool
	// limitWake wakes the worker from a wait for the bandwidth limiter when fg changes; made
	// only under a bandwidth limit.
	limitWake *transfer.LimitWake
	slice     timerNode
	deadline  timerNode // the maximum download time

	// Guarded by sched.mu.
	ctx     context.Context // made when the worker first needs it; nil until then
	cancel  context.CancelFunc
	done    chan struct{} // made for a waiter, closed when finished
	prev    *run          // the job's previous run, if its worker had not returned when this one was reserved
	next    *run          // the job's next run, which starts when this one's worker returns
	prevRun *run          // runList links
	nextRun *run
}

// runList is the scheduler's current runs, linked through the runs.
type runList struct{ head *run }

func (l *runList) add(r *run) {
	r.nextRun = l.head
	if l.head != nil {
		l.head.prevRun = r
	}
	l.head = r
}

func (l *runList) remove(r *run) {
	if r.prevRun != nil {
		r.prevRun.nextRun = r.nextRun
	} else if l.head == r {
		l.head = r.nextRun
	}
	if r.nextRun != nil {
		r.nextRun.prevRun = r.prevRun
	}
	r.prevRun, r.nextRun = nil, nil
}

// linger is how long at least a worker goroutine that finished a transfer stays parked, ready
// for the next, before it exits (workpool.Pool).
const linger = 20 * time.Millisecond

func newSched(m *Manager, cf *config) *sched {
	s := &sched{
		m:       m,
		clk:     cf.clock,
		slice:   cf.slice,
		manual:  cf.manual,
		idleFor: cf.inactivity,
	}
	tc := cf.transfer
	if tc.Clock == nil {
		tc.Clock = cf.clock
	}
	s.client = transfer.New(tc)
	if cf.bandwidth > 0 {
		s.bg = rate.NewLimiter(rate.Limit(cf.bandwidth), burstFor(cf.bandwidth))
	}
	s.idle = sync.NewCond(&s.mu)
	s.stop, s.stopping = context.WithCancel(context.Background())
	_, s.stepped = cf.clock.(*clock.Virtual)
	s.timers.init(cf.clock, s.tick, s.tickOne)
	s.pool = workpool.New(&s.mu, linger, s.work)
	s.kicker = new(run)
	return s
}

// burstFor is the limiter's bucket: a quarter of a second of traffic, at least 4 KiB.
func burstFor(bytesPerSecond int) int {
	return max(bytesPerSecond/4, 4096)
}

// entryOf returns the manager's entry of j, or nil for a job the manager does not hold.
func entryOf(j *job.Engine) *entry {
	e, _ := j.Service().(*entry)
	return e
}

// changed follows a job's state changes. It is called by the manager's observer, after the job's
// lock is released.
func (s *sched) changed(j *job.Engine, ch *job.Change) {
	if s.manual {
		return // no queue to keep, no transfer to stop, no timer to set
	}
	if uploadCancelled(j, ch) {
		s.cancelSession(j)
	}
	e := entryOf(j)
	if e == nil {
		return
	}
	switch ch.Kind {
	case job.StateChanged:
	case job.PropertyChanged:
		switch ch.Method {
		case state.SetPriority:
			s.mu.Lock()
			s.queue.reprioritize(e)
			s.mu.Unlock()
			s.kickSoon(queuedBy{})
		case state.SetMaximumDownloadTime:
			t := j.Timing()
			s.mu.Lock()
			if r := e.run; r != nil && r.started {
				s.armDeadline(r, t)
			} else if r != nil {
				r.deadlineStale = true // start arms it from the job as it is then
			}
			s.mu.Unlock()
		}
		return
	default:
		return
	}
	s.mu.Lock()
	// Changes made on different goroutines may be reported out of order: a change reported
	// late must not undo what a newer one set up (dequeue a job queued again, end the run of
	// a job picked again, stop the timers of a job back in TRANSIENT_ERROR). So the job's
	// state now decides, read under s.mu (the order decide uses too).
	now := j.State()
	if ch.From == state.Queued && now != state.Queued {
		s.queue.remove(e)
	}
	var stopped *run
	var cancel context.CancelFunc
	// A run reserved for a job still QUEUED is the scheduler's newest decision: its Pick
	// comes next (start cleans up when the Pick fails).
	if r := e.run; r != nil && !state.Running.Has(ch.To) && !state.Running.Has(now) &&
		(r.started || now != state.Queued) {
		stopped = r
		cancel = s.endRun(r)
		if s.pool.Withdraw(r) {
			s.finish(r) // its worker had not begun: it never will
		}
	}
	if ch.From == state.TransientError && now != state.TransientError {
		s.stopRetry(e)
	}
	if ch.To.Final() {
		s.timers.stop(&e.expiry)
	}
	queued := ch.To == state.Queued && now == state.Queued && !s.closed
	if queued {
		s.queue.push(e)
	}
	if queued && stopped == nil && !s.stepped {
		// All that is left to do is to pick. After an application's call (Resume) a worker
		// picks: the call returns with the job QUEUED, as BITS's Resume does, and does not
		// wait for the pick. After an engine event (a retry, the network back), which runs on
		// the engine's own goroutine, the pick is made in this critical section, without
		// another round of the lock.
		if ch.Event == 0 {
			s.kickLater()
			s.mu.Unlock()
			return
		}
		s.kickLocked(queuedBy{e, ch.Seq})
		return
	}
	if ch.From == state.Queued && s.queue.n == 0 && s.kickQueued && s.pool.Withdraw(s.kicker) {
		// Nothing is left to pick: the kick is taken back.
		s.kickQueued = false
		s.workerDone()
	}
	// A run that ended makes room for a queued job; with none queued there is nothing to pick.
	waiting := s.queue.n > 0
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if stopped != nil && s.stepped && ch.Event == 0 {
		// An application's call (Suspend, Cancel, Complete…) returns once the transfer has
		// stopped, so that nothing the transfer did afterwards shows between two steps.
		// Engine events are made by the worker itself or by a timer: they do not wait.
		s.waitFinished(stopped)
	}
	if ch.To == state.TransientError && ch.Event != state.NetworkLost {
		s.armRetry(e)
	}
	if queued || (stopped != nil && waiting) {
		var by queuedBy
		if queued {
			by = queuedBy{e, ch.Seq}
		}
		s.kickSoon(by)
	}
}

// testHookPicked, when set (export_test.go), runs in start right after the Pick, before the run's
// timers are armed.
var testHookPicked func(j *job.Engine)

// queuedBy is the change that queued a job, for a kick made at once: a Pick of that job then
// takes the change's time (job.Engine.Pick).
type queuedBy struct {
	e   *entry
	seq uint64 // the change's Seq
}

// kickSoon runs kick: at once on a real clock, where the scheduler picks as soon as a job is
// queued, as BITS's does; on a virtual clock at the next step of the clock, so that a test sees
// the job QUEUED after Resume and CONNECTING only once it steps.
func (s *sched) kickSoon(by queuedBy) {
	if !s.stepped {
		s.kick(by)
		return
	}
	s.mu.Lock()
	if s.kickPending || s.closed {
		s.mu.Unlock()
		return
	}
	s.kickPending = true
	s.mu.Unlock()
	s.clk.AfterFunc(0, func() {
		s.mu.Lock()
		s.kickPending = false
		s.mu.Unlock()
		s.kick(queuedBy{})
	})
}

// kickLater has a worker of the pool run kick, unless one is to already. Called with s.mu held.
func (s *sched) kickLater() {
	if s.kickQueued || s.closed {
		return
	}
	s.kickQueued = true
	s.workers++ // until the kick is done: WaitIdle waits for it
	s.pool.Go(s.kicker)
}

// endRun forgets a run, stops it and its timers, and returns the function that cancels its
// transfer, for the caller to call once it unlocked (nil when the transfer has not begun).
// Called with s.mu held.
func (s *sched) endRun(r *run) context.CancelFunc {
	if r.e.run == r {
		r.e.run = nil
	}
	s.runs.remove(r)
	if s.bgRun == r {
		s.bgRun = nil
	}
	s.timers.stop(&r.slice)
	s.timers.stop(&r.deadline)
	r.stopped.Store(true)
	return r.cancel
}

// runContext returns the context of r's transfer, made on first use, or nil when r has ended:
// a run that ends before its worker begins costs no context.
func (s *sched) runContext(r *run) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.stopped.Load() {
		return nil
	}
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(context.Background())
	}
	return r.ctx
}

// waitFinished blocks until r's worker has returned.
func (s *sched) waitFinished(r *run) { <-s.finished(r) }

// finished returns a channel closed once r's worker has returned.
func (s *sched) finished(r *run) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.done == nil {
		r.done = make(chan struct{})
		if r.finished {
			close(r.done)
		}
	}
	return r.done
}

// kick starts every job the rules allow to start, and pre-empts a background job that a
// higher-priority one should replace. by is the change that just queued a job, if any.
func (s *sched) kick(by queuedBy) {
	s.mu.Lock()
	s.kickLocked(by)
}

// kickLocked is kick for a caller that holds s.mu, which it releases.
func (s *sched) kickLocked(by queuedBy) {
	for locked := true; ; locked = false {
		if !locked {
			s.mu.Lock()
		}
		pick, preempt, offline := s.decide()
		// With the picked job the only one queued, and nothing to pre-empt, nothing else can
		// start: no second look.
		last := pick != nil && preempt == nil && s.queue.n == 1
		if pick != nil {
			s.workers++ // its worker counts from now on
		}
		s.mu.Unlock()
		for _, j := range offline {
			// A job queued while the network is down waits for it, as the running ones did.
			_, _ = j.Fire(state.NetworkLost)
		}
		if len(offline) > 0 {
			// The network may have come back since decide: setOnline's NetworkRestored may
			// then have run before these NetworkLost, and nothing else would bring the jobs
			// back.
			s.mu.Lock()
			back := !s.offline
			s.mu.Unlock()
			if back {
				for _, j := range offline {
					_, _ = j.Fire(state.NetworkRestored)
				}
			}
		}
		if preempt != nil {
			_, _ = preempt.Fire(state.SliceEnd)
		}
		if pick == nil {
			return
		}
		var seq uint64
		if pick.e == by.e {
			seq = by.seq
		}
		s.start(pick, seq)
		if last {
			return
		}
	}
}

// decide chooses the next job to start, reserving its place, and a running background job to
// pre-empt. Called with s.mu held.
func (s *sched) decide() (pick *run, preempt *job.Engine, offline []*job.Engine) {
	if s.closed {
		return nil, nil, nil
	}
	if s.manual {
		return nil, nil, nil
	}
	if s.offline {
		return nil, nil, s.queue.drain()
	}
	// A running job whose priority changed moves between the foreground and the background.
	for r := s.runs.head; r != nil; r = r.nextRun {
		_, p := r.e.job.SchedInfo()
		r.prio = p
		if fg := p == bits.Foreground; fg != r.fg.Load() {
			r.fg.Store(fg)
			if r.limitWake != nil {
				r.limitWake.Wake()
			}
			switch {
			case fg && s.bgRun == r:
				s.bgRun = nil
			case !fg && s.bgRun == nil:
				s.bgRun = r
			case !fg && r.started:
				// Two background jobs would run: the new arrival yields.
				preempt = r.e.job
			}
		}
	}
	if s.queue.n == 0 {
		return nil, preempt, nil
	}
	if e := s.queue.first(bits.Foreground, reserved); e != nil {
		return s.reserve(e, bits.Foreground), nil, nil
	}
	var best *entry
	bestPrio := bits.Low + 1
	for p := bits.High; p <= bits.Low && best == nil; p++ {
		if best = s.queue.first(p, reserved); best != nil {
			bestPrio = p
		}
	}
	if best == nil || preempt != nil {
		return nil, preempt, nil
	}
	if s.bgRun == nil {
		return s.reserve(best, bestPrio), nil, nil
	}
	if bestPrio < s.bgRun.prio && s.bgRun.started {
		return nil, s.bgRun.e.job, nil
	}
	return nil, nil, nil
}

// reserved reports whether e's job has a run reserved, and so is not to be picked again. Called
// with s.mu held.
func reserved(e *entry) bool { return e.run != nil }

// reserve records a run for e's job before it is picked. Called with s.mu held.
func (s *sched) reserve(e *entry, p bits.Priority) *run {
	r := &run{e: e, prio: p}
	if s.bg != nil {
		r.limitWake = new(transfer.LimitWake)
	}
	r.slice = timerNode{kind: timerSlice, e: e, r: r}
	r.deadline = timerNode{kind: timerDeadline, e: e, r: r}
	r.fg.Store(p == bits.Foreground)
	e.run = r
	s.runs.add(r)
	r.prev = e.live
	e.live = r
	if !r.fg.Load() {
		s.bgRun = r
	}
	return r
}

// start moves a reserved job to CONNECTING and hands the run to a worker. seq is the change
// that queued the job when the scheduler picks it at once (job.Engine.Pick), else 0.
func (s *sched) start(r *run, seq uint64) {
	s.m.activity()
	j := r.e.job
	t, ch, err := j.Pick(seq)
	if testHookPicked != nil {
		testHookPicked(j)
	}
	if err != nil {
		// The job left QUEUED meanwhile; if the queue still lists it, a change reported out
		// of order put it there, and the change that queues it again will list it again.
		s.mu.Lock()
		cancel := s.endRun(r)
		s.queue.remove(r.e)
		s.finish(r)
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		return
	}
	// The Pick's change goes where the observer sends a change, but to changed: the scheduler
	// follows its own Pick here.
	s.m.followChange(j, &ch)
	s.m.notify.JobChanged(ch)
	s.mu.Lock()
	defer s.mu.Unlock()
	// What changed does for a Pick: the job leaves the queue, unless a change since has queued
	// it again (read under s.mu, as changed reads it).
	if j.State() != state.Queued {
		s.queue.remove(r.e)
	}
	if r.e.run == r && !r.stopped.Load() {
		r.started = true
		if !r.fg.Load() {
			s.timers.arm(&r.slice, t.RunningSince.Add(s.slice))
		}
		if r.deadlineStale {
			t = j.Timing() // the job's lock inside the scheduler's, as changed takes them
		}
		s.armDeadline(r, t)
	}
	switch p := r.prev; {
	case p != nil && !p.finished:
		// One transfer per job at a time: the worker of the job's previous run (ended by the
		// network, a time slice, a pre-emption) may still be writing the temporary file. This
		// run's worker starts once it has returned.
		p.next = r
	case r.stopped.Load():
		s.finish(r) // ended already: no worker needed
	default:
		s.pool.Go(r)
	}
}

// work is the pool's function, called with s.mu held: it runs r's transfer, then records that
// its worker returned, and returns with s.mu held.
func (s *sched) work(r *run) {
	if r == s.kicker {
		s.kickQueued = false // a job queued from now on needs another look
		s.kickLocked(queuedBy{})
		s.mu.Lock()
		s.workerDone()
		return
	}
	if !r.stopped.Load() {
		s.mu.Unlock()
		s.transfer(r)
		s.mu.Lock()
	}
	s.finish(r)
}

// finish records that r's worker returned (or will never start), and starts the worker of the
// job's next run if it waited for this one. Called with s.mu held.
func (s *sched) finish(r *run) {
	r.finished = true
	if r.done != nil {
		close(r.done)
	}
	if r.e.live == r {
		// A run whose Pick failed never waited for its predecessor: the job's latest worker
		// is that one's, if it still runs.
		r.e.live = nil
		if p := r.prev; p != nil && !p.finished {
			r.e.live = p
		}
	}
	r.prev = nil
	s.workerDone()
	s.m.activity()
	if n := r.next; n != nil {
		r.next = nil
		s.pool.Go(n)
	}
}

// workerDone records that a worker's transfer or kick is over. Called with s.mu held.
func (s *sched) workerDone() {
	s.workers--
	if s.workers == 0 {
		s.idle.Broadcast()
	}
}

// armDeadline sets the timer of the run's maximum download time
// (IBackgroundCopyJob4::SetMaximumDownloadTime). When it fires, it checks the time left again:
// a Resume or a larger maximum meanwhile gives the job more. Called with s.mu held.
func (s *sched) armDeadline(r *run, t job.Timing) {
	if t.DownloadDeadline.IsZero() {
		s.timers.stop(&r.deadline)
		return
	}
	s.timers.arm(&r.deadline, t.DownloadDeadline)
}

// deadlineDue ends a run whose maximum download time ran out, or sets its timer again when the
// job has more time now.
func (s *sched) deadlineDue(r *run) {
	t := r.e.job.Timing()
	s.mu.Lock()
	if r.e.run != r {
		s.mu.Unlock()
		return
	}
	if t.DownloadDeadline.IsZero() || t.DownloadDeadline.After(s.clk.Now()) {
		s.armDeadline(r, t)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_, _ = r.e.job.Fire(state.MaxDownloadTimeout)
}

// sliceEnd ends a background job's turn when another job of its priority or a higher one waits;
// otherwise the job keeps running for another slice.
func (s *sched) sliceEnd(r *run) {
	s.mu.Lock()
	if r.e.run != r || s.closed {
		s.mu.Unlock()
		return
	}
	if !s.queue.waiting(r.prio, reserved) {
		s.timers.arm(&r.slice, s.clk.Now().Add(s.slice))
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_, _ = r.e.job.Fire(state.SliceEnd)
}

// tick runs the timers that are due. It is the function of the clock timer the heap shares
// among its nodes on a real clock.
func (s *sched) tick() {
	var buf [8]*timerNode
	due := buf[:0]
	s.mu.Lock()
	s.timers.fired()
	now := s.timers.at(s.clk.Now())
	for n := s.timers.pop(now); n != nil; n = s.timers.pop(now) {
		due = append(due, n)
	}
	if !s.closed {
		s.timers.reset()
	}
	s.mu.Unlock()
	for _, n := range due {
		s.fire(n)
	}
}

// tickOne runs node n, whose own timer fired (virtual clocks), unless it was stopped or armed
// again meanwhile.
func (s *sched) tickOne(n *timerNode) {
	s.mu.Lock()
	if !n.armed() || n.when > s.timers.at(s.clk.Now()) {
		s.mu.Unlock()
		return
	}
	s.timers.stop(n)
	s.mu.Unlock()
	s.fire(n)
}

// fire does what a timer that came due is for.
func (s *sched) fire(n *timerNode) {
	switch n.kind {
	case timerExpiry:
		s.expire(n.e)
	case timerRetry:
		_, _ = n.e.job.Fire(state.RetryDelayElapsed)
	case timerNoProgress:
		_, _ = n.e.job.Fire(state.NoProgressTimeout)
	case timerSlice:
		s.sliceEnd(n.r)
	case timerDeadline:
		s.deadlineDue(n.r)
	}
}

// armRetry sets the timers of a job that entered TRANSIENT_ERROR: the retry after the minimum
// retry delay (SetMinimumRetryDelay) and the no-progress timeout (SetNoProgressTimeout).
func (s *sched) armRetry(e *entry) {
	if s.manual {
		return
	}
	t := e.job.Timing()
	if t.State != state.TransientError {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	rt := e.retry
	if rt == nil {
		rt = &retryTimers{}
		rt.retry = timerNode{kind: timerRetry, e: e}
		rt.noProgress = timerNode{kind: timerNoProgress, e: e}
		e.retry = rt
	}
	s.timers.stop(&rt.retry)
	s.timers.stop(&rt.noProgress)
	now := s.clk.Now()
	left := time.Duration(-1)
	if !t.NoProgressDeadline.IsZero() {
		left = t.NoProgressDeadline.Sub(now)
		s.timers.arm(&rt.noProgress, t.NoProgressDeadline)
	}
	if left < 0 || t.RetryDelay < left {
		// A retry due when the timeout runs out, or later, never happens: the job goes to
		// ERROR at the timeout.
		s.timers.arm(&rt.retry, now.Add(t.RetryDelay))
	}
}

// stopRetry stops a job's retry timers. Called with s.mu held.
func (s *sched) stopRetry(e *entry) {
	if rt := e.retry; rt != nil {
		s.timers.stop(&rt.retry)
		s.timers.stop(&rt.noProgress)
	}
}

// armExpiry sets the inactivity timer of a job: when the job has seen no activity for the
// inactivity timeout, the service cancels it (JobInactivityTimeout group policy). Activity
// since the timer was set pushes it back.
func (s *sched) armExpiry(e *entry) {
	if s.manual {
		return
	}
	st, modified := e.job.Activity()
	if st.Final() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.timers.arm(&e.expiry, modified.Add(s.idleFor))
}

// expire cancels e's job if it has been inactive for the timeout, and otherwise sets its timer
// again.
func (s *sched) expire(e *entry) {
	st, modified := e.job.Activity()
	if st.Final() {
		return
	}
	if modified.Add(s.idleFor).After(s.clk.Now()) {
		s.armExpiry(e)
		return
	}
	_, _ = e.job.Fire(state.InactivityExpired)
}

// setOnline records whether the network is available. Losing it moves every queued, connecting
// and transferring job to TRANSIENT_ERROR with BG_E_NETWORK_DISCONNECTED, where it waits without
// a retry timer; getting it back moves every job in TRANSIENT_ERROR to QUEUED
// (users-and-network-connections page).
func (s *sched) setOnline(online bool, all func() []*job.Engine) {
	// One change of the network at a time: the events of a loss and of a return made
	// concurrently would otherwise interleave and leave jobs waiting for a network that is back.
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.mu.Lock()
	changed := s.offline == online
	s.offline = !online
	s.mu.Unlock()
	if !changed {
		return
	}
	ev := state.NetworkLost
	if online {
		ev = state.NetworkRestored
	}
	// The jobs are listed after the change: one queued since would otherwise be missed.
	for _, j := range all() {
		_, _ = j.Fire(ev)
	}
	s.kickSoon(queuedBy{})
}

// running returns the number of transfers (workers) that have not returned.
func (s *sched) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workers
}

// waitIdle blocks until no transfer is running, and reports whether it had to wait.
func (s *sched) waitIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	waited := false
	for s.workers > 0 {
		waited = true
		s.idle.Wait()
	}
	return waited
}

// close stops every transfer and timer and waits for the transfers to return.
func (s *sched) close() {
	s.mu.Lock()
	s.closed = true
	var cancels []context.CancelFunc
	for s.runs.head != nil {
		if c := s.endRun(s.runs.head); c != nil {
			cancels = append(cancels, c)
		}
	}
	s.timers.clear()
	s.queue.drain()
	s.pool.Close()
	s.mu.Unlock()
	s.stopping()
	for _, c := range cancels {
		c()
	}
	s.waitIdle()
	s.pool.Wait()
	s.client.Close()
}
