package job

import (
	"sync"

	"github.com/bitsemu/bitsemu/hresult"
)

// Enum is a COM-style enumerator (IEnumBackgroundCopyJobs, IEnumBackgroundCopyFiles) over a
// snapshot of items taken when it was made: items added or removed later do not change it, while
// the items themselves stay live. It is safe for concurrent use.
type Enum[T any] struct {
	mu    sync.Mutex
	items []T
	pos   int
}

// NewEnum returns an enumerator over items, positioned at the start. It keeps the slice.
func NewEnum[T any](items []T) *Enum[T] { return &Enum[T]{items: items} }

// Next returns up to n items from the current position and moves past them. The code is S_OK when
// n items were returned and S_FALSE when fewer were (the end was reached). Next(0) returns no
// items and S_OK.
func (e *Enum[T]) Next(n uint32) ([]T, hresult.Code) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := len(e.items) - e.pos
	k := int(min(uint64(n), uint64(rest)))
	out := make([]T, k)
	copy(out, e.items[e.pos:e.pos+k])
	e.pos += k
	if uint64(k) < uint64(n) {
		return out, hresult.S_FALSE
	}
	return out, hresult.S_OK
}

// Skip moves past n items: S_OK, or S_FALSE when fewer than n remained (the position is then the
// end).
func (e *Enum[T]) Skip(n uint32) hresult.Code {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := len(e.items) - e.pos
	if uint64(n) > uint64(rest) {
		e.pos = len(e.items)
		return hresult.S_FALSE
	}
	e.pos += int(n)
	return hresult.S_OK
}

// Reset moves back to the first item.
func (e *Enum[T]) Reset() {
	e.mu.Lock()
	e.pos = 0
	e.mu.Unlock()
}

// Clone returns an independent enumerator over the same snapshot, at the same position.
func (e *Enum[T]) Clone() *Enum[T] {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &Enum[T]{items: e.items, pos: e.pos}
}

// GetCount returns the number of items in the snapshot, wherever the position is.
func (e *Enum[T]) GetCount() uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return uint32(len(e.items))
}
