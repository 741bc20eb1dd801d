package manager

import (
	"slices"
	"sync"

	bitsapi "github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// jobEnum is IEnumBackgroundCopyJobs over a snapshot of the queue taken by EnumJobs, as the
// enumerating caller sees it (its view). Next copies the caller's own jobs' handles out of the
// view in one block and makes the others' handles in one block per call. Like job.Enum, it is
// safe for concurrent use; jobs that leave the queue later stay listed.
type jobEnum struct {
	mu     sync.Mutex
	jobs   []*job.Engine
	view   *enumView
	caller *job.Caller
	pos    int
}

// allUsers is the key of Manager.snaps for the list of every user's jobs; no SID is empty.
const allUsers = ""

// maxViews is how many callers' views with lists a snapshot keeps. A further caller's view is
// built for each of its EnumJobs calls and dropped with its enumerators, so that the memory a
// snapshot holds stays bounded however many connections list it: 16 bytes a job for the
// snapshot and at most 18 for each view it keeps. The view of a caller that created none of the
// jobs costs nothing and is always kept.
const maxViews = 2

// enumSnap is a list of jobs EnumJobs took from the queue, in creation order, with each job's
// creator (nil for a restored job). Its lists never change once built. views keeps the view of
// each caller that listed it (see maxViews), built when that caller first asks.
type enumSnap struct {
	jobs     []*job.Engine
	creators []*job.Caller

	mu    sync.Mutex
	views map[*job.Caller]*enumView
	kept  int // views that hold lists (not noneOwn)
}

// enumView is a snapshot as one caller lists it: the jobs the caller created come out as their
// creator handles (the caller's own, as CreateJob returned them), the others as new handles
// acting as the caller. When the caller created at least half of the jobs, own holds, at the
// place of each job it created, that job's creator handle, and nil elsewhere, and others holds
// the places of the other jobs, in order; Next copies own and makes the others' handles.
// Otherwise own is nil and mine holds the places of the jobs the caller created, in order; Next
// makes a handle for every job and puts the creator handles at those places. A view never
// changes once built, so enumerators share it.
type enumView struct {
	own    []bitsapi.Job
	others []uint32
	mine   []uint32
}

// noneOwn is the view of a caller that created none of a snapshot's jobs.
var noneOwn = &enumView{}

// snapshotLocked lists the jobs of owner sid, or every user's when all is set. Called with m.mu
// held.
func (m *Manager) snapshotLocked(sid string, all bool) *enumSnap {
	n := len(m.jobs)
	if !all {
		n = m.perUser[sid]
	}
	s := &enumSnap{jobs: make([]*job.Engine, 0, n), creators: make([]*job.Caller, 0, n)}
	for i := range m.order {
		o := &m.order[i]
		if o.job == nil || (!all && o.owner != sid) {
			continue
		}
		s.jobs = append(s.jobs, o.job)
		s.creators = append(s.creators, o.creator)
	}
	return s
}

// view returns caller's view of s, building it if s does not keep it yet.
func (s *enumSnap) view(caller *job.Caller) *enumView {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[caller]; v != nil {
		return v
	}
	v := s.buildView(caller)
	if v == noneOwn || s.kept < maxViews {
		if s.views == nil {
			s.views = make(map[*job.Caller]*enumView)
		}
		s.views[caller] = v
		if v != noneOwn {
			s.kept++
		}
	}
	return v
}

// buildView makes caller's view of s.
func (s *enumSnap) buildView(caller *job.Caller) *enumView {
	mine := 0
	for _, c := range s.creators {
		if c == caller {
			mine++
		}
	}
	switch {
	case mine == 0:
		return noneOwn
	case mine < len(s.jobs)-mine:
		v := &enumView{mine: make([]uint32, 0, mine)}
		for i, c := range s.creators {
			if c == caller {
				v.mine = append(v.mine, uint32(i))
			}
		}
		return v
	}
	v := &enumView{own: make([]bitsapi.Job, len(s.jobs))}
	if mine < len(s.jobs) {
		v.others = make([]uint32, 0, len(s.jobs)-mine)
	}
	for i, c := range s.creators {
		if c == caller {
			v.own[i] = &s.jobs[i].Job
		} else {
			v.others = append(v.others, uint32(i))
		}
	}
	return v
}

// in returns the places of at (in order) from lo up to hi.
func in(at []uint32, lo, hi int) []uint32 {
	from, _ := slices.BinarySearch(at, uint32(lo))
	to, _ := slices.BinarySearch(at, uint32(hi))
	return at[from:to]
}

// Next returns up to n jobs from the current position and moves past them: S_OK when n were
// returned, S_FALSE when fewer were (the end was reached). The slice is the caller's.
func (e *jobEnum) Next(n uint32) ([]bitsapi.Job, hresult.Code, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lo := e.pos
	k := int(min(uint64(n), uint64(len(e.jobs)-lo)))
	hi := lo + k
	out := make([]bitsapi.Job, k)
	if v := e.view; v.own != nil {
		copy(out, v.own[lo:hi])
		e.handles(out, lo, in(v.others, lo, hi))
	} else {
		e.handlesBut(out, lo, in(v.mine, lo, hi))
	}
	e.pos = hi
	if uint64(k) < uint64(n) {
		return out, hresult.S_FALSE, nil
	}
	return out, hresult.S_OK, nil
}

// handles sets out[i-lo], for each place i of at, to a handle of jobs[i] acting as the caller;
// the handles are made in one block.
func (e *jobEnum) handles(out []bitsapi.Job, lo int, at []uint32) {
	if len(at) == 0 {
		return
	}
	hs := make([]job.Job, len(at))
	for t, i := range at {
		hs[t] = *e.jobs[i].As(e.caller)
		out[int(i)-lo] = &hs[t]
	}
}

// handlesBut sets each out[i-lo] to a handle of jobs[i] acting as the caller, made in one block,
// except at the places of mine (in order), where it puts the creator handle.
func (e *jobEnum) handlesBut(out []bitsapi.Job, lo int, mine []uint32) {
	hs := make([]job.Job, len(out)-len(mine))
	t := 0
	for i, j := range e.jobs[lo : lo+len(out)] {
		if len(mine) > 0 && int(mine[0]) == lo+i {
			out[i] = &j.Job
			mine = mine[1:]
			continue
		}
		hs[t] = *j.As(e.caller)
		out[i] = &hs[t]
		t++
	}
}

// Skip moves past n jobs: S_OK, or S_FALSE when fewer than n remained (the position is then the
// end).
func (e *jobEnum) Skip(n uint32) (hresult.Code, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rest := len(e.jobs) - e.pos; uint64(n) > uint64(rest) {
		e.pos = len(e.jobs)
		return hresult.S_FALSE, nil
	}
	e.pos += int(n)
	return hresult.S_OK, nil
}

// Reset moves back to the first job. It always succeeds.
func (e *jobEnum) Reset() error {
	e.mu.Lock()
	e.pos = 0
	e.mu.Unlock()
	return nil
}

// Clone returns an independent enumerator over the same snapshot, at the same position.
func (e *jobEnum) Clone() (bitsapi.Enum[bitsapi.Job], error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &jobEnum{jobs: e.jobs, view: e.view, caller: e.caller, pos: e.pos}, nil
}

// GetCount returns the number of jobs in the snapshot, wherever the position is.
func (e *jobEnum) GetCount() (uint32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return uint32(len(e.jobs)), nil
}

var _ bitsapi.JobEnum = (*jobEnum)(nil)
