package main

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/state"
)

// endingJob is a job that is TRANSFERRING until end is called, which makes it TRANSFERRED and
// calls its callback, as the service does.
type endingJob struct {
	bits.Job // the other methods are not called
	mu       sync.Mutex
	st       state.State
	cb       bits.Callback
}

func (j *endingJob) GetState() (state.State, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st, nil
}

func (j *endingJob) SetNotifyInterface(cb bits.Callback) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cb = cb
	return nil
}

func (j *endingJob) end() {
	j.mu.Lock()
	j.st = state.Transferred
	cb := j.cb
	j.mu.Unlock()
	if cb != nil {
		_ = cb.JobTransferred(j)
	}
}

// /TRANSFER's watch sees its job's end when the job's callback hears of it, not at the next
// poll; another verb's watch, which sets no callback, sees it at the poll.
func TestWatchOwnEndsWithTheCallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch func(context.Context, bits.Job, *progressView) (state.State, error)
		took  time.Duration
	}{
		{"own job", watchOwn, time.Millisecond},
		{"any job", watch, pollInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := &endingJob{st: state.Transferring}
				start := time.Now()
				go func() {
					time.Sleep(time.Millisecond)
					j.end()
				}()
				st, err := tc.watch(context.Background(), j, nil)
				require.NoError(t, err)
				assert.Equal(t, state.Transferred, st)
				assert.Equal(t, tc.took, time.Since(start))
			})
		})
	}
}
