//go:build windows

package winbits

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/hresult"
)

// conn is one Manager's connection: every COM reference the package took on its behalf, so that
// Close can release them all, and the callback objects it registered, so that Close can
// disconnect them.
type conn struct {
	mu        sync.Mutex
	closed    bool
	objects   map[*object]struct{}
	callbacks map[*callbackObject]struct{}
}

func newConn() *conn {
	return &conn{objects: make(map[*object]struct{}), callbacks: make(map[*callbackObject]struct{})}
}

// adopt takes over the reference p (which the caller obtained from BITS) as a new object of the
// connection. On a closed connection p is released at once and the object is dead, as it is
// for a nil p.
func (c *conn) adopt(p unsafe.Pointer) *object {
	o := &object{conn: c}
	if p == nil {
		return o // BITS returned no object: a dead one, never listed
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		releaseRef(p)
		return o
	}
	o.primary = p
	c.objects[o] = struct{}{}
	c.mu.Unlock()
	return o
}

// borrow is adopt for a pointer the caller does not own (one BITS passed to a callback): it
// takes a reference of its own first.
func (c *conn) borrow(p unsafe.Pointer) *object {
	if p != nil {
		call0(p, slotAddRef)
	}
	return c.adopt(p)
}

// close marks the connection closed, releases every reference it holds and disconnects its
// callback objects, so that BITS can no longer call them. It reports whether it was the first
// close.
func (c *conn) close() bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	objects, callbacks := c.objects, c.callbacks
	c.objects, c.callbacks = nil, nil
	c.mu.Unlock()
	for o := range objects {
		o.release()
	}
	for cb := range callbacks {
		cb.disconnect()
	}
	return true
}

func (c *conn) forget(o *object) {
	c.mu.Lock()
	delete(c.objects, o)
	c.mu.Unlock()
}

// object is one COM object of BITS as the package holds it: a reference to its primary
// interface, and references to the other interfaces of the object that QueryInterface found
// (IBackgroundCopyJob2 and so on), taken the first time a method needs them.
//
// Calls hold mu for reading while they use the pointers; release holds it for writing, so that
// no call uses a pointer after it was released.
type object struct {
	conn    *conn
	mu      sync.RWMutex
	primary unsafe.Pointer // nil once released (or when adopted by a closed connection)

	qmu   sync.Mutex
	extra map[*windows.GUID]unsafe.Pointer // nil value: the object lacks the interface
}

// use runs fn with the object's interface iid (nil for the primary one) on a thread that is in
// the multithreaded apartment. A released object gives RPC_E_DISCONNECTED; an interface the
// object lacks gives the E_NOINTERFACE of its QueryInterface.
func (o *object) use(iid *windows.GUID, fn func(p unsafe.Pointer) hresult.Code) hresult.Code {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.primary == nil {
		return hresult.RPC_E_DISCONNECTED
	}
	if c := enter(); c.Failed() {
		return c
	}
	defer leave()
	p := o.primary
	if iid != nil {
		var c hresult.Code
		if p, c = o.query(iid); c.Failed() {
			return c
		}
	}
	return fn(p)
}

// query returns the interface iid of the object, asking QueryInterface only the first time.
// The caller holds mu for reading.
func (o *object) query(iid *windows.GUID) (unsafe.Pointer, hresult.Code) {
	o.qmu.Lock()
	defer o.qmu.Unlock()
	if p, ok := o.extra[iid]; ok {
		if p == nil {
			return nil, hresult.E_NOINTERFACE
		}
		return p, hresult.S_OK
	}
	p, c := queryInterface(o.primary, iid)
	if c.Failed() && c != hresult.E_NOINTERFACE {
		return nil, c // a transient failure (the service went away, say) is not remembered
	}
	if o.extra == nil {
		o.extra = make(map[*windows.GUID]unsafe.Pointer)
	}
	o.extra[iid] = p
	if p == nil {
		return nil, hresult.E_NOINTERFACE
	}
	return p, hresult.S_OK
}

// release releases every reference the object holds. It is idempotent and waits for calls in
// progress on the object.
func (o *object) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.primary == nil {
		return
	}
	if enter().Succeeded() {
		for _, p := range o.extra {
			if p != nil {
				call0(p, slotRelease)
			}
		}
		call0(o.primary, slotRelease)
		leave()
	}
	o.primary, o.extra = nil, nil
	o.conn.forget(o)
}

// releaseRef releases one reference that no object holds.
func releaseRef(p unsafe.Pointer) {
	if p == nil || enter().Failed() {
		return
	}
	call0(p, slotRelease)
	leave()
}
