package notify_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

type completer struct {
	mu       sync.Mutex
	calls    int
	fail     int
	complete bool
	code     hresult.Code
}

func (c *completer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *completer) JobTransferred(j *job.Job) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls <= c.fail {
		return hresult.E_FAIL
	}
	code, err := j.Complete()
	c.code = code
	return err
}
func (c *completer) JobError(*job.Job, *job.ErrorInfo) error { return nil }
func (c *completer) JobModification(*job.Job) error          { return nil }

func TestSmokeCompleteInsideJobTransferred(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New()
		defer m.Close()
		app, err := m.Connect(manager.Identity{SID: "S-1-5-21-7"})
		require.NoError(t, err)
		j, err := app.CreateJob("x", job.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://h/a", t.TempDir()+"/a"))
		cb := &completer{fail: 2}
		require.NoError(t, j.SetNotifyInterface(cb))
		require.NoError(t, j.Resume())
		_, _ = j.Fire(state.Pick)
		_, _ = j.Fire(state.Connect)
		_, err = j.FireFileDone(0)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, 1, cb.count())
		time.Sleep(600 * time.Second)
		synctest.Wait()
		assert.Equal(t, 2, cb.count())
		time.Sleep(600 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, cb.count())
		st, _ := j.GetState()
		assert.Equal(t, state.Acknowledged, st)
		cb.mu.Lock()
		assert.Equal(t, hresult.S_OK, cb.code)
		cb.mu.Unlock()
	})
}
