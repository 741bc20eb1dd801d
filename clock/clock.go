// Package clock is the single source of time for bitsemu: every timestamp and every timer
// (retry delay, no-progress timeout, inactivity expiry, notification intervals) goes through a
// Clock.
//
// Real returns the wall clock. Virtual is a clock that moves only when a program advances it, so a
// simulation can run days of retries in milliseconds. Code under testing/synctest can simply use
// Real: inside a synctest bubble the time package itself is virtual.
package clock

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time and schedules functions.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once d has elapsed: in its own goroutine on Real, like
	// time.AfterFunc; on Virtual, on the goroutine that steps the clock, one timer at a time.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call made by Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet. It reports whether it stopped it.
	Stop() bool
}

// Real returns the system clock.
func Real() Clock { return realClock{} }

// IsReal reports whether c is the system clock returned by Real.
func IsReal(c Clock) bool {
	_, ok := c.(realClock)
	return ok
}

type realClock struct{}

// Now reads the monotonic clock once and adds what it measured since a recent reading of the
// wall clock. time.Now reads both clocks; on a virtual machine each read is a large part of a
// short call's cost, and every call that changes a job reads the time. The two clocks run at the
// same rate (NTP slews both), so the sum is the wall-clock time up to the few nanoseconds between
// the two reads of that recent reading; only a step of the system clock (settimeofday, a leap
// second) shows late, after at most wallEvery.
func (realClock) Now() time.Time {
	if b := wallBase.Load(); b != nil {
		// Under testing/synctest, or across a change of bubble, d is out of range and the clock
		// is read in full.
		if d := time.Since(*b); d >= 0 && d < wallEvery {
			return b.Add(d)
		}
	}
	now := time.Now()
	wallBase.Store(&now)
	return now
}

// wallBase is the latest full reading of the clock taken by realClock.Now.
var wallBase atomic.Pointer[time.Time]

// wallEvery is how often realClock.Now reads the wall clock at most.
const wallEvery = 100 * time.Millisecond

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Virtual is a Clock whose time changes only when a program steps it. Timers that fall due run
// one at a time, on the goroutine that steps the clock, in order of due time and, among timers
// due at the same instant, in the order they were armed; Now reports a timer's due time while it
// runs. A timer function that arms another timer due at once (AfterFunc(0, f)) queues it behind
// the timers already due, so work posted through the clock happens only when the clock is
// stepped, and always in the same order. The zero value is not usable; call NewVirtual.
type Virtual struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	timers  timerHeap
	running int        // timer functions started and not yet returned
	settled *sync.Cond // signalled when running drops to 0; uses mu
}

// NewVirtual returns a virtual clock that reads start.
func NewVirtual(start time.Time) *Virtual {
	v := &Virtual{now: start}
	v.settled = sync.NewCond(&v.mu)
	return v
}

// Now returns the clock's current time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// AfterFunc schedules f to run d after the current virtual time. A d of zero or less makes f due
// at once: it runs at the next step of the clock, even Advance(0).
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	t := &virtualTimer{v: v, when: v.now.Add(d), seq: v.seq, f: f, index: -1}
	heap.Push(&v.timers, t)
	return t
}

// Advance moves the clock forward by d, running every timer that falls due on the way.
func (v *Virtual) Advance(d time.Duration) {
	v.mu.Lock()
	target := v.now.Add(d)
	v.mu.Unlock()
	v.AdvanceTo(target)
}

// AdvanceTo moves the clock forward to t (never backwards), running every timer due by then, one
// at a time, as RunNext does; timers that those functions arm due by t run too.
func (v *Virtual) AdvanceTo(t time.Time) {
	for v.RunNext(t) {
	}
	v.mu.Lock()
	if t.After(v.now) {
		v.now = t
	}
	v.mu.Unlock()
}

// RunNext runs the earliest pending timer if it is due at or before limit: the clock moves to its
// due time (never backwards) and its function runs on the calling goroutine, to its return. It
// reports whether a timer ran. A simulation steps with RunNext and lets the effects of each timer
// settle before the next, so that one run is like every other.
func (v *Virtual) RunNext(limit time.Time) bool {
	v.mu.Lock()
	if len(v.timers) == 0 || v.timers[0].when.After(limit) {
		v.mu.Unlock()
		return false
	}
	next := heap.Pop(&v.timers).(*virtualTimer)
	if next.when.After(v.now) {
		v.now = next.when
	}
	v.running++
	v.mu.Unlock()
	v.run(next.f)
	return true
}

// Wait blocks until every timer function started so far has returned. Timer functions run on the
// goroutine that steps the clock, so Wait has to wait only while another goroutine is stepping
// it. It reports whether it had to wait.
func (v *Virtual) Wait() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	waited := false
	for v.running > 0 {
		waited = true
		v.settled.Wait()
	}
	return waited
}

func (v *Virtual) run(f func()) {
	defer func() {
		v.mu.Lock()
		v.running--
		if v.running == 0 {
			v.settled.Broadcast()
		}
		v.mu.Unlock()
	}()
	f()
}

// Next reports when the earliest pending timer is due, and false when none is pending.
func (v *Virtual) Next() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.timers) == 0 {
		return time.Time{}, false
	}
	return v.timers[0].when, true
}

// Pending returns the number of timers that have not run or been stopped.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

type virtualTimer struct {
	v     *Virtual
	when  time.Time
	seq   uint64
	f     func()
	index int
}

func (t *virtualTimer) Stop() bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.v.timers, t.index)
	return true
}

type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
