package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// The errors of this package. They come wrapped in an *hresult.Error, so that errors.Is finds
// both the sentinel and the HRESULT a BITS client would see.
var (
	// ErrInUse is returned by Open when another Store, in this process or another, holds the
	// directory. It comes with ERROR_SHARING_VIOLATION.
	ErrInUse = errors.New("store: in use by another store")
	// ErrCorrupt is returned when the file is not a job store or is damaged: a checksum that does
	// not match, a record that cannot be decoded or does not belong to its key, a file cut short.
	// It comes with BG_E_DATABASE_CORRUPT.
	ErrCorrupt = errors.New("store: damaged")
	// ErrVersion is returned when the store or a record was written in a format this code does
	// not read: newer, older, or unknown. Such an error matches ErrCorrupt too (the store cannot
	// be used as it is) and comes with BG_E_DATABASE_CORRUPT, as BITS has no better code for it.
	ErrVersion = errors.New("store: unknown format")
	// ErrClosed is returned by the methods of a Store that was closed. It comes with E_UNEXPECTED.
	ErrClosed = errors.New("store: closed")
)

// versionError is a format this code does not read: it matches both ErrVersion and ErrCorrupt.
type versionError struct{ msg string }

func (e *versionError) Error() string { return ErrVersion.Error() + ": " + e.msg }

func (e *versionError) Is(target error) bool { return target == ErrVersion || target == ErrCorrupt }

func errVersion(format string, args ...any) error {
	return &versionError{msg: fmt.Sprintf(format, args...)}
}

// corrupt wraps a decoding or checking failure (which wraps ErrCorrupt, and maybe ErrVersion).
func corrupt(op string, id uuid.UUID, err error) error {
	e := &hresult.Error{Op: op, Code: hresult.BG_E_DATABASE_CORRUPT, Err: err}
	if id != uuid.Nil {
		e.Job = guid(id)
	}
	return e
}

// ioError wraps a failure of the file or of bbolt: the HRESULT is the one BITS reports for such a
// failure of the disk (job.DiskCode), E_UNEXPECTED for a closed store.
func ioError(op string, id uuid.UUID, err error) error {
	code := job.DiskCode(err)
	if errors.Is(err, ErrClosed) {
		code = hresult.E_UNEXPECTED
	}
	e := &hresult.Error{Op: op, Code: code, Err: err}
	if id != uuid.Nil {
		e.Job = guid(id)
	}
	return e
}

// guid formats a job id as BITS prints GUIDs, as package job does: upper case, in braces.
func guid(id uuid.UUID) string {
	return "{" + strings.ToUpper(id.String()) + "}"
}

// decodeError is a malformed record: the field being read, the byte offset and the reason.
type decodeError struct {
	sentinel error // ErrCorrupt or ErrVersion
	field    string
	off      int
	reason   string
}

func (e *decodeError) Error() string {
	if e.field == "" {
		return fmt.Sprintf("%v: record: %s at byte %d", e.sentinel, e.reason, e.off)
	}
	return fmt.Sprintf("%v: record: %s: %s at byte %d", e.sentinel, e.field, e.reason, e.off)
}

func (e *decodeError) Unwrap() []error {
	if e.sentinel == ErrVersion {
		return []error{ErrCorrupt, ErrVersion}
	}
	return []error{e.sentinel}
}
