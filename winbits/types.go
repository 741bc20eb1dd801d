//go:build windows

package winbits

import (
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
)

// The BITS structures in their C layout (x64). They are kept apart from the bits value types,
// whose layout Go is free to choose, and converted field by field.

// bgFileInfo is BG_FILE_INFO.
type bgFileInfo struct {
	remoteName *uint16
	localName  *uint16
}

// bgFileRange is BG_FILE_RANGE.
type bgFileRange struct {
	initialOffset uint64
	length        uint64
}

// bgFileProgress is BG_FILE_PROGRESS.
type bgFileProgress struct {
	bytesTotal       uint64
	bytesTransferred uint64
	completed        int32 // BOOL
}

// bgJobProgress is BG_JOB_PROGRESS.
type bgJobProgress struct {
	bytesTotal       uint64
	bytesTransferred uint64
	filesTotal       uint32
	filesTransferred uint32
}

// bgJobReplyProgress is BG_JOB_REPLY_PROGRESS.
type bgJobReplyProgress struct {
	bytesTotal       uint64
	bytesTransferred uint64
}

// bgJobTimes is BG_JOB_TIMES.
type bgJobTimes struct {
	creationTime           windows.Filetime
	modificationTime       windows.Filetime
	transferCompletionTime windows.Filetime
}

// bgAuthCredentials is BG_AUTH_CREDENTIALS with its union's only member, BG_BASIC_CREDENTIALS.
type bgAuthCredentials struct {
	target   uint32
	scheme   uint32
	userName *uint16
	password *uint16
}

// jobPropertyValue is the BITS_JOB_PROPERTY_VALUE union: 16 bytes (a GUID, its largest member),
// 8-byte aligned for its UINT64 member. Being larger than 8 bytes, it is passed by reference
// even where the method takes it by value (the x64 calling convention).
type jobPropertyValue [2]uint64

// rangesOf converts BG_FILE_RANGEs.
func rangesOf(rs []bgFileRange) []bits.FileRange {
	if len(rs) == 0 {
		return nil
	}
	out := make([]bits.FileRange, len(rs))
	for i, r := range rs {
		out[i] = bits.FileRange{InitialOffset: r.initialOffset, Length: r.length}
	}
	return out
}
