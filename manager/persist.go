package manager

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// Open starts a manager whose jobs live in the store in dir (created, owner-only, if missing):
// every job, with its files, progress, properties (the notify command line included), error and
// owner, is written to disk before the method that changed it returns, and comes back when a
// manager opens the directory again. A method whose change cannot be written (a full or failing
// disk) fails with the disk's HRESULT and changes nothing, as CreateJob does: what a method
// reports done is on disk. Callbacks are not stored, as BITS does not keep the
// interface pointers applications register: after a restart GetNotifyInterface returns nil
// until the application registers again, and a callback registered on a job that became
// TRANSFERRED or ERROR meanwhile is called at once.
//
// Jobs that were QUEUED, CONNECTING or TRANSFERRING are queued again and continue from the data
// in their temporary files; jobs in TRANSIENT_ERROR wait for their retry. Transfer progress is
// written at least every CheckpointBytes bytes and every CheckpointInterval, after the temporary
// file's data is on disk, so a crash loses at most that much and never leaves a file that
// disagrees with its record.
//
// No job may read the files of dir: a local source that is one of them, under any name, fails
// with E_ACCESSDENIED, for every owner (the store holds every user's credentials).
//
// Errors: the directory is held by another manager (ERROR_SHARING_VIOLATION, store.ErrInUse,
// naming the holder when it described itself with WithStoreHolder); the
// store or one of its records is damaged, a record does not describe a job, or the store was
// written in another format (BG_E_DATABASE_CORRUPT and store.ErrCorrupt, store.ErrVersion as
// well for another format), naming the job when one is concerned. Nothing is dropped or changed
// silently.
func Open(dir string, opts ...Option) (*Manager, error) {
	var cf config
	for _, o := range opts {
		o(&cf)
	}
	st, err := store.Open(dir, store.Options{Holder: cf.holder})
	if err != nil {
		return nil, err
	}
	m := newManager(opts)
	m.store = st
	m.noRead = resolveRoots([]string{dir})
	m.env.Keep = m.keep
	m.persistence.seqs = make(map[uuid.UUID]uint64)
	// The records are decoded and their jobs rebuilt in parallel, straight from the store's
	// map (store.Scan); each job's entry is made, and put in the queue's map, while its record
	// is at hand.
	var rs restoring
	err = st.Scan(func(n, workers int) {
		m.mu.Lock()
		m.jobs = make(map[uuid.UUID]*entry, n)
		m.mu.Unlock()
		rs = restoring{m: m, entries: make([]*entry, n), timing: make([]restoredTiming, n),
			order: make([]slot, n), workers: make([]restoreWorker, workers)}
	}, func(w, i int, r *job.Record) error {
		return rs.restore(w, i, r)
	})
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	rs.finish()
	for i, e := range rs.entries {
		if !rs.timing[i].reconcile {
			continue
		}
		// Bytes written after the last checkpoint are not vouched for by the record.
		if err := e.job.Reconcile(); err != nil {
			m.persistErr(err)
		}
		rs.timing[i] = timingOf(e.job, false)
	}
	m.sched.restored(rs.entries, rs.timing)
	return m, nil
}

// restoring is what Open gathers of the jobs it restores, on the store's decoding goroutines:
// each job's entry, timing and place in the queue, in creation order, and what each goroutine
// has yet to put in the queue's map and counts.
type restoring struct {
	m       *Manager
	entries []*entry
	timing  []restoredTiming
	order   []slot
	workers []restoreWorker
	callers sync.Map // one Caller per owner: the restored jobs' creator is their owner
}

// restoredTiming is what the scheduler needs of a restored job, read while the job was at hand.
type restoredTiming struct {
	state     state.State
	reconcile bool // the job has temporary files to reconcile (job.Engine.NeedsReconcile)
	modified  time.Time
}

// timingOf returns what the scheduler needs of a restored job.
func timingOf(j *job.Engine, reconcile bool) restoredTiming {
	t := j.Timing()
	return restoredTiming{state: t.State, reconcile: reconcile, modified: t.Modified}
}

// restoreWorker is one decoding goroutine's part of a restoring: the owner of the records it
// decoded last (most records come after one of the same owner), with its Caller and the number
// of its jobs not yet added to the counts, the entries not yet in m.jobs, and what makes its
// jobs.
type restoreWorker struct {
	owner   Identity
	caller  *job.Caller
	pending int // the jobs of owner not yet in perUser and counted
	perUser map[string]int
	counted int
	batch   []*entry
	maker   job.Restorer[entry]
	_       [64]byte // each goroutine writes its own for every job: not on one cache line
}

// restoreBatch is how many entries a decoding goroutine puts in m.jobs at a time.
const restoreBatch = 256

// restore rebuilds the job of record r, the i-th in creation order, on decoding goroutine w.
func (rs *restoring) restore(w, i int, r *job.Record) error {
	rw := &rs.workers[w]
	if rw.caller == nil || rw.owner != r.Owner {
		rw.flush()
		c, ok := rs.callers.Load(r.Owner)
		if !ok {
			c, _ = rs.callers.LoadOrStore(r.Owner, job.NewCaller(r.Owner))
		}
		rw.owner, rw.caller = r.Owner, c.(*job.Caller)
	}
	// The job's entry is made with it, and attached to it, and the job a batch at a time with
	// others.
	h, e, err := rw.maker.Restore(&rs.m.env, rw.caller, r)
	if err != nil {
		return restoreErr(r.ID, err)
	}
	j := engine.Of(h)
	e.init(j, r.Type, r.Owner, nil, i)
	rs.entries[i], rs.order[i] = e, slot{job: j, owner: e.owner}
	rs.timing[i] = timingOf(j, j.NeedsReconcile())
	rw.pending++
	if rw.batch = append(rw.batch, e); len(rw.batch) == restoreBatch {
		rs.m.mu.Lock()
		rs.insert(rw)
		rs.m.mu.Unlock()
	}
	return nil
}

// insert puts the entries of rw's batch in m.jobs. Called with m.mu held.
func (rs *restoring) insert(rw *restoreWorker) {
	for _, e := range rw.batch {
		rs.m.jobs[e.job.ID()] = e
	}
	rw.batch = rw.batch[:0]
}

// flush adds the jobs of the last owner to the counts.
func (rw *restoreWorker) flush() {
	if rw.pending == 0 {
		return
	}
	if rw.perUser == nil {
		rw.perUser = make(map[string]int)
	}
	rw.perUser[rw.owner.SID] += rw.pending
	if !rw.owner.Exempt() {
		rw.counted += rw.pending
	}
	rw.pending = 0
}

// finish completes the queue with the restored jobs, once they are all rebuilt: what
// insertLocked does for each, in bulk.
func (rs *restoring) finish() {
	m := rs.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for w := range rs.workers {
		rw := &rs.workers[w]
		rs.insert(rw)
		rw.flush()
		for sid, n := range rw.perUser {
			m.perUser[sid] += n
		}
		m.counted += rw.counted
	}
	m.order = rs.order
	m.snaps = nil
}

// restoreErr is the failure to rebuild a job from a record the store read: the record does not
// describe a job, so the store is damaged. It matches store.ErrCorrupt and BG_E_DATABASE_CORRUPT,
// as the store's own findings do, and names the job.
func restoreErr(id uuid.UUID, err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return &hresult.Error{Op: "Open", Job: job.GUIDString(id), Code: hresult.BG_E_DATABASE_CORRUPT,
		Err: fmt.Errorf("%w: %w", store.ErrCorrupt, err)}
}

// The bounds of the progress a crash can lose.
const (
	// CheckpointBytes is how many bytes of a file may arrive between two writes of its job's
	// progress to the store. Each write syncs the temporary file, and so flushes the disk's
	// cache: a bound far below what a fast link moves in CheckpointInterval would cost the
	// transfer the flushes, while what it saves after a crash takes a fast link little time.
	CheckpointBytes = 64 << 20
	// CheckpointInterval is how long a transfer may run between two such writes.
	CheckpointInterval = time.Second
)

// deleted marks a job whose record was removed, in persistence.seqs.
const deleted = ^uint64(0)

// persistence writes jobs to the store. The zero value (no store) does nothing.
//
// Writes of one job are serialised (by its stripe), so that the sequence check and the write
// are one step and a late record never overtakes a removal; writes of different jobs run at the
// same time, and the store commits the ones that wait together in one synced transaction (group
// commit), so that many applications changing their jobs at once share each fsync.
type persistence struct {
	stripes [256]sync.Mutex // a job's writes hold the stripe its GUID picks

	mu    sync.Mutex           // guards seqs and first; never held across a write
	seqs  map[uuid.UUID]uint64 // the change count of each job's record on disk
	first error                // the first write of the service's own changes that failed
}

// stripe returns the lock of the job's writes.
func (p *persistence) stripe(id uuid.UUID) *sync.Mutex {
	return &p.stripes[int(id[15])%len(p.stripes)]
}

// keep writes a record an application's call produced, before the call returns (job.Env.Keep):
// the call fails, changing nothing, when this fails. Called with the job locked.
func (m *Manager) keep(r *job.Record) error {
	return m.write(r)
}

// write puts the record in the store, or removes the job's record once the job is final. A
// record no newer than the one on disk is not written again: a call that made several changes,
// or changes reported out of order, cost one write.
func (m *Manager) write(r *job.Record) error {
	p := &m.persistence
	s := p.stripe(r.ID)
	s.Lock()
	defer s.Unlock()
	p.mu.Lock()
	last, ok := p.seqs[r.ID]
	p.mu.Unlock()
	if r.State.Final() {
		if last == deleted {
			return nil
		}
		if err := m.store.Delete(r.ID); err != nil {
			return err
		}
		// A late write of an older record must not bring the job back.
		p.mu.Lock()
		p.seqs[r.ID] = deleted
		p.mu.Unlock()
		return nil
	}
	if ok && r.Seq <= last {
		return nil
	}
	if err := m.store.Put(r); err != nil {
		return err
	}
	p.mu.Lock()
	p.seqs[r.ID] = r.Seq
	p.mu.Unlock()
	return nil
}

// persist writes the job's record as it stands: called for the changes the service makes on its
// own (the scheduler's state moves, timers, transfer checkpoints), whose records the
// application's calls did not write already. When the write fails, a transfer under way stops
// with the disk's error, transiently, rather than go on claiming progress the disk does not
// hold; on disk the job stays as it was last written, and a restart resumes it from there. A
// failure is also kept for StoreErr.
func (m *Manager) persist(j *job.Engine) {
	if m.store == nil {
		return
	}
	r := j.Record()
	err := m.write(&r)
	if err != nil {
		m.persistErr(err)
	}
	if err != nil && state.Running.Has(r.State) {
		// Outside the lock: the error is a change, which comes back here (and is refused too).
		_, _ = j.FireError(state.TransientFailure, job.Failure{Context: bits.ContextGeneralQueueManager,
			Code: hresult.Of(err), File: -1})
	}
}

// StoreErr returns the first failure to write a change the service made on its own (a state
// move of the scheduler or a timer, a transfer checkpoint) to the store, or nil. Such a change
// holds in memory only until a later change of the same job is written, and a transfer it
// stopped is in TRANSIENT_ERROR with the disk's error. The application's calls never need it:
// each fails with the disk's error, changing nothing, when its change cannot be written, and
// CreateJob fails when its job cannot be.
func (m *Manager) StoreErr() error {
	m.persistence.mu.Lock()
	defer m.persistence.mu.Unlock()
	return m.persistence.first
}

func (m *Manager) persistErr(err error) {
	m.persistence.mu.Lock()
	defer m.persistence.mu.Unlock()
	if m.persistence.first == nil {
		m.persistence.first = err
	}
}

// persists reports whether a change of kind k must be written: every change but transfer
// progress, which is written by checkpoints.
func persists(k job.ChangeKind) bool {
	return k != job.FileProgressed
}

// storeNew writes a new job; on failure the job is taken out of the queue again and CreateJob
// fails, so that nothing exists that the store does not hold.
func (m *Manager) storeNew(j *job.Engine) error {
	if m.store == nil {
		return nil
	}
	r := j.Record()
	p := &m.persistence
	s := p.stripe(r.ID)
	s.Lock()
	err := m.store.Put(&r)
	if err == nil {
		p.mu.Lock()
		p.seqs[r.ID] = r.Seq
		p.mu.Unlock()
	}
	s.Unlock()
	if err != nil {
		m.remove(j.ID())
		var he *hresult.Error
		if errors.As(err, &he) {
			return err
		}
		return &hresult.Error{Op: "CreateJob", Code: hresult.Of(err), Err: err}
	}
	return nil
}

// closeStore closes the store, if any.
func (m *Manager) closeStore() error {
	if m.store == nil {
		return nil
	}
	return m.store.Close()
}

// restored schedules the jobs a manager found in its store, in creation order, each with its
// timing: queued jobs are queued, jobs in TRANSIENT_ERROR get their retry timers (or, when they
// waited for the network, which is available when a manager starts, are queued at once), and
// every job gets its inactivity timer.
func (s *sched) restored(jobs []*entry, timing []restoredTiming) {
	var retry []*entry
	s.mu.Lock()
	if !s.manual {
		s.timers.nodes = slices.Grow(s.timers.nodes, len(jobs))
	}
	for i, e := range jobs {
		t := &timing[i]
		if t.state.Final() {
			continue
		}
		if !s.manual {
			s.timers.arm(&e.expiry, t.modified.Add(s.idleFor))
		}
		switch t.state {
		case state.Queued:
			s.queue.push(e)
		case state.TransientError:
			retry = append(retry, e)
		}
	}
	s.mu.Unlock()
	for _, e := range retry {
		if ei := e.job.ErrorSnapshot(); ei != nil {
			if _, code, _ := ei.GetError(); code == hresult.BG_E_NETWORK_DISCONNECTED {
				_, _ = e.job.Fire(state.NetworkRestored)
				continue
			}
		}
		s.armRetry(e)
	}
	s.kickSoon(queuedBy{})
}
