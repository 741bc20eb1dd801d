package manager_test

import (
	"path/filepath"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
)

// modCallback signals each JobModification.
type modCallback struct{ mods chan struct{} }

func (modCallback) JobTransferred(bits.Job) error       { return nil }
func (modCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c modCallback) JobModification(bits.Job) error {
	c.mods <- struct{}{}
	return nil
}

// A job that ended is not kept in memory: not by the queue, and not by the notification engine,
// which held the job while it had notifications to deliver, also when the job's callback was
// removed before it ended (the job's last change then has no listener, yet the notification
// engine must hear of it to let the job go).
func TestEndedJobsAreReleased(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	t.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	require.NoError(t, err)
	cb := modCallback{mods: make(chan struct{}, 8)}

	held := func() weak.Pointer[job.Engine] {
		j, err := c.CreateJob("released", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://example.invalid/a", filepath.Join(t.TempDir(), "a")))
		require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		require.NoError(t, j.SetNotifyInterface(cb))
		<-cb.mods // the notification engine now has an entry for the job
		require.NoError(t, j.SetDescription("changed"))
		<-cb.mods
		require.NoError(t, j.SetNotifyInterface(nil))
		_, err = j.Cancel()
		require.NoError(t, err)
		return weak.Make(engine.Of(j))
	}()
	require.NoError(t, m.WaitIdle(t.Context()))
	for range 10 {
		runtime.GC()
		if held.Value() == nil {
			return
		}
	}
	t.Fatal("the cancelled job is still reachable")
}
