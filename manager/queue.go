package manager

import (
	"cmp"
	"container/list"
	"slices"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
)

// queue holds the QUEUED jobs, one first-in first-out line per priority, so that the scheduler
// finds the next job without looking at every queued one. Among jobs of one
// priority the one that has waited longest comes first: a job whose priority changes while it is
// queued keeps its place in the order of arrival. Not safe for concurrent use: the scheduler
// holds its lock.
type queue struct {
	lines [lineCount]list.List
	where map[uuid.UUID]*list.Element
	seq   uint64 // arrival counter
}

// queued is one job in a line.
type queued struct {
	j    *job.Engine
	line int
	seq  uint64 // order of arrival
}

// lineCount is the number of lines: one per priority.
const lineCount = int(bits.Low) + 1

func lineFor(p bits.Priority) int { return int(p) }

// push adds j at the end of its line; a job already queued stays where it is.
func (q *queue) push(j *job.Engine) {
	if q.where == nil {
		q.where = make(map[uuid.UUID]*list.Element)
	}
	if _, ok := q.where[j.ID()]; ok {
		return
	}
	_, p := j.SchedInfo()
	q.seq++
	e := &queued{j: j, line: lineFor(p), seq: q.seq}
	q.where[j.ID()] = q.lines[e.line].PushBack(e)
}

// remove takes the job out of the queue, if it is there.
func (q *queue) remove(id uuid.UUID) {
	if el, ok := q.where[id]; ok {
		q.lines[el.Value.(*queued).line].Remove(el)
		delete(q.where, id)
	}
}

// reprioritize moves a queued job to the line of its new priority, at the place its arrival
// gives it.
func (q *queue) reprioritize(id uuid.UUID) {
	el, ok := q.where[id]
	if !ok {
		return
	}
	e := el.Value.(*queued)
	_, p := e.j.SchedInfo()
	line := lineFor(p)
	if line == e.line {
		return
	}
	q.lines[e.line].Remove(el)
	e.line = line
	l := &q.lines[line]
	for at := l.Back(); at != nil; at = at.Prev() {
		if at.Value.(*queued).seq < e.seq {
			q.where[id] = l.InsertAfter(e, at)
			return
		}
	}
	q.where[id] = l.PushFront(e)
}

// first returns the job that has waited longest in the line of priority p for which skip is
// false, or nil.
func (q *queue) first(p bits.Priority, skip func(*job.Engine) bool) *job.Engine {
	for el := q.lines[int(p)].Front(); el != nil; el = el.Next() {
		if j := el.Value.(*queued).j; !skip(j) {
			return j
		}
	}
	return nil
}

// waiting reports whether a background job of priority p or higher is queued, other than those
// skip excludes.
func (q *queue) waiting(p bits.Priority, skip func(*job.Engine) bool) bool {
	for prio := bits.High; prio <= p && prio <= bits.Low; prio++ {
		if q.first(prio, skip) != nil {
			return true
		}
	}
	return false
}

// drain empties the queue and returns its jobs in order of arrival.
func (q *queue) drain() []*job.Engine {
	all := make([]*queued, 0, len(q.where))
	for i := range q.lines {
		for el := q.lines[i].Front(); el != nil; el = el.Next() {
			all = append(all, el.Value.(*queued))
		}
		q.lines[i].Init()
	}
	clear(q.where)
	slices.SortFunc(all, func(a, b *queued) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]*job.Engine, len(all))
	for i, e := range all {
		out[i] = e.j
	}
	return out
}
