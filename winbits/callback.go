//go:build windows

package winbits

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// callbackObject is a Go bits.Callback exposed to BITS as a COM object. Its first field is the
// vtable pointer, so a pointer to the struct is the COM interface pointer BITS sees. The same
// vtable serves IUnknown and IBackgroundCopyCallback through IBackgroundCopyCallback3, whose
// layouts extend one another; QueryInterface hands out only the interfaces the Go value
// implements.
//
// The object lives in Go memory. While its reference count is above zero it is pinned and listed
// in liveCallbacks, so that neither the collector nor a future moving collector takes it from
// under BITS; the last Release unpins and unlists it.
type callbackObject struct {
	vtbl *callbackVtbl // must be first
	refs atomic.Int32

	cb   bits.Callback
	cb2  bits.Callback2 // nil unless cb implements it
	cb3  bits.Callback3 // nil unless cb implements it
	conn *conn

	disconnected atomic.Bool
	pin          runtime.Pinner
}

// callbackVtbl is the function table of IBackgroundCopyCallback3.
type callbackVtbl struct {
	queryInterface        uintptr
	addRef                uintptr
	release               uintptr
	jobTransferred        uintptr
	jobError              uintptr
	jobModification       uintptr
	fileTransferred       uintptr
	fileRangesTransferred uintptr
}

// theCallbackVtbl is made once: syscall.NewCallback has a fixed budget of callbacks per process.
var theCallbackVtbl = &callbackVtbl{
	queryInterface:        syscall.NewCallback(cbQueryInterface),
	addRef:                syscall.NewCallback(cbAddRef),
	release:               syscall.NewCallback(cbRelease),
	jobTransferred:        syscall.NewCallback(cbJobTransferredThunk),
	jobError:              syscall.NewCallback(cbJobErrorThunk),
	jobModification:       syscall.NewCallback(cbJobModificationThunk),
	fileTransferred:       syscall.NewCallback(cbFileTransferredThunk),
	fileRangesTransferred: syscall.NewCallback(cbFileRangesTransferredThunk),
}

// liveCallbacks holds every callback object whose reference count is above zero.
var liveCallbacks sync.Map // *callbackObject → struct{}

// newCallbackObject makes a COM object for cb with one reference, owned by the caller, and
// registers it with the connection, which disconnects it on Close. It fails on a closed
// connection.
func newCallbackObject(cb bits.Callback, c *conn) (*callbackObject, bool) {
	obj := &callbackObject{vtbl: theCallbackVtbl, cb: cb, conn: c}
	obj.cb2, _ = cb.(bits.Callback2)
	obj.cb3, _ = cb.(bits.Callback3)
	obj.refs.Store(1)
	obj.pin.Pin(obj)
	liveCallbacks.Store(obj, struct{}{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		obj.Release()
		return nil, false
	}
	c.callbacks[obj] = struct{}{}
	c.mu.Unlock()
	return obj, true
}

// lookupCallbackObject returns the callback object p points to, or nil when p is some other
// COM object.
func lookupCallbackObject(p unsafe.Pointer) *callbackObject {
	obj := (*callbackObject)(p)
	if _, ok := liveCallbacks.Load(obj); ok {
		return obj
	}
	return nil
}

// comPointer returns the object as the COM interface pointer BITS is given; nil for nil.
func (obj *callbackObject) comPointer() unsafe.Pointer {
	if obj == nil {
		return nil
	}
	return unsafe.Pointer(obj)
}

// AddRef is IUnknown::AddRef.
func (obj *callbackObject) AddRef() uint32 { return uint32(obj.refs.Add(1)) }

// Release is IUnknown::Release: the last one unregisters and unpins the object.
func (obj *callbackObject) Release() uint32 {
	n := obj.refs.Add(-1)
	if n == 0 {
		liveCallbacks.Delete(obj)
		obj.conn.mu.Lock()
		delete(obj.conn.callbacks, obj)
		obj.conn.mu.Unlock()
		obj.pin.Unpin()
	}
	return uint32(n)
}

// disconnect ends the object's registrations: CoDisconnectObject makes the stubs that BITS's
// proxies reach let go of the object (their calls then fail with RPC_E_DISCONNECTED), and calls
// that still arrive are refused without calling the Go value.
func (obj *callbackObject) disconnect() {
	obj.disconnected.Store(true)
	obj.AddRef() // keep the object while CoDisconnectObject drops the stubs' references
	if enter().Succeeded() {
		syscall.SyscallN(procCoDisconnectObject.Addr(), uintptr(unsafe.Pointer(obj)), 0)
		leave()
	}
	obj.Release()
}

// queryInterface is IUnknown::QueryInterface.
func (obj *callbackObject) queryInterface(iid *windows.GUID) bool {
	switch *iid {
	case iidIUnknown, iidBackgroundCopyCallback:
		return true
	case iidBackgroundCopyCallback2:
		return obj.cb2 != nil
	case iidBackgroundCopyCallback3:
		return obj.cb3 != nil
	}
	return false
}

// dispatch runs one notification: refused once the connection closed, a panic turned into
// E_FAIL as a failing callback (BITS retries it later), the error's HRESULT returned to BITS.
func (obj *callbackObject) dispatch(fn func() error) (hr uintptr) {
	if obj.disconnected.Load() {
		return uintptr(hresult.RPC_E_DISCONNECTED)
	}
	defer func() {
		if r := recover(); r != nil {
			hr = uintptr(hresult.Of(fmt.Errorf("winbits: callback panicked: %v", r)))
		}
	}()
	return uintptr(hresult.Of(fn()))
}

// The thunks BITS calls. Each receives the object as its first argument.

func cbQueryInterface(this *callbackObject, iid *windows.GUID, out *unsafe.Pointer) uintptr {
	if out == nil {
		return uintptr(hresult.E_POINTER)
	}
	if iid == nil || !this.queryInterface(iid) {
		*out = nil
		return uintptr(hresult.E_NOINTERFACE)
	}
	this.AddRef()
	*out = unsafe.Pointer(this)
	return uintptr(hresult.S_OK)
}

func cbAddRef(this *callbackObject) uintptr { return uintptr(this.AddRef()) }

func cbRelease(this *callbackObject) uintptr { return uintptr(this.Release()) }

func cbJobTransferredThunk(this *callbackObject, job unsafe.Pointer) uintptr {
	return this.dispatch(func() error { return this.cb.JobTransferred(this.job(job)) })
}

func cbJobErrorThunk(this *callbackObject, job, e unsafe.Pointer) uintptr {
	return this.dispatch(func() error {
		j := this.job(job)
		return this.cb.JobError(j, newError(this.conn.borrow(e), j.guid()))
	})
}

func cbJobModificationThunk(this *callbackObject, job unsafe.Pointer, _ uintptr) uintptr {
	return this.dispatch(func() error { return this.cb.JobModification(this.job(job)) })
}

func cbFileTransferredThunk(this *callbackObject, job, file unsafe.Pointer) uintptr {
	if this.cb2 == nil {
		return uintptr(hresult.E_NOTIMPL) // reached only through an interface QueryInterface refused
	}
	return this.dispatch(func() error { return this.cb2.FileTransferred(this.job(job), fileOf(this.conn.borrow(file))) })
}

func cbFileRangesTransferredThunk(this *callbackObject, job, file unsafe.Pointer, n uintptr, ranges *bgFileRange) uintptr {
	if this.cb3 == nil {
		return uintptr(hresult.E_NOTIMPL)
	}
	var rs []bits.FileRange
	if ranges != nil {
		rs = rangesOf(unsafe.Slice(ranges, uint32(n)))
	}
	return this.dispatch(func() error {
		return this.cb3.FileRangesTransferred(this.job(job), fileOf(this.conn.borrow(file)), rs)
	})
}

// job wraps a job pointer BITS passed to a callback, taking a reference of its own.
func (obj *callbackObject) job(p unsafe.Pointer) *Job { return newJob(obj.conn.borrow(p)) }

// remoteCallback is a callback that another program registered, as GetNotifyInterface returns
// it: calling its methods calls that program's COM object. It implements bits.Callback3; the
// methods of an interface the object lacks fail with E_NOINTERFACE, and the Job and File given
// must be this package's.
type remoteCallback struct {
	o *object
}

var _ bits.Callback3 = (*remoteCallback)(nil)

// Release gives back the reference to the other program's object.
func (r *remoteCallback) Release() { r.o.release() }

func (r *remoteCallback) invoke(op string, iid *windows.GUID, j bits.Job, f bits.File, fn func(cb, job, file unsafe.Pointer) hresult.Code) error {
	wj, ok := j.(*Job)
	if !ok {
		return fail(op, "", hresult.E_INVALIDARG)
	}
	var wf *File
	if f != nil {
		if wf, ok = f.(*File); !ok {
			return fail(op, "", hresult.E_INVALIDARG)
		}
	}
	return fail(op, "", r.o.use(iid, func(cb unsafe.Pointer) hresult.Code {
		return wj.o.use(nil, func(job unsafe.Pointer) hresult.Code {
			if wf == nil {
				return fn(cb, job, nil)
			}
			return wf.o.use(nil, func(file unsafe.Pointer) hresult.Code { return fn(cb, job, file) })
		})
	}))
}

// JobTransferred calls IBackgroundCopyCallback::JobTransferred.
func (r *remoteCallback) JobTransferred(j bits.Job) error {
	return r.invoke("JobTransferred", &iidBackgroundCopyCallback, j, nil, func(cb, job, _ unsafe.Pointer) hresult.Code {
		res, _, _ := syscall.SyscallN(method(cb, cbJobTransferred), uintptr(cb), uintptr(job))
		return code(res)
	})
}

// JobError calls IBackgroundCopyCallback::JobError.
func (r *remoteCallback) JobError(j bits.Job, e bits.Error) error {
	we, ok := e.(*Error)
	if !ok {
		return fail("JobError", "", hresult.E_INVALIDARG)
	}
	return r.invoke("JobError", &iidBackgroundCopyCallback, j, nil, func(cb, job, _ unsafe.Pointer) hresult.Code {
		return we.o.use(nil, func(ep unsafe.Pointer) hresult.Code {
			res, _, _ := syscall.SyscallN(method(cb, cbJobError), uintptr(cb), uintptr(job), uintptr(ep))
			return code(res)
		})
	})
}

// JobModification calls IBackgroundCopyCallback::JobModification.
func (r *remoteCallback) JobModification(j bits.Job) error {
	return r.invoke("JobModification", &iidBackgroundCopyCallback, j, nil, func(cb, job, _ unsafe.Pointer) hresult.Code {
		res, _, _ := syscall.SyscallN(method(cb, cbJobModification), uintptr(cb), uintptr(job), 0)
		return code(res)
	})
}

// FileTransferred calls IBackgroundCopyCallback2::FileTransferred.
func (r *remoteCallback) FileTransferred(j bits.Job, f bits.File) error {
	return r.invoke("FileTransferred", &iidBackgroundCopyCallback2, j, f, func(cb, job, file unsafe.Pointer) hresult.Code {
		res, _, _ := syscall.SyscallN(method(cb, cbFileTransferred), uintptr(cb), uintptr(job), uintptr(file))
		return code(res)
	})
}

// FileRangesTransferred calls IBackgroundCopyCallback3::FileRangesTransferred.
func (r *remoteCallback) FileRangesTransferred(j bits.Job, f bits.File, ranges []bits.FileRange) error {
	rs := make([]bgFileRange, max(len(ranges), 1)) // never NULL, as for AddFileSet
	for i, x := range ranges {
		rs[i] = bgFileRange{initialOffset: x.InitialOffset, length: x.Length}
	}
	return r.invoke("FileRangesTransferred", &iidBackgroundCopyCallback3, j, f, func(cb, job, file unsafe.Pointer) hresult.Code {
		res, _, _ := syscall.SyscallN(method(cb, cbFileRangesTransferred), uintptr(cb), uintptr(job), uintptr(file),
			uintptr(len(ranges)), uintptr(unsafe.Pointer(&rs[0])))
		return code(res)
	})
}
