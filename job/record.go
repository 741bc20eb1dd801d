package job

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Record is everything about a job that outlives the service: its properties, files, progress,
// times, error and owner, the notify command line included. The callback is not in it: BITS
// keeps jobs across restarts but not the interface pointers applications registered.
type Record struct {
	ID    uuid.UUID
	Type  bits.JobType
	State state.State
	Seq   uint64 // the number of changes the job had when the record was taken
	Owner Identity

	DisplayName string
	Description string
	Priority    bits.Priority
	NotifyFlags uint32
	CmdProgram  string
	CmdParams   string
	CmdCaller   Identity // who set the command line

	MinimumRetryDelay   uint32 // seconds
	NoProgressTimeout   uint32 // seconds
	MaximumDownloadTime uint32 // seconds

	ProxyUsage  bits.ProxyUsage
	ProxyList   string
	ProxyBypass string
	Credentials []bits.Credentials

	CustomHeaders          string
	CustomHeadersWriteOnly bool
	SecurityFlags          uint32
	HTTPMethod             string // "" for the default verb
	ReplyFileName          string
	FileACLFlags           uint32
	PeerCachingFlags       uint32

	CostFlags                 uint32
	NotificationCLSID         uuid.UUID
	DynamicContent            bool
	HighPerformance           bool
	MaxDownloadSize           uint64
	UseStoredCredentials      bits.AuthTarget
	MinNotificationIntervalMs uint32
	OnDemand                  bool

	Created, Modified, Completed time.Time
	Resumed                      bool
	ErrorCount                   uint32
	Error                        *ErrorRecord // nil when the job holds no error
	NoProgressSince              time.Time    // zero when the no-progress timeout is not running
	DownloadTime                 time.Duration

	Files []FileRecord

	// Session is an upload job's session with its server (zero for downloads and before the
	// first Create-Session), so that a restarted service goes on in it.
	Session UploadSession
	// Reply is an upload-reply job's reply once it has started (Remote is the reply URL, Local
	// the reply file name), nil before and for other job types.
	Reply *FileRecord
}

// ErrorRecord is a job's error in a Record.
type ErrorRecord struct {
	Context  bits.ErrorContext
	Code     hresult.Code
	File     int // index of the file concerned, -1 for none
	Protocol string
}

// FileRecord is one file of a Record.
type FileRecord struct {
	RemoteName      string
	LocalName       string
	Ranges          []bits.FileRange
	BytesTotal      uint64
	BytesDone       uint64 // bytes of the output in the temporary file (on disk, when the job's changes are kept)
	Completed       bool   // all bytes arrived
	Validated       bool
	ValidationSet   bool
	TempName        string // "" until named
	TempCreated     bool   // the temporary file exists and belongs to the job
	Kept            bool   // Complete renamed it to the local name
	Validator       string // the remote file's version as last seen
	ResponseHeaders string
	// TempDevice and TempInode identify the temporary file the job created (its device and
	// inode; on Windows its volume serial number and file index); both 0 when unknown. The
	// temporary file is reopened, renamed or removed only while it is that file.
	TempDevice uint64
	TempInode  uint64
}

// Record returns the job's record as it stands (for the service).
func (e *Engine) Record() Record {
	j := &e.Job
	c := j.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.record()
}

// record is Record, called with the job locked.
func (c *core) record() Record {
	r := Record{
		ID: c.id, Type: c.typ, State: c.st, Seq: c.seq, Owner: c.owner,
		DisplayName: c.name, Description: c.desc, Priority: c.priority, NotifyFlags: c.notify,
		CmdProgram: c.cmdProgram, CmdParams: c.cmdParams, CmdCaller: c.cmdCaller,
		MinimumRetryDelay: c.retryDelay, NoProgressTimeout: c.noProgress, MaximumDownloadTime: c.maxDownload,
		ProxyUsage: c.proxyUsage, ProxyList: c.proxyList, ProxyBypass: c.proxyBypass,
		Credentials:   append([]bits.Credentials(nil), c.creds...),
		CustomHeaders: c.headers, CustomHeadersWriteOnly: c.headersWriteOnly,
		SecurityFlags: c.security, HTTPMethod: c.httpMethod, ReplyFileName: c.replyFile,
		FileACLFlags: c.aclFlags, PeerCachingFlags: c.peerFlags,
		CostFlags: c.props.costFlags, NotificationCLSID: c.props.clsid,
		DynamicContent: c.props.dynamicContent, HighPerformance: c.props.highPerformance,
		MaxDownloadSize: c.props.maxDownloadSize, UseStoredCredentials: c.props.storedCreds,
		MinNotificationIntervalMs: c.props.minInterval, OnDemand: c.props.onDemand,
		Created: c.created, Modified: c.modified, Completed: c.completed,
		Resumed: c.resumed, ErrorCount: c.errorCount, NoProgressSince: c.noProgressSince,
		DownloadTime: c.downloadTime(c.env.Clock.Now()),
		Files:        make([]FileRecord, len(c.files)),
	}
	unsynced := false // a file the job counts as done is not all on disk yet
	for i, fc := range c.files {
		// An upload's progress is what the server acknowledged: nothing to sync.
		r.Files[i] = fc.record(c.env.Keep != nil && c.typ == bits.Download)
		unsynced = unsynced || (fc.done && !r.Files[i].Completed)
	}
	r.Session = c.session
	if c.reply != nil {
		fr := c.reply.record(c.env.Keep != nil)
		r.Reply = &fr
		unsynced = unsynced || (c.reply.done && !fr.Completed)
	}
	if unsynced && r.State == state.Transferred {
		// Until the service synced the last bytes, the record describes the job as a crash of
		// the machine would find it: to be transferred again from what is on disk.
		r.State, r.Completed = state.Queued, time.Time{}
	}
	if e := c.errInfo; e != nil {
		r.Error = &ErrorRecord{Context: e.ctx, Code: e.code, File: -1, Protocol: e.protocol}
		if e.file != nil {
			r.Error.File = slices.Index(c.files, e.file)
		}
	}
	return r
}

// Restore rebuilds a job from its record, as the service does when it starts again. A job that
// was CONNECTING or TRANSFERRING comes back QUEUED, to be scheduled again; every other state is
// kept. The job acts as caller, which should carry the owner's identity. A record that cannot
// describe a job (an undefined state, type or priority, a file index out of range, a final state)
// gives BG_E_DATABASE_CORRUPT, with the reason; manager.Open adds store.ErrCorrupt to it, as to
// every damage it finds in its store.
func Restore(env *Env, caller *Caller, r Record) (*Job, error) {
	j, _, err := restore[struct{}](env, caller, &r, nil, false)
	return j, err
}

// RestoreWith is Restore for a service that keeps a record of its own about each job
// (SetService), as NewWith is New: the record, a zero S, is made in the job's own allocation and
// attached to the job, and RestoreWith returns it with the job. r is not changed.
func RestoreWith[S any](env *Env, caller *Caller, r *Record) (*Job, *S, error) {
	return restore[S](env, caller, r, nil, true)
}

// A Restorer restores many jobs as RestoreWith does, for a service that starts again with a large
// store: it makes its one-file jobs, with their values of type S, RestoreBatch at a time in one
// allocation. The garbage collector marks such batches in about half the time it takes to mark
// as many jobs made one by one (measured with 100,000 jobs), during the restore and in every
// collection after it; in exchange, a job keeps the others of its batch in memory until they
// are all gone. The zero Restorer is ready to use; a Restorer is not safe for concurrent use.
type Restorer[S any] struct {
	batch []oneFileJob[S] // what is left of the last batch
}

// RestoreBatch is the number of one-file jobs a Restorer makes in one allocation.
const RestoreBatch = 8

// oneFileJob is a job with one file and a value of the service's own, made together.
type oneFileJob[S any] struct {
	core
	slot [1]*fileCore
	fc   fileCore
	svc  S
}

// Restore is RestoreWith, the job made in rr's batch when it has one file.
func (rr *Restorer[S]) Restore(env *Env, caller *Caller, r *Record) (*Job, *S, error) {
	return restore(env, caller, r, rr, true)
}

// next returns the next zero job of rr's batch, making a new batch when the last is used up.
func (rr *Restorer[S]) next() *oneFileJob[S] {
	if len(rr.batch) == 0 {
		rr.batch = make([]oneFileJob[S], RestoreBatch)
	}
	o := &rr.batch[0]
	rr.batch = rr.batch[1:]
	return o
}

// restore is RestoreWith, and Restorer.Restore with rr; attach attaches the S to the job.
func restore[S any](env *Env, caller *Caller, r *Record, rr *Restorer[S], attach bool) (*Job, *S, error) {
	kind, err := r.check()
	if err != nil {
		return nil, nil, &hresult.Error{Op: "Restore", Job: guid(r.ID), Code: hresult.BG_E_DATABASE_CORRUPT, Err: err}
	}
	if err := checkString("Restore", r.DisplayName, MaxDisplayName, hresult.E_INVALIDARG); err != nil {
		return nil, nil, &hresult.Error{Op: "Restore", Job: guid(r.ID), Code: hresult.BG_E_DATABASE_CORRUPT, Err: err}
	}
	if env.Clock == nil {
		env.Clock = clock.Real()
	}
	var c *core
	var svc *S
	if len(r.Files) == 1 {
		// Most jobs have one file: it is made in the same allocation too.
		var o *oneFileJob[S]
		if rr != nil {
			o = rr.next()
		} else {
			o = new(oneFileJob[S])
		}
		c, svc = &o.core, &o.svc
		c.init(env, caller, r.ID, r.DisplayName, r.Type, r.Created) // every time is the record's
		r.Files[0].fill(&o.fc, kind)
		o.slot[0] = &o.fc
		c.files = o.slot[:]
	} else {
		o := new(struct {
			core
			svc S
		})
		c, svc = &o.core, &o.svc
		c.init(env, caller, r.ID, r.DisplayName, r.Type, r.Created)
		c.files = make([]*fileCore, len(r.Files))
		for i := range r.Files {
			c.files[i] = r.Files[i].core()
		}
	}
	j := &c.eng.Job
	c.st = r.State
	if state.Running.Has(c.st) {
		c.st = state.Queued
	}
	c.seq = r.Seq
	c.owner = r.Owner
	c.desc, c.priority, c.notify = r.Description, r.Priority, r.NotifyFlags
	c.retryDelay, c.noProgress, c.maxDownload = r.MinimumRetryDelay, r.NoProgressTimeout, r.MaximumDownloadTime
	x := ext{
		cmdProgram: r.CmdProgram, cmdParams: r.CmdParams, cmdCaller: r.CmdCaller,
		proxyUsage: r.ProxyUsage, proxyList: r.ProxyList, proxyBypass: r.ProxyBypass,
		creds:   append([]bits.Credentials(nil), r.Credentials...),
		headers: r.CustomHeaders, headersWriteOnly: r.CustomHeadersWriteOnly,
		security: r.SecurityFlags, httpMethod: r.HTTPMethod, replyFile: r.ReplyFileName,
		aclFlags: r.FileACLFlags, peerFlags: r.PeerCachingFlags,
		props: props{
			costFlags: r.CostFlags, clsid: r.NotificationCLSID, dynamicContent: r.DynamicContent,
			highPerformance: r.HighPerformance, maxDownloadSize: r.MaxDownloadSize,
			storedCreds: r.UseStoredCredentials, minInterval: r.MinNotificationIntervalMs, onDemand: r.OnDemand,
		},
		session: r.Session,
	}
	if !x.isDefault() {
		c.ext = new(ext) // only then: most jobs keep sharing the default
		*c.ext = x
	}
	c.created, c.modified, c.completed = r.Created, r.Modified, r.Completed
	c.resumed, c.errorCount, c.noProgressSince = r.Resumed, r.ErrorCount, r.NoProgressSince
	c.runSpent = r.DownloadTime
	if r.Reply != nil {
		c.reply = r.Reply.core()
	}
	if e := r.Error; e != nil {
		c.errInfo = &errorRecord{ctx: e.Context, code: e.Code, protocol: e.Protocol}
		if e.File >= 0 {
			c.errInfo.file = c.files[e.File]
		}
	}
	if attach {
		c.eng.svc = svc
	}
	return j, svc, nil
}

// record is the file's part of a Record. With kept (Env.Keep, a download's file or a reply), a
// file claims only the bytes on disk (FileSynced): one still transferring, and one whose last
// bytes are not synced yet, which the record describes as still transferring (not completed,
// not renamed by Complete).
func (fc *fileCore) record(kept bool) FileRecord {
	done, completed, renamed := fc.transferred, fc.done, fc.kept
	if kept && fc.durable < done {
		done, completed, renamed = fc.durable, false, false
	}
	return FileRecord{
		RemoteName: fc.remote, LocalName: fc.local, Ranges: append([]bits.FileRange(nil), fc.ranges...),
		BytesTotal: fc.total, BytesDone: done, Completed: completed,
		Validated: fc.validated && completed, ValidationSet: fc.validationSet && completed,
		TempName: fc.tempName, TempCreated: fc.tempCreated, Kept: renamed,
		Validator: fc.validator, ResponseHeaders: fc.headers,
		TempDevice: fc.tempID.dev, TempInode: fc.tempID.ino,
	}
}

// core rebuilds a file from its record.
func (f *FileRecord) core() *fileCore {
	fc := new(fileCore)
	kind, _ := parseRemote(f.RemoteName)
	f.fill(fc, kind)
	return fc
}

// fill rebuilds a file from its record into fc, a zero fileCore; kind is what parseRemote says
// of its remote name. It sets the fields one by one (see core.init).
func (f *FileRecord) fill(fc *fileCore, kind remoteKind) {
	fc.remote, fc.local, fc.kind = f.RemoteName, f.LocalName, kind
	if f.Ranges != nil {
		fc.ranges = append([]bits.FileRange(nil), f.Ranges...)
	}
	fc.total, fc.transferred, fc.durable, fc.done = f.BytesTotal, f.BytesDone, f.BytesDone, f.Completed
	fc.validated, fc.validationSet = f.Validated, f.ValidationSet
	fc.tempName, fc.tempCreated, fc.kept = f.TempName, f.TempCreated, f.Kept
	fc.validator, fc.headers = f.Validator, f.ResponseHeaders
	fc.tempID = fileID{dev: f.TempDevice, ino: f.TempInode}
}

// check reports why a record cannot describe a live job, or nil, and the kind of its first
// file's remote name.
func (r *Record) check() (first remoteKind, err error) {
	switch {
	case r.ID == uuid.Nil:
		return 0, fmt.Errorf("no job id")
	case !r.Type.Valid():
		return 0, fmt.Errorf("undefined job type %d", r.Type)
	case r.State > state.Cancelled:
		return 0, fmt.Errorf("undefined state %d", r.State)
	case r.State.Final():
		return 0, fmt.Errorf("a %v job is not kept", r.State)
	case !r.Priority.Valid():
		return 0, fmt.Errorf("undefined priority %d", r.Priority)
	case r.Owner.SID == "":
		return 0, fmt.Errorf("no owner")
	case r.Type != bits.Download && len(r.Files) > 1:
		return 0, fmt.Errorf("an upload job with %d files", len(r.Files))
	case r.Error != nil && (r.Error.File < -1 || r.Error.File >= len(r.Files)):
		return 0, fmt.Errorf("error of file %d of %d", r.Error.File, len(r.Files))
	case r.Error != nil && !r.Error.Code.Failed():
		return 0, fmt.Errorf("error code %v is not a failure", r.Error.Code)
	case r.Type == bits.Download && r.Session != (UploadSession{}):
		return 0, fmt.Errorf("a download job with an upload session")
	case r.Reply != nil && r.Type != bits.UploadReply:
		return 0, fmt.Errorf("a reply in a %v job", r.Type)
	case r.Reply != nil && (len(r.Files) == 0 || r.Reply.LocalName == ""):
		return 0, fmt.Errorf("a reply without an upload file or a reply file name")
	case r.Reply != nil && r.Reply.BytesTotal != bits.SizeUnknown && r.Reply.BytesDone > r.Reply.BytesTotal:
		return 0, fmt.Errorf("reply: %d of %d bytes", r.Reply.BytesDone, r.Reply.BytesTotal)
	}
	for i, f := range r.Files {
		kind, ok := parseRemote(f.RemoteName)
		if !ok {
			return 0, fmt.Errorf("file %d: bad remote name %q", i, f.RemoteName)
		}
		if i == 0 {
			first = kind
		}
		if f.LocalName == "" {
			return 0, fmt.Errorf("file %d: no local name", i)
		}
		if f.BytesTotal != bits.SizeUnknown && f.BytesDone > f.BytesTotal {
			return 0, fmt.Errorf("file %d: %d of %d bytes", i, f.BytesDone, f.BytesTotal)
		}
	}
	return first, nil
}
