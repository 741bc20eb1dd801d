package manager

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
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
	queue   queue // QUEUED jobs, by priority, in the order they became QUEUED
	runs    map[uuid.UUID]*run
	live    map[uuid.UUID]*run // by job, its latest run whose worker has not returned
	bgRun   *run               // the running background job, if any
	manual  bool               // WithManualTransfers: no queue, no transfers, no timers
	offline bool
	closed  bool
	timers  map[uuid.UUID]*jobTimers
	expiry  map[uuid.UUID]clock.Timer // inactivity timers
	idleFor time.Duration             // the inactivity timeout
	workers int                       // worker goroutines that have not returned
	idle    *sync.Cond

	// stepped is set on a clock.Virtual: every engine action is then posted through the clock
	// and happens only when the clock is stepped (see Manager.WaitIdle).
	stepped     bool
	kickPending bool         // a posted kick has not run yet
	waiting     atomic.Int64 // transfers waiting on their peer (transfer.Waiter)
	sleeping    atomic.Int64 // transfers waiting on the clock alone (transfer.Waiter)
}

// run is one job's turn: from Pick until the job leaves CONNECTING and TRANSFERRING.
type run struct {
	j  *job.Engine
	fg atomic.Bool // the job is FOREGROUND: written under sched.mu, read by the worker too
	// limitWake wakes the worker from a wait for the bandwidth limiter when fg changes.
	limitWake transfer.LimitWake
	prio      bits.Priority
	started   bool // Pick succeeded: the job is CONNECTING or TRANSFERRING
	ctx       context.Context
	cancel    context.CancelFunc
	slice     clock.Timer
	deadline  clock.Timer   // the maximum download time
	done      chan struct{} // closed when the run's worker has returned (or never started)
	prev      *run          // the job's previous run, if its worker had not returned when this one was reserved
}

// jobTimers are the timers of a job in TRANSIENT_ERROR.
type jobTimers struct {
	retry, noProgress clock.Timer
}

func newSched(m *Manager, cf *config) *sched {
	s := &sched{
		m:       m,
		clk:     cf.clock,
		slice:   cf.slice,
		manual:  cf.manual,
		runs:    make(map[uuid.UUID]*run),
		live:    make(map[uuid.UUID]*run),
		timers:  make(map[uuid.UUID]*jobTimers),
		expiry:  make(map[uuid.UUID]clock.Timer),
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
	return s
}

// burstFor is the limiter's bucket: a quarter of a second of traffic, at least 4 KiB.
func burstFor(bytesPerSecond int) int {
	return max(bytesPerSecond/4, 4096)
}

// changed follows a job's state changes. It is called by the manager's observer, after the job's
// lock is released.
func (s *sched) changed(j *job.Engine, ch job.Change) {
	if s.manual {
		return // no queue to keep, no transfer to stop, no timer to set
	}
	if uploadCancelled(j, ch) {
		s.cancelSession(j)
	}
	switch ch.Kind {
	case job.StateChanged:
	case job.PropertyChanged:
		switch ch.Method {
		case state.SetPriority:
			s.mu.Lock()
			s.queue.reprioritize(j.ID())
			s.mu.Unlock()
			s.kickSoon()
		case state.SetMaximumDownloadTime:
			s.mu.Lock()
			if r := s.runs[j.ID()]; r != nil && r.started {
				s.armDeadline(r)
			}
			s.mu.Unlock()
		}
		return
	default:
		return
	}
	id := j.ID()
	s.mu.Lock()
	// Changes made on different goroutines may be reported out of order: a change reported
	// late must not undo what a newer one set up (dequeue a job queued again, end the run of
	// a job picked again, stop the timers of a job back in TRANSIENT_ERROR). So the job's
	// state now decides, read under s.mu (the order decide uses too).
	now := j.State()
	if ch.From == state.Queued && now != state.Queued {
		s.queue.remove(id)
	}
	var stopped *run
	// A run reserved for a job still QUEUED is the scheduler's newest decision: its Pick
	// comes next (start cleans up when the Pick fails).
	if r := s.runs[id]; r != nil && !state.Running.Has(ch.To) && !state.Running.Has(now) &&
		(r.started || now != state.Queued) {
		stopped = r
		s.endRun(r)
	}
	if ch.From == state.TransientError && now != state.TransientError {
		s.stopTimers(id)
	}
	if ch.To.Final() {
		if t := s.expiry[id]; t != nil {
			t.Stop()
			delete(s.expiry, id)
		}
	}
	queued := ch.To == state.Queued && now == state.Queued && !s.closed
	if queued {
		s.queue.push(j)
	}
	s.mu.Unlock()
	if stopped != nil {
		stopped.cancel()
		if s.stepped && ch.Event == 0 {
			// An application's call (Suspend, Cancel, Complete…) returns once the transfer has
			// stopped, so that nothing the transfer did afterwards shows between two steps.
			// Engine events are made by the worker itself or by a timer: they do not wait.
			<-stopped.done
		}
	}
	if ch.To == state.TransientError && ch.Event != state.NetworkLost {
		s.armRetry(j)
	}
	if queued || stopped != nil {
		s.kickSoon()
	}
}

// kickSoon runs kick: at once on a real clock, where the scheduler picks as soon as a job is
// queued, as BITS's does; on a virtual clock at the next step of the clock, so that a test sees
// the job QUEUED after Resume and CONNECTING only once it steps.
func (s *sched) kickSoon() {
	if !s.stepped {
		s.kick()
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
		s.kick()
	})
}

// endRun forgets a run and stops its timers; the caller cancels it after unlocking. Called with
// s.mu held.
func (s *sched) endRun(r *run) {
	delete(s.runs, r.j.ID())
	if s.bgRun == r {
		s.bgRun = nil
	}
	if r.slice != nil {
		r.slice.Stop()
	}
	if r.deadline != nil {
		r.deadline.Stop()
	}
}

// kick starts every job the rules allow to start, and pre-empts a background job that a
// higher-priority one should replace.
func (s *sched) kick() {
	for {
		s.mu.Lock()
		pick, preempt, offline := s.decide()
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
		s.start(pick)
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
	for _, r := range s.runs {
		_, p := r.j.SchedInfo()
		r.prio = p
		if fg := p == bits.Foreground; fg != r.fg.Load() {
			r.fg.Store(fg)
			r.limitWake.Wake()
			switch {
			case fg && s.bgRun == r:
				s.bgRun = nil
			case !fg && s.bgRun == nil:
				s.bgRun = r
			case !fg && r.started:
				// Two background jobs would run: the new arrival yields.
				preempt = r.j
			}
		}
	}
	if j := s.queue.first(bits.Foreground, s.reserved); j != nil {
		return s.reserve(j, bits.Foreground), nil, nil
	}
	var best *job.Engine
	bestPrio := bits.Low + 1
	for p := bits.High; p <= bits.Low && best == nil; p++ {
		if best = s.queue.first(p, s.reserved); best != nil {
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
		return nil, s.bgRun.j, nil
	}
	return nil, nil, nil
}

// reserved reports whether j has a run reserved, and so is not to be picked again. Called with
// s.mu held.
func (s *sched) reserved(j *job.Engine) bool { return s.runs[j.ID()] != nil }

// reserve records a run for j before it is picked. Called with s.mu held.
func (s *sched) reserve(j *job.Engine, p bits.Priority) *run {
	r := &run{j: j, prio: p, done: make(chan struct{})}
	r.fg.Store(p == bits.Foreground)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	s.runs[j.ID()] = r
	r.prev = s.live[j.ID()]
	s.live[j.ID()] = r
	if !r.fg.Load() {
		s.bgRun = r
	}
	return r
}

// start moves a reserved job to CONNECTING and starts its worker.
func (s *sched) start(r *run) {
	s.mu.Lock()
	s.workers++
	s.mu.Unlock()
	s.m.activity()
	if _, err := r.j.Fire(state.Pick); err != nil {
		// The job left QUEUED meanwhile; if the queue still lists it, a change reported out
		// of order put it there, and the change that queues it again will list it again.
		s.mu.Lock()
		if s.runs[r.j.ID()] == r {
			s.endRun(r)
		}
		s.queue.remove(r.j.ID())
		s.mu.Unlock()
		r.cancel()
		s.workerDone(r)
		return
	}
	v := r.j.TransferView()
	s.mu.Lock()
	if s.runs[r.j.ID()] == r {
		r.started = true
		if !r.fg.Load() {
			r.slice = s.clk.AfterFunc(s.slice, func() { s.sliceEnd(r) })
		}
		s.armDeadline(r)
	}
	s.mu.Unlock()
	go s.work(r, v)
}

// armDeadline sets the timer of the run's maximum download time
// (IBackgroundCopyJob4::SetMaximumDownloadTime). When it fires, it checks the time left again:
// a Resume or a larger maximum meanwhile gives the job more. Called with s.mu held.
func (s *sched) armDeadline(r *run) {
	if r.deadline != nil {
		r.deadline.Stop()
		r.deadline = nil
	}
	v := r.j.TransferView()
	if v.NoDownloadLimit {
		return
	}
	r.deadline = s.clk.AfterFunc(v.DownloadTimeLeft, func() {
		s.mu.Lock()
		if s.runs[r.j.ID()] != r {
			s.mu.Unlock()
			return
		}
		if v := r.j.TransferView(); v.NoDownloadLimit || v.DownloadTimeLeft > 0 {
			s.armDeadline(r)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		_, _ = r.j.Fire(state.MaxDownloadTimeout)
	})
}

// sliceEnd ends a background job's turn when another job of its priority or a higher one waits;
// otherwise the job keeps running for another slice.
func (s *sched) sliceEnd(r *run) {
	s.mu.Lock()
	if s.runs[r.j.ID()] != r || s.closed {
		s.mu.Unlock()
		return
	}
	if !s.queue.waiting(r.prio, s.reserved) {
		r.slice = s.clk.AfterFunc(s.slice, func() { s.sliceEnd(r) })
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_, _ = r.j.Fire(state.SliceEnd)
}

// workerDone records that r's worker returned. The worker is uncounted before r.done closes, so
// that a call waiting on r.done (Suspend, Cancel, Complete on a virtual clock) returns with no
// transfer counted as running.
func (s *sched) workerDone(r *run) {
	s.mu.Lock()
	if s.live[r.j.ID()] == r {
		delete(s.live, r.j.ID())
	}
	r.prev = nil
	s.workers--
	if s.workers == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
	close(r.done)
	s.m.activity()
}

// armRetry sets the timers of a job that entered TRANSIENT_ERROR: the retry after the minimum
// retry delay (SetMinimumRetryDelay) and the no-progress timeout (SetNoProgressTimeout).
func (s *sched) armRetry(j *job.Engine) {
	if s.manual {
		return
	}
	v := j.TransferView()
	if v.State != state.TransientError {
		return
	}
	t := &jobTimers{}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	id := j.ID()
	if old := s.timers[id]; old != nil {
		stopTimers(old)
	}
	s.timers[id] = t
	left := time.Duration(-1)
	if !v.NoProgressDeadline.IsZero() {
		left = v.NoProgressDeadline.Sub(s.clk.Now())
		t.noProgress = s.clk.AfterFunc(left, func() { _, _ = j.Fire(state.NoProgressTimeout) })
	}
	if left < 0 || v.RetryDelay < left {
		// A retry due when the timeout runs out, or later, never happens: the job goes to
		// ERROR at the timeout.
		t.retry = s.clk.AfterFunc(v.RetryDelay, func() { _, _ = j.Fire(state.RetryDelayElapsed) })
	}
}

// stopTimers stops a job's retry timers. Called with s.mu held.
func (s *sched) stopTimers(id uuid.UUID) {
	if t := s.timers[id]; t != nil {
		stopTimers(t)
		delete(s.timers, id)
	}
}

func stopTimers(t *jobTimers) {
	if t.retry != nil {
		t.retry.Stop()
	}
	if t.noProgress != nil {
		t.noProgress.Stop()
	}
}

// armExpiry sets the inactivity timer of a job: when the job has seen no activity for the
// inactivity timeout, the service cancels it (JobInactivityTimeout group policy). Activity
// since the timer was set pushes it back.
func (s *sched) armExpiry(j *job.Engine) {
	if s.manual {
		return
	}
	v := j.TransferView()
	if v.State.Final() {
		return
	}
	left := v.Modified.Add(s.idleFor).Sub(s.clk.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	id := j.ID()
	if old := s.expiry[id]; old != nil {
		old.Stop()
	}
	s.expiry[id] = s.clk.AfterFunc(left, func() { s.expire(j) })
}

// expire cancels j if it has been inactive for the timeout, and otherwise sets its timer again.
func (s *sched) expire(j *job.Engine) {
	v := j.TransferView()
	if v.State.Final() {
		return
	}
	if v.Modified.Add(s.idleFor).After(s.clk.Now()) {
		s.armExpiry(j)
		return
	}
	_, _ = j.Fire(state.InactivityExpired)
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
	s.kickSoon()
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
	runs := make([]*run, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
		s.endRun(r)
	}
	for id := range s.timers {
		s.stopTimers(id)
	}
	for id, t := range s.expiry {
		t.Stop()
		delete(s.expiry, id)
	}
	s.queue.drain()
	s.mu.Unlock()
	s.stopping()
	for _, r := range runs {
		r.cancel()
	}
	s.waitIdle()
	s.client.Close()
}
