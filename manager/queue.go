package manager

import (
	"cmp"
	"slices"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
)

// queue holds the QUEUED jobs, one first-in first-out line per priority, so that the scheduler
// finds the next job without looking at every queued one. Among jobs of one
// priority the one that has waited longest comes first: a job whose priority changes while it is
// queued keeps its place in the order of arrival. The lines are linked through the jobs' entries
// (entry.queued), so queuing a job allocates nothing. Not safe for concurrent use: the scheduler
// holds its lock.
type queue struct {
	lines [lineCount]line
	n     int    // jobs queued
	seq   uint64 // arrival counter
}

// line is one priority's jobs, oldest first.
type line struct{ head, tail *entry }

// queued is an entry's place in the queue.
type queued struct {
	seq        uint64 // order of arrival
	prev, next *entry
	line       uint8
	in         bool
}

// lineCount is the number of lines: one per priority.
const lineCount = int(bits.Low) + 1

func lineFor(p bits.Priority) uint8 { return uint8(p) }

// push adds e's job at the end of its line; a job already queued stays where it is.
func (q *queue) push(e *entry) {
	if e.q.in {
		return
	}
	_, p := e.job.SchedInfo()
	q.seq++
	e.q = queued{in: true, line: lineFor(p), seq: q.seq}
	q.link(e, q.lines[e.q.line].tail)
	q.n++
}

// link puts e after at in e's line (at the front when at is nil).
func (q *queue) link(e, at *entry) {
	l := &q.lines[e.q.line]
	e.q.prev = at
	if at == nil {
		e.q.next, l.head = l.head, e
	} else {
		e.q.next, at.q.next = at.q.next, e
	}
	if e.q.next == nil {
		l.tail = e
	} else {
		e.q.next.q.prev = e
	}
}

// unlink takes e out of its line.
func (q *queue) unlink(e *entry) {
	l := &q.lines[e.q.line]
	if e.q.prev == nil {
		l.head = e.q.next
	} else {
		e.q.prev.q.next = e.q.next
	}
	if e.q.next == nil {
		l.tail = e.q.prev
	} else {
		e.q.next.q.prev = e.q.prev
	}
	e.q.prev, e.q.next = nil, nil
}

// remove takes e's job out of the queue, if it is there.
func (q *queue) remove(e *entry) {
	if !e.q.in {
		return
	}
	q.unlink(e)
	e.q.in = false
	q.n--
}

// reprioritize moves a queued job to the line of its new priority, at the place its arrival
// gives it.
func (q *queue) reprioritize(e *entry) {
	if !e.q.in {
		return
	}
	_, p := e.job.SchedInfo()
	to := lineFor(p)
	if to == e.q.line {
		return
	}
	q.unlink(e)
	e.q.line = to
	at := q.lines[to].tail
	for at != nil && at.q.seq > e.q.seq {
		at = at.q.prev
	}
	q.link(e, at)
}

// first returns the entry of the job that has waited longest in the line of priority p for which
// skip is false, or nil.
func (q *queue) first(p bits.Priority, skip func(*entry) bool) *entry {
	for e := q.lines[int(p)].head; e != nil; e = e.q.next {
		if !skip(e) {
			return e
		}
	}
	return nil
}

// waiting reports whether a background job of priority p or higher is queued, other than those
// skip excludes.
func (q *queue) waiting(p bits.Priority, skip func(*entry) bool) bool {
	for prio := bits.High; prio <= p && prio <= bits.Low; prio++ {
		if q.first(prio, skip) != nil {
			return true
		}
	}
	return false
}

// drain empties the queue and returns its jobs in order of arrival.
func (q *queue) drain() []*job.Engine {
	all := make([]*entry, 0, q.n)
	for i := range q.lines {
		for e := q.lines[i].head; e != nil; {
			next := e.q.next
			all = append(all, e)
			e.q.in, e.q.prev, e.q.next = false, nil, nil // seq stays, for the sort
			e = next
		}
		q.lines[i] = line{}
	}
	q.n = 0
	slices.SortFunc(all, func(a, b *entry) int { return cmp.Compare(a.q.seq, b.q.seq) })
	out := make([]*job.Engine, len(all))
	for i, e := range all {
		out[i] = e.job
	}
	return out
}
