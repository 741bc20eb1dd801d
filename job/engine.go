package job

import (
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/jobhook"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Engine is the service's side of a job: what the scheduler, the transfer engine, the timers,
// the store and the notification engine read from a job and do to it. Its methods check no
// access and fail with BG_E_INVALID_STATE when an event does not apply in the job's state.
//
// Applications never hold an Engine: BITS gives them only IBackgroundCopyJob. bitsemu's own
// service packages reach it through an internal package; tests force what a server cannot
// through bitstest's driver. A job has one Engine, made with the job. The embedded Job is the
// handle of the job's creator, so the BITS methods remain available on it; As gives a handle for
// another caller.
type Engine struct {
	Job
	svc any // the service's own record of the job (SetService)
}

// SetService attaches the service's own record of the job, which Service returns: the service
// finds its data about a job without a lookup. Call it once, before the job is shared with other
// goroutines (for the service).
func (e *Engine) SetService(v any) { e.svc = v }

// Service returns what SetService attached, or nil.
func (e *Engine) Service() any { return e.svc }

func init() {
	jobhook.EngineOf = func(j *Job) *Engine { return &j.c.eng }
	jobhook.CallerOf = func(j *Job) *Caller { return j.caller }
}

// Failure describes a transfer error for FireError.
type Failure struct {
	Context  bits.ErrorContext
	Code     hresult.Code // a failure HRESULT
	File     int          // index of the file concerned, or -1 for none
	Protocol string       // "http", "file", or "" when no protocol is involved
}

// Fire applies an engine event that carries no error: Pick, Connect, RetryDelayElapsed,
// NoProgressTimeout, MaxDownloadTimeout, SliceEnd, NetworkLost, NetworkRestored or
// InactivityExpired. It returns the job's new state.
func (e *Engine) Fire(ev state.Event) (state.State, error) {
	j := &e.Job
	switch ev {
	case state.FileDone, state.LastFileDone:
		return e.FireFileDone(j.currentFile())
	case state.TransientFailure, state.FatalFailure:
		return 0, &hresult.Error{Op: "Fire(" + ev.String() + ")", Job: guid(j.c.id), Code: hresult.E_INVALIDARG}
	}
	return j.fire(ev, nil)
}

// Pick applies the Pick event, as Fire(state.Pick) does, and returns the job's Timing as the Pick
// left it (for the scheduler). When seq is the number of the job's latest change (Change.Seq),
// made while the job is QUEUED, the Pick is dated as that change rather than by a new reading of
// the clock: a scheduler that picks the job at once, inside the event or call that queued it,
// gives both that change's one time. With any other seq (0, say) the Pick reads the clock.
// Unlike Fire, Pick does not report its change to the Env's Observer but returns it: the caller,
// which knows what it did, reports it (the zero Change when Pick fails).
func (e *Engine) Pick(seq uint64) (Timing, Change, error) {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "")
	o.ev = state.Pick
	var at time.Time
	if seq != 0 && seq == c.seq && c.st == state.Queued {
		at = c.modified // the change's time: every state change sets it (moveAt)
	}
	var t Timing
	var ch Change
	err := o.fireLocked(nil, at)
	if err == nil {
		t, ch = c.timing(), o.buf[0] // the one change: QUEUED to CONNECTING
	}
	o.n = 0 // for the caller to report
	o.end()
	return t, ch, err
}

// FireError applies a TransientFailure or FatalFailure event and records f as the job's error.
// A transient failure becomes fatal when the no-progress timeout is 0, is shorter than the retry
// delay, or has run out since the first transient error.
func (e *Engine) FireError(ev state.Event, f Failure) (state.State, error) {
	j := &e.Job
	if (ev != state.TransientFailure && ev != state.FatalFailure) || !f.Code.Failed() {
		return 0, &hresult.Error{Op: "FireError(" + ev.String() + ")", Job: guid(j.c.id), Code: hresult.E_INVALIDARG}
	}
	return j.fire(ev, &f)
}

// FireFileDone marks file i finished (all its bytes arrived) and applies FileDone, or
// LastFileDone when it was the last unfinished file.
func (e *Engine) FireFileDone(i int) (state.State, error) {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "FireFileDone")
	defer o.end()
	if i < 0 || i >= len(c.files) {
		return c.st, o.fail(hresult.E_INVALIDARG)
	}
	ev := state.FileDone
	pending := 0
	for k, fc := range c.files {
		if !fc.done && k != i {
			pending++
		}
	}
	if pending == 0 {
		ev = state.LastFileDone
	}
	t, ok := c.next(ev)
	if !ok {
		return c.st, o.fail(hresult.BG_E_INVALID_STATE)
	}
	now := c.env.Clock.Now()
	fc := c.files[i]
	if !fc.done {
		fc.done = true
		if fc.total != bits.SizeUnknown {
			fc.transferred = fc.total
		} else {
			fc.total = fc.transferred
		}
		c.noProgressSince = time.Time{}
		o.emit(Change{Kind: FileCompleted, File: i, Event: ev})
	}
	o.moveAt(t.To, ev, now)
	c.modified = now
	return c.st, nil
}

// FileProgress records the progress of file i: its size when known (SizeUnknown otherwise) and
// the bytes transferred so far. Progress restarts the no-progress timer. A file whose size
// changed restarts from zero, as BITS restarts a file that changed on the server.
func (e *Engine) FileProgress(i int, total, transferred uint64) error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "FileProgress")
	defer o.end()
	if i < 0 || i >= len(c.files) || (total != bits.SizeUnknown && transferred > total) {
		return o.fail(hresult.E_INVALIDARG)
	}
	if c.st.Final() {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	fc := c.files[i]
	if len(fc.ranges) == 0 || fc.total == bits.SizeUnknown {
		fc.total = total
	}
	o.progressed(i, fc, transferred)
	return nil
}

// progressed records that fc, file i of the job (its reply for replyIndex), holds transferred
// bytes: more than before restarts the no-progress timer. Called with the job locked.
func (o *op) progressed(i int, fc *fileCore, transferred uint64) {
	if transferred == fc.transferred {
		return
	}
	c := o.j.c
	if transferred > fc.transferred {
		c.noProgressSince = time.Time{}
	}
	fc.setTransferred(transferred)
	c.modified = c.env.Clock.Now()
	o.emit(Change{Kind: FileProgressed, File: i})
}

// FileSynced records that the first n bytes of file i's temporary file (the reply's, for an
// upload-reply job, when i is -1) are on disk: the service synced the file after they were
// written. When the job's changes are kept (Env.Keep), its record claims for a download's file
// or a reply still transferring only the bytes reported so, so that after a crash of the
// machine the record never claims bytes the file does not hold (for the service).
func (e *Engine) FileSynced(i int, n uint64) {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if (i != replyIndex && (i < 0 || i >= len(c.files))) || (i == replyIndex && c.reply == nil) {
		return
	}
	fc := c.fileAt(i)
	if n = min(n, fc.transferred); n > fc.durable {
		fc.durable = n
		c.seq++ // the record says more now: a write of it is not skipped as stale
	}
}

// currentFile is the index of the first unfinished file, or -1.
func (j *Job) currentFile() int {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	for i, fc := range j.c.files {
		if !fc.done {
			return i
		}
	}
	return -1
}

// next finds the transition event ev makes from the job's state (state.Next), gathering the
// job's facts only where the event table reads them. Called with the job locked.
func (c *core) next(ev state.Event) (state.Transition, bool) {
	var f state.Facts
	if state.EventNeedsFacts(ev, c.st) {
		f = c.facts()
	}
	return state.Next(ev, c.st, f)
}

// beginEngine locks the job for an engine call and sets up o, a zero op; the caller must call
// o.end.
func (j *Job) beginEngine(o *op, name string) {
	j.c.mu.Lock()
	o.j, o.name = j, name
}

func (j *Job) fire(ev state.Event, f *Failure) (state.State, error) {
	var o op
	j.beginEngine(&o, "")
	o.ev = ev
	defer o.end()
	err := o.fireLocked(f, time.Time{})
	return j.c.st, err
}

// fireLocked applies the call's event o.ev, with the failure f for a failure event, at the time
// now (zero: read the clock). Called with the job locked.
func (o *op) fireLocked(f *Failure, now time.Time) error {
	c, ev := o.j.c, o.ev
	if f != nil && f.File >= len(c.files) {
		return o.fail(hresult.E_INVALIDARG)
	}
	t, ok := c.next(ev)
	if !ok {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	if now.IsZero() {
		now = c.env.Clock.Now()
	}
	if t.CountsError {
		c.errorCount++
	}
	switch {
	case f != nil:
		rec := &errorRecord{ctx: f.Context, code: f.Code, protocol: f.Protocol}
		if f.File >= 0 {
			rec.file = c.files[f.File]
		}
		c.errInfo = rec
		if ev == state.TransientFailure && c.noProgressSince.IsZero() {
			c.noProgressSince = now
		}
	case t.Code != 0:
		ctx := bits.ContextGeneralQueueManager
		if t.Code == hresult.BG_E_NETWORK_DISCONNECTED {
			ctx = bits.ContextGeneralTransport
		}
		c.errInfo = &errorRecord{ctx: ctx, code: t.Code}
	case ev == state.NoProgressTimeout && c.errInfo == nil:
		c.errInfo = &errorRecord{ctx: bits.ContextGeneralQueueManager, code: hresult.BG_E_NO_PROGRESS}
	}
	if t.To == state.Cancelled {
		// Expiry is a Cancel by the service: the temporary files go (group-policies,
		// JobInactivityTimeout).
		o.doomed = c.temps()
	}
	o.moveAt(t.To, ev, now)
	return nil
}

// NotifyView is what the notification engine needs to know about a job at one moment.
type NotifyView struct {
	State       state.State
	Flags       uint32        // the notify flags
	Callback    bits.Callback // the registered callback, nil when none or its caller has closed
	Caller      *Caller       // the caller that registered Callback (nil without a callback)
	Handle      *Job          // the handle Callback was set through, given to callbacks
	CmdProgram  string        // the notify command line's program, "" when none
	CmdParams   string        // its parameters
	CmdService  bool          // the command line was set by, or the job belongs to, a service account: never run
	RetryDelay  time.Duration // the minimum retry delay
	MinInterval time.Duration // the minimum notification interval (MINIMUM_NOTIFICATION_INTERVAL_MS)
	OwnerSID    string
	Files       int
	Gen         uint32 // Engine.NotifyGen when the view was read
}

// NotifyView returns the job's notification settings and state, for the service.
func (e *Engine) NotifyView() NotifyView {
	j := &e.Job
	c := j.c
	c.mu.Lock()
	defer c.mu.Unlock()
	v := NotifyView{
		State:       c.st,
		Flags:       c.notify,
		CmdProgram:  c.cmdProgram,
		CmdParams:   c.cmdParams,
		CmdService:  c.owner.Service || c.cmdCaller.Service,
		RetryDelay:  time.Duration(c.retryDelay) * time.Second,
		MinInterval: time.Duration(c.props.minInterval) * time.Millisecond,
		OwnerSID:    c.owner.SID,
		Files:       len(c.files),
		Gen:         atomic.LoadUint32(&c.notifyGen),
	}
	if cb := c.liveCallback(); cb != nil {
		v.Callback = cb
		v.Caller = c.cbHandle.caller
		v.Handle = c.cbHandle
	}
	return v
}

// NotifyGen returns a number that changes whenever the job's NotifyView may have changed other
// than in its State, a move to a final state excepted. A view read when NotifyGen was the same
// (NotifyView.Gen) still holds all but its State, as long as its Caller has not closed (which
// makes the callback nil). It takes no lock.
func (e *Engine) NotifyGen() uint32 { return atomic.LoadUint32(&e.Job.c.notifyGen) }

// ErrorSnapshot returns the job's error object as j's caller would get it from GetError, or nil
// when the job holds no error record (for the service).
func (e *Engine) ErrorSnapshot() *ErrorInfo {
	j := &e.Job
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if j.c.errInfo == nil {
		return nil
	}
	return &ErrorInfo{j: j, rec: *j.c.errInfo}
}

// FileAt returns a handle to file i of the job, acting as j's caller, or nil when there is no
// such file (for the service).
func (e *Engine) FileAt(i int) *File {
	j := &e.Job
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	if i < 0 || i >= len(j.c.files) {
		return nil
	}
	return &File{j: j, f: j.c.files[i]}
}
