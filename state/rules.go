package state

import (
	"fmt"
	"strings"

	"github.com/bitsemu/bitsemu/hresult"
)

// Unchanged, as a case's target, means the call leaves the job in the state it was in.
const Unchanged State = 0xFF

// Cond is a set of facts about a job, beyond its state, that a rule can depend on.
type Cond uint16

// The conditions a rule may test. Facts.Conds computes them for one job.
const (
	NoFiles      Cond = 1 << iota // the job has no files
	FilesPending                  // at least one of the job's files has not finished transferring
	UploadJob                     // the job is an UPLOAD or UPLOAD_REPLY job
	NotReplyJob                   // the job is not an UPLOAD_REPLY job
	ReplyStarted                  // the download of the upload-reply's reply has begun
	Resumed                       // Resume has succeeded at least once on the job
	FileNotDone                   // (file methods) the file has not finished transferring
	NoErrorInfo                   // the job holds no error record
	NoRetry                       // no-progress timeout is 0, is shorter than the retry delay, or has run out
)

var condNames = []string{
	"no files", "files pending", "upload job", "not upload-reply", "reply started",
	"resumed before", "file not done", "no error record", "no retry",
}

// String names the conditions in c, joined by " and ".
func (c Cond) String() string {
	if c == 0 {
		return "always"
	}
	var parts []string
	for i, n := range condNames {
		if c&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, " and ")
}

// Facts describes a job beyond its state, for evaluating rule conditions.
type Facts struct {
	Files            int  // number of files in the job
	FilesDone        int  // number of files whose transfer has finished
	Upload           bool // UPLOAD or UPLOAD_REPLY job
	UploadReply      bool // UPLOAD_REPLY job
	ReplyStarted     bool // the reply download has begun
	Resumed          bool // Resume has succeeded at least once
	FileTransferred  bool // for file methods: the file has finished transferring
	HasErrorInfo     bool // the job holds an error record
	RetriesExhausted bool // a transient error must become fatal (see NoRetry)
}

// Conds returns the conditions that hold for f.
func (f Facts) Conds() Cond {
	var c Cond
	if f.Files == 0 {
		c |= NoFiles
	}
	if f.FilesDone < f.Files {
		c |= FilesPending
	}
	if f.Upload || f.UploadReply {
		c |= UploadJob
	}
	if !f.UploadReply {
		c |= NotReplyJob
	}
	if f.ReplyStarted {
		c |= ReplyStarted
	}
	if f.Resumed {
		c |= Resumed
	}
	if !f.FileTransferred {
		c |= FileNotDone
	}
	if !f.HasErrorInfo {
		c |= NoErrorInfo
	}
	if f.RetriesExhausted {
		c |= NoRetry
	}
	return c
}

// Case is one line of a rule: in the states From, when every condition in When holds, the call
// returns Code and moves the job To.
type Case struct {
	From Set
	When Cond
	Code hresult.Code
	To   State // Unchanged when the call does not change the state
}

// Outcome is what a rule decides for one call.
type Outcome struct {
	Code hresult.Code // S_OK, another success code, or the failure to return
	To   State        // the state after the call (equal to the state before when unchanged)
}

// Rule is the state contract of one job method: its cases, tried in order; the first that
// matches decides.
type Rule struct {
	Method Method
	Cases  []Case
	Note   string // what the table cannot say (file-system results and the like)
	Source string // the Microsoft reference page(s) the rule comes from; "decision" when BITS is silent
}

// Method identifies a BITS job (or file) method whose availability depends on the job state.
type Method uint8

// The job and file methods, named as BITS names them.
const (
	AddFileSet Method = iota + 1
	AddFile
	EnumFiles
	Suspend
	Resume
	Cancel
	Complete
	GetId //nolint:revive // BITS spelling
	GetType
	GetProgress
	GetTimes
	GetState
	GetError
	GetOwner
	SetDisplayName
	GetDisplayName
	SetDescription
	GetDescription
	SetPriority
	GetPriority
	SetNotifyFlags
	GetNotifyFlags
	SetNotifyInterface
	GetNotifyInterface
	SetMinimumRetryDelay
	GetMinimumRetryDelay
	SetNoProgressTimeout
	GetNoProgressTimeout
	GetErrorCount
	SetProxySettings
	GetProxySettings
	TakeOwnership
	SetNotifyCmdLine
	GetNotifyCmdLine
	GetReplyProgress
	GetReplyData
	SetReplyFileName
	GetReplyFileName
	SetCredentials
	RemoveCredentials
	ReplaceRemotePrefix
	AddFileWithRanges
	SetFileACLFlags
	GetFileACLFlags
	SetPeerCachingFlags
	GetPeerCachingFlags
	GetOwnerIntegrityLevel
	GetOwnerElevationState
	SetMaximumDownloadTime
	GetMaximumDownloadTime
	SetProperty
	GetProperty
	SetCustomHeaders
	GetCustomHeaders
	SetSecurityFlags
	GetSecurityFlags
	SetHttpMethod //nolint:revive // BITS spelling
	GetHttpMethod //nolint:revive // BITS spelling
	MakeCustomHeadersWriteOnly
	FileSetRemoteName
	FileSetValidationState
	methodEnd
)

var methodNames = [...]string{
	AddFileSet: "AddFileSet", AddFile: "AddFile", EnumFiles: "EnumFiles", Suspend: "Suspend",
	Resume: "Resume", Cancel: "Cancel", Complete: "Complete", GetId: "GetId", GetType: "GetType",
	GetProgress: "GetProgress", GetTimes: "GetTimes", GetState: "GetState", GetError: "GetError",
	GetOwner: "GetOwner", SetDisplayName: "SetDisplayName", GetDisplayName: "GetDisplayName",
	SetDescription: "SetDescription", GetDescription: "GetDescription", SetPriority: "SetPriority",
	GetPriority: "GetPriority", SetNotifyFlags: "SetNotifyFlags", GetNotifyFlags: "GetNotifyFlags",
	SetNotifyInterface: "SetNotifyInterface", GetNotifyInterface: "GetNotifyInterface",
	SetMinimumRetryDelay: "SetMinimumRetryDelay", GetMinimumRetryDelay: "GetMinimumRetryDelay",
	SetNoProgressTimeout: "SetNoProgressTimeout", GetNoProgressTimeout: "GetNoProgressTimeout",
	GetErrorCount: "GetErrorCount", SetProxySettings: "SetProxySettings",
	GetProxySettings: "GetProxySettings", TakeOwnership: "TakeOwnership",
	SetNotifyCmdLine: "SetNotifyCmdLine", GetNotifyCmdLine: "GetNotifyCmdLine",
	GetReplyProgress: "GetReplyProgress", GetReplyData: "GetReplyData",
	SetReplyFileName: "SetReplyFileName", GetReplyFileName: "GetReplyFileName",
	SetCredentials: "SetCredentials", RemoveCredentials: "RemoveCredentials",
	ReplaceRemotePrefix: "ReplaceRemotePrefix", AddFileWithRanges: "AddFileWithRanges",
	SetFileACLFlags: "SetFileACLFlags", GetFileACLFlags: "GetFileACLFlags",
	SetPeerCachingFlags: "SetPeerCachingFlags", GetPeerCachingFlags: "GetPeerCachingFlags",
	GetOwnerIntegrityLevel: "GetOwnerIntegrityLevel", GetOwnerElevationState: "GetOwnerElevationState",
	SetMaximumDownloadTime: "SetMaximumDownloadTime", GetMaximumDownloadTime: "GetMaximumDownloadTime",
	SetProperty: "SetProperty", GetProperty: "GetProperty", SetCustomHeaders: "SetCustomHeaders",
	GetCustomHeaders: "GetCustomHeaders", SetSecurityFlags: "SetSecurityFlags",
	GetSecurityFlags: "GetSecurityFlags", SetHttpMethod: "SetHttpMethod", GetHttpMethod: "GetHttpMethod",
	MakeCustomHeadersWriteOnly: "MakeCustomHeadersWriteOnly",
	FileSetRemoteName:          "File.SetRemoteName", FileSetValidationState: "File.SetValidationState",
}

// String returns the BITS method name; file methods are prefixed "File.".
func (m Method) String() string {
	if m > 0 && m < methodEnd {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// Shared case lists.
var (
	anyState = []Case{{From: All, Code: hresult.S_OK, To: Unchanged}}
	liveOnly = []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}
	replyOnly = []Case{
		{From: All, When: NotReplyJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: All, Code: hresult.S_OK, To: Unchanged},
	}
)

const (
	pgLifeCycle = "life-cycle-of-a-bits-job"
	pgJob       = "IBackgroundCopyJob::"
)

// methods is the method/state contract, one rule per method, in BITS's vtable order. It is the
// single source of truth: the job package enforces it through Check, and Render prints it. It is
// unexported so that nothing can change the rules of every job in the process; Methods and
// RuleFor hand out copies.
var methods = []Rule{
	{Method: AddFileSet, Cases: liveOnly, Source: "IBackgroundCopyJob::AddFileSet; decision for final states"},
	{Method: AddFile, Cases: liveOnly, Source: "IBackgroundCopyJob::AddFile; decision for final states"},
	{Method: EnumFiles, Cases: anyState, Source: pgJob + "EnumFiles"},
	{Method: Suspend, Source: pgJob + "Suspend; " + pgLifeCycle, Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Of(Suspended), Code: hresult.S_OK, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Suspended},
	}},
	{Method: Resume, Source: pgJob + "Resume; " + pgLifeCycle + "; decision for TRANSFERRED", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: NoFiles, Code: hresult.BG_E_EMPTY, To: Unchanged},
		{From: Of(Queued, Connecting, Transferring), Code: hresult.S_OK, To: Unchanged},
		{From: Of(Transferred), When: FilesPending, Code: hresult.S_OK, To: Queued},
		{From: Of(Transferred), Code: hresult.S_OK, To: Unchanged},
		{From: Of(Suspended, Error, TransientError), Code: hresult.S_OK, To: Queued},
	}},
	{Method: Cancel, Source: pgJob + "Cancel",
		Note: "BG_S_UNABLE_TO_DELETE_FILES instead of S_OK when a temporary file cannot be deleted",
		Cases: []Case{
			{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
			{From: Live, Code: hresult.S_OK, To: Cancelled},
		}},
	{Method: Complete, Source: pgJob + "Complete; completing-and-canceling-a-job",
		Note: "a failed rename returns its error and leaves the job TRANSFERRED; " +
			"BG_S_UNABLE_TO_DELETE_FILES when a temporary file cannot be deleted",
		Cases: []Case{
			{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
			{From: Live &^ Of(Transferred), When: UploadJob, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
			{From: Of(Transferred), When: UploadJob, Code: hresult.S_OK, To: Acknowledged},
			{From: Live, When: FilesPending, Code: hresult.BG_S_PARTIAL_COMPLETE, To: Acknowledged},
			{From: Live, Code: hresult.S_OK, To: Acknowledged},
		}},
	{Method: GetId, Cases: anyState, Source: pgJob + "GetId; decision for final states"},
	{Method: GetType, Cases: anyState, Source: pgJob + "GetType"},
	{Method: GetProgress, Cases: anyState, Source: pgJob + "GetProgress"},
	{Method: GetTimes, Cases: anyState, Source: pgJob + "GetTimes"},
	{Method: GetState, Cases: anyState, Source: pgJob + "GetState"},
	{Method: GetError, Source: pgJob + "GetError",
		Note: "the error record is kept from the move into ERROR or TRANSIENT_ERROR until the job next enters TRANSFERRING",
		Cases: []Case{
			{From: All, When: NoErrorInfo, Code: hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, To: Unchanged},
			{From: All, Code: hresult.S_OK, To: Unchanged},
		}},
	{Method: GetOwner, Cases: anyState, Source: pgJob + "GetOwner"},
	{Method: SetDisplayName, Cases: liveOnly, Source: pgJob + "SetDisplayName"},
	{Method: GetDisplayName, Cases: anyState, Source: pgJob + "GetDisplayName"},
	{Method: SetDescription, Cases: liveOnly, Source: pgJob + "SetDescription"},
	{Method: GetDescription, Cases: anyState, Source: pgJob + "GetDescription"},
	{Method: SetPriority, Cases: liveOnly, Source: pgJob + "SetPriority"},
	{Method: GetPriority, Cases: anyState, Source: pgJob + "GetPriority"},
	{Method: SetNotifyFlags, Cases: liveOnly, Source: pgJob + "SetNotifyFlags"},
	{Method: GetNotifyFlags, Cases: anyState, Source: pgJob + "GetNotifyFlags"},
	{Method: SetNotifyInterface, Cases: liveOnly, Source: pgJob + "SetNotifyInterface (nil included)"},
	{Method: GetNotifyInterface, Cases: anyState, Source: pgJob + "GetNotifyInterface"},
	{Method: SetMinimumRetryDelay, Cases: liveOnly, Source: pgJob + "SetMinimumRetryDelay"},
	{Method: GetMinimumRetryDelay, Cases: anyState, Source: pgJob + "GetMinimumRetryDelay"},
	{Method: SetNoProgressTimeout, Cases: liveOnly, Source: pgJob + "SetNoProgressTimeout"},
	{Method: GetNoProgressTimeout, Cases: anyState, Source: pgJob + "GetNoProgressTimeout"},
	{Method: GetErrorCount, Cases: anyState, Source: pgJob + "GetErrorCount"},
	{Method: SetProxySettings, Cases: liveOnly, Source: pgJob + "SetProxySettings"},
	{Method: GetProxySettings, Cases: anyState, Source: pgJob + "GetProxySettings"},
	{Method: TakeOwnership, Cases: liveOnly, Source: pgJob + "TakeOwnership"},
	{Method: SetNotifyCmdLine, Cases: liveOnly, Source: "IBackgroundCopyJob2::SetNotifyCmdLine"},
	{Method: GetNotifyCmdLine, Cases: anyState, Source: "IBackgroundCopyJob2::GetNotifyCmdLine"},
	{Method: GetReplyProgress, Cases: replyOnly, Source: "IBackgroundCopyJob2::GetReplyProgress"},
	{Method: GetReplyData, Source: "IBackgroundCopyJob2::GetReplyData; decision for ACKNOWLEDGED", Cases: []Case{
		{From: All, When: NotReplyJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: Of(Transferred, Acknowledged), Code: hresult.S_OK, To: Unchanged},
		{From: All, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
	}},
	{Method: SetReplyFileName, Source: "IBackgroundCopyJob2::SetReplyFileName", Cases: []Case{
		{From: All, When: NotReplyJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: ReplyStarted, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: GetReplyFileName, Cases: replyOnly, Source: "IBackgroundCopyJob2::GetReplyFileName"},
	{Method: SetCredentials, Cases: liveOnly, Source: "IBackgroundCopyJob2::SetCredentials; decision for final states"},
	{Method: RemoveCredentials, Cases: liveOnly, Source: "IBackgroundCopyJob2::RemoveCredentials; decision for final states"},
	{Method: ReplaceRemotePrefix, Source: "IBackgroundCopyJob3::ReplaceRemotePrefix", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: UploadJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: AddFileWithRanges, Source: "IBackgroundCopyJob3::AddFileWithRanges", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: UploadJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: SetFileACLFlags, Source: "IBackgroundCopyJob3::SetFileACLFlags", Cases: []Case{
		{From: FinalStates | Of(Transferred), Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: GetFileACLFlags, Cases: anyState, Source: "IBackgroundCopyJob3::GetFileACLFlags"},
	{Method: SetPeerCachingFlags, Cases: liveOnly, Source: "IBackgroundCopyJob4::SetPeerCachingFlags; decision for final states"},
	{Method: GetPeerCachingFlags, Cases: anyState, Source: "IBackgroundCopyJob4::GetPeerCachingFlags"},
	{Method: GetOwnerIntegrityLevel, Cases: anyState, Source: "IBackgroundCopyJob4::GetOwnerIntegrityLevel"},
	{Method: GetOwnerElevationState, Cases: anyState, Source: "IBackgroundCopyJob4::GetOwnerElevationState"},
	{Method: SetMaximumDownloadTime, Cases: liveOnly, Source: "IBackgroundCopyJob4::SetMaximumDownloadTime; decision for final states"},
	{Method: GetMaximumDownloadTime, Cases: anyState, Source: "IBackgroundCopyJob4::GetMaximumDownloadTime"},
	{Method: SetProperty, Cases: liveOnly, Source: "IBackgroundCopyJob5::SetProperty; per-property rules in job.Properties"},
	{Method: GetProperty, Cases: anyState, Source: "IBackgroundCopyJob5::GetProperty"},
	{Method: SetCustomHeaders, Cases: liveOnly, Source: "IBackgroundCopyJobHttpOptions::SetCustomHeaders"},
	{Method: GetCustomHeaders, Cases: anyState, Source: "IBackgroundCopyJobHttpOptions::GetCustomHeaders"},
	{Method: SetSecurityFlags, Cases: liveOnly, Source: "IBackgroundCopyJobHttpOptions::SetSecurityFlags; decision for final states"},
	{Method: GetSecurityFlags, Cases: anyState, Source: "IBackgroundCopyJobHttpOptions::GetSecurityFlags"},
	{Method: SetHttpMethod, Source: "IBackgroundCopyJobHttpOptions2::SetHttpMethod; code is a decision", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: Resumed, Code: hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: GetHttpMethod, Cases: anyState, Source: "IBackgroundCopyJobHttpOptions2::GetHttpMethod"},
	{Method: MakeCustomHeadersWriteOnly, Cases: anyState, Source: "IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly"},
	{Method: FileSetRemoteName, Source: "IBackgroundCopyFile2::SetRemoteName", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: UploadJob, Code: hresult.E_NOTIMPL, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
	{Method: FileSetValidationState, Source: "IBackgroundCopyFile3::SetValidationState", Cases: []Case{
		{From: FinalStates, Code: hresult.BG_E_INVALID_STATE, To: Unchanged},
		{From: Live, When: FileNotDone, Code: hresult.E_PENDING, To: Unchanged},
		{From: Live, Code: hresult.S_OK, To: Unchanged},
	}},
}

var ruleIndex = func() [methodEnd]*Rule {
	var idx [methodEnd]*Rule
	for i := range methods {
		r := &methods[i]
		if idx[r.Method] != nil {
			panic("state: two rules for " + r.Method.String())
		}
		idx[r.Method] = r
	}
	for m := Method(1); m < methodEnd; m++ {
		if idx[m] == nil {
			panic("state: no rule for " + m.String())
		}
	}
	return idx
}()

// Methods returns a copy of the method/state contract, one rule per method, in BITS's vtable
// order. Changing the copy changes nothing else.
func Methods() []Rule {
	out := make([]Rule, len(methods))
	for i := range methods {
		out[i] = methods[i].clone()
	}
	return out
}

// RuleFor returns a copy of the rule for m, and false when m is not a known method.
func RuleFor(m Method) (Rule, bool) {
	r := ruleFor(m)
	if r == nil {
		return Rule{}, false
	}
	return r.clone(), true
}

// ruleFor returns the rule for m, or nil when m is not a known method.
func ruleFor(m Method) *Rule {
	if m == 0 || m >= methodEnd {
		return nil
	}
	return ruleIndex[m]
}

// clone copies the rule, its cases included.
func (r *Rule) clone() Rule {
	c := *r
	c.Cases = append([]Case(nil), r.Cases...)
	return c
}

// Decide applies the rule to a call made in state from with the given facts: the first case
// whose states include from and whose conditions all hold decides. The returned Outcome.To is
// from itself when the case leaves the state unchanged.
func (r *Rule) Decide(from State, f Facts) Outcome {
	conds := f.Conds()
	for _, c := range r.Cases {
		if c.From.Has(from) && conds&c.When == c.When {
			to := c.To
			if to == Unchanged {
				to = from
			}
			return Outcome{Code: c.Code, To: to}
		}
	}
	// Every rule ends with cases that cover all states; reaching here means an invalid state.
	return Outcome{Code: hresult.E_UNEXPECTED, To: from}
}

// factsRead holds, for each method, the states in which its rule reads the facts: the first case
// whose states include the state has conditions. In the others the outcome is the same for any
// facts.
var factsRead = func() (read [methodEnd]Set) {
	for m := Method(1); m < methodEnd; m++ {
		for st := State(0); st < Count; st++ {
			for _, c := range ruleIndex[m].Cases {
				if c.From.Has(st) {
					if c.When != 0 {
						read[m] |= 1 << st
					}
					break
				}
			}
		}
	}
	return read
}()

// factsFree holds, for each method and each state where its rule does not read the facts
// (factsRead), the rule's outcome, so that Check need not go through the cases.
var factsFree = func() (out [methodEnd][Count]Outcome) {
	for m := Method(1); m < methodEnd; m++ {
		for st := State(0); st < Count; st++ {
			out[m][st] = ruleIndex[m].Decide(st, Facts{})
		}
	}
	return out
}()

// NeedsFacts reports whether Check of method m in state from depends on the facts it is given.
// When it does not, any Facts (the zero value) give the same Outcome, and a caller can skip
// gathering them.
func NeedsFacts(m Method, from State) bool {
	return m != 0 && m < methodEnd && factsRead[m].Has(from)
}

// Check decides a call of method m made in state from, with facts f.
func Check(m Method, from State, f Facts) Outcome {
	r := ruleFor(m)
	if r == nil {
		return Outcome{Code: hresult.E_NOTIMPL, To: from}
	}
	if from < Count && !factsRead[m].Has(from) {
		return factsFree[m][from]
	}
	return r.Decide(from, f)
}
