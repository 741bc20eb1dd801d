//go:build windows

package winbits

import (
	"runtime"
	"syscall"
	"unsafe"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Enum is a BITS enumerator reached through COM: IEnumBackgroundCopyJobs (T is bits.Job) or
// IEnumBackgroundCopyFiles (T is bits.File), whose methods have the same layout. Its reference
// is given back by Release, by the Manager's Close, or by the garbage collector. An Enum is safe
// for concurrent use.
type Enum[T any] struct {
	o    *object
	name string          // the COM interface, for error messages
	wrap func(*object) T // makes an item of an interface pointer Next returned
}

var (
	_ bits.JobEnum  = (*Enum[bits.Job])(nil)
	_ bits.FileEnum = (*Enum[bits.File])(nil)
)

func newEnum[T any](o *object, name string, wrap func(*object) T) *Enum[T] {
	e := &Enum[T]{o: o, name: name, wrap: wrap}
	runtime.AddCleanup(e, (*object).release, o)
	return e
}

// Release gives back the Enum's COM reference at once. Later calls fail with
// RPC_E_DISCONNECTED. Items it returned are not affected.
func (e *Enum[T]) Release() { e.o.release() }

// Next returns up to n items, with S_OK when there were n and S_FALSE when the end came first
// (IEnum...::Next).
func (e *Enum[T]) Next(n uint32) ([]T, hresult.Code, error) {
	ptrs := make([]unsafe.Pointer, max(n, 1)) // the array is never NULL, even for Next(0)
	var got uint32
	c := e.o.use(nil, func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, enumNext), uintptr(p), uintptr(n), uintptr(unsafe.Pointer(&ptrs[0])), uintptr(unsafe.Pointer(&got)))
		return code(r)
	})
	if c.Failed() {
		return nil, 0, fail(e.name+".Next", "", c)
	}
	items := make([]T, 0, got)
	for _, p := range ptrs[:min(got, n)] {
		items = append(items, e.wrap(e.o.conn.adopt(p)))
	}
	return items, c, nil
}

// Skip moves past n items, S_FALSE when fewer were left (IEnum...::Skip).
func (e *Enum[T]) Skip(n uint32) (hresult.Code, error) {
	c := e.o.use(nil, func(p unsafe.Pointer) hresult.Code { return callVal(p, enumSkip, uintptr(n)) })
	if c.Failed() {
		return 0, fail(e.name+".Skip", "", c)
	}
	return c, nil
}

// Reset moves back to the first item (IEnum...::Reset).
func (e *Enum[T]) Reset() error {
	return fail(e.name+".Reset", "", e.o.use(nil, func(p unsafe.Pointer) hresult.Code { return call0(p, enumReset) }))
}

// Clone returns an independent enumerator at the same position (IEnum...::Clone).
func (e *Enum[T]) Clone() (bits.Enum[T], error) {
	var q unsafe.Pointer
	c := e.o.use(nil, func(p unsafe.Pointer) (c hresult.Code) { q, c = getPtr(p, enumClone); return })
	if c.Failed() {
		return nil, fail(e.name+".Clone", "", c)
	}
	return newEnum(e.o.conn.adopt(q), e.name, e.wrap), nil
}

// GetCount returns the number of items (IEnum...::GetCount).
func (e *Enum[T]) GetCount() (uint32, error) {
	var n uint32
	c := e.o.use(nil, func(p unsafe.Pointer) (c hresult.Code) { n, c = getOut[uint32](p, enumGetCount); return })
	return n, fail(e.name+".GetCount", "", c)
}
