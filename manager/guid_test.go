package manager_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/manager"
)

// Job GUIDs are random version-4 GUIDs, all different, across the new keys the generator takes
// from the system's random source.
func TestJobGUIDsAreRandom(t *testing.T) {
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{}))
	t.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	require.NoError(t, err)
	const n = 5000 // more than one key's worth
	seen := make(map[uuid.UUID]bool, n)
	var ones [16]int // per byte, GUIDs whose byte is not zero
	for range n {
		j, err := c.CreateJob("guid", bits.Download)
		require.NoError(t, err)
		id, err := j.GetId()
		require.NoError(t, err)
		require.False(t, seen[id], "GUID %v given twice", id)
		seen[id] = true
		assert.Equal(t, uuid.Version(4), id.Version())
		assert.Equal(t, uuid.RFC4122, id.Variant())
		for i, b := range id {
			if b != 0 {
				ones[i]++
			}
		}
	}
	for i, k := range ones {
		// A random byte is zero once in 256: every position holds random bits.
		assert.Greater(t, k, n*9/10, "byte %d is mostly zero", i)
	}
}

// Two managers draw different GUIDs: each keys its generator from the system's random source.
func TestManagersDrawDifferentGUIDs(t *testing.T) {
	first := func() uuid.UUID {
		m := manager.New(manager.WithManualTransfers())
		t.Cleanup(func() { _ = m.Close() })
		c, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
		require.NoError(t, err)
		j, err := c.CreateJob("guid", bits.Download)
		require.NoError(t, err)
		id, err := j.GetId()
		require.NoError(t, err)
		return id
	}
	assert.NotEqual(t, first(), first())
}
