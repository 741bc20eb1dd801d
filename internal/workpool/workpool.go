// Package workpool runs pieces of work on goroutines that it keeps parked between pieces for a
// while, so that the next piece starts on one of them instead of on a new goroutine, and nothing
// runs once the work stops coming. The notification engine delivers on such goroutines and the
// scheduler transfers on them.
//
// Handing a piece to a goroutine that is awake and looking for work costs nothing but a queue
// append: only when none is does Go wake a parked goroutine (or start one), and waking another
// thread is a system call that costs microseconds on a virtual machine. A goroutine that takes a
// piece while more wait wakes a helper first, so that no piece waits behind a long one.
//
// A Pool shares its owner's mutex: the owner hands work over while it holds the lock anyway, and
// a goroutine looks for its next piece, or parks, in the same critical section in which it
// recorded the end of the last one, so the pool costs no lock round of its own.
package workpool

import (
	"sync"
	"time"
)

// Pool runs pieces of work of type T on goroutines it keeps parked between them. A goroutine that
// stays parked for a whole linger period exits at the next tick of the pool's reaper, so between
// one and two periods after its last piece.
type Pool[T comparable] struct {
	mu     *sync.Mutex
	work   func(T)
	linger time.Duration
	wg     sync.WaitGroup

	// Guarded by mu.
	queue   []T         // pieces no goroutine took yet, oldest first
	head    int         // queue[head:] waits
	looking int         // goroutines awake and about to look at the queue
	parked  []*worker   // the most recently parked last
	epoch   uint64      // reaper ticks so far
	reaper  *time.Timer // runs reap; armed while a goroutine is parked
	reaping bool        // reaper is armed
	closed  bool
}

type worker struct {
	wake  chan bool // true: look at the queue; false: exit
	epoch uint64    // Pool.epoch when it parked
}

// New returns a pool whose goroutines run work for each piece and are kept for linger after
// their last one. work is called with mu held, as it was when the goroutine took the piece, and
// must return with mu held: a goroutine records the start and the end of its work under the
// owner's lock, and looks for the next piece under it too.
func New[T comparable](mu *sync.Mutex, linger time.Duration, work func(T)) *Pool[T] {
	return &Pool[T]{mu: mu, work: work, linger: linger}
}

// Go has work(x) run on a goroutine of the pool: one that is awake and looking for work, else the
// one parked last, else a new one. It never blocks. Called with mu held.
func (p *Pool[T]) Go(x T) {
	if p.head > 0 && len(p.queue) == cap(p.queue) {
		// Full, with room at the front: move the waiting pieces down rather than grow.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	p.queue = append(p.queue, x)
	if p.looking == 0 {
		p.wakeOne()
	}
}

// Withdraw takes x back when no goroutine has taken it yet, and reports whether it did: work(x)
// then never runs. A goroutine woken for x finds nothing and parks again. Called with mu held.
func (p *Pool[T]) Withdraw(x T) bool {
	for i := len(p.queue) - 1; i >= p.head; i-- {
		if p.queue[i] == x {
			copy(p.queue[i:], p.queue[i+1:])
			var zero T
			p.queue[len(p.queue)-1] = zero
			p.queue = p.queue[:len(p.queue)-1]
			if p.head == len(p.queue) {
				p.queue, p.head = p.queue[:0], 0
			}
			return true
		}
	}
	return false
}

// Close makes every parked goroutine exit, and every other one exit once no piece is left for
// it. Go still runs work after Close. Called with mu held.
func (p *Pool[T]) Close() {
	p.closed = true
	for _, w := range p.parked {
		w.wake <- false
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

// wakeOne gets one more goroutine looking at the queue: the one parked last, or a new one when
// none is parked (always after Close). Called with mu held.
func (p *Pool[T]) wakeOne() {
	p.looking++
	if n := len(p.parked); n > 0 && !p.closed {
		w := p.parked[n-1]
		p.parked[n-1] = nil
		p.parked = p.parked[:n-1]
		w.wake <- true // buffered, and empty since the goroutine parked
		return
	}
	p.wg.Add(1)
	go p.run(&worker{wake: make(chan bool, 1)})
}

// take returns the oldest piece waiting, if any. Called with mu held.
func (p *Pool[T]) take() (x T, ok bool) {
	if p.head == len(p.queue) {
		return x, false
	}
	x = p.queue[p.head]
	var zero T
	p.queue[p.head] = zero
	if p.head++; p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	}
	return x, true
}

func (p *Pool[T]) run(w *worker) {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		// Counted in looking.
		x, ok := p.take()
		if !ok {
			p.looking--
			if p.closed {
				p.mu.Unlock()
				return
			}
			p.park(w)
			p.mu.Unlock()
			if !<-w.wake {
				return
			}
			p.mu.Lock() // the waker counted this goroutine in looking
			continue
		}
		p.looking--
		if p.head < len(p.queue) && p.looking == 0 {
			p.wakeOne() // more wait: a helper takes them, in case this piece is long
		}
		p.work(x)
		p.looking++
	}
}

// park puts w among the parked goroutines and makes sure the reaper runs. Called with mu held.
func (p *Pool[T]) park(w *worker) {
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
		p.parked[n].wake <- false
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
