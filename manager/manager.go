// Package manager is the BITS service: the machine-wide job queue (IBackgroundCopyManager), the
// applications connected to it, the job-count limits and error descriptions.
//
// An application connects with an identity and gets a Client; the Client creates, finds and
// enumerates jobs. Every job handle a Client hands out acts as that Client's identity, so the
// ownership rules (users see only their own jobs, administrators see all) hold on every call.
// Jobs in a final state (ACKNOWLEDGED, CANCELLED) leave the queue at once: GetJob no longer finds
// them and EnumJobs no longer lists them, while handles already held keep answering getters.
//
// The manager transfers the jobs' files through package transfer. Its scheduler picks QUEUED
// jobs as BITS does (every FOREGROUND job at once beside one background job, by priority, in
// round-robin time slices, with pre-emption), on a worker of its own: Resume returns with the job
// QUEUED and does not wait for the pick. Its timers retry jobs in TRANSIENT_ERROR after
// the minimum retry delay and end them in ERROR after the no-progress timeout or the maximum
// download time. All of this runs on the manager's clock: WithClock and a clock.Virtual make
// days pass in milliseconds (package bitstest does this for tests).
//
// The manager delivers notifications through package notify: the callback each job holds and
// its notify command line. A Manager made by New keeps its jobs in memory; one made by Open keeps
// them in a store on disk (package store), where they outlive the process and its callbacks do
// not. Everything is safe for concurrent use.
package manager

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
	"github.com/bitsemu/bitsemu/transfer"
)

// Identity is who an application runs as; see job.Identity.
type Identity = job.Identity

// Limits are the queue policies; see job.Limits. DefaultLimits gives BITS's values.
type Limits = job.Limits

// DefaultLimits returns the BITS defaults: 60 jobs per user, 300 per machine, 200 files per job,
// 500 ranges per file.
func DefaultLimits() Limits { return job.DefaultLimits() }

// Option configures a Manager.
type Option func(*config)

type config struct {
	clock      clock.Clock
	limits     Limits
	slice      time.Duration
	transfer   transfer.Config
	bandwidth  int
	manual     bool
	inactivity time.Duration
	roots      []string
	launcher   notify.Launcher
	logger     *slog.Logger
	random     io.Reader
	holder     string
	filesAs    func(owner Identity, do func()) error
}

// DefaultInactivityTimeout is the JobInactivityTimeout group policy's default: a job with no
// activity for 90 days is cancelled by the service.
const DefaultInactivityTimeout = 90 * 24 * time.Hour

// WithInactivityTimeout replaces the 90 days after which a job that saw no activity (no
// property change, no progress, no state change) is cancelled, its temporary files removed
// (JobInactivityTimeout group policy). d must be positive.
func WithInactivityTimeout(d time.Duration) Option {
	return func(cf *config) {
		if d > 0 {
			cf.inactivity = d
		}
	}
}

// WithLocalRoots confines the local file names of jobs (AddFile, AddFileSet, AddFileWithRanges,
// SetReplyFileName) to the given directories and their subdirectories; a name elsewhere gives
// E_ACCESSDENIED. Symbolic links are resolved, so a link cannot lead out, and every later use of
// a name (the temporary file's creation and reopening, Complete's rename, the removal of
// temporary files) goes through os.Root below its root, so a directory swapped for a link after
// AddFile cannot lead out either. Local sources (file URLs, absolute paths) are confined to the
// same directories. By default any directory the process can write is allowed, and any file it
// can read, except the store's.
func WithLocalRoots(dirs ...string) Option {
	return func(cf *config) { cf.roots = append(cf.roots, dirs...) }
}

// WithFilesAs makes the manager do every file-system operation of a job on its local side
// inside filesAs, which runs do with the file-system rights of the job's owner, so that a
// manager serving several users from one account reads and writes for each job only what its
// owner may: BITS reads sources and creates, renames and removes a job's local files as the
// job's owner, who must be able to write in the destination directory (Adding Files to a Job
// page). Through filesAs go the opening of every local source (a file URL, an absolute path,
// an upload's local file), the directory check of AddFile, AddFileSet, AddFileWithRanges and
// SetReplyFileName (E_ACCESSDENIED when the owner cannot write there), the creation and
// reopening of temporary files, Complete's renames, the removal of temporary files (Cancel,
// Complete, inactivity expiry, a restart's reconciliation) and the reading of a reply; data
// goes through files already open, without filesAs. filesAs must run do before it returns, and
// return an error only when it did not run it. A failure of filesAs fails the operation with
// E_ACCESSDENIED and changes nothing: a transfer fails with a fatal E_ACCESSDENIED (context
// REMOTE_FILE for a source, LOCAL_FILE for an upload's file or a temporary file), Complete
// renames nothing, and Cancel leaves the temporary files (BG_S_UNABLE_TO_DELETE_FILES).
// Without it, jobs use the process's rights, within the local roots and never reading the
// store's directory.
func WithFilesAs(filesAs func(owner Identity, do func()) error) Option {
	return func(cf *config) { cf.filesAs = filesAs }
}

// WithClock makes the manager and its jobs read time from c (for example a clock.Virtual).
func WithClock(c clock.Clock) Option { return func(cf *config) { cf.clock = c } }

// WithLimits replaces the default job, file and range limits. A zero field means no limit.
func WithLimits(l Limits) Option { return func(cf *config) { cf.limits = l } }

// WithTimeSlice sets how long a background job transfers before it yields to another queued job
// of its priority (DefaultTimeSlice by default). d must be positive.
func WithTimeSlice(d time.Duration) Option {
	return func(cf *config) {
		if d > 0 {
			cf.slice = d
		}
	}
}

// WithTransfer configures the transfer engine: the TLS configuration for https (for example to
// trust a test server), the stall timeout and the read size. Its Clock defaults to the manager's.
func WithTransfer(tc transfer.Config) Option { return func(cf *config) { cf.transfer = tc } }

// WithBandwidth limits background jobs (HIGH, NORMAL and LOW) to bytesPerSecond in total, as the
// MaxInternetBandwidth group policy does; FOREGROUND jobs are not limited. 0 means no limit.
func WithBandwidth(bytesPerSecond int) Option {
	return func(cf *config) { cf.bandwidth = bytesPerSecond }
}

// WithManualTransfers turns the transfer engine off: the scheduler starts no transfer and no
// retry or no-progress timer is set, so jobs move only when a program calls their engine
// methods (job.Job.Fire, FireError, FireFileDone, FileProgress). Tests use it to put jobs in
// exactly the state they need, with no server.
func WithManualTransfers() Option { return func(cf *config) { cf.manual = true } }

// WithLauncher makes the manager run its jobs' notify command lines through l instead of
// starting real processes (notify.ExecLauncher), for example to record them in a test (package
// bitstest has a recorder). See notify.Launcher for what l is called with and what its error
// means. A nil l keeps the default.
func WithLauncher(l notify.Launcher) Option { return func(cf *config) { cf.launcher = l } }

// WithLogger sends the manager's event log to l: one record per state change of every job (its
// GUID, the states before and after, the method or engine event that moved it, and the error
// code when the job holds one), stamped with the manager's clock, so that on a virtual clock the
// log is the run's trace in virtual time. The records are at level Info, message "job".
func WithLogger(l *slog.Logger) Option { return func(cf *config) { cf.logger = l } }

// WithRandom makes the manager draw job GUIDs from r instead of its own generator, which is
// keyed from the system's random source, so that a simulation given the same seed gives its jobs
// the same GUIDs every run. The manager serialises its reads of r. A GUID r cannot give (a read
// error) comes from the manager's own generator.
func WithRandom(r io.Reader) Option { return func(cf *config) { cf.random = r } }

// WithStoreHolder describes the process that holds the store of a manager made by Open, for
// the error of another Open of the same directory while this manager has it (for example "the
// bitsemu service, pid 42, socket /x/bitsemu.sock"); see store.Options.Holder.
func WithStoreHolder(desc string) Option { return func(cf *config) { cf.holder = desc } }

// Manager is the service: one job queue shared by every connected application.
type Manager struct {
	env    job.Env
	notify *notify.Dispatcher
	sched  *sched
	store  *store.Store // nil for an in-memory manager
	// noRead are the directories no job may read from: the store's (transfer.Options.NoRead).
	noRead []string
	persistence
	finals finalSyncer // syncs kept jobs' finished files
	log    *slog.Logger
	random io.Reader
	rmu    sync.Mutex // serialises reads of random
	ids    idPool     // GUIDs without WithRandom

	// gen counts engine activity (changes to jobs, transfers starting and ending); wake is
	// signalled when a transfer ends. WaitIdle watches both, and only WaitIdle: they are kept
	// while a WaitIdle runs (idlers), so that the engine's steps cost no shared write otherwise.
	gen    atomic.Uint64
	wake   chan struct{}
	idlers atomic.Int32 // WaitIdle calls in progress

	mu      sync.Mutex
	jobs    map[uuid.UUID]*entry
	order   []slot // creation order; removed jobs' slots are zeroed and compacted lazily
	dead    int    // removed jobs' slots still in order
	perUser map[string]int
	// snaps keeps the lists EnumJobs built since the queue last changed, by owner SID (allUsers
	// for every user's): enumerators share them, read-only, so that listing an unchanged queue
	// again copies nothing. Any change of the queue's jobs or owners drops them.
	snaps map[string]*enumSnap
	// counted is the number of jobs that count toward MaxJobsPerMachine: those whose owner is
	// not exempt (jobs of administrators and service accounts do not count, as the
	// MaxJobsPerMachine group policy says).
	counted int
}

// entry is the manager's record of one job, found from the job through job.Engine.Service.
type entry struct {
	job     *job.Engine // the creator's handle; As gives others theirs
	creator *job.Caller // the caller the creator's handle acts as; nil for a restored job
	owner   string
	pos     int32 // the job's slot in Manager.order
	exempt  bool  // the owner is exempt from the limits; the job is not in Manager.counted
	upload  bool  // the job is an upload or upload-reply job (a job's type never changes)
	jobSched
}

// slot is one job in the creation order, with what EnumJobs reads of it: kept in the order's
// array itself, so that listing a million jobs reads one array rather than a million entries.
type slot struct {
	job     *job.Engine // nil once the job left the queue
	owner   string
	creator *job.Caller
}

// handleFor returns a handle to j acting as caller: the creator's own handle when caller is the
// creator, which costs nothing. creator is the job's entry.creator.
func handleFor(j *job.Engine, creator, caller *job.Caller) *job.Job {
	if caller == creator {
		return &j.Job
	}
	return j.As(caller)
}

// New returns an in-memory manager with BITS's default limits and the real clock. Its jobs last
// as long as the process; Open keeps them on disk.
func New(opts ...Option) *Manager { return newManager(opts) }

func newManager(opts []Option) *Manager {
	cf := config{clock: clock.Real(), limits: job.DefaultLimits(), slice: DefaultTimeSlice,
		inactivity: DefaultInactivityTimeout}
	for _, o := range opts {
		o(&cf)
	}
	m := &Manager{
		jobs:    make(map[uuid.UUID]*entry),
		perUser: make(map[string]int),
		log:     cf.logger,
		random:  cf.random,
		wake:    make(chan struct{}, 1),
	}
	m.finals.m, m.finals.idle.L = m, &m.finals.mu
	m.notify = notify.New(cf.clock, notify.WithLauncher(cf.launcher))
	m.sched = newSched(m, &cf)
	m.env = job.Env{Clock: cf.clock, Limits: cf.limits, Observer: observer{m}, LocalRoots: resolveRoots(cf.roots),
		FilesAs: cf.filesAs}
	return m
}

// resolveRoots makes the local roots absolute and clean, with symbolic links resolved.
func resolveRoots(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}

// Close stops the manager: transfers stop (their jobs keep the state they had, and the bytes
// that arrived stay in the temporary files), timers are stopped, pending notification retries
// are dropped, running notify command-line programs are killed, and Close waits for running
// transfers and callbacks to return. Jobs and handles stay usable, but nothing transfers and no
// notification is delivered after Close.
func (m *Manager) Close() error {
	m.sched.close()
	m.finals.wait()
	m.notify.Close()
	return m.closeStore()
}

// SetNetworkAvailable tells the manager whether the machine has a network connection. Losing it
// moves every QUEUED, CONNECTING and TRANSFERRING job to TRANSIENT_ERROR with
// BG_E_NETWORK_DISCONNECTED, where it waits without a retry timer and without counting an
// error; getting it back moves every job in TRANSIENT_ERROR to QUEUED
// (users-and-network-connections page). The network is available when a manager starts.
func (m *Manager) SetNetworkAvailable(available bool) {
	m.sched.setOnline(available, m.allJobs)
}

// SilentAfter is how long, in real time, every transfer still running must have waited on its
// peer, with nothing arriving, the client's side of every connection waiting too
// (transfer.Client.Quiet) and no job changing, for WaitIdle to count the peers as silent. A peer
// that sends nothing for that long while the clock stands still counts as idle: its stall then
// runs on the manager's clock, so that stepping a virtual clock past the no-progress timeout
// fails the job as BITS would.
const SilentAfter = 100 * time.Millisecond

// WaitIdle blocks until the engine is quiescent: no notification is being delivered, and every
// transfer has either returned, waits on the clock alone (the bandwidth limit), or waits on a
// peer that sends nothing (for SilentAfter of real time). What waits on a timer (a retry delay, a
// notification retry, a stall timeout) does not count: on a virtual clock it happens when the
// clock is stepped. WaitIdle returns ctx's error, with what was still busy, when ctx ends first.
//
// With a clock.Virtual every engine action (the scheduler's pick, a transfer's start, a timer, a
// notification, a command line) is posted through the clock, so after an API call nothing moves
// until the clock is stepped; a simulation alternates clock.Virtual.RunNext and WaitIdle, as
// package bitstest's Harness does.
func (m *Manager) WaitIdle(ctx context.Context) error {
	m.idlers.Add(1) // before gen is read: activity from now on counts
	defer m.idlers.Add(-1)
	var (
		seen   = m.gen.Load()
		since  = time.Now()
		ticker *time.Ticker
	)
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		deliveries := m.notify.Active()
		transfers := m.sched.running()
		if deliveries == 0 && transfers == 0 {
			return nil
		}
		g := m.gen.Load() + m.sched.client.Reads()
		waiting, sleeping := m.sched.waiting.Load(), m.sched.sleeping.Load()
		switch {
		case g != seen || int64(transfers) != waiting+sleeping || (waiting > 0 && !m.sched.client.Quiet()):
			seen, since = g, time.Now() // something moved, a transfer is busy, or bytes wait
		case deliveries == 0 && (waiting == 0 || time.Since(since) >= SilentAfter):
			return nil // every running transfer waits on the clock or on a silent peer
		}
		if ticker == nil {
			ticker = time.NewTicker(time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("manager: not idle: %d transfers running, %d notifications being delivered: %w",
				transfers, deliveries, context.Cause(ctx))
		case <-m.wake:
		case <-ticker.C:
		}
	}
}

// activity records that the engine did something, for the WaitIdle calls in progress: one that
// began later reads gen afterwards, and so does not need it.
func (m *Manager) activity() {
	if m.idlers.Load() == 0 {
		return
	}
	m.gen.Add(1)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// newID returns a new job GUID, from the random source of WithRandom when there is one.
func (m *Manager) newID() uuid.UUID {
	if m.random == nil {
		return m.ids.next()
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	id, err := uuid.NewRandomFromReader(m.random)
	if err != nil {
		return m.ids.next()
	}
	return id
}

// idPool hands out random (version 4) GUIDs. Their bits come from a ChaCha8 generator
// (math/rand/v2, cryptographically strong; the C2SP chacha8rand design it follows replaces its
// key from its own output every kilobyte), keyed from the system's random source (crypto/rand)
// and keyed afresh every reseedEvery GUIDs. The
// system's source delivers about 360 MB/s on the machine these figures come from, 44 ns of a
// GUID's 16 bytes even when read in large blocks; the generator takes about 10 ns.
type idPool struct {
	mu   sync.Mutex
	gen  *mrand.ChaCha8 // nil until the first GUID, and when a new key is due
	left int            // GUIDs until the next key
}

// reseedEvery is how many GUIDs an idPool draws from one key.
const reseedEvery = 4096

// next returns a new random GUID.
func (p *idPool) next() uuid.UUID {
	var id uuid.UUID
	p.mu.Lock()
	if p.left == 0 {
		var seed [32]byte
		_, _ = rand.Read(seed[:]) // never fails: crypto/rand ends the program rather than return an error
		if p.gen == nil {
			p.gen = mrand.NewChaCha8(seed)
		} else {
			p.gen.Seed(seed)
		}
		clear(seed[:])
		p.left = reseedEvery
	}
	_, _ = p.gen.Read(id[:]) // never fails
	p.left--
	p.mu.Unlock()
	id[6] = id[6]&0x0f | 0x40 // version 4 (RFC 9562, section 5.4)
	id[8] = id[8]&0x3f | 0x80 // variant 10
	return id
}

// allJobs returns the service's handles of every job in the queue.
func (m *Manager) allJobs() []*job.Engine {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*job.Engine, 0, len(m.jobs))
	for i := range m.order {
		if j := m.order[i].job; j != nil {
			out = append(out, j)
		}
	}
	return out
}

// Clock returns the clock the manager runs on.
func (m *Manager) Clock() clock.Clock { return m.env.Clock }

// Limits returns the limits in force.
func (m *Manager) Limits() Limits { return m.env.Limits }

// Connect opens a connection for an application running as id, as CoCreateInstance of the
// BackgroundCopyManager class does. E_INVALIDARG when id has no SID.
func (m *Manager) Connect(id Identity) (*Client, error) {
	if id.SID == "" {
		return nil, &hresult.Error{Op: "Connect", Code: hresult.E_INVALIDARG}
	}
	return &Client{m: m, caller: job.NewCaller(id)}, nil
}

// JobCount returns the number of jobs in the queue (every user's, none final).
func (m *Manager) JobCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.jobs)
}

// insertLocked adds a job of type t to the queue, filling in e, the job's entry, already
// attached to it (job.Engine.SetService). Called with m.mu held, before the job is shared.
func (m *Manager) insertLocked(e *entry, j *job.Engine, t bits.JobType, owner Identity, creator *job.Caller) {
	e.init(j, t, owner, creator, len(m.order))
	if !e.exempt {
		m.counted++
	}
	m.jobs[j.ID()] = e
	m.order = append(m.order, slot{job: j, owner: owner.SID, creator: creator})
	m.snaps = nil
	m.perUser[owner.SID]++
}

// init fills in e, a zero entry, for job j of type t, at position pos of the queue.
func (e *entry) init(j *job.Engine, t bits.JobType, owner Identity, creator *job.Caller, pos int) {
	// Field by field, as job's core.init does: assigning a whole entry would write every
	// pointer it holds through the garbage collector's write barrier.
	e.job, e.creator, e.owner, e.pos = j, creator, owner.SID, int32(pos)
	e.exempt, e.upload = owner.Exempt(), t != bits.Download
	e.expiry.kind, e.expiry.e = timerExpiry, e
}

// observer removes jobs from the queue when they become final and follows owner changes.
type observer struct{ m *Manager }

func (o observer) JobChanged(ch job.Change) {
	eng := engine.Of(ch.Job)
	// By pointer below: a Change is too big to copy for each step.
	o.m.followChange(eng, &ch)
	o.m.sched.changed(eng, &ch)
	o.m.notify.JobChanged(ch)
}

// followChange does what the manager does about a change of j but the scheduler's and the
// notification engine's part: it logs the change, keeps the queue and persists the job.
func (m *Manager) followChange(eng *job.Engine, ch *job.Change) {
	o := observer{m}
	o.m.activity()
	if ch.Kind == job.StateChanged && o.m.log != nil {
		o.m.logChange(eng, *ch)
	}
	switch ch.Kind {
	case job.StateChanged:
		if ch.To.Final() {
			o.m.remove(eng.ID())
		}
	case job.OwnerChanged:
		// Only an administrator can take ownership, so the new owner is exempt. The owner is
		// read from the job rather than from the change: changes of different calls may be
		// reported out of order, and the last owner must win.
		o.m.reown(eng)
	}
	if persists(ch.Kind) {
		o.m.persist(eng)
	}
}

func (m *Manager) remove(id uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.jobs[id]
	if !ok {
		return
	}
	delete(m.jobs, id)
	if !e.exempt {
		m.counted--
	}
	m.uncount(e.owner)
	m.order[e.pos] = slot{}
	m.snaps = nil
	m.dead++
	if m.dead > 64 && m.dead > len(m.order)/2 {
		m.compact()
	}
}

// uncount takes a job away from its owner's count. Called with m.mu held.
func (m *Manager) uncount(owner string) {
	if n := m.perUser[owner] - 1; n > 0 {
		m.perUser[owner] = n
	} else {
		delete(m.perUser, owner)
	}
}

// compact drops removed entries from the creation order. Called with m.mu held.
func (m *Manager) compact() {
	live := m.order[:0]
	for _, s := range m.order {
		if s.job != nil {
			entryOf(s.job).pos = int32(len(live))
			live = append(live, s)
		}
	}
	clear(m.order[len(live):])
	m.order = live
	m.dead = 0
}

// reown makes the queue follow the owner of j. The owner is read again after the queue took
// it: when another TakeOwnership changed it meanwhile, whose own reown may have run first with
// the owner this one read before, the queue takes the newer owner too, so that the last owner
// always wins.
func (m *Manager) reown(j *job.Engine) {
	for {
		now := j.OwnerSID()
		m.reownTo(j.ID(), now)
		if j.OwnerSID() == now {
			return
		}
	}
}

func (m *Manager) reownTo(id uuid.UUID, now string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.jobs[id]
	if !ok {
		return
	}
	if !e.exempt {
		e.exempt = true
		m.counted--
	}
	if e.owner == now {
		return
	}
	m.uncount(e.owner)
	e.owner = now
	m.order[e.pos].owner = now
	m.snaps = nil
	m.perUser[now]++
}

// logChange writes one state change to the event log, stamped with the manager's clock.
func (m *Manager) logChange(j *job.Engine, ch job.Change) {
	ctx := context.Background()
	if !m.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(m.env.Clock.Now(), slog.LevelInfo, "job", 0)
	r.AddAttrs(slog.String("id", job.GUIDString(j.ID())), slog.String("from", ch.From.String()),
		slog.String("to", ch.To.String()))
	if ch.Event != 0 {
		r.AddAttrs(slog.String("event", ch.Event.String()))
	} else {
		r.AddAttrs(slog.String("method", ch.Method.String()))
	}
	if ch.To == state.Error || ch.To == state.TransientError {
		if e := j.ErrorSnapshot(); e != nil {
			if _, code, _ := e.GetError(); code != 0 {
				r.AddAttrs(slog.String("error", code.Name()))
			}
		}
	}
	_ = m.log.Handler().Handle(ctx, r)
}
