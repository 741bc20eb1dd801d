package manager

import (
	"sync"

	bitsapi "github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// jobEnum is IEnumBackgroundCopyJobs over a snapshot of the queue taken by EnumJobs: the jobs,
// and which of them the enumerating caller created. The handles are made only when Next hands
// them out: a creator's own handle costs nothing, and the others' are made in one block per
// call, so that listing a million jobs allocates little more than the slice Next returns. Like
// job.Enum, it is safe for concurrent use; jobs that leave the queue later stay listed.
type jobEnum struct {
	mu     sync.Mutex
	jobs   []*job.Engine
	mine   []uint64 // bit i: the caller created jobs[i], whose creator handle it gets; nil for none
	caller *job.Caller
	pos    int
}

// isMine reports whether the caller created jobs[i].
func (e *jobEnum) isMine(i int) bool { return e.mine != nil && e.mine[i/64]&(1<<(i%64)) != 0 }

// allUsers is the key of Manager.snaps for the list of every user's jobs; no SID is empty.
const allUsers = ""

// enumSnap is a list of jobs EnumJobs took from the queue, in creation order, with each job's
// creator (nil for a restored job). It is never changed once built.
type enumSnap struct {
	jobs     []*job.Engine
	creators []*job.Caller
}

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

// Next returns up to n jobs from the current position and moves past them: S_OK when n were
// returned, S_FALSE when fewer were (the end was reached). The slice is the caller's.
func (e *jobEnum) Next(n uint32) ([]bitsapi.Job, hresult.Code, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := len(e.jobs) - e.pos
	k := int(min(uint64(n), uint64(rest)))
	out := make([]bitsapi.Job, k)
	others := 0
	for i := e.pos; i < e.pos+k; i++ {
		if !e.isMine(i) {
			others++
		}
	}
	var handles []job.Job
	if others > 0 {
		handles = make([]job.Job, 0, others)
	}
	for i := range out {
		j := e.jobs[e.pos+i]
		if e.isMine(e.pos + i) {
			out[i] = &j.Job
			continue
		}
		handles = append(handles, *j.As(e.caller))
		out[i] = &handles[len(handles)-1]
	}
	e.pos += k
	if uint64(k) < uint64(n) {
		return out, hresult.S_FALSE, nil
	}
	return out, hresult.S_OK, nil
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
	return &jobEnum{jobs: e.jobs, mine: e.mine, caller: e.caller, pos: e.pos}, nil
}

// GetCount returns the number of jobs in the snapshot, wherever the position is.
func (e *jobEnum) GetCount() (uint32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return uint32(len(e.jobs)), nil
}

// mineBits returns a bit set of n bits.
func mineBits(n int) []uint64 { return make([]uint64, (n+63)/64) }

var _ bitsapi.JobEnum = (*jobEnum)(nil)
