//go:build windows

package winbits

import (
	"syscall"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Manager is a connection to the system's BITS service: an IBackgroundCopyManager pointer
// obtained with CoCreateInstance(CLSID_BackgroundCopyManager). It implements bits.Manager.
//
// Every Job, File, Error and enumerator it hands out, and every callback registered through
// them, belongs to it: Close releases their COM references and disconnects the callbacks, after
// which their methods fail with RPC_E_DISCONNECTED. Jobs themselves live on in BITS. A Manager
// is safe for concurrent use.
type Manager struct {
	conn *conn
	o    *object
}

var _ bits.Manager = (*Manager)(nil)

// New connects to BITS. It keeps the process's multithreaded apartment alive for the rest of
// the process (CoIncrementMTAUsage) and makes its COM calls from whichever OS thread the calling
// goroutine runs on, joining that thread to the apartment for the length of each call; a thread
// that other code made a single-threaded apartment gives RPC_E_CHANGED_MODE.
func New() (*Manager, error) {
	if c := enter(); c.Failed() {
		return nil, &hresult.Error{Op: "CoInitializeEx", Code: c}
	}
	defer leave()
	var p unsafe.Pointer
	r, _, _ := syscall.SyscallN(procCoCreateInstance.Addr(), uintptr(unsafe.Pointer(&clsidBackgroundCopyManager)), 0,
		clsctxLocalServer, uintptr(unsafe.Pointer(&iidBackgroundCopyManager)), uintptr(unsafe.Pointer(&p)))
	if c := code(r); c.Failed() {
		return nil, &hresult.Error{Op: "CoCreateInstance", Code: c}
	}
	c := newConn()
	return &Manager{conn: c, o: c.adopt(p)}, nil
}

// Close releases the manager and everything it handed out and disconnects its callbacks. Jobs
// are not affected. Calling Close again does nothing.
func (m *Manager) Close() error {
	m.conn.close()
	return nil
}

func (m *Manager) call(op string, fn func(p unsafe.Pointer) hresult.Code) error {
	return fail(op, "", m.o.use(nil, fn))
}

// CreateJob creates a job (IBackgroundCopyManager::CreateJob).
func (m *Manager) CreateJob(displayName string, t bits.JobType) (bits.Job, error) {
	name, c := wide(displayName)
	if c.Failed() {
		return nil, fail("CreateJob", "", c)
	}
	var id windows.GUID
	var jp unsafe.Pointer
	err := m.call("CreateJob", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, mgrCreateJob), uintptr(p), uintptr(unsafe.Pointer(name)), uintptr(t),
			uintptr(unsafe.Pointer(&id)), uintptr(unsafe.Pointer(&jp)))
		return code(r)
	})
	if err != nil {
		return nil, err
	}
	return m.job(jp, id), nil
}

// GetJob returns the job with the given identifier (IBackgroundCopyManager::GetJob).
func (m *Manager) GetJob(id uuid.UUID) (bits.Job, error) {
	g := guidOf(id)
	var jp unsafe.Pointer
	if c := m.o.use(nil, func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, mgrGetJob), uintptr(p), uintptr(unsafe.Pointer(&g)), uintptr(unsafe.Pointer(&jp)))
		return code(r)
	}); c.Failed() {
		return nil, fail("GetJob", g.String(), c)
	}
	return m.job(jp, g), nil
}

// job wraps a job pointer whose identifier is known.
func (m *Manager) job(p unsafe.Pointer, id windows.GUID) *Job {
	j := newJob(m.conn.adopt(p))
	j.idOnce.Do(func() { j.id = id.String() })
	return j
}

// EnumJobs enumerates the caller's jobs, or every user's with bits.EnumAllUsers
// (IBackgroundCopyManager::EnumJobs).
func (m *Manager) EnumJobs(flags uint32) (bits.JobEnum, error) {
	var e unsafe.Pointer
	err := m.call("EnumJobs", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, mgrEnumJobs), uintptr(p), uintptr(flags), uintptr(unsafe.Pointer(&e)))
		return code(r)
	})
	if err != nil {
		return nil, err
	}
	return newEnum(m.conn.adopt(e), "IEnumBackgroundCopyJobs", func(o *object) bits.Job { return newJob(o) }), nil
}

// GetErrorDescription returns BITS's text for an HRESULT in the language lang
// (IBackgroundCopyManager::GetErrorDescription).
func (m *Manager) GetErrorDescription(c hresult.Code, lang uint16) (string, error) {
	var s string
	err := m.call("GetErrorDescription", func(p unsafe.Pointer) hresult.Code {
		var w *uint16
		r, _, _ := syscall.SyscallN(method(p, mgrGetErrorDescription), uintptr(p), uintptr(c), uintptr(lang), uintptr(unsafe.Pointer(&w)))
		s = outString(w, code(r))
		return code(r)
	})
	return s, err
}
