package bits

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// JobType is a BG_JOB_TYPE value.
type JobType uint32

// The BG_JOB_TYPE values (ne-bits-bg_job_type).
const (
	Download    JobType = 0 // BG_JOB_TYPE_DOWNLOAD
	Upload      JobType = 1 // BG_JOB_TYPE_UPLOAD: exactly one file, sent to the server
	UploadReply JobType = 2 // BG_JOB_TYPE_UPLOAD_REPLY: an upload whose server reply is downloaded
)

// String returns the BITS name without the BG_JOB_TYPE_ prefix.
func (t JobType) String() string {
	switch t {
	case Download:
		return "DOWNLOAD"
	case Upload:
		return "UPLOAD"
	case UploadReply:
		return "UPLOAD_REPLY"
	}
	return fmt.Sprintf("BG_JOB_TYPE(%d)", uint32(t))
}

// Valid reports whether t is a defined job type.
func (t JobType) Valid() bool { return t <= UploadReply }

// Priority is a BG_JOB_PRIORITY value. Lower values run first.
type Priority uint32

// The BG_JOB_PRIORITY values (ne-bits-bg_job_priority).
const (
	Foreground Priority = 0 // BG_JOB_PRIORITY_FOREGROUND: runs at once, competing with other traffic
	High       Priority = 1 // BG_JOB_PRIORITY_HIGH
	Normal     Priority = 2 // BG_JOB_PRIORITY_NORMAL: the default
	Low        Priority = 3 // BG_JOB_PRIORITY_LOW
)

// String returns the BITS name without the BG_JOB_PRIORITY_ prefix.
func (p Priority) String() string {
	switch p {
	case Foreground:
		return "FOREGROUND"
	case High:
		return "HIGH"
	case Normal:
		return "NORMAL"
	case Low:
		return "LOW"
	}
	return fmt.Sprintf("BG_JOB_PRIORITY(%d)", uint32(p))
}

// Valid reports whether p is a defined priority.
func (p Priority) Valid() bool { return p <= Low }

// ErrorContext is a BG_ERROR_CONTEXT value: where an error happened.
type ErrorContext uint32

// The BG_ERROR_CONTEXT values (ne-bits-bg_error_context).
const (
	ContextNone                      ErrorContext = 0
	ContextUnknown                   ErrorContext = 1
	ContextGeneralQueueManager       ErrorContext = 2
	ContextQueueManagerNotification  ErrorContext = 3
	ContextLocalFile                 ErrorContext = 4
	ContextRemoteFile                ErrorContext = 5
	ContextGeneralTransport          ErrorContext = 6
	ContextRemoteApplication         ErrorContext = 7
	ContextServerCertificateCallback ErrorContext = 8
)

var contextNames = [...]string{"NONE", "UNKNOWN", "GENERAL_QUEUE_MANAGER", "QUEUE_MANAGER_NOTIFICATION",
	"LOCAL_FILE", "REMOTE_FILE", "GENERAL_TRANSPORT", "REMOTE_APPLICATION", "SERVER_CERTIFICATE_CALLBACK"}

// String returns the BITS name without the BG_ERROR_CONTEXT_ prefix.
func (c ErrorContext) String() string {
	if int(c) < len(contextNames) {
		return contextNames[c]
	}
	return fmt.Sprintf("BG_ERROR_CONTEXT(%d)", uint32(c))
}

// ProxyUsage is a BG_JOB_PROXY_USAGE value.
type ProxyUsage uint32

// The BG_JOB_PROXY_USAGE values (ne-bits-bg_job_proxy_usage).
const (
	ProxyPreconfig  ProxyUsage = 0 // use the user's configured proxy (in bitsemu: the environment's)
	ProxyNoProxy    ProxyUsage = 1 // connect directly
	ProxyOverride   ProxyUsage = 2 // use the job's own proxy list
	ProxyAutodetect ProxyUsage = 3 // detect the proxy automatically
)

// String returns the BITS name without the BG_JOB_PROXY_USAGE_ prefix.
func (u ProxyUsage) String() string {
	switch u {
	case ProxyPreconfig:
		return "PRECONFIG"
	case ProxyNoProxy:
		return "NO_PROXY"
	case ProxyOverride:
		return "OVERRIDE"
	case ProxyAutodetect:
		return "AUTODETECT"
	}
	return fmt.Sprintf("BG_JOB_PROXY_USAGE(%d)", uint32(u))
}

// AuthTarget is a BG_AUTH_TARGET value.
type AuthTarget uint32

// The BG_AUTH_TARGET values (ne-bits1_5-bg_auth_target).
const (
	TargetServer AuthTarget = 1
	TargetProxy  AuthTarget = 2
)

// AuthScheme is a BG_AUTH_SCHEME value.
type AuthScheme uint32

// The BG_AUTH_SCHEME values (ne-bits1_5-bg_auth_scheme).
const (
	SchemeBasic     AuthScheme = 1
	SchemeDigest    AuthScheme = 2
	SchemeNTLM      AuthScheme = 3
	SchemeNegotiate AuthScheme = 4
	SchemePassport  AuthScheme = 5
)

// Notify flags for SetNotifyFlags (BG_NOTIFY_*).
const (
	NotifyJobTransferred        uint32 = 0x0001 // call JobTransferred (and the command line) when the job is TRANSFERRED
	NotifyJobError              uint32 = 0x0002 // call JobError (and the command line) when the job enters ERROR
	NotifyDisable               uint32 = 0x0004 // no notifications at all; the other bits are ignored
	NotifyJobModification       uint32 = 0x0008 // call JobModification on changes
	NotifyFileTransferred       uint32 = 0x0010 // call FileTransferred as each file finishes
	NotifyFileRangesTransferred uint32 = 0x0020 // call FileRangesTransferred (on-demand jobs)
	// DefaultNotifyFlags is a new job's notify flags: JobTransferred and JobError.
	DefaultNotifyFlags = NotifyJobTransferred | NotifyJobError
)

// Security flags for SetSecurityFlags (BG_SSL_* and BG_HTTP_REDIRECT_POLICY_*).
const (
	SSLEnableCRLCheck              uint32 = 0x0001
	SSLIgnoreCertCNInvalid         uint32 = 0x0002
	SSLIgnoreCertDateInvalid       uint32 = 0x0004
	SSLIgnoreUnknownCA             uint32 = 0x0008
	SSLIgnoreCertWrongUsage        uint32 = 0x0010
	RedirectPolicyAllowSilent      uint32 = 0x0000
	RedirectPolicyAllowReport      uint32 = 0x0100
	RedirectPolicyDisallow         uint32 = 0x0200
	RedirectPolicyMask             uint32 = 0x0700
	RedirectPolicyAllowHTTPSToHTTP uint32 = 0x0800
)

// File ACL flags for SetFileACLFlags (BG_COPY_FILE_*).
const (
	CopyFileOwner uint32 = 1
	CopyFileGroup uint32 = 2
	CopyFileDACL  uint32 = 4
	CopyFileSACL  uint32 = 8
	CopyFileAll   uint32 = 15
)

// Peer-caching flags for SetPeerCachingFlags.
const (
	EnablePeerCachingClient uint32 = 0x1
	EnablePeerCachingServer uint32 = 0x2
	DisableBranchCache      uint32 = 0x4
)

// Sentinels.
const (
	// SizeUnknown (BG_SIZE_UNKNOWN) is a byte total that is not known yet.
	SizeUnknown uint64 = 1<<64 - 1
	// LengthToEOF (BG_LENGTH_TO_EOF) as a range length means "to the end of the file".
	LengthToEOF uint64 = 1<<64 - 1
	// EnumAllUsers (BG_JOB_ENUM_ALL_USERS) asks EnumJobs for every user's jobs.
	EnumAllUsers uint32 = 0x0001
)

// Mandatory integrity levels reported by GetOwnerIntegrityLevel.
const (
	IntegrityMedium uint32 = 0x2000
	IntegrityHigh   uint32 = 0x3000
	IntegritySystem uint32 = 0x4000
)

// FilePropertyHTTPResponseHeaders is BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, the only id
// File.GetProperty accepts.
const FilePropertyHTTPResponseHeaders uint32 = 1

// PropertyID is a BITS_JOB_PROPERTY_ID value (IBackgroundCopyJob5).
type PropertyID uint32

// The BITS_JOB_PROPERTY_ID values (ne-bits5_0-bits_job_property_id). 6 and 8 are not defined.
const (
	PropertyCostFlags                     PropertyID = 1  // Dword: BITS_COST_STATE mask or transfer policy
	PropertyNotificationCLSID             PropertyID = 2  // ClsID: out-of-process callback class; persisted
	PropertyDynamicContent                PropertyID = 3  // Enable: servers without HEAD, length or ranges
	PropertyHighPerformance               PropertyID = 4  // Enable: no temporary file, no progress checkpoints
	PropertyMaxDownloadSize               PropertyID = 5  // Uint64: byte cap for the whole job
	PropertyUseStoredCredentials          PropertyID = 7  // Target: send stored credentials to the proxy
	PropertyMinimumNotificationIntervalMs PropertyID = 9  // Dword: JobModification throttle, 500 ms by default
	PropertyOnDemandMode                  PropertyID = 10 // Enable: random access (RequestFileRanges)
)

var propertyNames = map[PropertyID]string{
	PropertyCostFlags:                     "COST_FLAGS",
	PropertyNotificationCLSID:             "NOTIFICATION_CLSID",
	PropertyDynamicContent:                "DYNAMIC_CONTENT",
	PropertyHighPerformance:               "HIGH_PERFORMANCE",
	PropertyMaxDownloadSize:               "MAX_DOWNLOAD_SIZE",
	PropertyUseStoredCredentials:          "USE_STORED_CREDENTIALS",
	PropertyMinimumNotificationIntervalMs: "MINIMUM_NOTIFICATION_INTERVAL_MS",
	PropertyOnDemandMode:                  "ON_DEMAND_MODE",
}

// String returns the BITS name without the BITS_JOB_PROPERTY_ prefix.
func (p PropertyID) String() string {
	if n, ok := propertyNames[p]; ok {
		return n
	}
	return fmt.Sprintf("BITS_JOB_PROPERTY_ID(%d)", uint32(p))
}

// PropertyValue is BITS_JOB_PROPERTY_VALUE: a union, of which each property uses one field.
type PropertyValue struct {
	Dword  uint32
	ClsID  uuid.UUID
	Enable bool
	Uint64 uint64
	Target AuthTarget
}

// Transfer policies and cost states for PropertyCostFlags (BITS_COST_STATE_*,
// BITS_COST_OPTION_*).
const (
	CostStateUnrestricted       uint32 = 0x1
	CostStateCappedUsageUnknown uint32 = 0x2
	CostStateBelowCap           uint32 = 0x4
	CostStateNearCap            uint32 = 0x8
	CostStateOvercapCharged     uint32 = 0x10
	CostStateOvercapThrottled   uint32 = 0x20
	CostStateUsageBased         uint32 = 0x40
	CostStateRoaming            uint32 = 0x80
	CostOptionIgnoreCongestion  uint32 = 0x80000000
	CostStateReserved           uint32 = 0x40000000
	TransferPolicyAlways        uint32 = 0x800000FF
	TransferPolicyNotRoaming    uint32 = 0x8000007F
	TransferPolicyNoSurcharge   uint32 = 0x8000006F
	TransferPolicyStandard      uint32 = 0x80000067
	TransferPolicyUnrestricted  uint32 = 0x80000021
)

// FileInfo names one file of a job (BG_FILE_INFO): where it comes from and where it goes.
type FileInfo struct {
	RemoteName string
	LocalName  string
}

// FileRange is a byte range of a remote file (BG_FILE_RANGE). Length may be LengthToEOF.
type FileRange struct {
	InitialOffset uint64
	Length        uint64
}

// FileProgress is BG_FILE_PROGRESS. BytesTotal is SizeUnknown until the size is known.
// Completed is true once the file's bytes have all arrived.
type FileProgress struct {
	BytesTotal       uint64
	BytesTransferred uint64
	Completed        bool
}

// Progress is BG_JOB_PROGRESS. BytesTotal is SizeUnknown while any file's size is unknown, and
// 0 for a job with no files.
type Progress struct {
	BytesTotal       uint64
	BytesTransferred uint64
	FilesTotal       uint32
	FilesTransferred uint32
}

// ReplyProgress is BG_JOB_REPLY_PROGRESS. BytesTotal is SizeUnknown until the reply starts.
type ReplyProgress struct {
	BytesTotal       uint64
	BytesTransferred uint64
}

// Times is BG_JOB_TIMES. TransferCompletionTime is zero until the job first becomes TRANSFERRED.
type Times struct {
	CreationTime           time.Time
	ModificationTime       time.Time
	TransferCompletionTime time.Time
}

// ProxySettings is the result of GetProxySettings.
type ProxySettings struct {
	Usage      ProxyUsage
	ProxyList  string
	BypassList string
}

// NotifyCmdLine is the result of GetNotifyCmdLine.
type NotifyCmdLine struct {
	Program    string
	Parameters string
}

// Credentials are one set of BG_AUTH_CREDENTIALS: a user name and password for one target and
// scheme. For NTLM and NEGOTIATE, an empty user name and password mean "the caller's own logon".
type Credentials struct {
	Target   AuthTarget
	Scheme   AuthScheme
	UserName string
	Password string
}
