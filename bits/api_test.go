package bits_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
)

// TestAll reads an enumerator from its position to the end, across several Next batches.
func TestAll(t *testing.T) {
	items := make([]int, 150)
	for i := range items {
		items[i] = i
	}
	var e bits.Enum[int] = job.NewEnum(items)
	got, err := bits.All(e)
	require.NoError(t, err)
	assert.Equal(t, items, got)

	// From the middle: only what is left; at the end: nothing.
	require.NoError(t, e.Reset())
	_, err = e.Skip(140)
	require.NoError(t, err)
	got, err = bits.All(e)
	require.NoError(t, err)
	assert.Equal(t, items[140:], got)
	got, err = bits.All(e)
	require.NoError(t, err)
	assert.Empty(t, got)

	// Exactly a batch's worth ends on S_FALSE from the next call.
	got, err = bits.All[int](job.NewEnum(items[:64]))
	require.NoError(t, err)
	assert.Len(t, got, 64)
}
