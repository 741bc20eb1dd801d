package job

import (
	"sync"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Enum is a COM-style enumerator (IEnumBackgroundCopyJobs, IEnumBackgroundCopyFiles) over a
// snapshot of items taken when it was made (bits.Enum): items added or removed later do not change it, while
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
// items and S_OK. The error is always nil.
func (e *Enum[T]) Next(n uint32) ([]T, hresult.Code, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := len(e.items) - e.pos
	k := int(min(uint64(n), uint64(rest)))
	out := make([]T, k)
	copy(out, e.items[e.pos:e.pos+k])
	e.pos += k
	if uint64(k) < uint64(n) {
		return out, hresult.S_FALSE, nil
	}
	return out, hresult.S_OK, nil
}

// Skip moves past n items: S_OK, or S_FALSE when fewer than n remained (the position is then the
// end).
func (e *Enum[T]) Skip(n uint32) (hresult.Code, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := len(e.items) - e.pos
	if uint64(n) > uint64(rest) {
		e.pos = len(e.items)
		return hresult.S_FALSE, nil
	}
	e.pos += int(n)
	return hresult.S_OK, nil
}

// Reset moves back to the first item. It always succeeds.
func (e *Enum[T]) Reset() error {
	e.mu.Lock()
	e.pos = 0
	e.mu.Unlock()
	return nil
}

// Clone returns an independent enumerator over the same snapshot, at the same position.
func (e *Enum[T]) Clone() (bits.Enum[T], error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &Enum[T]{items: e.items, pos: e.pos}, nil
}

// GetCount returns the number of items in the snapshot, wherever the position is. The error is
// always nil.
func (e *Enum[T]) GetCount() (uint32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return uint32(len(e.items)), nil
}
