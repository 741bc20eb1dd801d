package job

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Limits are the queue policies that bound jobs, files and ranges. A zero field means no limit.
// Administrators and service accounts are exempt from all of them.
type Limits struct {
	MaxJobsPerUser    int // MaxJobsPerUser policy; BITS default 60
	MaxJobsPerMachine int // MaxJobsPerMachine policy; BITS default 300
	MaxFilesPerJob    int // MaxFilesPerJob policy; BITS default 200
	MaxRangesPerFile  int // MaxRangesPerFile policy; BITS default 500
}

// DefaultLimits returns the BITS defaults (group-policies page).
func DefaultLimits() Limits {
	return Limits{MaxJobsPerUser: 60, MaxJobsPerMachine: 300, MaxFilesPerJob: 200, MaxRangesPerFile: 500}
}

// Env is what the service gives every job: its clock, its limits and the observer that hears
// about every change. One Env is shared by all the jobs of a manager.
type Env struct {
	Clock    clock.Clock // nil means clock.Real()
	Limits   Limits
	Observer Observer // may be nil
	// Keep, when not nil, makes the application's changes durable (the service's store): a
	// method of Job or File that changed the job hands Keep the job's new record before it
	// returns, with the job still locked, and the change counts only once Keep returned nil.
	// When Keep fails, the method fails with Keep's HRESULT (job.DiskCode's mapping for a disk)
	// and leaves the job as it was: nothing changed, nothing reported to the Observer, no file
	// removed. A record in a final state asks for the job to be forgotten. Keep must not call
	// into the job. The service's own changes (the Fire methods, transfer progress) are not
	// handed to Keep: the Observer hears of them and writes them.
	Keep func(r *Record) error
	// LocalRoots, when not empty, confines local file names (AddFile, AddFileSet,
	// AddFileWithRanges, SetReplyFileName) to these directories and their subdirectories:
	// others give E_ACCESSDENIED. The directories must be absolute and clean, with symbolic
	// links resolved.
	LocalRoots []string
	// FilesAs, when not nil, runs do with the file-system rights of owner, a job's owner: every
	// use of a job's local names by path goes through it (the directory check of AddFile,
	// AddFileSet, AddFileWithRanges and SetReplyFileName, the temporary file's creation and
	// reopening, Complete's renames, the removal of temporary files, the reading of a reply), so
	// that a service acting for several users creates, renames and removes a job's files as
	// its owner (BITS does so in the owner's security context: Adding Files to a Job page).
	// Reads and writes through a file already open need no call. An error means do did not
	// run: the operation fails with E_ACCESSDENIED and changes nothing. do must run before
	// FilesAs returns. Without FilesAs, the process's own rights apply.
	FilesAs func(owner Identity, do func()) error
}

// allowsLocal reports whether the local file name is inside one of the LocalRoots. Symbolic links
// in its directory are resolved, so that a link cannot lead outside.
func (e *Env) allowsLocal(name string) bool {
	if len(e.LocalRoots) == 0 {
		return true
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(name))
	if err != nil {
		return false
	}
	for _, root := range e.LocalRoots {
		if dir == root || strings.HasPrefix(dir, root+string(filepath.Separator)) || root == string(filepath.Separator) {
			return true
		}
	}
	return false
}

// ChangeKind says what changed in a job.
type ChangeKind uint8

// The kinds of change a job reports.
const (
	StateChanged    ChangeKind = iota + 1 // the state moved From → To
	PropertyChanged                       // a property changed (Method names the setter)
	FilesAdded                            // files were added (Files is how many)
	FileProgressed                        // bytes were transferred
	OwnerChanged                          // TakeOwnership gave the job a new owner (PrevOwner is the old SID)
	FileCompleted                         // a file finished transferring (File is its index)
	SessionChanged                        // an upload job's session changed (Engine.SetUploadSession)
)

// Change is one change to a job, reported to the Observer after the job's lock is released. Seq
// numbers a job's changes in the order they happened, starting at 1.
type Change struct {
	Job       *Job
	Seq       uint64
	Kind      ChangeKind
	From, To  state.State  // for StateChanged
	Method    state.Method // the call or
	Event     state.Event  // the engine event that caused the change (zero when not an event)
	Files     int          // for FilesAdded
	File      int          // for FileCompleted and FileProgressed: the file's index, -1 for an upload-reply job's reply
	PrevOwner string       // for OwnerChanged
	// Wants says which notifications the job's listeners could take when the change was made:
	// a bitwise OR of WantModification, WantFiles and WantTerminal. The notification engine skips
	// what nobody could take.
	Wants uint8
}

// What a job's listeners could take (Change.Wants).
const (
	WantModification uint8 = 1 << iota // a callback with the JobModification flag
	WantFiles                          // a callback with the FileTransferred flag
	WantTerminal                       // a callback or command line for TRANSFERRED or ERROR
)

// wants computes Change.Wants. Called with the job locked.
func (c *core) wants() uint8 {
	if c.notify&bits.NotifyDisable != 0 {
		return 0
	}
	var w uint8
	if c.callback != nil {
		if c.notify&bits.NotifyJobModification != 0 {
			w |= WantModification
		}
		if c.notify&bits.NotifyFileTransferred != 0 {
			w |= WantFiles
		}
	}
	if (c.callback != nil || c.cmdProgram != "") && c.notify&(bits.NotifyJobTransferred|bits.NotifyJobError) != 0 {
		w |= WantTerminal
	}
	return w
}

// Observer hears about every change to the jobs of an Env but the one Engine.Pick makes, which
// Pick returns to its caller instead. It is called after the job's lock is released, on the
// goroutine that made the change; it may call back into the job.
type Observer interface {
	JobChanged(Change)
}

// Caller is one application's connection to the service: an identity that stays valid until the
// application closes. Job handles carry the Caller they were obtained through.
type Caller struct {
	id     Identity
	closed atomic.Bool
}

// NewCaller returns an open Caller for id.
func NewCaller(id Identity) *Caller { return &Caller{id: id} }

// Identity returns the caller's identity.
func (c *Caller) Identity() Identity { return c.id }

// Close marks the caller closed: every handle obtained through it then fails with
// RPC_E_DISCONNECTED, as a COM proxy does once its application has gone.
func (c *Caller) Close() { c.closed.Store(true) }

// Closed reports whether Close was called.
func (c *Caller) Closed() bool { return c.closed.Load() }

// Job is a caller's handle to a BITS job: IBackgroundCopyJob through IBackgroundCopyJob5 and the
// IBackgroundCopyJobHttpOptions family, as one Go type. Every method checks the caller's access
// (E_ACCESSDENIED for another user's job unless the caller is an administrator), then its
// arguments, then the job state (the rules in package state), then the job type, then the
// limits, and returns the first failure as an *hresult.Error that wraps the HRESULT.
//
// Handles are cheap; several may refer to the same job. All methods are safe for concurrent use.
type Job struct {
	c      *core
	caller *Caller
}

type core struct {
	mu  sync.Mutex
	eng Engine       // the service's side of the job, set once by New
	typ bits.JobType // never changes
	// notifyGen changes, under the lock, with every change that could change the job's
	// NotifyView but its State (a final state excepted); it is read atomically without the
	// lock (Engine.NotifyGen). It is not part of jobState, which a failed change puts back with
	// a plain copy.
	notifyGen uint32
	jobState
}

// jobState is all a job holds but its lock: what a change that could not be kept puts back.
type jobState struct {
	env *Env
	id  uuid.UUID
	seq uint64

	owner    Identity
	st       state.State
	resumed  bool
	name     string
	desc     string
	priority bits.Priority
	notify   uint32
	callback bits.Callback
	cbHandle *Job // the handle that set callback: its caller owns the callback

	retryDelay, noProgress, maxDownload uint32

	// ext holds what most jobs leave at its default; see ext.
	*ext

	created, modified, completed time.Time
	errorCount                   uint32
	errInfo                      *errorRecord
	noProgressSince              time.Time
	// runSpent is the time spent in CONNECTING and TRANSFERRING since the last Resume, up to
	// runSince, when the job last entered one of them.
	runSpent time.Duration
	runSince time.Time

	files []*fileCore

	// reply is an upload-reply job's reply, nil until it starts (upload.go).
	reply *fileCore
}

// ext is the part of a job that most jobs leave as BITS creates it: the notify command line,
// the proxy and HTTP settings, credentials, the reply file name, the ACL and peer-caching
// flags, the IBackgroundCopyJob5 properties and an upload's session. Jobs share one read-only
// ext with every default (defaultExt) until a call changes one of them: the change goes to an
// ext of the job's own (core.own). A job so costs the memory of the settings it uses.
type ext struct {
	cmdProgram string
	cmdParams  string
	cmdCaller  Identity

	proxyUsage  bits.ProxyUsage
	proxyList   string
	proxyBypass string
	creds       []bits.Credentials

	headers          string
	headersWriteOnly bool
	security         uint32
	httpMethod       string
	replyFile        string
	aclFlags         uint32
	peerFlags        uint32
	props            props

	// session is an upload job's session with its server (upload.go).
	session UploadSession
}

// defaultExt is every job's ext until a change: never written.
var defaultExt = ext{props: props{costFlags: defaultCostFlags, minInterval: defaultMinNotificationInterv}}

// own returns the job's own ext, copying the shared default first, for a change. Called with the
// job locked.
func (c *core) own() *ext {
	if c.ext == &defaultExt {
		x := defaultExt
		c.ext = &x
	}
	return c.ext
}

// isDefault reports whether x holds every default, so that a job can share defaultExt instead.
func (x *ext) isDefault() bool {
	d := &defaultExt
	return x.cmdProgram == d.cmdProgram && x.cmdParams == d.cmdParams && x.cmdCaller == d.cmdCaller &&
		x.proxyUsage == d.proxyUsage && x.proxyList == d.proxyList && x.proxyBypass == d.proxyBypass &&
		len(x.creds) == 0 && x.headers == d.headers && x.headersWriteOnly == d.headersWriteOnly &&
		x.security == d.security && x.httpMethod == d.httpMethod && x.replyFile == d.replyFile &&
		x.aclFlags == d.aclFlags && x.peerFlags == d.peerFlags && x.props == d.props &&
		x.session == d.session
}

// New creates a job owned by caller's identity, in state SUSPENDED, with every BITS default. It
// checks the display name and type as CreateJob does; the job-count limits are the manager's.
func New(env *Env, caller *Caller, id uuid.UUID, displayName string, t bits.JobType) (*Job, error) {
	if err := checkNew(displayName, t); err != nil {
		return nil, err
	}
	if env.Clock == nil {
		env.Clock = clock.Real()
	}
	return newCore(env, caller, id, displayName, t, env.Clock.Now()), nil
}

// NewWith is New for a service that keeps a record of its own about each job (SetService): the
// record, a zero S, is made in the job's own allocation and attached to the job, and NewWith
// returns it with the creator's handle.
func NewWith[S any](env *Env, caller *Caller, id uuid.UUID, displayName string, t bits.JobType) (*Job, *S, error) {
	if err := checkNew(displayName, t); err != nil {
		return nil, nil, err
	}
	if env.Clock == nil {
		env.Clock = clock.Real()
	}
	x := new(struct {
		c   core
		svc S
	})
	x.c.init(env, caller, id, displayName, t, env.Clock.Now())
	x.c.eng.svc = &x.svc
	return &x.c.eng.Job, &x.svc, nil
}

// checkNew checks the display name and type of a new job as CreateJob does.
func checkNew(displayName string, t bits.JobType) error {
	if err := checkString("CreateJob", displayName, MaxDisplayName, hresult.E_INVALIDARG); err != nil {
		return err
	}
	if !t.Valid() {
		return &hresult.Error{Op: "CreateJob", Code: hresult.E_INVALIDARG}
	}
	return nil
}

// newCore makes a job with every default, created at now, and returns the creator's handle.
func newCore(env *Env, caller *Caller, id uuid.UUID, displayName string, t bits.JobType, now time.Time) *Job {
	c := new(core)
	c.init(env, caller, id, displayName, t, now)
	return &c.eng.Job // the creator's handle
}

// init makes c, a zero core, a new job with every default, created at now. It sets only the
// fields whose default is not zero, one by one: assigning a whole struct writes every field,
// zero or not, and while the garbage collector marks, each pointer written goes through its
// write barrier (restoring a store of many jobs allocates enough to keep it marking).
func (c *core) init(env *Env, caller *Caller, id uuid.UUID, displayName string, t bits.JobType, now time.Time) {
	c.env = env
	c.id = id
	c.typ = t
	c.owner = caller.id
	c.st = state.Suspended
	c.name = displayName
	c.priority = bits.Normal
	c.notify = bits.DefaultNotifyFlags
	c.retryDelay = DefaultMinimumRetryDelay
	c.noProgress = DefaultNoProgressTimeout
	c.maxDownload = DefaultMaximumDownload
	c.created = now
	c.modified = now
	c.ext = &defaultExt
	c.eng.c, c.eng.caller = c, caller
}

// As returns a handle to the same job for another caller.
func (e *Engine) As(caller *Caller) *Job { return &Job{c: e.c, caller: caller} }

// Same reports whether two handles refer to the same job.
func (e *Engine) Same(other bits.Job) bool {
	o, ok := other.(*Job)
	return ok && o != nil && e.c == o.c
}

// ID returns the job's GUID, without GetId's access check.
func (e *Engine) ID() uuid.UUID { return e.Job.c.id }

// Owner returns the identity of the job's owner without an access check (for the service).
func (e *Engine) Owner() Identity {
	j := &e.Job
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	return j.c.owner
}

// OwnerSID returns the SID of the job's owner without an access check (for the service).
func (e *Engine) OwnerSID() string {
	j := &e.Job
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	return j.c.owner.SID
}

// guid formats the job id as BITS prints GUIDs: upper case, in braces.
func guid(id uuid.UUID) string {
	const hex = "0123456789ABCDEF"
	var b [38]byte
	b[0] = '{'
	p := 1
	for i, x := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[p] = '-'
			p++
		}
		b[p] = hex[x>>4]
		b[p+1] = hex[x&0xF]
		p += 2
	}
	b[37] = '}'
	return string(b[:])
}

// GUIDString formats id as BITS prints it: upper case, in braces.
func GUIDString(id uuid.UUID) string { return guid(id) }

// op is one method call in progress: it holds the job lock and collects the changes to report.
type op struct {
	j      *Job
	name   string
	ev     state.Event // for an engine event: the name is "Fire(event)", made only for an error
	method state.Method
	n      int       // changes held in buf
	buf    [2]Change // the first changes, without an allocation
	more   []Change  // any further changes
	doomed []*fileCore
	saved  *saved // the job before the call, when its changes are to be kept (beginChange)
}

// begin locks the job for a call of method m and checks the caller: a closed caller gets
// RPC_E_DISCONNECTED, and anyone but the owner or an administrator E_ACCESSDENIED (in BITS the
// users who may read a job are the users who may change it). It sets up o, a zero op in the
// caller's frame (an op is a few hundred bytes: returning it would copy it on every call). Unless
// it fails, the caller must call o.end.
func (j *Job) begin(o *op, m state.Method, name string) error {
	if j.caller.Closed() {
		return &hresult.Error{Op: name, Job: guid(j.c.id), Code: hresult.RPC_E_DISCONNECTED}
	}
	j.c.mu.Lock()
	o.j, o.name, o.method = j, name, m
	if !j.c.canAccess(j.caller.id) {
		err := o.fail(hresult.E_ACCESSDENIED)
		o.end()
		return err
	}
	return nil
}

// beginChange is begin for a call that may change the job: when the job's changes are kept
// (Env.Keep), the job is saved first, so that commit can put it back. Unless it fails, the
// caller must call o.commit.
func (j *Job) beginChange(o *op, m state.Method, name string) error {
	if err := j.begin(o, m, name); err != nil {
		return err
	}
	if j.c.env.Keep != nil {
		o.saved = j.c.save()
	}
	return nil
}

// saved is a job as it was before a call, for commit to put back.
type saved struct {
	st    jobState
	ext   ext        // the job's ext, which calls change in place when it is the job's own
	files []fileCore // the job's files, which calls change in place
	reply fileCore   // the reply, which Complete changes in place
}

// save copies the job. Called with the job locked.
func (c *core) save() *saved {
	s := &saved{st: c.jobState, ext: *c.ext, files: make([]fileCore, len(c.files))}
	s.ext.creds = slices.Clone(c.creds)
	for i, fc := range c.files {
		s.files[i] = *fc
	}
	if c.reply != nil {
		s.reply = *c.reply
	}
	return s
}

// restore puts back the job as save found it: files added since are dropped, and the files it
// had (which File handles share) get their old contents. Called with the job locked.
func (c *core) restore(s *saved) {
	c.jobState = s.st
	if c.ext != &defaultExt {
		*c.ext = s.ext // the job's own ext, which calls change in place
	}
	for i, fc := range c.files {
		*fc = s.files[i]
	}
	if c.reply != nil {
		*c.reply = s.reply
	}
}

// commit ends a call begun with beginChange. When the call changed the job and the job's changes
// are kept, the new record goes to Env.Keep first, with the job still locked: if that fails, the
// job is put back as it was, its changes are neither reported nor its doomed temporary files
// removed, and *err becomes the failure, with the call's context, unless the call had failed
// already. Then it ends the call as end does, whose result it returns.
func (o *op) commit(err *error) bool {
	c := o.j.c
	if o.saved != nil && o.n > 0 {
		r := c.record()
		if kerr := c.env.Keep(&r); kerr != nil {
			c.restore(o.saved)
			o.n, o.more, o.doomed = 0, nil, nil
			if *err == nil {
				*err = o.failErr(hresult.Of(kerr), kerr)
			}
		}
	}
	return o.end()
}

func (c *core) canAccess(id Identity) bool { return id.Admin || id.SID == c.owner.SID }

// fail builds the error for the call, with the job and its current state.
func (o *op) fail(code hresult.Code) error {
	return &hresult.Error{Op: o.opName(), Job: guid(o.j.c.id), State: o.j.c.st.String(), Code: code}
}

// failErr is fail with an underlying cause.
func (o *op) failErr(code hresult.Code, cause error) error {
	return &hresult.Error{Op: o.opName(), Job: guid(o.j.c.id), State: o.j.c.st.String(), Code: code, Err: cause}
}

// opName is the call's name, for its error.
func (o *op) opName() string {
	if o.name == "" && o.ev != 0 {
		return "Fire(" + o.ev.String() + ")"
	}
	return o.name
}

// check applies the state rule of the call's method; a failure code becomes the error.
func (o *op) check() (state.Outcome, error) {
	var f state.Facts
	if state.NeedsFacts(o.method, o.j.c.st) {
		f = o.j.c.facts()
	}
	out := state.Check(o.method, o.j.c.st, f)
	if out.Code.Failed() {
		return out, o.fail(out.Code)
	}
	return out, nil
}

// touch records a property change.
func (o *op) touch() {
	c := o.j.c
	c.modified = c.env.Clock.Now()
	o.emit(Change{Kind: PropertyChanged})
}

// move changes the state, recording the change when the state really moves.
func (o *op) move(to state.State, ev state.Event) {
	if to != o.j.c.st {
		o.moveAt(to, ev, o.j.c.env.Clock.Now())
	}
}

// moveAt is move for a caller that read the clock already: now is the time of the change.
func (o *op) moveAt(to state.State, ev state.Event, now time.Time) {
	c := o.j.c
	from := c.st
	if to == from {
		return
	}
	c.st = to
	c.modified = now
	if was, is := state.Running.Has(from), state.Running.Has(to); was != is {
		if is {
			c.runSince = now
		} else {
			c.runSpent += now.Sub(c.runSince)
		}
	}
	switch to {
	case state.Transferring:
		c.errInfo = nil
	case state.Transferred:
		c.completed = now
	}
	o.emit(Change{Kind: StateChanged, From: from, To: to, Event: ev})
}

func (o *op) emit(ch Change) {
	c := o.j.c
	c.seq++
	ch.Seq = c.seq
	ch.Job = o.j
	ch.Wants = c.wants()
	if ch.Method == 0 {
		ch.Method = o.method
	}
	if changesNotifyView(&ch) {
		atomic.AddUint32(&c.notifyGen, 1)
	}
	if o.n < len(o.buf) {
		o.buf[o.n] = ch
		o.n++
		return
	}
	o.more = append(o.more, ch)
}

// changesNotifyView reports whether ch may change the job's NotifyView other than its State
// (Engine.NotifyGen): any change but progress, files, an upload session, a move between live
// states, and the setters of properties the view leaves out. Any setter not listed counts, so
// that a new one errs on the side of a fresh read.
func changesNotifyView(ch *Change) bool {
	switch ch.Kind {
	case FilesAdded, FileProgressed, FileCompleted, SessionChanged:
		return false
	case StateChanged:
		return ch.To.Final()
	case PropertyChanged:
		switch ch.Method {
		case state.SetDescription, state.SetDisplayName, state.SetPriority:
			return false
		}
	}
	return true
}

// end unlocks the job, reports the collected changes to the observer and then removes the
// temporary files the call doomed. It reports whether they all went.
func (o *op) end() bool {
	c := o.j.c
	c.mu.Unlock()
	if obs := c.env.Observer; obs != nil {
		for i := 0; i < o.n; i++ {
			obs.JobChanged(o.buf[i])
		}
		for _, ch := range o.more {
			obs.JobChanged(ch)
		}
	}
	if len(o.doomed) == 0 {
		return true
	}
	return c.removeTemps(o.doomed)
}

// facts describes the job for the state rules.
func (c *core) facts() state.Facts {
	f := state.Facts{
		Files:        len(c.files),
		Upload:       c.typ != bits.Download,
		UploadReply:  c.typ == bits.UploadReply,
		ReplyStarted: c.reply != nil,
		Resumed:      c.resumed,
		HasErrorInfo: c.errInfo != nil,
	}
	for _, fc := range c.files {
		if fc.done {
			f.FilesDone++
		}
	}
	f.RetriesExhausted = c.retriesExhausted()
	return f
}

func (c *core) retriesExhausted() bool {
	if c.noProgress == 0 || c.retryDelay > c.noProgress {
		return true
	}
	if c.noProgressSince.IsZero() {
		return false
	}
	return c.env.Clock.Now().Sub(c.noProgressSince) >= time.Duration(c.noProgress)*time.Second
}

// isNil reports whether v is nil or an interface holding a nil pointer, map, slice, func or chan.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// The handles implement the client surface.
var (
	_ bits.Job   = (*Job)(nil)
	_ bits.File  = (*File)(nil)
	_ bits.Error = (*ErrorInfo)(nil)
)
