package manager

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
)

// Changes of different jobs made at the same moment are written together: the store commits
// fewer transactions than there were calls (one per call when the manager wrote one job at a
// time), and every change is on disk.
func TestConcurrentChangesShareCommits(t *testing.T) {
	dir := t.TempDir()
	m, err := Open(dir, WithManualTransfers())
	require.NoError(t, err)
	c, err := m.Connect(Identity{SID: "S-1-5-21-7", Admin: true})
	require.NoError(t, err)
	const n = 64
	jobs := make([]bits.Job, n)
	for i := range jobs {
		jobs[i], err = c.CreateJob("job", bits.Download)
		require.NoError(t, err)
	}
	fewest := uint64(n)
	for round := range 3 {
		before := m.store.Commits()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() {
				<-start
				assert.NoError(t, j.SetDescription("round "+string(rune('a'+round))+string(rune('a'+i%26))))
			})
		}
		close(start)
		wg.Wait()
		fewest = min(fewest, m.store.Commits()-before)
	}
	assert.Less(t, fewest, uint64(n/2), "%d calls at once took %d commits at best", n, fewest)
	require.NoError(t, m.Close())

	m, err = Open(dir)
	require.NoError(t, err)
	defer m.Close()
	c, err = m.Connect(Identity{SID: "S-1-5-21-7", Admin: true})
	require.NoError(t, err)
	for i, j := range jobs {
		id, _ := j.GetId()
		back, err := c.GetJob(id)
		require.NoError(t, err)
		desc, _ := back.GetDescription()
		assert.Equal(t, "round c"+string(rune('a'+i%26)), desc)
	}
}
