package manager

import (
	mrand "math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// After reseedEvery GUIDs the pool takes a new key: the next GUID is not what the old key would
// have given.
func TestGUIDPoolTakesANewKey(t *testing.T) {
	var p idPool
	for range reseedEvery {
		p.next()
	}
	require.Zero(t, p.left, "the key is used up")
	state, err := p.gen.MarshalBinary()
	require.NoError(t, err)
	old := new(mrand.ChaCha8)
	require.NoError(t, old.UnmarshalBinary(state))
	var fromOld uuid.UUID
	_, _ = old.Read(fromOld[:])
	fromOld[6] = fromOld[6]&0x0f | 0x40
	fromOld[8] = fromOld[8]&0x3f | 0x80

	assert.NotEqual(t, fromOld, p.next(), "the GUID after the last of a key comes from a new key")
	assert.Equal(t, reseedEvery-1, p.left)
}
