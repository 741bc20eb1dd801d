//go:build windows

package winbits

import (
	"runtime"
	"syscall"
	"unsafe"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Error is a job's error object reached through COM (IBackgroundCopyError). Its reference is
// given back by Release, by the Manager's Close, or by the garbage collector. An Error is safe
// for concurrent use.
type Error struct {
	o   *object
	job string // the job's "{GUID}" for error messages, or ""
}

var _ bits.Error = (*Error)(nil)

// newError wraps o, whose primary interface is IBackgroundCopyError.
func newError(o *object, job string) *Error {
	e := &Error{o: o, job: job}
	runtime.AddCleanup(e, (*object).release, o)
	return e
}

// Release gives back the Error's COM reference at once. Later calls fail with
// RPC_E_DISCONNECTED.
func (e *Error) Release() { e.o.release() }

func (e *Error) call(op string, fn func(p unsafe.Pointer) hresult.Code) error {
	return fail(op, e.job, e.o.use(nil, fn))
}

// GetError returns where the error happened and its HRESULT (IBackgroundCopyError::GetError).
func (e *Error) GetError() (bits.ErrorContext, hresult.Code, error) {
	var ctx uint32
	var hr uint32
	err := e.call("IBackgroundCopyError.GetError", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, errGetError), uintptr(p), uintptr(unsafe.Pointer(&ctx)), uintptr(unsafe.Pointer(&hr)))
		return code(r)
	})
	if err != nil {
		return 0, 0, err
	}
	return bits.ErrorContext(ctx), hresult.Code(hr), nil
}

// GetFile returns the file the error concerns, BG_E_FILE_NOT_AVAILABLE when it concerns none
// (IBackgroundCopyError::GetFile).
func (e *Error) GetFile() (bits.File, error) {
	var f unsafe.Pointer
	err := e.call("IBackgroundCopyError.GetFile", func(p unsafe.Pointer) (c hresult.Code) { f, c = getPtr(p, errGetFile); return })
	if err != nil {
		return nil, err
	}
	return fileOf(e.o.conn.adopt(f)), nil
}

// GetErrorDescription describes the error's HRESULT in the language lang
// (IBackgroundCopyError::GetErrorDescription).
func (e *Error) GetErrorDescription(lang uint16) (string, error) {
	return e.describe("IBackgroundCopyError.GetErrorDescription", errGetErrorDescription, lang)
}

// GetErrorContextDescription describes where the error happened, in the language lang
// (IBackgroundCopyError::GetErrorContextDescription).
func (e *Error) GetErrorContextDescription(lang uint16) (string, error) {
	return e.describe("IBackgroundCopyError.GetErrorContextDescription", errGetErrorContextDescription, lang)
}

func (e *Error) describe(op string, slot int, lang uint16) (string, error) {
	var s string
	err := e.call(op, func(p unsafe.Pointer) hresult.Code {
		var w *uint16
		r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(lang), uintptr(unsafe.Pointer(&w)))
		s = outString(w, code(r))
		return code(r)
	})
	return s, err
}

// GetProtocol returns the protocol of the transfer that failed, BG_E_PROTOCOL_NOT_AVAILABLE
// when the error has nothing to do with one (IBackgroundCopyError::GetProtocol).
func (e *Error) GetProtocol() (string, error) {
	var s string
	err := e.call("IBackgroundCopyError.GetProtocol", func(p unsafe.Pointer) (c hresult.Code) { s, c = getString(p, errGetProtocol); return })
	return s, err
}
