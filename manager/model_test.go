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

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// This file is a model-based test of the manager and its jobs. The model below is written from
// the BITS documentation (shared spec: bits-api.md §1.0–1.1, bits-behaviour.md §3, §8, §11, §14),
// not from package state: it keeps, per job, the state, files, type, owner and properties, and
// predicts the HRESULT and the resulting state of every call and engine event. Random sequences
// of operations run against a real manager and the model side by side; after every step the two
// must agree.
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

// modelJob is what the model knows of one job.
type modelJob struct {
	id          uuid.UUID
	typ         job.Type
	owner       int // index in modelUsers
	st          state.State
	done        []bool // per file: has it finished transferring
	name        string
	priority    job.Priority
	notify      uint32
	noProgress  uint32 // no-progress timeout, seconds
	retryDelay  uint32 // minimum retry delay, seconds
	errorCount  uint32
	hasError    bool         // an error record is available to GetError
	errorCode   hresult.Code // its HRESULT
	handles     [3]*job.Job  // per user: the handle that user holds, or nil
	engine      *job.Job     // an administrator's handle used to check and drive the job
	created     int          // creation sequence number
	fileCounter int
}

func (j *modelJob) final() bool { return j.st == state.Acknowledged || j.st == state.Cancelled }

func (j *modelJob) pending() int {
	n := 0
	for _, d := range j.done {
		if !d {
			n++
		}
	}
	return n
}

func (j *modelJob) filesDone() uint32 { return uint32(len(j.done) - j.pending()) }

// noRetry: a transient error is fatal at once when the no-progress timeout is 0 or the retry
// delay is longer than it (bits-behaviour T18). The model's clock never moves, so the timeout
// itself never runs out.
func (j *modelJob) noRetry() bool { return j.noProgress == 0 || j.retryDelay > j.noProgress }

// model is the whole queue.
type model struct {
	jobs []*modelJob // creation order, final jobs included
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
func (j *modelJob) next(ev modelEvent) (to state.State, ok bool) {
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
		if j.noRetry() {
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

// apply makes the side effects of an event that applied: error count and error record.
func (j *modelJob) apply(ev modelEvent, to state.State, code hresult.Code) {
	switch ev {
	case evTransient, evFatal: // T14, T15: error count +1
		j.errorCount++
		j.hasError, j.errorCode = true, code
	case evMaxDownload:
		j.errorCount++
		j.hasError, j.errorCode = true, hresult.BG_E_MAXDOWNLOAD_TIMEOUT
	case evNetworkLost: // T19: not counted
		j.hasError, j.errorCode = true, hresult.BG_E_NETWORK_DISCONNECTED
	case evNoProgress:
		if !j.hasError {
			j.hasError, j.errorCode = true, hresult.BG_E_NO_PROGRESS
		}
	}
	if to == state.Transferring && j.st != state.Transferring {
		// GetError: the error object is available until BITS begins transferring data.
		j.hasError = false
	}
	j.st = to
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// modelHarness runs one sequence.
type modelHarness struct {
	t       *rapid.T
	dir     string
	m       *manager.Manager
	clients [3]*manager.Client
	watcher *manager.Client // an administrator that only observes
	model   model
	seq     int
}

func newModelHarness(t *rapid.T, dir string) *modelHarness {
	h := &modelHarness{t: t, dir: dir}
	h.m = manager.New(manager.WithManualTransfers(), manager.WithLimits(modelLimits),
		manager.WithClock(clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))))
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

// expect compares a call's outcome with the model's prediction.
func (h *modelHarness) expect(what string, want hresult.Code, err error, code ...hresult.Code) {
	h.t.Helper()
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
func (h *modelHarness) pickHandle() (*modelJob, int, *job.Job) {
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
	typ := rapid.SampledFrom([]job.Type{job.Download, job.Download, job.Download, job.Upload}).Draw(t, "type")
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
	mj := &modelJob{
		id: engine.Of(jb).ID(), typ: typ, owner: u, st: state.Suspended, name: name,
		priority: job.Normal, notify: job.NotifyJobTransferred | job.NotifyJobError,
		noProgress: 1_209_600, retryDelay: 600, engine: eng, created: len(h.model.jobs),
	}
	mj.handles[u] = jb
	h.model.jobs = append(h.model.jobs, mj)
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
	flags := rapid.SampledFrom([]uint32{0, 0, job.EnumAllUsers, 0x2}).Draw(t, "flags")
	want := hresult.S_OK
	switch {
	case flags&^job.EnumAllUsers != 0:
		want = hresult.E_INVALIDARG
	case flags == job.EnumAllUsers && !modelUsers[u].Admin:
		want = hresult.E_ACCESSDENIED
	}
	e, err := h.clients[u].EnumJobs(flags)
	h.expect(fmt.Sprintf("EnumJobs(%#x) by %d", flags, u), want, err)
	if want.Failed() {
		return
	}
	owner := u
	if flags == job.EnumAllUsers {
		owner = -1
	}
	var wantIDs []uuid.UUID
	for _, j := range h.model.live(owner) {
		wantIDs = append(wantIDs, j.id)
	}
	require.Equal(t, uint32(len(wantIDs)), e.GetCount())
	got, code := e.Next(e.GetCount() + 1)
	require.Equal(t, hresult.S_FALSE, code)
	var gotIDs []uuid.UUID
	for _, j := range got {
		gotIDs = append(gotIDs, engine.Of(j).ID())
	}
	require.Equal(t, wantIDs, gotIDs)
}

// --- job methods ---

// access is the first check of every call on a handle.
func access(j *modelJob, u int) hresult.Code {
	if !canAccess(j, u) {
		return hresult.E_ACCESSDENIED
	}
	return hresult.S_OK
}

func (h *modelHarness) addFile() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	kind := rapid.SampledFrom([]string{"ok", "ok", "ok", "ok", "ok", "file-url", "bad-scheme", "relative", "no-dir"}).Draw(h.t, "fileKind")
	h.doAddFile(j, u, hd, kind)
}

func (h *modelHarness) doAddFile(j *modelJob, u int, hd *job.Job, kind string) {
	j.fileCounter++
	remote := fmt.Sprintf("http://example.com/f%d", j.fileCounter)
	local := filepath.Join(h.dir, fmt.Sprintf("f%d", j.fileCounter))
	arg := hresult.S_OK
	switch kind {
	case "file-url":
		remote = "file:///srv/share/f"
		if j.typ != job.Download {
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
	// Check order: access, arguments, state, job type, limits (bits-behaviour §3.3).
	want := access(j, u)
	exempt := modelUsers[u].Admin || modelUsers[u].Service
	switch {
	case want.Failed():
	case arg.Failed():
		want = arg
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case j.typ != job.Download && len(j.done) >= 1:
		want = hresult.BG_E_TOO_MANY_FILES
	case !exempt && len(j.done)+1 > modelLimits.MaxFilesPerJob:
		want = hresult.BG_E_TOO_MANY_FILES_IN_JOB
	}
	err := hd.AddFile(remote, local)
	h.expect(fmt.Sprintf("AddFile(%s) by %d in %v", kind, u, j.st), want, err)
	if want == hresult.S_OK {
		j.done = append(j.done, false) // the state does not change, even in TRANSFERRED (§14.4)
	}
}

func (h *modelHarness) resume() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	h.doResume(j, u, hd)
}

func (h *modelHarness) doResume(j *modelJob, u int, hd *job.Job) {
	want, to := access(j, u), j.st
	switch {
	case want.Failed():
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case len(j.done) == 0:
		want = hresult.BG_E_EMPTY // T3
	case j.st == state.Suspended, j.st == state.Error, j.st == state.TransientError:
		to = state.Queued // T2, T4
	case j.st == state.Transferred && j.pending() > 0:
		to = state.Queued // T6
	}
	err := hd.Resume()
	h.expect(fmt.Sprintf("Resume by %d in %v", u, j.st), want, err)
	j.st = to
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
		j.st = state.Suspended // T7
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
		j.st = state.Cancelled // T26
	}
}

func (h *modelHarness) complete() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	h.doComplete(j, u, hd)
}

func (h *modelHarness) doComplete(j *modelJob, u int, hd *job.Job) {
	want := access(j, u)
	switch {
	case want.Failed():
	case j.final():
		want = hresult.BG_E_INVALID_STATE
	case j.typ != job.Download && j.st != state.Transferred:
		want = hresult.BG_E_INVALID_STATE // T29
	case j.pending() > 0:
		want = hresult.BG_S_PARTIAL_COMPLETE // T27, §14.3
	}
	code, err := hd.Complete()
	h.expect(fmt.Sprintf("Complete by %d in %v", u, j.st), want, err, code)
	if want.Succeeded() {
		j.st = state.Acknowledged
	}
}

func (h *modelHarness) setDisplayName() {
	t := h.t
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	kind := rapid.SampledFrom([]string{"ok", "ok", "long", "nul"}).Draw(t, "nameKind")
	name, arg := fmt.Sprintf("renamed %d", h.seq), hresult.S_OK
	h.seq++
	switch kind {
	case "long":
		name, arg = strings.Repeat("x", 257), hresult.BG_E_STRING_TOO_LONG
	case "nul":
		name, arg = "a\x00b", hresult.E_INVALIDARG
	}
	want := h.setterOutcome(j, u, arg)
	h.expect(fmt.Sprintf("SetDisplayName(%s) by %d in %v", kind, u, j.st), want, hd.SetDisplayName(name))
	if want == hresult.S_OK {
		j.name = name
	}
}

// setterOutcome is the outcome of a setter: access, argument, then state.
func (h *modelHarness) setterOutcome(j *modelJob, u int, arg hresult.Code) hresult.Code {
	switch {
	case !canAccess(j, u):
		return hresult.E_ACCESSDENIED
	case arg.Failed():
		return arg
	case j.final():
		return hresult.BG_E_INVALID_STATE
	}
	return hresult.S_OK
}

func (h *modelHarness) setPriority() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	p := job.Priority(rapid.Uint32Range(0, 5).Draw(h.t, "priority"))
	arg := hresult.S_OK
	if p > job.Low {
		arg = hresult.E_NOTIMPL
	}
	want := h.setterOutcome(j, u, arg)
	h.expect(fmt.Sprintf("SetPriority(%d) by %d in %v", p, u, j.st), want, hd.SetPriority(p))
	if want == hresult.S_OK {
		j.priority = p
	}
}

func (h *modelHarness) setNotifyFlags() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	f := rapid.Uint32Range(0, 0x7F).Draw(h.t, "flags")
	arg := hresult.S_OK
	if f&^0x3F != 0 {
		arg = hresult.E_NOTIMPL
	}
	want := h.setterOutcome(j, u, arg)
	h.expect(fmt.Sprintf("SetNotifyFlags(%#x) by %d in %v", f, u, j.st), want, hd.SetNotifyFlags(f))
	if want == hresult.S_OK {
		j.notify = f
	}
}

func (h *modelHarness) setTimeouts() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
	want := h.setterOutcome(j, u, hresult.S_OK)
	if rapid.Bool().Draw(h.t, "noProgress") {
		v := rapid.SampledFrom([]uint32{0, 5, 1_209_600}).Draw(h.t, "seconds")
		h.expect(fmt.Sprintf("SetNoProgressTimeout(%d) by %d", v, u), want, hd.SetNoProgressTimeout(v))
		if want == hresult.S_OK {
			j.noProgress = v
		}
		return
	}
	v := rapid.SampledFrom([]uint32{1, 600, 3_000_000}).Draw(h.t, "seconds")
	h.expect(fmt.Sprintf("SetMinimumRetryDelay(%d) by %d", v, u), want, hd.SetMinimumRetryDelay(v))
	if want == hresult.S_OK {
		j.retryDelay = max(v, 5) // values under 5 are raised to 5
	}
}

func (h *modelHarness) takeOwnership() {
	j, u, hd := h.pickHandle()
	if j == nil {
		return
	}
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
	}
}

// query calls the getters through a user's handle: they work in every state, for whoever may
// access the job.
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
	if want.Failed() {
		_, err = hd.GetError()
		h.expect("GetError", want, err)
		return
	}
	require.Equal(t, j.st, st)
	require.Equal(t, uint32(len(j.done)), p.FilesTotal)
	require.Equal(t, j.filesDone(), p.FilesTransferred)

	if !j.hasError {
		want = hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE
	}
	info, err := hd.GetError()
	h.expect(fmt.Sprintf("GetError in %v", j.st), want, err)
	if err == nil {
		_, code := info.GetError()
		require.Equal(t, j.errorCode.Name(), code.Name())
	}
}

// --- engine events ---

func (h *modelHarness) engine() {
	j := h.pickJob("job")
	if j == nil {
		return
	}
	h.fire(j, rapid.IntRange(0, 15).Draw(h.t, "event"))
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
	j := live[rapid.IntRange(0, len(live)-1).Draw(t, "live job")]
	hd := j.handles[j.owner] // the owner always holds a handle
	alt := rapid.IntRange(0, 3).Draw(t, "alt") == 0
	switch j.st {
	case state.Suspended, state.Error:
		if len(j.done) == 0 || alt {
			h.doAddFile(j, j.owner, hd, "ok")
		} else {
			h.doResume(j, j.owner, hd)
		}
	case state.Queued:
		h.fire(j, 0) // Pick
	case state.Connecting:
		if alt {
			h.fire(j, 6) // the first pending file finishes at once
		} else {
			h.fire(j, 2) // Connect
		}
	case state.Transferring:
		if alt {
			h.fire(j, rapid.SampledFrom([]int{7, 8, 10, 12}).Draw(t, "trouble"))
		} else {
			h.fire(j, 6) // Fire(FileDone)
		}
	case state.TransientError:
		h.fire(j, rapid.SampledFrom([]int{9, 11}).Draw(t, "retry"))
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
		code hresult.Code // failure code given to FireError
	)
	fileIdx := -1
	switch kind {
	case 4, 5:
		fileIdx = rapid.IntRange(-1, len(j.done)).Draw(t, "file")
	case 6:
		fileIdx = slices.Index(j.done, false)
	}
	switch kind {
	case 0, 1:
		ev, what = evPick, "Pick"
		got, err = engine.Of(e).Fire(state.Pick)
	case 2, 3:
		ev, what = evConnect, "Connect"
		got, err = engine.Of(e).Fire(state.Connect)
	case 4, 5:
		// FireFileDone with an index drawn from -1 to one past the last file.
		what = fmt.Sprintf("FireFileDone(%d)", fileIdx)
		got, err = engine.Of(e).FireFileDone(fileIdx)
	case 6:
		// Fire(FileDone) finishes the first unfinished file.
		what = "Fire(FileDone)"
		got, err = engine.Of(e).Fire(state.FileDone)
	case 7:
		ev, what, code = evTransient, "TransientFailure", hresult.HTTP(503)
		got, err = engine.Of(e).FireError(state.TransientFailure, job.Failure{Context: job.ContextRemoteFile, Code: code, File: -1, Protocol: "http"})
	case 8:
		ev, what, code = evFatal, "FatalFailure", hresult.HTTP(404)
		got, err = engine.Of(e).FireError(state.FatalFailure, job.Failure{Context: job.ContextRemoteFile, Code: code, File: -1, Protocol: "http"})
	case 9:
		ev, what = evRetryDelay, "RetryDelayElapsed"
		got, err = engine.Of(e).Fire(state.RetryDelayElapsed)
	case 10:
		ev, what = evNetworkLost, "NetworkLost"
		got, err = engine.Of(e).Fire(state.NetworkLost)
	case 11:
		ev, what = evNetworkRestored, "NetworkRestored"
		got, err = engine.Of(e).Fire(state.NetworkRestored)
	case 12:
		ev, what = evSliceEnd, "SliceEnd"
		got, err = engine.Of(e).Fire(state.SliceEnd)
	case 13:
		ev, what = evNoProgress, "NoProgressTimeout"
		got, err = engine.Of(e).Fire(state.NoProgressTimeout)
	case 14:
		ev, what = evMaxDownload, "MaxDownloadTimeout"
		got, err = engine.Of(e).Fire(state.MaxDownloadTimeout)
	case 15:
		if rapid.IntRange(0, 3).Draw(t, "expire") == 0 {
			ev, what = evInactivity, "InactivityExpired"
			got, err = engine.Of(e).Fire(state.InactivityExpired)
		} else {
			// Errors need FireError.
			_, err = engine.Of(e).Fire(state.TransientFailure)
			h.expect("Fire(TransientFailure)", hresult.E_INVALIDARG, err)
			return
		}
	}
	what = fmt.Sprintf("%s in %v", what, j.st)

	if kind >= 4 && kind <= 6 {
		// A file finished: FileDone, or LastFileDone when no other file is pending.
		if fileIdx < 0 || fileIdx >= len(j.done) {
			h.expect(what, hresult.E_INVALIDARG, err)
			return
		}
		ev = evFileDone
		others := j.pending()
		if !j.done[fileIdx] {
			others--
		}
		if others == 0 {
			ev = evLastFileDone
		}
	}
	to, ok := j.next(ev)
	if !ok {
		h.expect(what, hresult.BG_E_INVALID_STATE, err)
		require.Equal(t, j.st, got, "%s: a refused event leaves the state", what)
		return
	}
	h.expect(what, hresult.S_OK, err)
	if ev == evFileDone || ev == evLastFileDone {
		j.done[fileIdx] = true
	}
	j.apply(ev, to, code)
	require.Equal(t, j.st, got, what)
}

// check compares every job and the queue with the model.
func (h *modelHarness) check() {
	t := h.t
	for _, j := range h.model.jobs {
		e := j.engine
		st, err := e.GetState()
		require.NoError(t, err)
		require.Equal(t, j.st, st, "job %d", j.created)
		p, err := e.GetProgress()
		require.NoError(t, err)
		require.Equal(t, uint32(len(j.done)), p.FilesTotal, "job %d", j.created)
		require.Equal(t, j.filesDone(), p.FilesTransferred, "job %d", j.created)
		n, err := e.GetErrorCount()
		require.NoError(t, err)
		require.Equal(t, j.errorCount, n, "job %d error count", j.created)
		name, err := e.GetDisplayName()
		require.NoError(t, err)
		require.Equal(t, j.name, name)
		prio, err := e.GetPriority()
		require.NoError(t, err)
		require.Equal(t, j.priority, prio)
		flags, err := e.GetNotifyFlags()
		require.NoError(t, err)
		require.Equal(t, j.notify, flags)
		owner, err := e.GetOwner()
		require.NoError(t, err)
		require.Equal(t, modelUsers[j.owner].SID, owner)
		typ, err := e.GetType()
		require.NoError(t, err)
		require.Equal(t, j.typ, typ)
	}
	live := h.model.live(-1)
	require.Equal(t, len(live), h.m.JobCount())
	var wantIDs, gotIDs []uuid.UUID
	for _, j := range live {
		wantIDs = append(wantIDs, j.id)
	}
	en, err := h.watcher.EnumJobs(job.EnumAllUsers)
	require.NoError(t, err)
	all, _ := en.Next(en.GetCount())
	for _, j := range all {
		gotIDs = append(gotIDs, engine.Of(j).ID())
	}
	require.Equal(t, wantIDs, gotIDs, "EnumJobs(ALL_USERS)")
	for u := range modelUsers {
		e, err := h.clients[u].EnumJobs(0)
		require.NoError(t, err)
		require.Equal(t, uint32(len(h.model.live(u))), e.GetCount(), "EnumJobs(0) of user %d", u)
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
		{8, (*modelHarness).addFile},
		{6, (*modelHarness).resume},
		{2, (*modelHarness).suspend},
		{2, (*modelHarness).cancel},
		{2, (*modelHarness).complete},
		{2, (*modelHarness).setDisplayName},
		{1, (*modelHarness).setPriority},
		{1, (*modelHarness).setNotifyFlags},
		{2, (*modelHarness).setTimeouts},
		{2, (*modelHarness).takeOwnership},
		{14, (*modelHarness).engine},
		{20, (*modelHarness).advance},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	reached := map[state.State]int{}
	rapid.Check(t, func(rt *rapid.T) {
		h := newModelHarness(rt, dir)
		steps := rapid.IntRange(5, 200).Draw(rt, "steps")
		for range steps {
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
}
