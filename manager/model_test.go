package manager_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// The engine's side of a job, as the model tests reach it: every call the tests make on the
// service's side of a job goes through these four functions, so that the engine methods can move
// without touching the tests' logic.

func engineFire(j bits.Job, ev state.Event) (state.State, error) { return engine.Of(j).Fire(ev) }

func engineFireError(j bits.Job, ev state.Event, f job.Failure) (state.State, error) {
	return engine.Of(j).FireError(ev, f)
}

func engineFireFileDone(j bits.Job, i int) (state.State, error) { return engine.Of(j).FireFileDone(i) }

func engineFileProgress(j bits.Job, i int, total, transferred uint64) error {
	return engine.Of(j).FileProgress(i, total, transferred)
}

// This file is a model-based test of the manager and its jobs. The model below is written from
// the BITS documentation (shared spec: bits-api.md §1.0–1.10, bits-behaviour.md §3, §8, §11,
// §14) and, where BITS is silent, from README's "Semantics decisions"; not from package state. It
// keeps, per job, the state, the files, the type, the owner, every property, the times and the
// timers, and predicts the HRESULT and the outcome of every call: each job and file method
// (IBackgroundCopyJob through IBackgroundCopyJob5, the HttpOptions methods, IBackgroundCopyFile
// through IBackgroundCopyFile5), each engine event and each step of the clock. Random sequences
// of operations run against a real manager and the model side by side; every call is compared
// with the prediction, and after every step every property of every job is.
//
// Time. The manager runs on a clock.Virtual with WithManualTransfers: no scheduler, no transfers
// and no timers, so nothing moves unless the test moves it, and a sequence replays exactly from
// rapid's seed. The timers are the model's: a clock step moves the virtual clock by a random
// duration, and on the way the model says which timer-caused events fall due and when (the
// retry after the minimum retry delay, the no-progress timeout, the maximum download time, the
// inactivity expiry), the test advances the clock to each such moment and fires that event
// through the engine, and checks the outcome. The manager's own timers are the scheduler's
// business and have their own tests (transfer_test.go, persist_test.go); what this test checks
// is that the jobs, driven on the documented schedule, end where the documentation says, with
// the times, error counts and error records it says. Time also acts inside the jobs: a transient
// error after the no-progress timeout has run out is fatal at once, and the modification and
// completion times read the clock.
//
//	go test ./manager -run TestModel -rapid.checks=5000

// The users of the model. Alice and Bob are standard users; the administrator is exempt from the
// limits, sees every job and may take ownership.
var modelUsers = []manager.Identity{
	{SID: "S-1-5-21-2001"},
	{SID: "S-1-5-21-2002"},
	{SID: "S-1-5-21-2500", Admin: true},
}

const (
	mAlice = 0
	mBob   = 1
	mAdmin = 2
)

// The limits of the model's manager: small, so that sequences reach them.
var modelLimits = manager.Limits{MaxJobsPerUser: 3, MaxJobsPerMachine: 4, MaxFilesPerJob: 3, MaxRangesPerFile: 4}

// modelEpoch is where the model's clock starts.
var modelEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// inactivity is the JobInactivityTimeout group policy's default: 90 days.
const inactivity = 90 * 24 * time.Hour

// modelFile is what the model knows of one file.
type modelFile struct {
	remote, local string
	ranges        []bits.FileRange
	done          bool
	total         uint64 // BytesTotal: bits.SizeUnknown until known
	transferred   uint64
	validated     bool
}

// modelError is a job's error record.
type modelError struct {
	code     hresult.Code
	ctx      bits.ErrorContext
	file     int    // index of the file concerned, -1 for none
	protocol string // "" when none
}

// modelCreds identifies one set of credentials.
type modelCreds struct {
	target bits.AuthTarget
	scheme bits.AuthScheme
}

// modelJob is what the model knows of one job.
type modelJob struct {
	id       uuid.UUID
	typ      bits.JobType
	owner    int // index in modelUsers
	st       state.State
	files    []*modelFile
	handles  [3]bits.Job // per user: the handle that user holds, or nil
	engine   bits.Job    // an administrator's handle used to check and drive the job
	created  int         // creation sequence number
	counter  int         // names of files
	resumed  bool        // Resume succeeded at least once
	errCount uint32
	err      *modelError // the error record, nil when none

	// Properties (IBackgroundCopyJob through IBackgroundCopyJob5, HttpOptions).
	name, desc          string
	priority            bits.Priority
	notify              uint32
	callback            bits.Callback
	noProgress          uint32 // no-progress timeout, seconds
	retryDelay          uint32 // minimum retry delay, seconds
	maxDownload         uint32 // maximum download time, seconds; 0: none
	proxy               bits.ProxySettings
	cmd                 bits.NotifyCmdLine
	creds               map[modelCreds]bool
	aclFlags, peerFlags uint32
	headers             string
	headersWriteOnly    bool
	security            uint32
	httpMethod          string // "" for the default verb
	replyFile           string
	cost, minInterval   uint32
	clsid               uuid.UUID
	dynamic, highPerf   bool
	onDemand            bool
	maxSize             uint64
	storedCreds         bits.AuthTarget

	// Times and timers.
	createdAt, modifiedAt, completedAt time.Time
	noProgressSince                    time.Time // first transient error without progress since; zero when none
	runSince                           time.Time // when the job last entered CONNECTING or TRANSFERRING
	runSpent                           time.Duration
	retryAt, giveUpAt                  time.Time // the retry and no-progress timers of a TRANSIENT_ERROR job; zero when not armed
}

func (j *modelJob) final() bool { return j.st.Final() }

func (j *modelJob) pending() int {
	n := 0
	for _, f := range j.files {
		if !f.done {
			n++
		}
	}
	return n
}

func (j *modelJob) filesDone() uint32 { return uint32(len(j.files) - j.pending()) }

func (j *modelJob) running() bool { return j.st == state.Connecting || j.st == state.Transferring }

func (j *modelJob) hasRanges() bool {
	return slices.ContainsFunc(j.files, func(f *modelFile) bool { return len(f.ranges) > 0 })
}

// noRetry: a transient error is fatal at once when the no-progress timeout is 0, when the retry
// delay is longer than it (bits-behaviour T18; IBackgroundCopyJob::SetMinimumRetryDelay), or
// when it has run out since the first transient error with no progress since
// (IBackgroundCopyJob::SetNoProgressTimeout).
func (j *modelJob) noRetry(now time.Time) bool {
	if j.noProgress == 0 || j.retryDelay > j.noProgress {
		return true
	}
	return !j.noProgressSince.IsZero() && now.Sub(j.noProgressSince) >= time.Duration(j.noProgress)*time.Second
}

// progress is the job's BG_JOB_PROGRESS.
func (j *modelJob) progress() bits.Progress {
	p := bits.Progress{FilesTotal: uint32(len(j.files)), FilesTransferred: j.filesDone()}
	for _, f := range j.files {
		p.BytesTransferred += f.transferred
		if f.total == bits.SizeUnknown || p.BytesTotal == bits.SizeUnknown {
			p.BytesTotal = bits.SizeUnknown
		} else {
			p.BytesTotal += f.total
		}
	}
	return p
}

// method is the HTTP verb the job uses (IBackgroundCopyJobHttpOptions2::GetHttpMethod).
func (j *modelJob) method() string {
	switch {
	case j.httpMethod != "":
		return j.httpMethod
	case j.typ == bits.Download:
		return "GET"
	}
	return "BITS_POST"
}

// model is the whole queue and the clock.
type model struct {
	jobs []*modelJob // creation order, final jobs included
	now  time.Time
}

func (m *model) live(owner int) []*modelJob {
	var out []*modelJob
	for _, j := range m.jobs {
		if !j.final() && (owner < 0 || j.owner == owner) {
			out = append(out, j)
		}
	}
	return out
}

// counted is the number of live jobs that count toward the machine limit: jobs of exempt
// owners do not (MaxJobsPerMachine group policy).
func (m *model) counted() int {
	n := 0
	for _, j := range m.live(-1) {
		if !modelUsers[j.owner].Admin && !modelUsers[j.owner].Service {
			n++
		}
	}
	return n
}

func canAccess(j *modelJob, caller int) bool {
	return modelUsers[caller].Admin || j.owner == caller
}

// touch is a change of a property: ModificationTime moves (bits-api §1.0, "ModificationTime is
// updated").
func (h *modelHarness) touch(j *modelJob) { j.modifiedAt = h.model.now }

// move changes a job's state as the documentation says a move does: the modification time, the
// time counted against the maximum download time (IBackgroundCopyJob4::SetMaximumDownloadTime:
// only CONNECTING and TRANSFERRING count), TransferCompletionTime on entering TRANSFERRED
// (BG_JOB_TIMES), the error record dropped on entering TRANSFERRING (IBackgroundCopyJob::GetError)
// and the retry timers of a TRANSIENT_ERROR job.
func (h *modelHarness) move(j *modelJob, to state.State) {
	if to == j.st {
		return
	}
	now := h.model.now
	was := j.running()
	j.st = to
	j.modifiedAt = now
	if is := j.running(); was != is {
		if is {
			j.runSince = now
		} else {
			j.runSpent += now.Sub(j.runSince)
		}
	}
	j.retryAt, j.giveUpAt = time.Time{}, time.Time{}
	switch to {
	case state.Transferring:
		j.err = nil
	case state.Transferred:
		j.completedAt = now
	}
}

// armRetry sets the timers of a job that entered TRANSIENT_ERROR after a transfer error: the
// retry after the minimum retry delay, unless the no-progress timeout runs out first, in which
// case the job goes to ERROR then (IBackgroundCopyJob::SetMinimumRetryDelay, SetNoProgressTimeout).
func (h *modelHarness) armRetry(j *modelJob) {
	retry := h.model.now.Add(time.Duration(j.retryDelay) * time.Second)
	if !j.noProgressSince.IsZero() {
		j.giveUpAt = j.noProgressSince.Add(time.Duration(j.noProgress) * time.Second)
	}
	if j.giveUpAt.IsZero() || retry.Before(j.giveUpAt) {
		j.retryAt = retry
	}
}

// Engine events as the model sees them. fileDone and lastFileDone are told apart by the model
// itself, from the files still pending.
type modelEvent int

const (
	evPick modelEvent = iota
	evConnect
	evFileDone
	evLastFileDone
	evTransient
	evFatal
	evRetryDelay
	evNoProgress
	evMaxDownload
	evSliceEnd
	evNetworkLost
	evNetworkRestored
	evInactivity
)

// next is the model's transition function for engine events, written from bits-behaviour §3.2
// (T8–T23, T30). ok is false when the event does not apply in the job's state, which the
// engine methods report as BG_E_INVALID_STATE.
func (j *modelJob) next(ev modelEvent, now time.Time) (to state.State, ok bool) {
	in := func(states ...state.State) bool { return slices.Contains(states, j.st) }
	switch ev {
	case evPick: // T8
		return state.Connecting, in(state.Queued)
	case evConnect: // T9
		return state.Transferring, in(state.Connecting)
	case evFileDone: // T12: data moves only in TRANSFERRING
		return state.Transferring, in(state.Transferring)
	case evLastFileDone: // T13
		return state.Transferred, in(state.Transferring)
	case evTransient: // T10, T14, T18
		if j.noRetry(now) {
			return state.Error, in(state.Connecting, state.Transferring)
		}
		return state.TransientError, in(state.Connecting, state.Transferring)
	case evFatal: // T15
		return state.Error, in(state.Connecting, state.Transferring)
	case evRetryDelay: // T16
		return state.Queued, in(state.TransientError)
	case evNoProgress: // T17
		return state.Error, in(state.TransientError)
	case evMaxDownload: // T23
		return state.Error, in(state.Connecting, state.Transferring)
	case evSliceEnd: // T11 says TRANSFERRING; a job still CONNECTING can be pre-empted too
		return state.Queued, in(state.Connecting, state.Transferring)
	case evNetworkLost: // T19
		return state.TransientError, in(state.Queued, state.Connecting, state.Transferring)
	case evNetworkRestored: // T20
		return state.Queued, in(state.TransientError)
	case evInactivity: // T30
		return state.Cancelled, !j.final()
	}
	panic("unknown event")
}

// apply makes the side effects of an event that applied: error count, error record, timers, and
// the move.
func (h *modelHarness) apply(j *modelJob, ev modelEvent, to state.State, fail *job.Failure) {
	now := h.model.now
	switch ev {
	case evTransient, evFatal: // T14, T15: error count +1
		j.errCount++
		j.err = &modelError{code: fail.Code, ctx: fail.Context, file: fail.File, protocol: fail.Protocol}
		if ev == evTransient && j.noProgressSince.IsZero() {
			j.noProgressSince = now // the no-progress timeout counts from the first transient error
		}
	case evMaxDownload:
		j.errCount++
		j.err = &modelError{code: hresult.BG_E_MAXDOWNLOAD_TIMEOUT, ctx: bits.ContextGeneralQueueManager, file: -1}
	case evNetworkLost: // T19: not counted
		j.err = &modelError{code: hresult.BG_E_NETWORK_DISCONNECTED, ctx: bits.ContextGeneralTransport, file: -1}
	case evNoProgress:
		if j.err == nil {
			j.err = &modelError{code: hresult.BG_E_NO_PROGRESS, ctx: bits.ContextGeneralQueueManager, file: -1}
		}
	}
	h.move(j, to)
	if ev == evTransient && to == state.TransientError {
		h.armRetry(j) // a job that waits for the network has no retry timer
	}
}

// modelHarness runs one sequence.
type modelHarness struct {
	t       *rapid.T
	dir     string
	clk     *clock.Virtual
	m       *manager.Manager
	clients [3]*manager.Client
	watcher *manager.Client // an administrator that only observes
	model   model
	seq     int
	counts  map[string]int // calls made, by name, for the test's log
}

func newModelHarness(t *rapid.T, dir string, counts map[string]int) *modelHarness {
	h := &modelHarness{t: t, dir: dir, counts: counts}
	h.clk = clock.NewVirtual(modelEpoch)
	h.model.now = modelEpoch
	h.m = manager.New(manager.WithManualTransfers(), manager.WithLimits(modelLimits), manager.WithClock(h.clk))
	for i, id := range modelUsers {
		c, err := h.m.Connect(id)
		require.NoError(t, err)
		h.clients[i] = c
	}
	w, err := h.m.Connect(manager.Identity{SID: "S-1-5-21-2999", Admin: true})
	require.NoError(t, err)
	h.watcher = w
	return h
}

// expect compares a call's outcome with the model's prediction: err's HRESULT, or the success
// code the call returned.
func (h *modelHarness) expect(what string, want hresult.Code, err error, code ...hresult.Code) {
	h.t.Helper()
	name, _, _ := strings.Cut(what, " ")
	name, _, _ = strings.Cut(name, "(")
	h.counts[name]++
	got := hresult.Of(err)
	if err == nil && len(code) > 0 {
		got = code[0]
	}
	require.Equal(h.t, want.Name(), got.Name(), "%s: err = %v", what, err)
	if want.Failed() {
		require.ErrorIs(h.t, err, want, what)
	}
}

// pickJob draws one of the model's jobs, or nil when there is none.
func (h *modelHarness) pickJob(label string) *modelJob {
	if len(h.model.jobs) == 0 {
		return nil
	}
	return h.model.jobs[rapid.IntRange(0, len(h.model.jobs)-1).Draw(h.t, label)]
}

// pickHandle draws a job and one of the users that hold a handle to it.
func (h *modelHarness) pickHandle() (*modelJob, int, bits.Job) {
	j := h.pickJob("job")
	if j == nil {
		return nil, 0, nil
	}
	var holders []int
	for u, hd := range j.handles {
		if hd != nil {
			holders = append(holders, u)
		}
	}
	u := rapid.SampledFrom(holders).Draw(h.t, "caller")
	return j, u, j.handles[u]
}

// --- manager operations ---

func (h *modelHarness) createJob() {
	t := h.t
	u := rapid.IntRange(0, len(modelUsers)-1).Draw(t, "user")
	typ := rapid.SampledFrom([]bits.JobType{bits.Download, bits.Download, bits.Download, bits.Upload, bits.UploadReply}).Draw(t, "type")
	long := rapid.IntRange(0, 9).Draw(t, "nameKind") == 0
	name := fmt.Sprintf("job %d", h.seq)
	if long {
		name = strings.Repeat("n", 257)
	}
	h.seq++

	want := hresult.S_OK
	exempt := modelUsers[u].Admin || modelUsers[u].Service
	switch {
	case long:
		want = hresult.E_INVALIDARG
	case !exempt && len(h.model.live(u)) >= modelLimits.MaxJobsPerUser:
		want = hresult.BG_E_TOO_MANY_JOBS_PER_USER
	case !exempt && h.model.counted() >= modelLimits.MaxJobsPerMachine:
		want = hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE
	}
	jb, err := h.clients[u].CreateJob(name, typ)
	h.expect(fmt.Sprintf("CreateJob by %d", u), want, err)
	if want.Failed() {
		require.Nil(t, jb)
		return
	}
	for _, other := range h.model.jobs {
		require.NotEqual(t, other.id, engine.Of(jb).ID(), "GUIDs must be fresh")
	}
	eng, err := h.watcher.GetJob(engine.Of(jb).ID())
	require.NoError(t, err)
	now := h.model.now
	mj := &modelJob{
		id: engine.Of(jb).ID(), typ: typ, owner: u, st: state.Suspended, name: name,
		priority: bits.Normal, notify: bits.NotifyJobTransferred | bits.NotifyJobError,
		noProgress: 1_209_600, retryDelay: 600, maxDownload: 7_776_000, engine: eng, created: len(h.model.jobs),
		creds: map[modelCreds]bool{}, cost: bits.TransferPolicyAlways, minInterval: 500,
		createdAt: now, modifiedAt: now,
	}
	mj.handles[u] = jb
	h.model.jobs = append(h.model.jobs, mj)
	if rapid.Bool().Draw(t, "short timers") {
		h.shortTimers(mj, jb)
	}
}

func (h *modelHarness) getJob() {
	t := h.t
	u := rapid.IntRange(0, len(modelUsers)-1).Draw(t, "user")
	j := h.pickJob("job")
	unknown := j == nil || rapid.IntRange(0, 9).Draw(t, "unknown") == 0
	if unknown {
		_, err := h.clients[u].GetJob(uuid.New())
		h.expect("GetJob(unknown)", hresult.BG_E_NOT_FOUND, err)
		return
	}
	want := hresult.S_OK
	switch {
	case j.final():
		want = hresult.BG_E_NOT_FOUND // final jobs have left the queue (§14.10)
	case !canAccess(j, u):
		want = hresult.E_ACCESSDENIED
	}
	got, err := h.clients[u].GetJob(j.id)
	h.expect(fmt.Sprintf("GetJob by %d", u), want, err)
	if want.Failed() {
		require.Nil(t, got)
		return
	}
	require.True(t, engine.Of(got).Same(j.engine))
	if j.handles[u] == nil {
		j.handles[u] = got
	}
}

func (h *modelHarness) enumJobs() {
	t := h.t
	u := rapid.IntRange(0, len(modelUsers)-1).Draw(t, "user")
	flags := rapid.SampledFrom([]uint32{0, 0, bits.EnumAllUsers, 0x2}).Draw(t, "flags")
	want := hresult.S_OK
	switch {
	case flags&^bits.EnumAllUsers != 0:
		want = hresult.E_INVALIDARG
	case flags == bits.EnumAllUsers && !modelUsers[u].Admin:
		want = hresult.E_ACCESSDENIED
	}
	e, err := h.clients[u].EnumJobs(flags)
	h.expect(fmt.Sprintf("EnumJobs(%#x) by %d", flags, u), want, err)
	if want.Failed() {
		return
	}
	owner := u
	if flags == bits.EnumAllUsers {
		owner = -1
	}
	var wantIDs []uuid.UUID
	for _, j := range h.model.live(owner) {
		wantIDs = append(wantIDs, j.id)
	}
	require.Equal(t, uint32(len(wantIDs)), enumCount(e))
	got, code, _ := e.Next(enumCount(e) + 1)
	require.Equal(t, hresult.S_FALSE, code)
	var gotIDs []uuid.UUID
	for _, j := range got {
		gotIDs = append(gotIDs, engine.Of(j).ID())
	}
	require.Equal(t, wantIDs, gotIDs)
}

// --- job methods: the life cycle ---

// access is the first check of every call on a handle.
func access(j *modelJob, u int) hresult.Code {
	if !canAccess(j, u) {
		return hresult.E_ACCESSDENIED
	}
	return hresult.S_OK
}

// exempt reports whether user u is exempt from the limits.
func exempt(u int) bool { return modelUsers[u].Admin || modelUsers[u].Service }

// fileArgs draws the names of a new file: a good one most of the time, else one of the kinds of
// bad name AddFile's page and README's "Names and limits" list. arg is the verdict on the names
// for a job of j's type.
func (h *modelHarness) fileArgs(j *modelJob, kind string) (remote, local string, arg hresult.Code) {
	j.counter++
	remote = fmt.Sprintf("http://example.com/f%d", j.counter)
	local = filepath.Join(h.dir, fmt.Sprintf("f%d", j.counter))
	switch kind {
	case "file-url":
		remote = fmt.Sprintf("file:///srv/share/f%d", j.counter)
		if j.typ != bits.Download {
			arg = hresult.E_INVALIDARG // uploads go over HTTP
		}
	case "bad-scheme":
		remote = "ftp://example.com/f"
		arg = hresult.E_INVALIDARG
	case "relative":
		local = "relative/f"
		arg = hresult.E_INVALIDARG
	case "no-dir":
		local = filepath.Join(h.dir, "missing", "f")
		arg = hresult.ERROR_PATH_NOT_FOUND
	}
	return remote, local, arg
}

var fileKinds = []string{"ok", "ok", "ok", "ok", "ok", "file-url", "bad-scheme", "relative", "no-dir"}

func (h *modelHarness) addFile() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	h.doAddFile(j, u, hd, rapid.SampledFrom(fileKinds).Draw(h.t, "fileKind"))
}

func (h *modelHarness) doAddFile(j *modelJob, u int, hd bits.Job, kind string) {
	remote, local, arg := h.fileArgs(j, kind)
	// Check order: access, arguments, state, job type, limits (README "Order of checks").
	want := access(j, u)
	switch {
	case want.Failed():
	case arg.Failed():
		want = arg
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case j.typ != bits.Download && len(j.files) >= 1:
		want = hresult.BG_E_TOO_MANY_FILES
	case !exempt(u) && len(j.files)+1 > modelLimits.MaxFilesPerJob:
		want = hresult.BG_E_TOO_MANY_FILES_IN_JOB
	}
	err := hd.AddFile(remote, local)
	h.expect(fmt.Sprintf("AddFile(%s) by %d in %v", kind, u, j.st), want, err)
	if want == hresult.S_OK {
		// The state does not change, even in TRANSFERRED (§14.4).
		j.files = append(j.files, &modelFile{remote: remote, local: local, total: bits.SizeUnknown})
		h.touch(j)
	}
}

// addFileSet adds 0 to 3 files at once: all or none (IBackgroundCopyJob::AddFileSet).
func (h *modelHarness) addFileSet() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	n := rapid.IntRange(0, 3).Draw(h.t, "count")
	var set []bits.FileInfo
	arg := hresult.S_OK
	for range n {
		kind := rapid.SampledFrom(fileKinds).Draw(h.t, "fileKind")
		remote, local, a := h.fileArgs(j, kind)
		if arg == hresult.S_OK {
			arg = a
		}
		set = append(set, bits.FileInfo{RemoteName: remote, LocalName: local})
	}
	want := access(j, u)
	switch {
	case want.Failed():
	case arg.Failed():
		want = arg
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case n == 0: // an empty set changes nothing
	case j.typ != bits.Download && len(j.files)+n > 1:
		want = hresult.BG_E_TOO_MANY_FILES
	case !exempt(u) && len(j.files)+n > modelLimits.MaxFilesPerJob:
		want = hresult.BG_E_TOO_MANY_FILES_IN_JOB
	}
	err := hd.AddFileSet(set)
	h.expect(fmt.Sprintf("AddFileSet(%d) by %d in %v", n, u, j.st), want, err)
	if want == hresult.S_OK && n > 0 {
		for _, fi := range set {
			j.files = append(j.files, &modelFile{remote: fi.RemoteName, local: fi.LocalName, total: bits.SizeUnknown})
		}
		h.touch(j)
	}
}

// addFileWithRanges adds a file with byte ranges (IBackgroundCopyJob3::AddFileWithRanges).
func (h *modelHarness) addFileWithRanges() {
	t := h.t
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	kind := rapid.SampledFrom([]string{"ok", "ok", "ok", "file-url", "relative"}).Draw(t, "fileKind")
	remote, local, arg := h.fileArgs(j, kind)
	if kind == "file-url" {
		arg = hresult.E_INVALIDARG // no ranges over SMB since BITS 3.0
	}
	rk := rapid.SampledFrom([]string{"two", "two", "eof", "none", "overlap", "zero", "eof-offset", "many"}).Draw(t, "ranges")
	var ranges []bits.FileRange
	var total uint64
	rangeArg := hresult.S_OK
	switch rk {
	case "two":
		ranges, total = []bits.FileRange{{InitialOffset: 500, Length: 100}, {InitialOffset: 0, Length: 50}}, 150
	case "eof":
		ranges, total = []bits.FileRange{{InitialOffset: 0, Length: 10}, {InitialOffset: 100, Length: bits.LengthToEOF}}, bits.SizeUnknown
	case "none":
	case "overlap":
		ranges, rangeArg = []bits.FileRange{{InitialOffset: 0, Length: 100}, {InitialOffset: 99, Length: 5}}, hresult.BG_E_OVERLAPPING_RANGES
	case "zero":
		ranges, rangeArg = []bits.FileRange{{InitialOffset: 10, Length: 0}}, hresult.BG_E_INVALID_RANGE
	case "eof-offset":
		ranges, rangeArg = []bits.FileRange{{InitialOffset: bits.LengthToEOF, Length: 1}}, hresult.BG_E_INVALID_RANGE
	case "many":
		for k := range modelLimits.MaxRangesPerFile + 1 {
			ranges = append(ranges, bits.FileRange{InitialOffset: uint64(k) * 10, Length: 5})
		}
		total = 5 * uint64(len(ranges))
	}
	want := access(j, u)
	switch {
	case want.Failed():
	case rk == "none":
		want = hresult.E_INVALIDARG // RangeCount 0
	case arg.Failed():
		want = arg
	case rangeArg.Failed():
		want = rangeArg
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case j.typ != bits.Download:
		want = hresult.E_NOTIMPL
	case j.dynamic || j.onDemand:
		want = hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION // README "Properties"
	case !exempt(u) && len(j.files)+1 > modelLimits.MaxFilesPerJob:
		want = hresult.BG_E_TOO_MANY_FILES_IN_JOB
	case !exempt(u) && len(ranges) > modelLimits.MaxRangesPerFile:
		want = hresult.BG_E_TOO_MANY_RANGES_IN_FILE
	}
	err := hd.AddFileWithRanges(remote, local, ranges)
	h.expect(fmt.Sprintf("AddFileWithRanges(%s, %s) by %d in %v", kind, rk, u, j.st), want, err)
	if want == hresult.S_OK {
		j.files = append(j.files, &modelFile{remote: remote, local: local, ranges: ranges, total: total})
		h.touch(j)
	}
}

func (h *modelHarness) resume() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	h.doResume(j, u, hd)
}

func (h *modelHarness) doResume(j *modelJob, u int, hd bits.Job) {
	want, to := access(j, u), j.st
	switch {
	case want.Failed():
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case len(j.files) == 0:
		want = hresult.BG_E_EMPTY // T3
	case j.st == state.Suspended, j.st == state.Error, j.st == state.TransientError:
		to = state.Queued // T2, T4
	case j.st == state.Transferred && j.pending() > 0:
		to = state.Queued // T6
	}
	from := j.st
	err := hd.Resume()
	h.expect(fmt.Sprintf("Resume by %d in %v", u, from), want, err)
	if want.Failed() {
		return
	}
	j.resumed = true
	// Resume restarts the maximum download time (IBackgroundCopyJob4::SetMaximumDownloadTime).
	j.runSpent = 0
	if j.running() {
		j.runSince = h.model.now
	}
	if from == state.Error {
		j.noProgressSince = time.Time{} // the application starts the job afresh (README)
	}
	h.touch(j)
	h.move(j, to)
}

func (h *modelHarness) suspend() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	want := access(j, u)
	if want == hresult.S_OK && j.final() {
		want = hresult.BG_E_INVALID_STATE
	}
	err := hd.Suspend()
	h.expect(fmt.Sprintf("Suspend by %d in %v", u, j.st), want, err)
	if want == hresult.S_OK {
		h.touch(j)
		h.move(j, state.Suspended) // T7
	}
}

func (h *modelHarness) cancel() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	want := access(j, u)
	if want == hresult.S_OK && j.final() {
		want = hresult.BG_E_INVALID_STATE // T31
	}
	code, err := hd.Cancel()
	h.expect(fmt.Sprintf("Cancel by %d in %v", u, j.st), want, err, code)
	if want == hresult.S_OK {
		h.move(j, state.Cancelled) // T26
	}
}

func (h *modelHarness) complete() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	h.doComplete(j, u, hd)
}

func (h *modelHarness) doComplete(j *modelJob, u int, hd bits.Job) {
	want := access(j, u)
	switch {
	case want.Failed():
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case j.typ != bits.Download && j.st != state.Transferred:
		want = hresult.BG_E_INVALID_STATE // T29
	case j.pending() > 0:
		want = hresult.BG_S_PARTIAL_COMPLETE // T27, §14.3
	}
	code, err := hd.Complete()
	h.expect(fmt.Sprintf("Complete by %d in %v", u, j.st), want, err, code)
	if want.Succeeded() {
		for _, f := range j.files {
			if f.done {
				f.validated = true // Complete validates implicitly (IBackgroundCopyFile3::SetValidationState)
			}
		}
		h.move(j, state.Acknowledged)
	}
}

func (h *modelHarness) takeOwnership() {
	if j, u, hd := h.pickHandle(); j != nil {
		h.takeOwnershipOn(j, u, hd)
	}
}

func (h *modelHarness) takeOwnershipOn(j *modelJob, u int, hd bits.Job) {
	want := access(j, u)
	switch {
	case want.Failed():
	case !modelUsers[u].Admin:
		want = hresult.E_ACCESSDENIED
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	}
	h.expect(fmt.Sprintf("TakeOwnership by %d in %v", u, j.st), want, hd.TakeOwnership())
	if want == hresult.S_OK {
		j.owner = u
		// TakeOwnership removes credentials, custom headers and the notify command line
		// (IBackgroundCopyJob::TakeOwnership).
		j.creds = map[modelCreds]bool{}
		j.headers = ""
		j.cmd = bits.NotifyCmdLine{}
		h.touch(j)
	}
}

// query calls the getters of the job's life cycle through a user's handle: they work in every
// state, for whoever may access the job.
func (h *modelHarness) query() {
	t := h.t
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	want := access(j, u)
	st, err := hd.GetState()
	h.expect("GetState", want, err)
	p, perr := hd.GetProgress()
	h.expect("GetProgress", want, perr)
	id, ierr := hd.GetId()
	h.expect("GetId", want, ierr)
	typ, terr := hd.GetType()
	h.expect("GetType", want, terr)
	times, tmerr := hd.GetTimes()
	h.expect("GetTimes", want, tmerr)
	owner, oerr := hd.GetOwner()
	h.expect("GetOwner", want, oerr)
	level, lerr := hd.GetOwnerIntegrityLevel()
	h.expect("GetOwnerIntegrityLevel", want, lerr)
	elevated, eerr := hd.GetOwnerElevationState()
	h.expect("GetOwnerElevationState", want, eerr)
	n, nerr := hd.GetErrorCount()
	h.expect("GetErrorCount", want, nerr)
	files, ferr := hd.EnumFiles()
	h.expect("EnumFiles", want, ferr)
	if want.Failed() {
		_, err = hd.GetError()
		h.expect("GetError", want, err)
		return
	}
	require.Equal(t, j.st, st)
	require.Equal(t, j.progress(), p)
	require.Equal(t, j.id, id)
	require.Equal(t, j.typ, typ)
	require.Equal(t, bits.Times{CreationTime: j.createdAt, ModificationTime: j.modifiedAt, TransferCompletionTime: j.completedAt}, times)
	require.Equal(t, modelUsers[j.owner].SID, owner)
	wantLevel := bits.IntegrityMedium // GetOwnerIntegrityLevel, README "Manager"
	if modelUsers[j.owner].Admin {
		wantLevel = bits.IntegrityHigh
	}
	require.Equal(t, wantLevel, level)
	require.Equal(t, modelUsers[j.owner].Admin, elevated)
	require.Equal(t, j.errCount, n)
	require.Equal(t, uint32(len(j.files)), enumCount(files))
	h.checkError(j, hd)
}

// checkError compares GetError and the error object with the model's error record.
func (h *modelHarness) checkError(j *modelJob, hd bits.Job) {
	t := h.t
	want := hresult.S_OK
	if j.err == nil {
		want = hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE
	}
	info, err := hd.GetError()
	h.expect(fmt.Sprintf("GetError in %v", j.st), want, err)
	if err != nil {
		return
	}
	ctx, code, _ := info.GetError()
	require.Equal(t, j.err.code.Name(), code.Name())
	require.Equal(t, j.err.ctx, ctx)
	f, err := info.GetFile()
	if j.err.file < 0 {
		h.expect("IBackgroundCopyError.GetFile", hresult.BG_E_FILE_NOT_AVAILABLE, err)
	} else {
		h.expect("IBackgroundCopyError.GetFile", hresult.S_OK, err)
		remote, err := f.GetRemoteName()
		require.NoError(t, err)
		require.Equal(t, j.files[j.err.file].remote, remote)
	}
	proto, err := info.GetProtocol()
	if j.err.protocol == "" {
		h.expect("IBackgroundCopyError.GetProtocol", hresult.BG_E_PROTOCOL_NOT_AVAILABLE, err)
	} else {
		h.expect("IBackgroundCopyError.GetProtocol", hresult.S_OK, err)
		require.Equal(t, j.err.protocol, proto)
	}
}

// --- engine events ---

func (h *modelHarness) engine() {
	j := h.pickJob("job")
	if j == nil {
		return
	}
	h.fire(j, rapid.IntRange(0, 16).Draw(h.t, "event"))
}

// advance takes a live job one step further along its normal life, so that sequences reach
// the later states often: files, Resume, the scheduler, the connection, the files finishing,
// retries and Complete. Which step, when there are several, is drawn.
func (h *modelHarness) advance() {
	t := h.t
	live := h.model.live(-1)
	if len(live) == 0 {
		return
	}
	h.advanceJob(live[rapid.IntRange(0, len(live)-1).Draw(t, "live job")])
}

// focus follows one live job for many steps of its life, so that sequences reach the deep ends
// of it: retries, the no-progress timeout, files added after TRANSFERRED.
func (h *modelHarness) focus() {
	live := h.model.live(-1)
	if len(live) == 0 {
		return
	}
	j := live[rapid.IntRange(0, len(live)-1).Draw(h.t, "live job")]
	if j.handles[mAdmin] == nil && rapid.Bool().Draw(h.t, "admin") {
		// An administrator looks the job up, and may then change it or take it over.
		hd, err := h.clients[mAdmin].GetJob(j.id)
		h.expect("GetJob by the administrator", hresult.S_OK, err)
		j.handles[mAdmin] = hd
	}
	for n := rapid.IntRange(5, 40).Draw(h.t, "steps"); n > 0 && !j.final(); n-- {
		// Mostly its life; else a call on it through a handle some user holds.
		var holders []int
		for u, hd := range j.handles {
			if hd != nil {
				holders = append(holders, u)
			}
		}
		u := rapid.SampledFrom(holders).Draw(h.t, "caller")
		switch hd := j.handles[u]; rapid.IntRange(0, 9).Draw(h.t, "focus") {
		case 0, 1:
			h.setterOn(j, u, hd)
		case 2:
			h.getterOn(j, u, hd)
		case 3:
			h.fileMethodOn(j, u, hd)
		case 4:
			if rapid.Bool().Draw(h.t, "reply") {
				h.replyMethodOn(j, u, hd)
			} else {
				h.takeOwnershipOn(j, u, hd)
			}
		default:
			h.advanceJob(j)
		}
		h.check()
	}
}

// shortTimers gives j a short retry delay and no-progress timeout, so that retries and the
// no-progress timeout play out within a sequence: through the owner's handle, as any setter.
func (h *modelHarness) shortTimers(j *modelJob, hd bits.Job) {
	retry := rapid.SampledFrom([]uint32{5, 20, 60}).Draw(h.t, "retry delay")
	np := rapid.SampledFrom([]uint32{30, 90, 3600}).Draw(h.t, "no-progress timeout")
	h.expect("SetMinimumRetryDelay", hresult.S_OK, hd.SetMinimumRetryDelay(retry))
	h.expect("SetNoProgressTimeout", hresult.S_OK, hd.SetNoProgressTimeout(np))
	j.retryDelay, j.noProgress = retry, np
	h.touch(j)
}

// advanceJob takes live job j one step further (see advance).
func (h *modelHarness) advanceJob(j *modelJob) {
	t := h.t
	hd := j.handles[j.owner] // the owner always holds a handle
	alt := rapid.IntRange(0, 3).Draw(t, "alt") == 0
	switch j.st {
	case state.Suspended, state.Error:
		switch {
		case len(j.files) == 0 || alt:
			h.doAddFile(j, j.owner, hd, "ok")
		case rapid.IntRange(0, 3).Draw(t, "short timers") == 0:
			h.shortTimers(j, hd)
		default:
			h.doResume(j, j.owner, hd)
		}
	case state.Queued:
		if alt {
			h.clock() // the scheduler takes its time
		} else {
			h.fire(j, 0) // Pick
		}
	case state.Connecting:
		// Connect, the first pending file finishing at once, or a failure to connect.
		h.fire(j, rapid.SampledFrom([]int{2, 2, 6, 7}).Draw(t, "connecting"))
	case state.Transferring:
		// Mostly files finishing; else trouble: an error, the network, the slice, progress.
		h.fire(j, rapid.SampledFrom([]int{6, 6, 6, 7, 7, 8, 10, 12, 16}).Draw(t, "transferring"))
	case state.TransientError:
		switch rapid.IntRange(0, 4).Draw(t, "retry") {
		case 0:
			h.fire(j, 11) // NetworkRestored
		case 1:
			h.doResume(j, j.owner, hd) // retry early
		case 2:
			// Wait for the job's next timer, to the second.
			x, _ := j.due()
			h.clockStep(x.at.Sub(h.model.now))
		default:
			h.clockStep(rapid.SampledFrom([]time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 15 * 24 * time.Hour}).Draw(t, "wait"))
		}
	case state.Transferred:
		if alt {
			h.doAddFile(j, j.owner, hd, "ok")
		} else {
			h.doComplete(j, j.owner, hd)
		}
	}
}

// fire applies engine event kind (see the switch) to j and checks the outcome.
func (h *modelHarness) fire(j *modelJob, kind int) {
	t := h.t
	e := j.engine
	var (
		ev   modelEvent
		got  state.State
		err  error
		what string
		fail *job.Failure // the failure given to FireError
	)
	fileIdx := -1
	switch kind {
	case 4, 5:
		fileIdx = rapid.IntRange(-1, len(j.files)).Draw(t, "file")
	case 6:
		fileIdx = slices.IndexFunc(j.files, func(f *modelFile) bool { return !f.done })
	case 7, 8:
		fileIdx = rapid.IntRange(-1, len(j.files)).Draw(t, "error file")
	}
	switch kind {
	case 0, 1:
		ev, what = evPick, "Pick"
		got, err = engineFire(e, state.Pick)
	case 2, 3:
		ev, what = evConnect, "Connect"
		got, err = engineFire(e, state.Connect)
	case 4, 5:
		// FireFileDone with an index drawn from -1 to one past the last file.
		what = fmt.Sprintf("FireFileDone(%d)", fileIdx)
		got, err = engineFireFileDone(e, fileIdx)
	case 6:
		// Fire(FileDone) finishes the first unfinished file.
		what = "Fire(FileDone)"
		got, err = engineFire(e, state.FileDone)
	case 7:
		ev, what = evTransient, "TransientFailure"
		fail = &job.Failure{Context: bits.ContextRemoteFile, Code: hresult.HTTP(503), File: fileIdx, Protocol: "http"}
		got, err = engineFireError(e, state.TransientFailure, *fail)
	case 8:
		ev, what = evFatal, "FatalFailure"
		fail = &job.Failure{Context: bits.ContextLocalFile, Code: hresult.E_ACCESSDENIED, File: fileIdx}
		got, err = engineFireError(e, state.FatalFailure, *fail)
	case 9:
		ev, what = evRetryDelay, "RetryDelayElapsed"
		got, err = engineFire(e, state.RetryDelayElapsed)
	case 10:
		ev, what = evNetworkLost, "NetworkLost"
		got, err = engineFire(e, state.NetworkLost)
	case 11:
		ev, what = evNetworkRestored, "NetworkRestored"
		got, err = engineFire(e, state.NetworkRestored)
	case 12:
		ev, what = evSliceEnd, "SliceEnd"
		got, err = engineFire(e, state.SliceEnd)
	case 13:
		ev, what = evNoProgress, "NoProgressTimeout"
		got, err = engineFire(e, state.NoProgressTimeout)
	case 14:
		ev, what = evMaxDownload, "MaxDownloadTimeout"
		got, err = engineFire(e, state.MaxDownloadTimeout)
	case 15:
		if rapid.IntRange(0, 3).Draw(t, "expire") == 0 {
			ev, what = evInactivity, "InactivityExpired"
			got, err = engineFire(e, state.InactivityExpired)
		} else {
			// Errors need FireError.
			_, err = engineFire(e, state.TransientFailure)
			h.expect("Fire(TransientFailure)", hresult.E_INVALIDARG, err)
			return
		}
	case 16:
		h.fileProgress(j)
		return
	}
	what = fmt.Sprintf("%s in %v", what, j.st)

	if fail != nil && fileIdx >= len(j.files) {
		h.expect(what, hresult.E_INVALIDARG, err) // a file the job does not have
		return
	}
	if kind >= 4 && kind <= 6 {
		// A file finished: FileDone, or LastFileDone when no other file is pending.
		if fileIdx < 0 || fileIdx >= len(j.files) {
			h.expect(what, hresult.E_INVALIDARG, err)
			return
		}
		ev = evFileDone
		others := j.pending()
		if !j.files[fileIdx].done {
			others--
		}
		if others == 0 {
			ev = evLastFileDone
		}
	}
	h.settle(j, ev, what, got, err, fail, fileIdx)
}

// settle compares the outcome of event ev with the model's prediction and applies it.
func (h *modelHarness) settle(j *modelJob, ev modelEvent, what string, got state.State, err error, fail *job.Failure, fileIdx int) {
	t := h.t
	to, ok := j.next(ev, h.model.now)
	if !ok {
		h.expect(what, hresult.BG_E_INVALID_STATE, err)
		require.Equal(t, j.st, got, "%s: a refused event leaves the state", what)
		return
	}
	h.expect(what, hresult.S_OK, err)
	if ev == evTransient && to == state.Error && j.noProgress > 0 && j.retryDelay <= j.noProgress {
		h.counts["transient error after the no-progress timeout ran out"]++
	}
	if ev == evFileDone || ev == evLastFileDone {
		f := j.files[fileIdx]
		if !f.done {
			f.done = true
			// All of a file's bytes have arrived: its size is what arrived when it was unknown.
			if f.total != bits.SizeUnknown {
				f.transferred = f.total
			} else {
				f.total = f.transferred
			}
			j.noProgressSince = time.Time{} // progress restarts the no-progress timeout
		}
		h.touch(j)
	}
	h.apply(j, ev, to, fail)
	require.Equal(t, j.st, got, what)
}

// fileProgress reports progress of one file (the transfer engine's FileProgress): its size and
// the bytes transferred so far.
func (h *modelHarness) fileProgress(j *modelJob) {
	t := h.t
	i := rapid.IntRange(-1, len(j.files)).Draw(t, "file")
	total := rapid.SampledFrom([]uint64{bits.SizeUnknown, 1000, 4000}).Draw(t, "total")
	transferred := rapid.SampledFrom([]uint64{0, 10, 500, 1000, 3000, 5000}).Draw(t, "transferred")
	want := hresult.S_OK
	switch {
	case i < 0 || i >= len(j.files), total != bits.SizeUnknown && transferred > total:
		want = hresult.E_INVALIDARG
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	}
	err := engineFileProgress(j.engine, i, total, transferred)
	h.expect(fmt.Sprintf("FileProgress(%d, %d, %d) in %v", i, total, transferred, j.st), want, err)
	if want.Failed() {
		return
	}
	f := j.files[i]
	if len(f.ranges) == 0 || f.total == bits.SizeUnknown {
		f.total = total // a ranged file's total is the ranges' total
	}
	if transferred != f.transferred {
		if transferred > f.transferred {
			j.noProgressSince = time.Time{} // progress restarts the no-progress timeout
		}
		f.transferred = transferred
		h.touch(j)
	}
}

// --- the clock ---

// clock moves the virtual clock by a random duration.
func (h *modelHarness) clock() {
	d := rapid.SampledFrom([]time.Duration{
		time.Second, 5 * time.Second, 10 * time.Minute, time.Hour, 36 * time.Hour,
		14 * 24 * time.Hour, 45 * 24 * time.Hour, 91 * 24 * time.Hour,
	}).Draw(h.t, "step")
	d += time.Duration(rapid.IntRange(0, 60).Draw(h.t, "jitter")) * time.Second
	h.clockStep(d)
}

// timer is one timer-caused event the model expects.
type timer struct {
	at time.Time
	j  *modelJob
	ev modelEvent
}

// due is the earliest timer of j, if any: the maximum download time of a running job, the
// no-progress timeout and the retry of a job in TRANSIENT_ERROR, and the inactivity expiry of
// any live job (JobInactivityTimeout: 90 days without a change of state or property, or
// progress). At equal times the events come in that order.
func (j *modelJob) due() (timer, bool) {
	if j.final() {
		return timer{}, false
	}
	var ts []timer
	if j.running() && j.maxDownload > 0 {
		left := time.Duration(j.maxDownload)*time.Second - j.runSpent
		ts = append(ts, timer{at: j.runSince.Add(left), j: j, ev: evMaxDownload})
	}
	if j.st == state.TransientError {
		if !j.giveUpAt.IsZero() {
			ts = append(ts, timer{at: j.giveUpAt, j: j, ev: evNoProgress})
		}
		if !j.retryAt.IsZero() {
			ts = append(ts, timer{at: j.retryAt, j: j, ev: evRetryDelay})
		}
	}
	ts = append(ts, timer{at: j.modifiedAt.Add(inactivity), j: j, ev: evInactivity})
	best := ts[0]
	for _, x := range ts[1:] {
		if x.at.Before(best.at) {
			best = x
		}
	}
	return best, true
}

var timerEvents = map[modelEvent]state.Event{
	evMaxDownload: state.MaxDownloadTimeout, evNoProgress: state.NoProgressTimeout,
	evRetryDelay: state.RetryDelayElapsed, evInactivity: state.InactivityExpired,
}

// clockStep moves the clock forward by d, firing on the way, at their times and in order, the
// timer events the model expects.
func (h *modelHarness) clockStep(d time.Duration) {
	target := h.model.now.Add(d)
	for {
		var next timer
		found := false
		for _, j := range h.model.jobs {
			if x, ok := j.due(); ok && !x.at.After(target) && (!found || x.at.Before(next.at)) {
				next, found = x, true
			}
		}
		if !found {
			break
		}
		if next.at.After(h.model.now) {
			h.clk.Advance(next.at.Sub(h.model.now))
			h.model.now = next.at
		}
		ev := timerEvents[next.ev]
		got, err := engineFire(next.j.engine, ev)
		h.settle(next.j, next.ev, fmt.Sprintf("timer:%v in %v", ev, next.j.st), got, err, nil, -1)
	}
	h.clk.Advance(target.Sub(h.model.now))
	h.model.now = target
	h.counts["clock step"]++
	require.Equal(h.t, h.model.now, h.clk.Now())
}

// --- the whole check ---

// check compares every job, every file and the queue with the model, through the watcher's
// handles.
func (h *modelHarness) check() {
	t := h.t
	for _, j := range h.model.jobs {
		e := j.engine
		what := fmt.Sprintf("job %d", j.created)
		st, err := e.GetState()
		require.NoError(t, err)
		require.Equal(t, j.st, st, what)
		p, err := e.GetProgress()
		require.NoError(t, err)
		require.Equal(t, j.progress(), p, what)
		n, err := e.GetErrorCount()
		require.NoError(t, err)
		require.Equal(t, j.errCount, n, "%s error count", what)
		times, err := e.GetTimes()
		require.NoError(t, err)
		require.Equal(t, bits.Times{CreationTime: j.createdAt, ModificationTime: j.modifiedAt, TransferCompletionTime: j.completedAt}, times, what)
		owner, err := e.GetOwner()
		require.NoError(t, err)
		require.Equal(t, modelUsers[j.owner].SID, owner, what)
		typ, err := e.GetType()
		require.NoError(t, err)
		require.Equal(t, j.typ, typ, what)
		h.checkProperties(j, e)
		h.checkFiles(j, e)
	}
	live := h.model.live(-1)
	require.Equal(t, len(live), h.m.JobCount())
	var wantIDs, gotIDs []uuid.UUID
	for _, j := range live {
		wantIDs = append(wantIDs, j.id)
	}
	en, err := h.watcher.EnumJobs(bits.EnumAllUsers)
	require.NoError(t, err)
	all, _ := bits.All(en)
	for _, j := range all {
		gotIDs = append(gotIDs, engine.Of(j).ID())
	}
	require.Equal(t, wantIDs, gotIDs, "EnumJobs(ALL_USERS)")
	for u := range modelUsers {
		e, err := h.clients[u].EnumJobs(0)
		require.NoError(t, err)
		require.Equal(t, uint32(len(h.model.live(u))), enumCount(e), "EnumJobs(0) of user %d", u)
	}
}

func TestModel(t *testing.T) {
	dir := t.TempDir()
	type action struct {
		weight int
		do     func(*modelHarness)
	}
	actions := []action{
		{4, (*modelHarness).query},
		{4, (*modelHarness).createJob},
		{3, (*modelHarness).getJob},
		{2, (*modelHarness).enumJobs},
		{6, (*modelHarness).addFile},
		{2, (*modelHarness).addFileSet},
		{2, (*modelHarness).addFileWithRanges},
		{6, (*modelHarness).resume},
		{2, (*modelHarness).suspend},
		{2, (*modelHarness).cancel},
		{2, (*modelHarness).complete},
		{2, (*modelHarness).takeOwnership},
		{12, (*modelHarness).setter},
		{6, (*modelHarness).getter},
		{6, (*modelHarness).fileMethod},
		{2, (*modelHarness).replyMethod},
		{14, (*modelHarness).engine},
		{4, (*modelHarness).clock},
		{20, (*modelHarness).advance},
		{3, (*modelHarness).focus},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	reached := map[state.State]int{}
	counts := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		h := newModelHarness(rt, dir, counts)
		defer h.m.Close()
		steps := rapid.IntRange(5, 200).Draw(rt, "steps")
		for range steps {
			// A little time passes between calls, so that every change of the modification
			// time shows.
			if tick := rapid.IntRange(0, 2).Draw(rt, "tick"); tick > 0 {
				h.clockStep(time.Duration(tick) * time.Second)
			}
			n := rapid.IntRange(0, total-1).Draw(rt, "action")
			for _, a := range actions {
				if n < a.weight {
					a.do(h)
					break
				}
				n -= a.weight
			}
			h.check()
		}
		for _, j := range h.model.jobs {
			reached[j.st]++
		}
	})
	t.Logf("final states of the jobs, over all sequences: %v", reached)
	t.Logf("calls compared with the model: %v", counts)
}
