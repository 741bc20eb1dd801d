package bits

import (
	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Manager is an application's connection to BITS (IBackgroundCopyManager). The identity it acts
// as is the one it was opened with; jobs it returns act as that identity too.
type Manager interface {
	// CreateJob creates a job in the SUSPENDED state, owned by the caller.
	CreateJob(displayName string, t JobType) (Job, error)
	// GetJob returns the job with the given id. BG_E_NOT_FOUND when there is none, or when it
	// is final (CANCELLED or ACKNOWLEDGED); E_ACCESSDENIED for another user's job unless the
	// caller is an administrator.
	GetJob(id uuid.UUID) (Job, error)
	// EnumJobs enumerates the caller's jobs, or every user's with EnumAllUsers (administrators
	// only). Final jobs are not listed.
	EnumJobs(flags uint32) (JobEnum, error)
	// GetErrorDescription returns the text of an HRESULT in the language lang (0 for the
	// caller's own).
	GetErrorDescription(code hresult.Code, lang uint16) (string, error)
	// Close ends the connection: the handles it gave out stop working and the callbacks it
	// registered are no longer called. Jobs are not affected.
	Close() error
}

// Job is a handle to one BITS job: IBackgroundCopyJob through IBackgroundCopyJob5 and
// IBackgroundCopyJobHttpOptions as one interface. Several handles may refer to one job.
type Job interface {
	// IBackgroundCopyJob.

	AddFileSet(files []FileInfo) error
	AddFile(remoteURL, localName string) error
	EnumFiles() (FileEnum, error)
	Suspend() error
	Resume() error
	Cancel() (hresult.Code, error)
	Complete() (hresult.Code, error)
	GetId() (uuid.UUID, error) //nolint:revive // BITS spelling
	GetType() (JobType, error)
	GetProgress() (Progress, error)
	GetTimes() (Times, error)
	GetState() (state.State, error)
	GetError() (Error, error)
	GetOwner() (string, error)
	SetDisplayName(name string) error
	GetDisplayName() (string, error)
	SetDescription(desc string) error
	GetDescription() (string, error)
	SetPriority(p Priority) error
	GetPriority() (Priority, error)
	SetNotifyFlags(flags uint32) error
	GetNotifyFlags() (uint32, error)
	// SetNotifyInterface registers cb for the job's notifications: one callback per job, the
	// last caller wins, nil removes it. cb may also implement Callback2 and Callback3.
	SetNotifyInterface(cb Callback) error
	GetNotifyInterface() (Callback, error)
	SetMinimumRetryDelay(seconds uint32) error
	GetMinimumRetryDelay() (uint32, error)
	SetNoProgressTimeout(seconds uint32) error
	GetNoProgressTimeout() (uint32, error)
	GetErrorCount() (uint32, error)
	SetProxySettings(usage ProxyUsage, proxyList, bypassList string) error
	GetProxySettings() (ProxySettings, error)
	TakeOwnership() error

	// IBackgroundCopyJob2.

	SetNotifyCmdLine(program, parameters string) error
	GetNotifyCmdLine() (NotifyCmdLine, error)
	GetReplyProgress() (ReplyProgress, error)
	GetReplyData() ([]byte, error)
	SetReplyFileName(name string) error
	GetReplyFileName() (string, error)
	SetCredentials(cr Credentials) error
	RemoveCredentials(target AuthTarget, scheme AuthScheme) (hresult.Code, error)

	// IBackgroundCopyJob3.

	ReplaceRemotePrefix(oldPrefix, newPrefix string) (hresult.Code, error)
	AddFileWithRanges(remoteURL, localName string, ranges []FileRange) error
	SetFileACLFlags(flags uint32) error
	GetFileACLFlags() (uint32, error)

	// IBackgroundCopyJob4.

	SetPeerCachingFlags(flags uint32) error
	GetPeerCachingFlags() (uint32, error)
	GetOwnerIntegrityLevel() (uint32, error)
	GetOwnerElevationState() (bool, error)
	SetMaximumDownloadTime(seconds uint32) error
	GetMaximumDownloadTime() (uint32, error)

	// IBackgroundCopyJob5.

	SetProperty(id PropertyID, v PropertyValue) error
	GetProperty(id PropertyID) (PropertyValue, error)

	// IBackgroundCopyJobHttpOptions (1–3). Client certificates are not part of bitsemu.

	SetCustomHeaders(headers string) error
	// GetCustomHeaders returns the headers, with S_OK, or "" with S_FALSE when none are set.
	GetCustomHeaders() (string, hresult.Code, error)
	SetSecurityFlags(flags uint32) error
	GetSecurityFlags() (uint32, error)
	SetHttpMethod(method string) error //nolint:revive // BITS spelling
	GetHttpMethod() (string, error)    //nolint:revive // BITS spelling
	MakeCustomHeadersWriteOnly() error
}

// File is a handle to one file of a job (IBackgroundCopyFile through IBackgroundCopyFile5).
type File interface {
	GetRemoteName() (string, error)
	GetLocalName() (string, error)
	GetProgress() (FileProgress, error)
	// GetFileRanges returns the file's ranges with S_OK, or nil with S_FALSE when it has none.
	GetFileRanges() ([]FileRange, hresult.Code, error)
	SetRemoteName(remoteURL string) error
	GetTemporaryName() (string, error)
	SetValidationState(valid bool) error
	GetValidationState() (bool, error)
	IsDownloadedFromPeer() (bool, error)
	GetProperty(id uint32) (string, error)
}

// Error is a job's error object (IBackgroundCopyError): what went wrong, where, and for which
// file, as it stood when Job.GetError was called.
type Error interface {
	// GetError returns where the error happened and its HRESULT.
	GetError() (ErrorContext, hresult.Code, error)
	// GetFile returns the file the error concerns; BG_E_FILE_NOT_AVAILABLE when it concerns no
	// single file.
	GetFile() (File, error)
	GetErrorDescription(lang uint16) (string, error)
	GetErrorContextDescription(lang uint16) (string, error)
	GetProtocol() (string, error)
}

// Enum is a COM enumerator (IEnumBackgroundCopyJobs, IEnumBackgroundCopyFiles) over a snapshot
// taken when it was made. Next returns up to n items with S_OK, or fewer with S_FALSE at the
// end; Skip returns S_FALSE when fewer than n items were left.
type Enum[T any] interface {
	Next(n uint32) ([]T, hresult.Code, error)
	Skip(n uint32) (hresult.Code, error)
	Reset() error
	Clone() (Enum[T], error)
	GetCount() (uint32, error)
}

// JobEnum enumerates jobs (IEnumBackgroundCopyJobs).
type JobEnum = Enum[Job]

// FileEnum enumerates a job's files (IEnumBackgroundCopyFiles).
type FileEnum = Enum[File]

// Callback receives a job's notifications (IBackgroundCopyCallback). Implementations are called
// on a goroutine of the backend's, never under its locks, and may call back into the job
// (Complete inside JobTransferred is the usual pattern). A method returns nil for S_OK;
// JobTransferred and JobError are called again later when they fail.
type Callback interface {
	// JobTransferred is called when every file of the job has been transferred.
	JobTransferred(j Job) error
	// JobError is called when the job enters ERROR (never for TRANSIENT_ERROR).
	JobError(j Job, e Error) error
	// JobModification is called when the job's state, progress, files or properties change.
	JobModification(j Job) error
}

// Callback2 is a Callback that also wants to hear of each finished file
// (IBackgroundCopyCallback2).
type Callback2 interface {
	Callback
	// FileTransferred is called when one file of the job has been transferred.
	FileTransferred(j Job, f File) error
}

// Callback3 is a Callback2 that also wants to hear of finished ranges of on-demand jobs
// (IBackgroundCopyCallback3).
type Callback3 interface {
	Callback2
	// FileRangesTransferred is called with the ranges of f transferred since the last call.
	FileRangesTransferred(j Job, f File, ranges []FileRange) error
}

// All returns the items of e from its position to the end, moving e to the end: the whole
// enumeration for a new enumerator.
func All[T any](e Enum[T]) ([]T, error) {
	var out []T
	for {
		items, code, err := e.Next(64)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if code != hresult.S_OK || len(items) == 0 {
			return out, nil
		}
	}
}
