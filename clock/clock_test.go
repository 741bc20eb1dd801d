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

func TestVirtualRunsChainedTimersInTheSameStep(t *testing.T) {
	v := clock.NewVirtual(time.Unix(0, 0))
	var order []string
	v.AfterFunc(time.Second, func() {
		order = append(order, "first")
		// Due at once: it queues behind the timers already due, and runs in this step.
		v.AfterFunc(0, func() { order = append(order, "chained") })
	})
	v.AfterFunc(time.Second, func() { order = append(order, "second") })
	v.AfterFunc(2*time.Second, func() { order = append(order, "later") })
	v.Advance(time.Second)
	assert.Equal(t, []string{"first", "second", "chained"}, order)
	assert.False(t, v.Wait(), "timer functions run on the stepping goroutine: nothing is left running")
	v.Advance(time.Second)
	assert.Equal(t, []string{"first", "second", "chained", "later"}, order)
}

// Timers due at one instant run one at a time, in the order they were armed, every time: the
// functions below would race if they ran concurrently (the race detector would see it), and the
// order would vary.
func TestVirtualSameInstantOrder(t *testing.T) {
	for range 50 {
		v := clock.NewVirtual(time.Unix(0, 0))
		var order []int
		for i := range 20 {
			v.AfterFunc(time.Minute, func() { order = append(order, i) })
		}
		v.Advance(time.Hour)
		want := make([]int, 20)
		for i := range want {
			want[i] = i
		}
		require.Equal(t, want, order)
	}
}

func TestVirtualRunNext(t *testing.T) {
	start := time.Unix(0, 0)
	v := clock.NewVirtual(start)
	var at []time.Duration
	v.AfterFunc(3*time.Second, func() { at = append(at, v.Now().Sub(start)) })
	v.AfterFunc(time.Second, func() { at = append(at, v.Now().Sub(start)) })

	assert.False(t, v.RunNext(start.Add(500*time.Millisecond)), "nothing due by the limit")
	assert.Equal(t, start, v.Now(), "RunNext does not move the clock when nothing runs")
	require.True(t, v.RunNext(start.Add(10*time.Second)))
	assert.Equal(t, []time.Duration{time.Second}, at, "one timer only, the earliest")
	assert.Equal(t, start.Add(time.Second), v.Now(), "the clock stops at the timer's due time")
	require.True(t, v.RunNext(start.Add(10*time.Second)))
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second}, at)
	assert.False(t, v.RunNext(start.Add(10*time.Second)))
}

// Timers run by due time first and, among timers due at one instant, in the order they were
// armed, whatever the order of arming and due times: a timer armed later but due earlier runs
// first, and one armed later for the same instant runs after those armed before it, even when
// it was armed after the clock moved.
func TestVirtualDeadlineThenArmingOrder(t *testing.T) {
	v := clock.NewVirtual(epoch)
	var order []string
	at := func(name string, d time.Duration) {
		v.AfterFunc(d, func() { order = append(order, name) })
	}
	at("a@2s", 2*time.Second)
	at("b@1s", time.Second)
	at("c@2s", 2*time.Second)
	at("d@3s", 3*time.Second)
	at("e@1s", time.Second)
	v.Advance(time.Second)
	assert.Equal(t, []string{"b@1s", "e@1s"}, order)
	at("f@2s", time.Second) // armed at 1 s, due at 2 s: after a and c
	at("g@1.5s", 500*time.Millisecond)
	v.Advance(time.Hour)
	assert.Equal(t, []string{"b@1s", "e@1s", "g@1.5s", "a@2s", "c@2s", "f@2s", "d@3s"}, order)
}
