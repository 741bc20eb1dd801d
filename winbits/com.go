//go:build windows

package winbits

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/hresult"
)

var (
	modole32                 = windows.NewLazySystemDLL("ole32.dll")
	procCoCreateInstance     = modole32.NewProc("CoCreateInstance")
	procCoIncrementMTAUsage  = modole32.NewProc("CoIncrementMTAUsage")
	procCoDisconnectObject   = modole32.NewProc("CoDisconnectObject")
	procCoInitializeSecurity = modole32.NewProc("CoInitializeSecurity")
)

const (
	clsctxLocalServer = 0x4
	ptrSize           = unsafe.Sizeof(uintptr(0))
	rpcEChangedMode   = hresult.Code(0x80010106) // RPC_E_CHANGED_MODE: the thread is in a single-threaded apartment
)

// keepMTA keeps the process's multithreaded apartment alive for as long as the process runs
// (CoIncrementMTAUsage), so that the proxies the package holds stay valid between calls even when
// no thread is inside one.
var keepMTA = sync.OnceValue(func() hresult.Code {
	var cookie uintptr
	r, _, _ := syscall.SyscallN(procCoIncrementMTAUsage.Addr(), uintptr(unsafe.Pointer(&cookie)))
	return hresult.Code(uint32(r))
})

// enter makes the OS thread of the calling goroutine a member of the multithreaded apartment
// for one COM call: it locks the goroutine to its thread and calls
// CoInitializeEx(COINIT_MULTITHREADED). A thread that some other code made a single-threaded
// apartment (CoInitialize on a locked goroutine, or on an unlocked one that leaked it) cannot use
// the package's proxies; enter then fails with RPC_E_CHANGED_MODE instead of calling into the
// wrong apartment. Every successful enter is followed by one leave.
func enter() hresult.Code {
	if c := keepMTA(); c.Failed() {
		return c
	}
	runtime.LockOSThread()
	if err := windows.CoInitializeEx(0, windows.COINIT_MULTITHREADED); err != nil {
		c := codeOfErrno(err)
		if c.Failed() {
			runtime.UnlockOSThread()
			return c
		}
	}
	return hresult.S_OK
}

// leave undoes one successful enter.
func leave() {
	windows.CoUninitialize()
	runtime.UnlockOSThread()
}

// codeOfErrno turns the error x/sys/windows makes of a returned HRESULT back into the HRESULT.
func codeOfErrno(err error) hresult.Code {
	var e syscall.Errno
	if errors.As(err, &e) {
		return hresult.Code(uint32(e))
	}
	return hresult.E_FAIL
}

// method returns the address of the function in vtable slot of the COM interface p.
func method(p unsafe.Pointer, slot int) uintptr {
	vtbl := *(*unsafe.Pointer)(p)
	return *(*uintptr)(unsafe.Add(vtbl, uintptr(slot)*ptrSize))
}

// code converts the value a COM method returned into an HRESULT.
func code(r uintptr) hresult.Code { return hresult.Code(uint32(r)) }

// The call helpers below each make one call through a vtable. A pointer to a Go variable is
// converted to uintptr only inside the syscall.SyscallN call expression, which keeps the variable
// alive and in place until the call returns.

// call0 calls a method that takes no argument besides the interface.
func call0(p unsafe.Pointer, slot int) hresult.Code {
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p))
	return code(r)
}

// callVal calls a method whose arguments are plain values (integers, enums, BOOLs).
func callVal(p unsafe.Pointer, slot int, args ...uintptr) hresult.Code {
	all := append([]uintptr{uintptr(p)}, args...)
	r, _, _ := syscall.SyscallN(method(p, slot), all...)
	return code(r)
}

// getOut calls a method whose only argument is a pointer to a T it fills in.
func getOut[T any](p unsafe.Pointer, slot int) (T, hresult.Code) {
	var v T
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(unsafe.Pointer(&v)))
	if c := code(r); c.Failed() {
		var zero T // what a failing method left in v means nothing
		return zero, c
	}
	return v, code(r)
}

// getString calls a method whose only argument is an LPWSTR* and returns the string, freeing
// BITS's copy.
func getString(p unsafe.Pointer, slot int) (string, hresult.Code) {
	var s *uint16
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(unsafe.Pointer(&s)))
	return outString(s, code(r)), code(r)
}

// setString calls a method whose only argument is an LPCWSTR.
func setString(p unsafe.Pointer, slot int, s *uint16) hresult.Code {
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(unsafe.Pointer(s)))
	return code(r)
}

// setStrings calls a method whose two arguments are LPCWSTRs.
func setStrings(p unsafe.Pointer, slot int, a, b *uint16) hresult.Code {
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b)))
	return code(r)
}

// getPtr calls a method whose only argument is a pointer to an interface pointer it fills in.
func getPtr(p unsafe.Pointer, slot int) (unsafe.Pointer, hresult.Code) {
	var out unsafe.Pointer
	r, _, _ := syscall.SyscallN(method(p, slot), uintptr(p), uintptr(unsafe.Pointer(&out)))
	return out, code(r)
}

// queryInterface asks p for the interface iid and returns a new reference to it.
func queryInterface(p unsafe.Pointer, iid *windows.GUID) (unsafe.Pointer, hresult.Code) {
	var out unsafe.Pointer
	r, _, _ := syscall.SyscallN(method(p, slotQueryInterface), uintptr(p), uintptr(unsafe.Pointer(iid)), uintptr(unsafe.Pointer(&out)))
	return out, code(r)
}

// takeString converts a string BITS allocated with CoTaskMemAlloc and frees it. nil is "".
func takeString(s *uint16) string {
	if s == nil {
		return ""
	}
	str := windows.UTF16PtrToString(s)
	windows.CoTaskMemFree(unsafe.Pointer(s))
	return str
}

// outString is takeString for an out-parameter: a failing method's string, if any, is freed
// and "" returned.
func outString(s *uint16, c hresult.Code) string {
	str := takeString(s)
	if c.Failed() {
		return ""
	}
	return str
}

// wide converts s for a method that takes an LPCWSTR. A string with a NUL cannot be passed: it
// gives E_INVALIDARG, as BITS gives for a malformed argument.
func wide(s string) (*uint16, hresult.Code) {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		return nil, hresult.E_INVALIDARG
	}
	return p, hresult.S_OK
}

// wideOrNil is wide for an optional argument: "" is passed as NULL, which is how BITS is told
// "none" (no proxy list, no command line, no custom headers, a reply file name of BITS's
// choosing).
func wideOrNil(s string) (*uint16, hresult.Code) {
	if s == "" {
		return nil, hresult.S_OK
	}
	return wide(s)
}

// guidOf converts a uuid.UUID, whose bytes are in RFC 4122 order, into a Windows GUID, whose
// first three fields are integers in the machine's (little-endian) order.
func guidOf(u uuid.UUID) windows.GUID {
	return windows.GUID{
		Data1: uint32(u[0])<<24 | uint32(u[1])<<16 | uint32(u[2])<<8 | uint32(u[3]),
		Data2: uint16(u[4])<<8 | uint16(u[5]),
		Data3: uint16(u[6])<<8 | uint16(u[7]),
		Data4: [8]byte(u[8:16]),
	}
}

// uuidOf is the inverse of guidOf.
func uuidOf(g windows.GUID) uuid.UUID {
	var u uuid.UUID
	u[0], u[1], u[2], u[3] = byte(g.Data1>>24), byte(g.Data1>>16), byte(g.Data1>>8), byte(g.Data1)
	u[4], u[5] = byte(g.Data2>>8), byte(g.Data2)
	u[6], u[7] = byte(g.Data3>>8), byte(g.Data3)
	copy(u[8:], g.Data4[:])
	return u
}

// timeOf converts a FILETIME. The zero FILETIME, which BITS uses for "not yet" (a job's
// TransferCompletionTime before it is first TRANSFERRED), is the zero time.Time.
func timeOf(ft windows.Filetime) time.Time {
	if ft.HighDateTime == 0 && ft.LowDateTime == 0 {
		return time.Time{}
	}
	return time.Unix(0, ft.Nanoseconds())
}

// boolOf converts a Windows BOOL.
func boolOf(b int32) bool { return b != 0 }

// winBool converts to a Windows BOOL passed by value.
func winBool(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// fail turns a failure HRESULT into the error the package returns: an *hresult.Error naming
// the BITS method and, for a job's methods, the job. A success code gives nil.
func fail(op, job string, c hresult.Code) error {
	if c.Succeeded() {
		return nil
	}
	return &hresult.Error{Op: op, Job: job, Code: c}
}
