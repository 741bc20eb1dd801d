package workpool_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/workpool"
)

const linger = 20 * time.Millisecond

// owner is what a pool's owner keeps: its lock, and what the work did.
type owner struct {
	mu   sync.Mutex
	done []int
	gate chan struct{} // when set, work waits on it before recording
	pool *workpool.Pool[int]
}

func newOwner() *owner {
	o := &owner{}
	o.pool = workpool.New(&o.mu, linger, func(x int) {
		gate := o.gate
		o.mu.Unlock() // work is called with the owner's lock held
		if gate != nil {
			<-gate
		}
		o.mu.Lock() // and returns with it held
		o.done = append(o.done, x)
	})
	return o
}

func (o *owner) start(x int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pool.Go(x)
}

func (o *owner) parked() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pool.Parked()
}

// Pieces handed over one after the other run on one goroutine, which stays parked between them.
func TestSequentialWorkReusesOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOwner()
		for i := range 5 {
			o.start(i)
			synctest.Wait()
			assert.Equal(t, 1, o.parked(), "after piece %d", i)
		}
		assert.Equal(t, []int{0, 1, 2, 3, 4}, o.done)
		o.mu.Lock()
		o.pool.Close()
		o.mu.Unlock()
		o.pool.Wait()
	})
}

// Pieces handed over while a goroutine is on its way to the queue wait for it rather than wake
// goroutines of their own: five quick pieces in a row leave at most two goroutines (the first,
// and the helper it wakes when it finds more waiting).
func TestPiecesWaitForAGoroutineOnItsWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOwner()
		o.mu.Lock()
		for i := range 5 {
			o.pool.Go(i)
		}
		o.mu.Unlock()
		synctest.Wait()
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4}, o.done)
		assert.LessOrEqual(t, o.parked(), 2)
		assert.GreaterOrEqual(t, o.parked(), 1)
		o.mu.Lock()
		o.pool.Close()
		o.mu.Unlock()
		o.pool.Wait()
	})
}

// Pieces that overlap get a goroutine each; a goroutine idle for a whole linger period exits at
// the reaper's next tick, and once all are idle, none is left.
func TestIdleGoroutinesExitAfterLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOwner()
		o.gate = make(chan struct{})
		for i := range 3 {
			o.start(i)
		}
		synctest.Wait()
		assert.Equal(t, 0, o.parked(), "all three are busy")
		close(o.gate)
		synctest.Wait()
		assert.Equal(t, 3, o.parked())
		assert.ElementsMatch(t, []int{0, 1, 2}, o.done)

		// The reaper ticks every linger period from the first park (t=0): at 20 ms, 40 ms, ...
		// A goroutine exits at the second tick after it parked.
		time.Sleep(linger - time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 3, o.parked(), "t=19ms: parked for less than a period, kept")
		time.Sleep(6 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 3, o.parked(), "t=25ms: one tick since they parked, kept")
		o.start(3) // the goroutine parked last takes it, and parks again after the first tick
		synctest.Wait()
		time.Sleep(16 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 1, o.parked(), "t=41ms: the two idle since t=0 exited; the one used at 25 ms stays")
		time.Sleep(linger)
		synctest.Wait()
		assert.Equal(t, 0, o.parked(), "t=61ms: the last one exited too")
		// The bubble ends only when every goroutine has exited: none is left running.
	})
}

// Close ends the parked goroutines, lets busy ones finish their piece, and work handed over after
// it still runs.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOwner()
		o.start(1)
		synctest.Wait()
		o.gate = make(chan struct{})
		o.start(2)
		o.start(3) // a second goroutine: the first is busy with 2
		synctest.Wait()
		o.mu.Lock()
		o.pool.Close()
		parked := o.pool.Parked()
		o.mu.Unlock()
		assert.Equal(t, 0, parked)
		o.start(4)
		close(o.gate)
		o.pool.Wait()
		require.ElementsMatch(t, []int{1, 2, 3, 4}, o.done)
		assert.Equal(t, 0, o.parked(), "nothing parks after Close")
	})
}

// A piece withdrawn before any goroutine took it never runs, and a goroutine woken for it parks
// again; a piece already taken, or never handed over, cannot be withdrawn.
func TestWithdraw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOwner()
		o.gate = make(chan struct{})
		o.mu.Lock()
		o.pool.Go(1) // the woken goroutine waits for the lock, which the test holds
		o.pool.Go(2)
		assert.True(t, o.pool.Withdraw(2), "waiting behind another")
		assert.False(t, o.pool.Withdraw(2), "withdrawn already")
		assert.False(t, o.pool.Withdraw(4), "never handed over")
		o.mu.Unlock()
		synctest.Wait() // the goroutine took 1, and waits at the gate
		o.mu.Lock()
		assert.False(t, o.pool.Withdraw(1), "taken")
		o.mu.Unlock()
		close(o.gate)
		synctest.Wait()
		assert.Equal(t, 1, o.parked())

		o.mu.Lock()
		o.pool.Go(5) // wakes the parked goroutine
		assert.True(t, o.pool.Withdraw(5), "waiting alone")
		o.mu.Unlock()
		synctest.Wait()
		o.mu.Lock()
		assert.Equal(t, []int{1}, o.done, "only the piece never withdrawn ran")
		o.mu.Unlock()
		assert.Equal(t, 1, o.parked(), "the goroutine woken for nothing parked again")
		o.mu.Lock()
		o.pool.Go(6) // and still takes work
		o.mu.Unlock()
		synctest.Wait()
		o.mu.Lock()
		assert.Equal(t, []int{1, 6}, o.done)
		o.pool.Close()
		o.mu.Unlock()
		o.pool.Wait()
	})
}
