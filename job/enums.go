package job

import "github.com/bitsemu/bitsemu/bits"

// contextText is each BG_ERROR_CONTEXT's description (GetErrorContextDescription).
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

// notifyMask holds every defined BG_NOTIFY_* bit.
const notifyMask = 0x003F

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
		return bits.IntegritySystem
	case id.Admin:
		return bits.IntegrityHigh
	}
	return bits.IntegrityMedium
}

// Exempt reports whether the identity is exempt from the job, file and range limits.
func (id Identity) Exempt() bool { return id.Admin || id.Service }
