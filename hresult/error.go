package hresult

import (
	"errors"
	"strings"
)

// Error is a failure that crossed a layer: the HRESULT plus what was being done when it
// happened. errors.Is and errors.As see through an *Error to both Code and Err, so
// errors.Is(err, BG_E_INVALID_STATE) and errors.Is(err, fs.ErrNotExist) can both hold for the
// same error.
type Error struct {
	Op    string // BITS method or operation, e.g. "Resume", "CreateJob"
	Job   string // job GUID in braces, or "" when none
	State string // job state name when the call was made, e.g. "CANCELLED", or ""
	Code  Code   // the HRESULT; must be a failure code
	Err   error  // optional underlying cause (e.g. *os.PathError), may be nil
}

// Error formats e as "Op Job: job is State: Code.Error()", leaving out the parts that are empty,
// and appends ": " and the cause's text when Err is not nil. For example:
//
//	Resume {0f1e2d3c-...}: job is CANCELLED: BG_E_INVALID_STATE (0x80200002): the job's current state does not allow this call
func (e *Error) Error() string {
	var b strings.Builder
	head := strings.TrimSpace(e.Op + " " + e.Job)
	if head != "" {
		b.WriteString(head)
		b.WriteString(": ")
	}
	if e.State != "" {
		b.WriteString("job is ")
		b.WriteString(e.State)
		b.WriteString(": ")
	}
	b.WriteString(e.Code.Error())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Code and, when it is not nil, Err, so that errors.Is and errors.As search both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

// Of returns the HRESULT a BITS client would receive for err: S_OK when err is nil, the first
// Code found by errors.As otherwise (for an *Error that is its Code field), and E_FAIL when err
// carries no Code at all. Of does not look at the severity of the Code it finds, so a success
// code such as BG_S_PARTIAL_COMPLETE used as an error is passed through unchanged.
func Of(err error) Code {
	if err == nil {
		return S_OK
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return E_FAIL
}
