package job

import (
	"fmt"
)

// Type is a BG_JOB_TYPE value.
type Type uint32

// The BG_JOB_TYPE values (ne-bits-bg_job_type).
const (
	Download    Type = 0 // BG_JOB_TYPE_DOWNLOAD
	Upload      Type = 1 // BG_JOB_TYPE_UPLOAD: exactly one file, sent to the server
	UploadReply Type = 2 // BG_JOB_TYPE_UPLOAD_REPLY: an upload whose server reply is downloaded
)

// String returns the BITS name without the BG_JOB_TYPE_ prefix.
func (t Type) String() string {
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
func (t Type) Valid() bool { return t <= UploadReply }

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

var contextText = [...]string{
	"No error context",
	"The error happened in an unknown place",
	"The error happened in the transfer queue manager",
	"The error happened while notifying the application",
	"The error concerns the local file",
	"The error concerns the remote file",
	"The error happened in the network transport",
	"The error was reported by the server application",
	"The error was reported by the server certificate validation callback",
}

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
	notifyMask                         = 0x003F
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

// Defaults of a new job (see README's reference tables for the pages they come from).
const (
	DefaultMinimumRetryDelay uint32 = 600       // seconds (SetMinimumRetryDelay)
	MinimumRetryDelayFloor   uint32 = 5         // seconds; smaller values are raised to it
	DefaultNoProgressTimeout uint32 = 1_209_600 // seconds, 14 days (SetNoProgressTimeout)
	DefaultMaximumDownload   uint32 = 7_776_000 // seconds, 90 days (SetMaximumDownloadTime)
	DefaultNotifyIntervalMs  uint32 = 500       // BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS
)

// Length limits, in UTF-16 code units as BITS counts them.
const (
	MaxDisplayName    = 256
	MaxDescription    = 1024
	MaxRemoteName     = 2200
	MaxPath           = 260 // MAX_PATH: local names, reply file name, command-line program, URL segments
	MaxCmdParameters  = 4000
	MaxProxyList      = 32767
	MaxCustomHeaders  = 16383 // 16,384 including the terminating NUL
	MaxUserName       = 300
	MaxPassword       = 65535
	MaxReplyDataBytes = 1 << 20
)

// Identity is who is calling: the user's SID and what kind of account it is.
type Identity struct {
	// SID is the user's security identifier as a string ("S-1-5-21-…"). bitsemu compares it
	// byte for byte and does not check its syntax.
	SID string
	// Admin marks an elevated administrator: it may see and change every user's jobs, enumerate
	// all users' jobs and take ownership, and is exempt from the job, file and range limits.
	Admin bool
	// Service marks a service account (LocalSystem, LocalService, NetworkService): exempt from
	// the limits, always logged on, and never given command-line notifications.
	Service bool
}

// IntegrityLevel returns the mandatory integrity level of the identity's token.
func (id Identity) IntegrityLevel() uint32 {
	switch {
	case id.Service:
		return IntegritySystem
	case id.Admin:
		return IntegrityHigh
	}
	return IntegrityMedium
}

// Exempt reports whether the identity is exempt from the job, file and range limits.
func (id Identity) Exempt() bool { return id.Admin || id.Service }
