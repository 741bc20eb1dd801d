package notify_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

// A job that becomes TRANSFERRED while its worker is busy delivering an earlier JobModification
// still gets its JobTransferred: the worker reads the job only after it has taken an item, so
// the move cannot be judged on a stale view.
func TestDispatcherTransferWhileDeliveringIsNotDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := notify.New(clock.Real())
		defer d.Close()
		env := &job.Env{Clock: clock.Real(), Limits: job.DefaultLimits(), Observer: d}
		j, err := job.New(env, job.NewCaller(job.Identity{SID: user}), uuid.New(), "busy", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://h/a", t.TempDir()+"/a"))
		require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		r := newRecorder("r", nil)
		require.NoError(t, j.SetNotifyInterface(r))
		start(t, j)
		synctest.Wait()

		// A JobModification is being delivered, held inside the callback.
		inside, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		r.set(func(r *recorder) {
			r.onMod = func(bits.Job, int) error {
				once.Do(func() { close(inside); <-release })
				return nil
			}
		})
		require.NoError(t, engine.Of(j).FileProgress(0, 100, 50))
		<-inside
		// Meanwhile the job becomes TRANSFERRED.
		st, err := engine.Of(j).FireFileDone(0)
		require.NoError(t, err)
		require.Equal(t, state.Transferred, st)
		close(release)
		synctest.Wait()
		assert.Equal(t, 1, r.nTransferred())
	})
}

// Close starts no callback: one waiting for an in-flight slot when Close is called is dropped.
func TestCloseStartsNoWaitingCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		app := connect(t, m, user)
		gate := make(chan struct{})
		var started atomic.Int32
		r := newRecorder("r", nil)
		r.onTransferred = func(bits.Job, int) error {
			started.Add(1)
			<-gate
			return nil
		}
		for range notify.MaxInFlightPerUser + 1 {
			j := newJob(t, app, 1)
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
		}
		synctest.Wait()
		require.EqualValues(t, notify.MaxInFlightPerUser, started.Load())

		closed := make(chan struct{})
		go func() {
			_ = m.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while callbacks were running")
		default:
		}
		close(gate)
		synctest.Wait()
		<-closed
		assert.EqualValues(t, notify.MaxInFlightPerUser, started.Load(), "the waiting callback was started after Close")
	})
}
