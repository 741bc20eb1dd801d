// Package workpool keeps the goroutines that finished a piece of work parked for a while, so that
// the next piece starts on one of them instead of on a new goroutine, and nothing runs once the
// work stops coming. The notification engine delivers on such goroutines and the scheduler
// transfers on them.
//
// A Pool shares its owner's mutex: the owner hands work over while it holds the lock anyway, and
// a goroutine parks in the same critical section in which it recorded the end of its work, so
// the pool costs no lock round of its own.
package workpool

import (
	"sync"
	"time"
)

// Pool runs pieces of work of type T on goroutines it keeps parked between them. A goroutine that
// stays parked for a whole linger period exits at the next tick of the pool's reaper, so between
// one and two periods after its last piece.
type Pool[T any] struct {
	mu     *sync.Mutex
	work   func(T)
	linger time.Duration
	wg     sync.WaitGroup

	// Guarded by mu.
	parked  []*worker[T] // the most recently parked last
	epoch   uint64       // reaper ticks so far
	reaper  *time.Timer  // runs reap; armed while a goroutine is parked
	reaping bool         // reaper is armed
	closed  bool
}

type worker[T any] struct {
	ch    chan next[T]
	epoch uint64 // Pool.epoch when it parked
}

// next is a parked goroutine's next piece of work, or, with ok unset, the order to exit.
type next[T any] struct {
	x  T
	ok bool
}

// New returns a pool whose goroutines run work for each piece and are kept for linger after
// their last one. work is called without mu and must return with mu held: a goroutine records
// the end of its work under the owner's lock, then parks under it too.
func New[T any](mu *sync.Mutex, linger time.Duration, work func(T)) *Pool[T] {
	return &Pool[T]{mu: mu, work: work, linger: linger}
}

// Go runs work(x) on the goroutine parked last, or on a new one when none is parked. It never
// blocks. Called with mu held.
func (p *Pool[T]) Go(x T) {
	if n := len(p.parked); n > 0 {
		w := p.parked[n-1]
		p.parked[n-1] = nil
		p.parked = p.parked[:n-1]
		w.ch <- next[T]{x: x, ok: true} // buffered, and empty since the goroutine parked
		return
	}
	p.wg.Add(1)
	go p.run(&worker[T]{ch: make(chan next[T], 1)}, x)
}

// Close makes every parked goroutine exit, and every other one exit once its work returns. Go
// still runs work after Close, each piece on a goroutine of its own. Called with mu held.
func (p *Pool[T]) Close() {
	p.closed = true
	for _, w := range p.parked {
		w.ch <- next[T]{}
	}
	p.parked = nil
	if p.reaper != nil {
		p.reaper.Stop()
	}
}

// Wait blocks until every goroutine of the pool has exited; call it after Close, without mu.
func (p *Pool[T]) Wait() { p.wg.Wait() }

// Parked returns the number of goroutines waiting for work. Called with mu held.
func (p *Pool[T]) Parked() int { return len(p.parked) }

func (p *Pool[T]) run(w *worker[T], x T) {
	defer p.wg.Done()
	for {
		p.work(x)
		if p.closed {
			p.mu.Unlock()
			return
		}
		p.park(w)
		p.mu.Unlock()
		n := <-w.ch
		if !n.ok {
			return
		}
		x = n.x
	}
}

// park puts w among the parked goroutines and makes sure the reaper runs. Called with mu held.
func (p *Pool[T]) park(w *worker[T]) {
	w.epoch = p.epoch
	p.parked = append(p.parked, w)
	if p.reaping {
		return
	}
	p.reaping = true
	if p.reaper == nil {
		p.reaper = time.AfterFunc(p.linger, p.reap)
	} else {
		p.reaper.Reset(p.linger)
	}
}

// reap ends the goroutines parked since before the previous tick, and ticks again while any
// remain parked.
func (p *Pool[T]) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.epoch++
	// Goroutines park in order, so the epochs never decrease from the bottom of the stack up.
	n := 0
	for n < len(p.parked) && p.parked[n].epoch+1 < p.epoch {
		p.parked[n].ch <- next[T]{}
		n++
	}
	if n > 0 {
		rest := copy(p.parked, p.parked[n:])
		clear(p.parked[rest:])
		p.parked = p.parked[:rest]
	}
	if len(p.parked) == 0 {
		p.reaping = false
		return
	}
	p.reaper.Reset(p.linger)
}
