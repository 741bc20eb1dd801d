package notify

import (
	"testing"
	"testing/synctest"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/job"
)

type nopCallback struct{}

func (nopCallback) JobTransferred(bits.Job) error       { return nil }
func (nopCallback) JobError(bits.Job, bits.Error) error { return nil }
func (nopCallback) JobModification(bits.Job) error      { return nil }

func (d *Dispatcher) tracked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.jobs)
}

// A job whose listener went away before it reached a final state leaves nothing behind.
func TestFinalJobWithoutListenerIsForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := New(clock.Real())
		defer d.Close()
		env := &job.Env{Clock: clock.Real(), Limits: job.DefaultLimits(), Observer: d}
		j, err := job.New(env, job.NewCaller(job.Identity{SID: "S-1-5-21-9"}), uuid.New(), "gone", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		require.NoError(t, j.SetNotifyInterface(nopCallback{}))
		require.NoError(t, j.SetDescription("tracked now"))
		synctest.Wait()
		require.Equal(t, 1, d.tracked())

		require.NoError(t, j.SetNotifyInterface(nil))
		_, err = j.Cancel()
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, 0, d.tracked())
	})
}
