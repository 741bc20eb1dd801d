package notify_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

// gateClock is the time package's clock (virtual in a bubble) whose Now can be made to stop
// once, so that a test can hold a dispatcher's worker at a chosen point.
type gateClock struct {
	mu      sync.Mutex
	armed   bool
	stopped chan struct{} // closed when Now has stopped
	release chan struct{} // Now returns once this is closed
}

func (g *gateClock) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	g.stopped = make(chan struct{})
	g.release = make(chan struct{})
}

func (g *gateClock) Now() time.Time {
	g.mu.Lock()
	armed, stopped, release := g.armed, g.stopped, g.release
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(stopped)
		<-release
	}
	return time.Now()
}

func (g *gateClock) AfterFunc(d time.Duration, f func()) clock.Timer { return time.AfterFunc(d, f) }

// A worker that read the job before it became TRANSFERRED still delivers JobTransferred: the
// notification is not judged on a stale view of the job.
func TestDispatcherStaleViewDoesNotDropTransferred(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &gateClock{}
		d := notify.New(gate)
		defer d.Close()
		env := &job.Env{Clock: clock.Real(), Limits: job.DefaultLimits(), Observer: d}
		j, err := job.New(env, job.NewCaller(job.Identity{SID: user}), uuid.New(), "stale", job.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://h/a", t.TempDir()+"/a"))
		require.NoError(t, j.SetProperty(job.PropertyMinimumNotificationIntervalMs, job.PropertyValue{Dword: 0}))
		require.NoError(t, j.SetNotifyFlags(job.DefaultNotifyFlags|job.NotifyJobModification))
		r := newRecorder("r", nil)
		require.NoError(t, j.SetNotifyInterface(r))
		start(t, j)
		synctest.Wait()

		// A JobModification becomes due; its worker reads the job (TRANSFERRING), then stops.
		gate.arm()
		require.NoError(t, j.FileProgress(0, 100, 50))
		<-gate.stopped
		// Meanwhile the job becomes TRANSFERRED.
		st, err := j.FireFileDone(0)
		require.NoError(t, err)
		require.Equal(t, state.Transferred, st)
		close(gate.release)
		synctest.Wait()
		assert.Equal(t, 1, r.nTransferred())
	})
}

// Close starts no callback: one waiting for an in-flight slot when Close is called is dropped.
func TestCloseStartsNoWaitingCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New()
		app := connect(t, m, user)
		gate := make(chan struct{})
		var started atomic.Int32
		r := newRecorder("r", nil)
		r.onTransferred = func(*job.Job, int) error {
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
