package manager_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
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
		j, err := c.CreateJob("refused", bits.Download)
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
	require.NoError(t, fg.SetPriority(bits.Foreground))
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

// The whole world in one bubble: a manager on the real clock, a fault server on an in-memory
// network, and time that passes only when every goroutine waits. synctest.Wait is then an exact
// oracle of quiescence: a transfer stalled by its server is durably blocked, and the stall
// timeout passes in bubble time.
func TestInMemoryNetworkInASynctestBubble(t *testing.T) {
	dir := t.TempDir()
	data := content(40, 300_000)
	synctest.Test(t, func(t *testing.T) {
		n := bitstest.NewNetwork()
		defer n.Close()
		srv := bitstest.NewServerOn(n, "bits.test:80", map[string][]byte{"d.bin": data}, bitstest.Stall(100_000).Times(1))
		defer srv.Close()
		m := manager.New(bitstest.OnNetwork(n))
		defer m.Close()
		c, err := m.Connect(manager.Identity{SID: userSID})
		require.NoError(t, err)
		j, err := c.CreateJob("bubble", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor("d.bin"), filepath.Join(dir, "d.bin")))
		require.NoError(t, j.SetMinimumRetryDelay(60))
		start := time.Now()
		require.NoError(t, j.Resume())

		synctest.Wait() // every goroutine waits: the server stalls after 100,000 bytes
		assert.Equal(t, state.Transferring, stateOf(t, j))
		assert.Equal(t, 1, srv.Stats().Stalled)
		assert.True(t, n.Quiet(), "nothing in flight: the server is parked in its stall")
		assert.Equal(t, start, time.Now(), "no time passed")

		time.Sleep(2 * time.Minute) // the stall timeout
		synctest.Wait()
		require.Equal(t, state.TransientError, stateOf(t, j))
		_, code := jobError(t, j)
		assert.Equal(t, hresult.ERROR_WINHTTP_TIMEOUT, code)
		p, err := j.GetProgress()
		require.NoError(t, err)
		assert.EqualValues(t, 100_000, p.BytesTransferred, "what arrived before the stall is kept")

		time.Sleep(time.Minute) // the retry resumes from byte 100,000 and finishes
		synctest.Wait()
		require.Equal(t, state.Transferred, stateOf(t, j))
		faultsServed(t, srv, 1)
		reqs := srv.Requests()
		assert.Equal(t, "bytes=100000-299999", reqs[len(reqs)-1].Range, "resumed where the stall left it")
		code2, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.S_OK, code2)
	})
	got, err := os.ReadFile(filepath.Join(dir, "d.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// TestBandwidthFollowsPriorityChange: the bandwidth limit is asked for a job's priority as it is
// now. A background job held back by the limit goes on at full speed the moment it becomes
// FOREGROUND, without waiting out the pause the limit had given it, and without time passing.
func TestBandwidthFollowsPriorityChange(t *testing.T) {
	data := content(31, 200_000)
	srv := newServer(t, map[string][]byte{"d.bin": data})
	// One byte per second: the job gets its first burst (4 KiB) and then waits for hours.
	h, c, dir := setup(t, manager.WithBandwidth(1))
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == 1 })
	h.Settle()
	p, err := j.GetProgress()
	require.NoError(t, err)
	require.LessOrEqual(t, p.BytesTransferred, uint64(4096), "the limit holds the background job")
	start := h.Clock.Now()

	require.NoError(t, j.SetPriority(bits.Foreground))
	h.Settle()
	assert.Equal(t, state.Transferred, stateOf(t, j), "a FOREGROUND job is not limited")
	assert.Equal(t, start, h.Clock.Now(), "no time passed")
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}
