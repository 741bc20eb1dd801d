package manager_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// A manager on the real clock runs in a testing/synctest bubble, where the time package itself
// is virtual: the retries of a job whose server refuses connections take no time.
func TestRetriesInASynctestBubble(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		m := manager.New()
		defer m.Close()
		c, err := m.Connect(manager.Identity{SID: userSID})
		require.NoError(t, err)
		j, err := c.CreateJob("refused", job.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://127.0.0.1:9/nothing-listens-here", filepath.Join(dir, "x.bin")))
		require.NoError(t, j.SetMinimumRetryDelay(60))
		require.NoError(t, j.SetNoProgressTimeout(150))
		start := time.Now()
		require.NoError(t, j.Resume())
		m.WaitIdle(context.Background())
		synctest.Wait()
		require.Equal(t, state.TransientError, stateOf(t, j))
		_, code := jobError(t, j)
		assert.Equal(t, hresult.BG_E_CONNECT_FAILURE, code)

		time.Sleep(60 * time.Second) // the retry, which fails again
		m.WaitIdle(context.Background())
		synctest.Wait()
		n, _ := j.GetErrorCount()
		assert.EqualValues(t, 2, n)
		assert.Equal(t, state.TransientError, stateOf(t, j))

		time.Sleep(90 * time.Second) // the second retry is at 120 s, the timeout at 150 s
		m.WaitIdle(context.Background())
		synctest.Wait()
		assert.Equal(t, state.Error, stateOf(t, j))
		times, _ := j.GetTimes()
		assert.Equal(t, 150*time.Second, times.ModificationTime.Sub(start))
		n, _ = j.GetErrorCount()
		assert.EqualValues(t, 3, n)
	})
}

func TestBandwidthLimitsBackgroundJobsOnly(t *testing.T) {
	data := content(30, 200_000)
	srv := newServer(t, map[string][]byte{"d.bin": data})
	// One byte per second: a background job gets its first burst (4 KiB) and then waits.
	h, c, dir := setup(t, manager.WithBandwidth(1))
	fg := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, fg.SetPriority(job.Foreground))
	require.NoError(t, fg.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, fg), "FOREGROUND jobs are not limited")

	bg := download(t, c, t.TempDir(), srv.URLFor("d.bin"))
	require.NoError(t, bg.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == 2 })
	require.NoError(t, bg.Suspend(), "Suspend interrupts the wait for bandwidth")
	h.Settle()
	p, err := bg.GetProgress()
	require.NoError(t, err)
	assert.LessOrEqual(t, p.BytesTransferred, uint64(4096))
}
