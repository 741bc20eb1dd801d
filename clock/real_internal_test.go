package clock

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real's Now derives the time from a recent full reading: between two readings of time.Now it
// lies between them, on the monotonic clock exactly and on the wall clock within the few
// nanoseconds between the two reads of a full reading.
func TestRealNowLiesBetweenReadingsOfTimeNow(t *testing.T) {
	c := Real()
	for range 10_000 {
		before := time.Now()
		now := c.Now()
		after := time.Now()
		require.False(t, now.Before(before), "monotonic: %v before %v", now, before)
		require.False(t, now.After(after), "monotonic: %v after %v", now, after)
		const skew = time.Millisecond // far above the reads' spacing, far below a wall step
		wall := now.Round(0)
		require.False(t, wall.Before(before.Round(0).Add(-skew)), "wall: %v before %v", wall, before)
		require.False(t, wall.After(after.Round(0).Add(skew)), "wall: %v after %v", wall, after)
	}
}

// The wall clock is read again once the last full reading is wallEvery old, and not before: a
// step of the system clock shows within wallEvery.
func TestRealNowReadsTheWallClockEveryWallEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Real()
		first := c.Now()
		base := wallBase.Load()
		require.NotNil(t, base)
		assert.Equal(t, time.Now(), first)

		time.Sleep(wallEvery - time.Nanosecond)
		assert.Equal(t, time.Now(), c.Now())
		assert.Same(t, base, wallBase.Load(), "read again before wallEvery")

		time.Sleep(time.Nanosecond)
		assert.Equal(t, time.Now(), c.Now())
		assert.NotSame(t, base, wallBase.Load(), "not read again after wallEvery")
	})
}

// A reading taken in another time line (a synctest bubble's, the real one) is never used: the
// time it would give is out of range, and the clock is read in full.
func TestRealNowIgnoresAReadingOfAnotherTimeLine(t *testing.T) {
	c := Real()
	var inBubble time.Time
	synctest.Test(t, func(t *testing.T) {
		c.Now() // the reading left from outside the bubble is not used
		time.Sleep(time.Hour)
		inBubble = c.Now()
		assert.Equal(t, time.Now(), inBubble)
	})
	require.Equal(t, inBubble, *wallBase.Load(), "the bubble's reading is the last one")
	before := time.Now()
	now := c.Now()
	assert.False(t, now.Before(before), "outside the bubble: %v, before %v", now, before)
	assert.WithinDuration(t, before, now, time.Second)
}
