package clock_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestVirtualRunsTimersInOrderAtTheirDueTime(t *testing.T) {
	v := clock.NewVirtual(epoch)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var fired []time.Duration
	at := func(d time.Duration) {
		wg.Add(1)
		v.AfterFunc(d, func() {
			defer wg.Done()
			mu.Lock()
			fired = append(fired, d)
			mu.Unlock()
		})
	}
	at(3 * time.Hour)
	at(time.Hour)
	at(2 * time.Hour)
	require.Equal(t, 3, v.Pending())

	v.Advance(90 * time.Minute)
	assert.Equal(t, epoch.Add(90*time.Minute), v.Now())
	assert.Equal(t, 2, v.Pending(), "only the 1h timer was due")
	next, ok := v.Next()
	require.True(t, ok)
	assert.Equal(t, epoch.Add(2*time.Hour), next)

	v.Advance(48 * time.Hour)
	wg.Wait()
	assert.Equal(t, epoch.Add(49*time.Hour+30*time.Minute), v.Now())
	assert.ElementsMatch(t, []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}, fired)
	_, ok = v.Next()
	assert.False(t, ok)
}

func TestVirtualStop(t *testing.T) {
	v := clock.NewVirtual(epoch)
	ran := make(chan struct{}, 1)
	tm := v.AfterFunc(time.Second, func() { ran <- struct{}{} })
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop(), "a stopped timer cannot be stopped again")
	v.Advance(time.Minute)
	select {
	case <-ran:
		t.Fatal("a stopped timer ran")
	default:
	}
	assert.Equal(t, 0, v.Pending())
}

func TestVirtualNeverGoesBack(t *testing.T) {
	v := clock.NewVirtual(epoch)
	v.AdvanceTo(epoch.Add(-time.Hour))
	assert.Equal(t, epoch, v.Now())
}

func TestVirtualTimerSeesItsDueTime(t *testing.T) {
	v := clock.NewVirtual(epoch)
	got := make(chan time.Time, 1)
	v.AfterFunc(10*time.Second, func() { got <- v.Now() })
	v.AfterFunc(20*time.Second, func() {})
	// Advancing past both: the first timer is started while the clock reads its due time, but it
	// runs in its own goroutine, so it may read a later time; it never reads an earlier one.
	v.Advance(10 * time.Second)
	assert.Equal(t, epoch.Add(10*time.Second), <-got)
}

func TestRealUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.Real()
		start := c.Now()
		done := make(chan time.Time)
		c.AfterFunc(90*24*time.Hour, func() { done <- c.Now() })
		at := <-done
		assert.Equal(t, 90*24*time.Hour, at.Sub(start), "inside a bubble real timers run in virtual time")
	})
}

func TestVirtualWaitCoversChainedTimers(t *testing.T) {
	v := clock.NewVirtual(time.Unix(0, 0))
	var order []string
	var mu sync.Mutex
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	v.AfterFunc(time.Second, func() {
		record("first")
		// A timer that is already due when scheduled runs at the next Advance, not now.
		v.AfterFunc(0, func() { record("chained") })
	})
	v.Advance(time.Second)
	v.Wait()
	mu.Lock()
	require.Equal(t, []string{"first"}, order)
	mu.Unlock()
	v.Advance(0)
	v.Wait()
	mu.Lock()
	assert.Equal(t, []string{"first", "chained"}, order)
	mu.Unlock()
	v.Wait() // nothing running: returns at once
}
