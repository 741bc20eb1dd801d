package manager_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
)

// A maximum download time set between the scheduler's Pick and the arming of the run's timers
// (on a real clock, where a worker picks the job right after Resume) is the one the run's
// deadline follows, not the one the Pick saw.
func TestMaximumDownloadTimeSetDuringThePick(t *testing.T) {
	srv := newServer(t, map[string][]byte{"f.bin": content(9, 1<<20)}, bitstest.Stall(1024).On("f.bin"))
	t.Cleanup(srv.Release)
	m := manager.New(manager.WithLimits(job.Limits{}))
	defer m.Close()
	c := connectAs(t, m, manager.Identity{SID: userSID})
	j := download(t, c, t.TempDir(), srv.URLFor("f.bin"))
	require.NoError(t, j.SetMaximumDownloadTime(3600))
	id := engine.Of(j).ID()
	picked := make(chan error, 1)
	var once sync.Once
	manager.SetPickedHook(func(p *job.Engine) {
		if p.ID() == id {
			once.Do(func() { picked <- j.SetMaximumDownloadTime(600) })
		}
	})
	t.Cleanup(func() { manager.SetPickedHook(nil) })
	start := time.Now()
	require.NoError(t, j.Resume())
	require.NoError(t, <-picked, "SetMaximumDownloadTime between the Pick and the timers")
	// The run's timers are armed before its transfer starts: once the server has seen the
	// transfer's request, the deadline is set.
	require.NoError(t, srv.WaitFor(t.Context(), func(st bitstest.Stats) bool { return st.Requests > 0 }))
	at, ok := m.RunDeadline(id)
	require.True(t, ok, "the run has a deadline")
	assert.WithinDuration(t, start.Add(10*time.Minute), at, time.Minute,
		"the deadline follows the maximum set after the Pick")
}
