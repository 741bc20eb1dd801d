package manager

import (
	"time"

	"github.com/bitsemu/bitsemu/clock"
)

// The scheduler's timers (each job's inactivity expiry, retry delay and no-progress timeout, each
// run's time slice and maximum download time) are nodes of one heap ordered by deadline, then by
// the order they were armed, under one timer of the clock armed for the earliest. Arming or
// stopping one is a heap operation: no timer of the clock is made, and no goroutine started.
//
// On a real clock a change that makes the earliest deadline later leaves the clock's timer
// early, and a timer that fires early just arms itself again; every node due when it fires runs.
// A clock.Virtual is a heap of timers itself, ordered by deadline and then by the order they were
// armed, and stepping it runs one timer at a time: there every node gets a timer of the clock of
// its own, armed when the node is, so that each job timer is one event of the clock and takes
// its place among the others by the time it was armed, whichever goroutine armed what.

// timerKind says what a timer node does when it fires.
type timerKind uint8

const (
	timerExpiry     timerKind = iota + 1 // the job's inactivity timeout (entry.expiry)
	timerRetry                           // the job's minimum retry delay (retryTimers.retry)
	timerNoProgress                      // the job's no-progress timeout (retryTimers.noProgress)
	timerSlice                           // the run's time slice (run.slice)
	timerDeadline                        // the run's maximum download time (run.deadline)
)

// timerNode is one timer in the heap. Its owner (a job's entry, or a run) holds it.
type timerNode struct {
	when int64  // deadline, in nanoseconds since timerHeap.base
	seq  uint64 // order of arming, among equal deadlines
	pos  int32  // 1 + its index in the heap; 0 when not armed
	kind timerKind
	e    *entry // the job
	r    *run   // the run, for the kinds that belong to one
}

// armed reports whether n is in the heap. Called with sched.mu held.
func (n *timerNode) armed() bool { return n.pos != 0 }

// timerHeap is the heap of armed nodes and the clock timer that serves them. Not safe for
// concurrent use: the scheduler holds its lock.
type timerHeap struct {
	clk     clock.Clock
	virtual bool
	base    time.Time // what deadlines count from
	nodes   []*timerNode
	seq     uint64
	fire    func() // the clock timer's function
	timer   clock.Timer
	armedAt int64 // the clock timer's deadline, when timer is not nil

	// On a virtual clock: each armed node's own timer, and what runs a node that fires.
	own     map[*timerNode]clock.Timer
	fireOne func(*timerNode)
}

// init readies the heap: fire is the function of the shared clock timer (real clocks), fireOne
// what a node's own timer runs (virtual clocks), after it took the node out of the heap.
func (h *timerHeap) init(clk clock.Clock, fire func(), fireOne func(*timerNode)) {
	h.clk, h.fire, h.fireOne, h.base = clk, fire, fireOne, clk.Now()
	if _, h.virtual = clk.(*clock.Virtual); h.virtual {
		h.own = make(map[*timerNode]clock.Timer)
	}
}

// at converts a time to a deadline.
func (h *timerHeap) at(t time.Time) int64 { return int64(t.Sub(h.base)) }

// arm sets n to fire at t, whether or not it was armed.
func (h *timerHeap) arm(n *timerNode, t time.Time) {
	h.seq++
	n.when, n.seq = h.at(t), h.seq
	if n.pos == 0 {
		h.nodes = append(h.nodes, n)
		n.pos = int32(len(h.nodes))
		h.up(len(h.nodes) - 1)
	} else if i := int(n.pos - 1); !h.down(i) {
		h.up(i)
	}
	if h.virtual {
		if t := h.own[n]; t != nil {
			t.Stop()
		}
		h.own[n] = h.clk.AfterFunc(t.Sub(h.clk.Now()), func() { h.fireOne(n) })
		return
	}
	h.reset()
}

// stop takes n out of the heap, if it is there.
func (h *timerHeap) stop(n *timerNode) {
	if n.pos == 0 {
		return
	}
	i := int(n.pos - 1)
	last := len(h.nodes) - 1
	if i != last {
		h.swap(i, last)
	}
	h.nodes[last] = nil
	h.nodes = h.nodes[:last]
	n.pos = 0
	if i != last && !h.down(i) {
		h.up(i)
	}
	if h.virtual {
		if t := h.own[n]; t != nil {
			t.Stop()
			delete(h.own, n)
		}
	}
}

// pop takes the earliest node out when it is due at now, or returns nil.
func (h *timerHeap) pop(now int64) *timerNode {
	if len(h.nodes) == 0 || h.nodes[0].when > now {
		return nil
	}
	n := h.nodes[0]
	h.stop(n)
	return n
}

// reset arms the shared clock timer for the earliest deadline, when it would otherwise fire too
// late (real clocks only).
func (h *timerHeap) reset() {
	if len(h.nodes) == 0 || h.virtual {
		return
	}
	when := h.nodes[0].when
	if h.timer != nil {
		if when >= h.armedAt {
			return
		}
		h.timer.Stop()
	}
	h.armedAt = when
	h.timer = h.clk.AfterFunc(time.Duration(when)-h.clk.Now().Sub(h.base), h.fire)
}

// fired records that the clock's timer ran; the caller pops what is due and then calls reset.
func (h *timerHeap) fired() { h.timer = nil }

// clear disarms every node and the clock's timer.
func (h *timerHeap) clear() {
	for _, n := range h.nodes {
		n.pos = 0
	}
	for _, t := range h.own {
		t.Stop()
	}
	clear(h.own)
	clear(h.nodes)
	h.nodes = h.nodes[:0]
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
}

func (h *timerHeap) less(i, j int) bool {
	a, b := h.nodes[i], h.nodes[j]
	return a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

func (h *timerHeap) swap(i, j int) {
	h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i]
	h.nodes[i].pos = int32(i + 1)
	h.nodes[j].pos = int32(j + 1)
}

func (h *timerHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

// down moves node i down to its place and reports whether it moved.
func (h *timerHeap) down(i0 int) bool {
	i, n := i0, len(h.nodes)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
