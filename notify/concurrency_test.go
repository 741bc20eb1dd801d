package notify_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

// Callbacks and flags set and cleared from many goroutines while other goroutines drive the same
// jobs through their states: no race, no deadlock, never more than MaxInFlightPerUser callbacks
// of a user at once, and nothing left running after Close.
func TestConcurrentSettersAndEngine(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		app := connect(t, m, user)
		var running, peak, calls atomic.Int32
		track := func(bits.Job, int) error {
			n := running.Add(1)
			calls.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Millisecond) // hold the slot a little (virtual time)
			running.Add(-1)
			return nil
		}
		mkRec := func(name string) *recorder {
			r := newRecorder(name, nil)
			r.onTransferred, r.onError, r.onMod = track, track, track
			r.onFile = func(j bits.Job, _ bits.File, n int) error { return track(j, n) }
			return r
		}
		recs := make([]bits.Callback, 8)
		for i := range recs {
			recs[i] = mkRec(fmt.Sprint("r", i))
		}

		const rounds = 25
		const nJobs = 4
		var mu sync.Mutex // guards jobs
		jobs := make([]bits.Job, nJobs)
		newShared := func(k int) {
			j := newJob(t, app, 2)
			mu.Lock()
			jobs[k] = j
			mu.Unlock()
		}
		pick := func(rng *rand.Rand) bits.Job {
			mu.Lock()
			defer mu.Unlock()
			return jobs[rng.IntN(nJobs)]
		}
		for k := range nJobs {
			newShared(k)
		}

		flagChoices := []uint32{
			0, bits.DefaultNotifyFlags, bits.NotifyJobModification,
			bits.DefaultNotifyFlags | bits.NotifyJobModification | bits.NotifyFileTransferred,
			bits.NotifyDisable | bits.DefaultNotifyFlags, 0x1F,
		}
		var wg sync.WaitGroup
		// Eight goroutines set and clear callbacks and flags.
		for g := range 8 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range 250 {
					j := pick(rng)
					switch rng.IntN(5) {
					case 0, 1:
						_ = j.SetNotifyInterface(recs[rng.IntN(len(recs))])
					case 2:
						_ = j.SetNotifyInterface(nil)
					case 3:
						_ = j.SetNotifyFlags(flagChoices[rng.IntN(len(flagChoices))])
					case 4:
						_ = j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: uint32(rng.IntN(2) * 500)})
					}
					if rng.IntN(10) == 0 {
						time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
					}
				}
			})
		}
		// Two goroutines drive the shared jobs, replacing those that end.
		for g := range 2 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 2))
				for range rounds * 40 {
					k := rng.IntN(nJobs)
					mu.Lock()
					j := jobs[k]
					mu.Unlock()
					switch rng.IntN(9) {
					case 0:
						_ = j.Resume()
					case 1:
						_, _ = engine.Of(j).Fire(state.Pick)
					case 2:
						_, _ = engine.Of(j).Fire(state.Connect)
					case 3:
						_, _ = engine.Of(j).FireFileDone(rng.IntN(2))
					case 4:
						_ = engine.Of(j).FileProgress(rng.IntN(2), 100, uint64(rng.IntN(101)))
					case 5:
						_, _ = engine.Of(j).FireError(state.TransientFailure, notFound)
					case 6:
						_, _ = engine.Of(j).FireError(state.FatalFailure, notFound)
					case 7:
						_, _ = engine.Of(j).Fire(state.RetryDelayElapsed)
					case 8:
						if st, _ := j.GetState(); st == state.Transferred {
							_, _ = j.Complete()
						} else if rng.IntN(4) == 0 {
							_, _ = j.Cancel()
						}
					}
					if st, _ := j.GetState(); st.Final() {
						newShared(k)
					}
					if rng.IntN(20) == 0 {
						time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Hour) // let retries and intervals run out
		synctest.Wait()
		require.NoError(t, m.Close())
		assert.Positive(t, calls.Load())
		assert.LessOrEqual(t, peak.Load(), int32(notify.MaxInFlightPerUser))
		assert.Zero(t, running.Load())
	})
}
