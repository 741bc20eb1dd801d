package manager

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
)

const enumTestSID = "S-1-5-21-8200"

// A snapshot keeps the lists of at most maxViews callers that created some of its jobs (each
// created one, less than half: the list is of places only), and remembers for nothing that a
// caller created none; a change of the queue drops them all.
func TestSnapshotKeepsFewViews(t *testing.T) {
	m := New(WithManualTransfers())
	defer m.Close()
	var creators []*Client
	for range maxViews + 2 {
		c, err := m.Connect(Identity{SID: enumTestSID})
		require.NoError(t, err)
		_, err = c.CreateJob("j", bits.Download)
		require.NoError(t, err)
		creators = append(creators, c)
	}
	none, err := m.Connect(Identity{SID: enumTestSID})
	require.NoError(t, err)
	for _, c := range append(creators, none) {
		e, err := c.EnumJobs(0)
		require.NoError(t, err)
		got, _, _ := e.Next(100)
		require.Len(t, got, maxViews+2)
	}

	m.mu.Lock()
	snap := m.snaps[enumTestSID]
	m.mu.Unlock()
	require.NotNil(t, snap)
	snap.mu.Lock()
	kept := 0
	for _, v := range snap.views {
		if v != noneOwn {
			kept++
			assert.Nil(t, v.own, "one job of %d is less than half", maxViews+2)
			assert.Len(t, v.mine, 1)
		}
	}
	assert.Same(t, noneOwn, snap.views[none.caller], "a caller that created none of the jobs")
	snap.mu.Unlock()
	assert.Equal(t, maxViews, kept)

	_, err = none.CreateJob("k", bits.Download)
	require.NoError(t, err)
	m.mu.Lock()
	assert.Nil(t, m.snaps[enumTestSID], "a new job drops the snapshot")
	m.mu.Unlock()
}
