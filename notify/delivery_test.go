package notify_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

const user = "S-1-5-21-1000"

// Only the last SetNotifyInterface is called; when its client closes, nobody is, and the
// command line runs instead.
func TestLastRegistrantWinsAndClosedClientFallsBackToCmdLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 0)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		a, b := connect(t, m, user), connect(t, m, user)
		ra, rb := newRecorder("a", nil), newRecorder("b", nil)

		// Both registered: only b, the later one, hears JobTransferred; it succeeds, so the
		// command line does not run.
		j1 := newJob(t, a, 1)
		require.NoError(t, j1.SetNotifyInterface(ra))
		j1b, err := b.GetJob(engine.Of(j1).ID())
		require.NoError(t, err)
		require.NoError(t, j1b.SetNotifyInterface(rb))
		require.NoError(t, j1.SetNotifyCmdLine(prog, `"`+prog+`" first`))
		transfer(t, j1)
		synctest.Wait()
		assert.Equal(t, 0, ra.nTransferred(), "the earlier registrant is replaced")
		assert.Equal(t, 1, rb.nTransferred())
		assert.Empty(t, runs(), "a callback that succeeded takes the notification")

		// Same again, but b closes before the job transfers.
		j2 := newJob(t, a, 1)
		require.NoError(t, j2.SetNotifyInterface(ra))
		j2b, err := b.GetJob(engine.Of(j2).ID())
		require.NoError(t, err)
		require.NoError(t, j2b.SetNotifyInterface(rb))
		require.NoError(t, j2.SetNotifyCmdLine(prog, `"`+prog+`" second`))
		require.NoError(t, b.Close())
		for _, j := range []bits.Job{j1, j2} {
			cb, err := j.GetNotifyInterface()
			require.NoError(t, err)
			assert.Nil(t, cb, "the callback of a closed client is invalid")
		}
		transfer(t, j2)
		synctest.Wait()
		assert.Equal(t, 0, ra.nTransferred(), "a replaced callback is not revived when its successor closes")
		assert.Equal(t, 1, rb.nTransferred(), "a closed client's callback is not called")
		assert.Equal(t, [][]string{{prog, "second"}}, runs())
		assert.Equal(t, state.Transferred, stateOf(t, j2))
	})
}

// At least once: a callback, flags or a command line set after the event get it at once.
func TestAtLeastOnce(t *testing.T) {
	t.Run("callback set on a TRANSFERRED job", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 2)
			transfer(t, j)
			synctest.Wait()
			r := newRecorder("r", nil)
			t0 := time.Now()
			require.NoError(t, j.SetNotifyInterface(r))
			synctest.Wait()
			assert.Equal(t, 1, r.nTransferred())
			assert.Equal(t, t0, time.Now(), "delivered at once")
			assert.Equal(t, 0, r.nErrors())
		})
	})
	t.Run("callback set on an ERROR job", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			fail(t, j)
			synctest.Wait()
			r := newRecorder("r", nil)
			t0 := time.Now()
			require.NoError(t, j.SetNotifyInterface(r))
			synctest.Wait()
			assert.Equal(t, 1, r.nErrors())
			assert.Equal(t, t0, time.Now(), "delivered at once")
			assert.Equal(t, 0, r.nTransferred())
			r.mu.Lock()
			assert.Equal(t, []hresult.Code{hresult.HTTP(404)}, r.errCodes)
			r.mu.Unlock()
		})
	})
	t.Run("flags changed on a TRANSFERRED job", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			r := newRecorder("r", nil)
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
			synctest.Wait()
			require.Equal(t, 1, r.nTransferred())
			time.Sleep(time.Hour)
			synctest.Wait()
			require.Equal(t, 1, r.nTransferred(), "a successful JobTransferred is not repeated on its own")
			t0 := time.Now()
			require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags))
			synctest.Wait()
			assert.Equal(t, 2, r.nTransferred())
			require.NoError(t, j.SetNotifyFlags(bits.NotifyJobTransferred|bits.NotifyJobModification))
			synctest.Wait()
			assert.Equal(t, 3, r.nTransferred())
			assert.Equal(t, t0, time.Now(), "delivered at once")
		})
	})
	t.Run("command line set on a TRANSFERRED job", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			prog, runs := child(t, 0)
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			transfer(t, j)
			synctest.Wait()
			require.Empty(t, runs())
			t0 := time.Now()
			require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" late`))
			synctest.Wait()
			assert.Equal(t, [][]string{{prog, "late"}}, runs())
			assert.Equal(t, t0, time.Now(), "run at once")
			sleep(time.Hour)
			assert.Len(t, runs(), 1, "a program that exited 0 is not run again")
		})
	})
}

// A failing or panicking JobTransferred is called again after the job's minimum retry delay
// until it succeeds, then never again.
func TestFailedCallbackIsRetriedAfterMinimumRetryDelay(t *testing.T) {
	const delay = 30 * time.Second
	for _, tc := range []struct {
		name string
		hook func(bits.Job, int) error
	}{
		{"error", failFirst(2)},
		{"panic", func(_ bits.Job, n int) error {
			if n <= 2 {
				panic(fmt.Sprintf("callback panic %d", n))
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := manager.New(manager.WithManualTransfers())
				defer m.Close()
				app := connect(t, m, user)
				j := newJob(t, app, 1)
				require.NoError(t, j.SetMinimumRetryDelay(uint32(delay/time.Second)))
				r := newRecorder("r", nil)
				r.onTransferred = tc.hook
				require.NoError(t, j.SetNotifyInterface(r))
				transfer(t, j)
				synctest.Wait()
				require.Equal(t, 1, r.nTransferred())

				sleep(delay - time.Millisecond)
				assert.Equal(t, 1, r.nTransferred(), "not before the minimum retry delay")
				sleep(time.Millisecond)
				assert.Equal(t, 2, r.nTransferred(), "again once the delay has passed")
				sleep(delay - time.Millisecond)
				assert.Equal(t, 2, r.nTransferred())
				sleep(time.Millisecond)
				assert.Equal(t, 3, r.nTransferred(), "the third call succeeds")
				sleep(24 * time.Hour)
				assert.Equal(t, 3, r.nTransferred(), "never again after success")
				assert.Equal(t, state.Transferred, stateOf(t, j))

				// The manager keeps working.
				j2 := newJob(t, app, 1)
				r2 := newRecorder("r2", nil)
				var code hresult.Code
				r2.onTransferred = func(j bits.Job, _ int) error {
					c, err := j.Complete()
					r2.mu.Lock()
					code = c
					r2.mu.Unlock()
					return err
				}
				require.NoError(t, j2.SetNotifyInterface(r2))
				transfer(t, j2)
				synctest.Wait()
				assert.Equal(t, 1, r2.nTransferred())
				assert.Equal(t, state.Acknowledged, stateOf(t, j2))
				r2.mu.Lock()
				assert.Equal(t, hresult.S_OK, code)
				r2.mu.Unlock()
			})
		})
	}
}

// A failing FileTransferred is retried, and holds back the later files and JobTransferred.
func TestFailedFileTransferredBlocksLaterNotifications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 30 * time.Second
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		j := newJob(t, connect(t, m, user), 3)
		require.NoError(t, j.SetMinimumRetryDelay(uint32(delay/time.Second)))
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileTransferred))
		log := &eventLog{}
		r := newRecorder("r", log)
		r.onFile = func(_ bits.Job, _ bits.File, n int) error {
			if n <= 2 {
				return hresult.E_FAIL
			}
			return nil
		}
		require.NoError(t, j.SetNotifyInterface(r))
		start(t, j)
		_, err := engine.Of(j).FireFileDone(0)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, []string{"r:file f0"}, log.list())
		// The job becomes TRANSFERRED while the retry delay runs: JobTransferred waits behind the
		// failed FileTransferred, which keeps its delay.
		finish(t, j)
		synctest.Wait()
		assert.Equal(t, []string{"r:file f0"}, log.list())

		sleep(delay - time.Millisecond)
		assert.Equal(t, []string{"r:file f0"}, log.list(), "not retried before the minimum retry delay")
		sleep(time.Millisecond)
		assert.Equal(t, []string{"r:file f0", "r:file f0"}, log.list())
		sleep(delay)
		assert.Equal(t, []string{"r:file f0", "r:file f0", "r:file f0", "r:file f1", "r:file f2", "r:transferred"}, log.list())
		sleep(24 * time.Hour)
		assert.Len(t, log.list(), 6, "nothing is repeated after success")
	})
}

// A callback may call back into its job: Complete in JobTransferred, Cancel in JobError,
// Resume in JobModification.
func TestCallbacksCallIntoTheirJob(t *testing.T) {
	t.Run("Complete inside JobTransferred", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 2)
			r := newRecorder("r", nil)
			var (
				mu   sync.Mutex
				saw  state.State
				code hresult.Code
				cerr error
			)
			r.onTransferred = func(j bits.Job, _ int) error {
				st, _ := j.GetState()
				c, err := j.Complete()
				mu.Lock()
				saw, code, cerr = st, c, err
				mu.Unlock()
				return err
			}
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
			synctest.Wait()
			mu.Lock()
			assert.Equal(t, state.Transferred, saw)
			assert.NoError(t, cerr)
			assert.Equal(t, hresult.S_OK, code)
			mu.Unlock()
			assert.Equal(t, state.Acknowledged, stateOf(t, j))
			assert.Equal(t, 1, r.nTransferred())
			assert.Equal(t, 0, m.JobCount())
		})
	})
	t.Run("Cancel inside JobError", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			r := newRecorder("r", nil)
			var cerr atomic.Value
			r.onError = func(j bits.Job, _ int) error {
				_, err := j.Cancel()
				cerr.Store(fmt.Sprint(err))
				return err
			}
			require.NoError(t, j.SetNotifyInterface(r))
			fail(t, j)
			synctest.Wait()
			assert.Equal(t, "<nil>", cerr.Load())
			assert.Equal(t, state.Cancelled, stateOf(t, j))
			assert.Equal(t, 1, r.nErrors())
		})
	})
	t.Run("Resume inside JobModification", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
			r := newRecorder("r", nil)
			var rerr atomic.Value
			r.onMod = func(j bits.Job, n int) error {
				if st, _ := j.GetState(); st == state.Suspended {
					rerr.Store(fmt.Sprint(j.Resume()))
				}
				return nil
			}
			require.NoError(t, j.SetNotifyInterface(r))
			synctest.Wait()
			assert.Equal(t, "<nil>", rerr.Load())
			assert.Equal(t, state.Queued, stateOf(t, j))
			sleep(time.Second)
			assert.Contains(t, r.seenModStates(), state.Queued, "the Resume is itself notified")
		})
	})
}

// JobError is called for ERROR, never for TRANSIENT_ERROR; neither does the command line run for
// TRANSIENT_ERROR.
func TestJobErrorOnlyForError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 0)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		j := newJob(t, connect(t, m, user), 1)
		require.NoError(t, j.SetMinimumRetryDelay(30))
		r := newRecorder("r", nil)
		require.NoError(t, j.SetNotifyInterface(r))
		require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" error`))
		start(t, j)
		st, err := engine.Of(j).FireError(state.TransientFailure, notFound)
		require.NoError(t, err)
		require.Equal(t, state.TransientError, st)
		sleep(time.Hour)
		assert.Equal(t, 0, r.nErrors(), "no JobError for TRANSIENT_ERROR")
		assert.Empty(t, runs(), "no command line for TRANSIENT_ERROR")

		st, err = engine.Of(j).Fire(state.RetryDelayElapsed)
		require.NoError(t, err)
		require.Equal(t, state.Queued, st)
		_, err = engine.Of(j).Fire(state.Pick)
		require.NoError(t, err)
		_, err = engine.Of(j).Fire(state.Connect)
		require.NoError(t, err)
		st, err = engine.Of(j).FireError(state.FatalFailure, notFound)
		require.NoError(t, err)
		require.Equal(t, state.Error, st)
		synctest.Wait()
		assert.Equal(t, 1, r.nErrors())
		assert.Equal(t, 0, r.nTransferred())
		assert.Empty(t, runs(), "the callback succeeded")
	})
}

// JobModification comes for state changes, progress, files added and property changes, but not
// for the moves into TRANSFERRED and ERROR.
func TestJobModificationEvents(t *testing.T) {
	setup := func(t *testing.T, m *manager.Manager, files int) (bits.Job, *recorder) {
		j := newJob(t, connect(t, m, user), files)
		require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		r := newRecorder("r", nil)
		require.NoError(t, j.SetNotifyInterface(r))
		synctest.Wait()
		return j, r
	}
	// step runs f and checks that it made at least one JobModification, the last seeing want.
	step := func(t *testing.T, r *recorder, what string, want state.State, f func() error) {
		t.Helper()
		before := r.nMods()
		require.NoError(t, f(), what)
		synctest.Wait()
		states := r.seenModStates()
		if assert.Greater(t, len(states), before, "%s makes a JobModification", what) {
			assert.Equal(t, want, states[len(states)-1], what)
		}
	}
	t.Run("to TRANSFERRED", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j, r := setup(t, m, 2)
			dir := t.TempDir()
			step(t, r, "AddFile", state.Suspended, func() error { return j.AddFile("http://h/g", dir+"/g") })
			step(t, r, "SetDescription", state.Suspended, func() error { return j.SetDescription("d") })
			step(t, r, "Resume", state.Queued, j.Resume)
			step(t, r, "Pick", state.Connecting, func() error { _, err := engine.Of(j).Fire(state.Pick); return err })
			step(t, r, "Connect", state.Transferring, func() error { _, err := engine.Of(j).Fire(state.Connect); return err })
			for i := range 3 {
				step(t, r, "FileProgress half", state.Transferring, func() error { return engine.Of(j).FileProgress(i, 100, 50) })
				step(t, r, "FileProgress all", state.Transferring, func() error { return engine.Of(j).FileProgress(i, 100, 100) })
			}
			for i := range 2 {
				_, err := engine.Of(j).FireFileDone(i)
				require.NoError(t, err)
			}
			synctest.Wait()
			before := r.nMods()
			st, err := engine.Of(j).FireFileDone(2)
			require.NoError(t, err)
			require.Equal(t, state.Transferred, st)
			sleep(time.Hour)
			assert.Equal(t, before, r.nMods(), "no JobModification for the move into TRANSFERRED")
			assert.NotContains(t, r.seenModStates(), state.Transferred)
			assert.Equal(t, 1, r.nTransferred())
		})
	})
	t.Run("to ERROR", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j, r := setup(t, m, 1)
			start(t, j)
			step(t, r, "FileProgress", state.Transferring, func() error { return engine.Of(j).FileProgress(0, 100, 10) })
			before := r.nMods()
			st, err := engine.Of(j).FireError(state.FatalFailure, notFound)
			require.NoError(t, err)
			require.Equal(t, state.Error, st)
			sleep(time.Hour)
			assert.Equal(t, before, r.nMods(), "no JobModification for the move into ERROR")
			assert.NotContains(t, r.seenModStates(), state.Error)
			assert.Equal(t, 1, r.nErrors())
			// Leaving ERROR is a state change like any other.
			step(t, r, "Resume from ERROR", state.Queued, j.Resume)
		})
	})
	t.Run("to TRANSIENT_ERROR", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j, r := setup(t, m, 1)
			start(t, j)
			step(t, r, "transient error", state.TransientError, func() error {
				_, err := engine.Of(j).FireError(state.TransientFailure, notFound)
				return err
			})
		})
	})
}

// Every FileTransferred comes before JobTransferred, in file order; a Callback without
// FileTransferred still gets JobTransferred.
func TestFileTransferredBeforeJobTransferred(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		app := connect(t, m, user)
		log := &eventLog{}
		j := newJob(t, app, 4)
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileTransferred))
		r := newRecorder("r", log)
		require.NoError(t, j.SetNotifyInterface(r))
		start(t, j)
		for i := range 3 {
			_, err := engine.Of(j).FireFileDone(i)
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.Equal(t, []string{"r:file f0", "r:file f1", "r:file f2"}, log.list())
		_, err := engine.Of(j).FireFileDone(3)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, []string{"r:file f0", "r:file f1", "r:file f2", "r:file f3", "r:transferred"}, log.list())

		// Without the flag, no FileTransferred.
		log2 := &eventLog{}
		j2 := newJob(t, app, 2)
		r2 := newRecorder("r2", log2)
		require.NoError(t, j2.SetNotifyInterface(r2))
		transfer(t, j2)
		synctest.Wait()
		assert.Equal(t, []string{"r2:transferred"}, log2.list())

		// A plain IBackgroundCopyCallback with the flag.
		log3 := &eventLog{}
		j3 := newJob(t, app, 2)
		require.NoError(t, j3.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileTransferred))
		require.NoError(t, j3.SetNotifyInterface(plain{newRecorder("r3", log3)}))
		transfer(t, j3)
		synctest.Wait()
		assert.Equal(t, []string{"r3:transferred"}, log3.list())
	})
}

// JobModification calls are folded to one per MINIMUM_NOTIFICATION_INTERVAL_MS (500 ms by
// default); JobTransferred and JobError are not held back by it.
func TestJobModificationCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		app := connect(t, m, user)
		j := newJob(t, app, 1)
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		r := newRecorder("r", nil)
		require.NoError(t, j.SetNotifyInterface(r))
		sleep(time.Second)
		base := r.nMods()

		for i := range 100 {
			require.NoError(t, j.SetDescription(fmt.Sprint("d", i)))
			time.Sleep(100 * time.Microsecond)
		}
		synctest.Wait()
		n := r.nMods() - base
		assert.GreaterOrEqual(t, n, 1, "the first change is notified")
		assert.LessOrEqual(t, n, 2, "100 changes within 10 ms are folded")
		sleep(500 * time.Millisecond)
		assert.Equal(t, n+1, r.nMods()-base, "the folded changes arrive after the interval")
		sleep(time.Hour)
		assert.Equal(t, n+1, r.nMods()-base, "and nothing more")

		// Events that are not modifications are not delayed by the interval.
		require.NoError(t, j.SetDescription("x"))
		start(t, j)
		t0 := time.Now()
		finish(t, j)
		synctest.Wait()
		assert.Equal(t, 1, r.nTransferred(), "JobTransferred is not held back by the interval")
		assert.Equal(t, t0, time.Now())

		j2 := newJob(t, app, 1)
		require.NoError(t, j2.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		r2 := newRecorder("r2", nil)
		require.NoError(t, j2.SetNotifyInterface(r2))
		start(t, j2)
		require.NoError(t, engine.Of(j2).FileProgress(0, 100, 1))
		t0 = time.Now()
		_, err := engine.Of(j2).FireError(state.FatalFailure, notFound)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, 1, r2.nErrors(), "JobError is not held back by the interval")
		assert.Equal(t, t0, time.Now())
	})
}

// BG_NOTIFY_DISABLE silences everything; each event needs its own flag; an undefined flag is
// refused and changes nothing.
func TestNotifyFlags(t *testing.T) {
	t.Run("DISABLE", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			prog, runs := child(t, 0)
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			app := connect(t, m, user)
			r := newRecorder("r", nil)
			const all = bits.NotifyJobTransferred | bits.NotifyJobError | bits.NotifyDisable | bits.NotifyJobModification | bits.NotifyFileTransferred
			jobs := []bits.Job{newJob(t, app, 2), newJob(t, app, 1)}
			for _, j := range jobs {
				require.NoError(t, j.SetNotifyFlags(all))
				require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
				require.NoError(t, j.SetNotifyInterface(r))
				require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" disabled`))
			}
			transfer(t, jobs[0])
			fail(t, jobs[1])
			sleep(24 * time.Hour)
			tr, errs, mods := r.counts()
			assert.Equal(t, [3]int{0, 0, 0}, [3]int{tr, errs, mods})
			assert.Empty(t, r.fileNames())
			assert.Empty(t, runs(), "DISABLE silences the command line too")
		})
	})
	t.Run("DISABLE during a retry delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			prog, runs := child(t, 0)
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			require.NoError(t, j.SetMinimumRetryDelay(30))
			r := newRecorder("r", nil)
			r.onTransferred = always(hresult.E_FAIL)
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
			synctest.Wait()
			require.Equal(t, 1, r.nTransferred())
			require.NoError(t, j.SetNotifyFlags(bits.NotifyDisable|bits.DefaultNotifyFlags))
			require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" disabled`))
			sleep(24 * time.Hour)
			assert.Equal(t, 1, r.nTransferred(), "a retry due after DISABLE is not made")
			assert.Empty(t, runs())
		})
	})
	t.Run("TRANSFERRED flag alone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			prog, runs := child(t, 0)
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			app := connect(t, m, user)
			r := newRecorder("r", nil)
			jt, je := newJob(t, app, 1), newJob(t, app, 1)
			for _, j := range []bits.Job{jt, je} {
				require.NoError(t, j.SetNotifyFlags(bits.NotifyJobTransferred))
				require.NoError(t, j.SetNotifyInterface(r))
			}
			require.NoError(t, je.SetNotifyCmdLine(prog, `"`+prog+`" error`))
			fail(t, je)
			transfer(t, jt)
			sleep(24 * time.Hour)
			assert.Equal(t, 0, r.nErrors(), "no JobError without BG_NOTIFY_JOB_ERROR")
			assert.Empty(t, runs(), "nor the command line")
			assert.Equal(t, 1, r.nTransferred())
		})
	})
	t.Run("ERROR flag alone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			prog, runs := child(t, 0)
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			app := connect(t, m, user)
			r := newRecorder("r", nil)
			jt, je := newJob(t, app, 1), newJob(t, app, 1)
			for _, j := range []bits.Job{jt, je} {
				require.NoError(t, j.SetNotifyFlags(bits.NotifyJobError))
				require.NoError(t, j.SetNotifyInterface(r))
			}
			require.NoError(t, jt.SetNotifyCmdLine(prog, `"`+prog+`" transferred`))
			transfer(t, jt)
			fail(t, je)
			sleep(24 * time.Hour)
			assert.Equal(t, 0, r.nTransferred(), "no JobTransferred without BG_NOTIFY_JOB_TRANSFERRED")
			assert.Empty(t, runs(), "nor the command line")
			assert.Equal(t, 1, r.nErrors())
		})
	})
	t.Run("undefined flag", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			defer m.Close()
			j := newJob(t, connect(t, m, user), 1)
			const flags = bits.DefaultNotifyFlags | bits.NotifyJobModification
			require.NoError(t, j.SetNotifyFlags(flags))
			r := newRecorder("r", nil)
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
			sleep(time.Hour)
			require.Equal(t, 1, r.nTransferred())
			mods := r.nMods()

			err := j.SetNotifyFlags(0x40)
			assert.Equal(t, hresult.E_NOTIMPL, hresult.Of(err))
			sleep(time.Hour)
			got, err := j.GetNotifyFlags()
			require.NoError(t, err)
			assert.Equal(t, flags, got)
			assert.Equal(t, 1, r.nTransferred(), "a refused SetNotifyFlags does not re-deliver")
			assert.Equal(t, mods, r.nMods(), "a refused SetNotifyFlags is no modification")
		})
	})
}

// At most MaxInFlightPerUser notifications of one user's jobs run at once; another user is not
// held up.
func TestInFlightLimitPerUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		gate := make(chan struct{})
		var running, peak, started atomic.Int32
		block := func(bits.Job, int) error {
			n := running.Add(1)
			started.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-gate
			running.Add(-1)
			return nil
		}
		require.Equal(t, 4, notify.MaxInFlightPerUser, "BITS allows four notifications in flight per user")
		app := connect(t, m, user)
		r := newRecorder("a", nil)
		r.onTransferred = block
		const jobs = notify.MaxInFlightPerUser + 2
		for range jobs {
			j := newJob(t, app, 1)
			require.NoError(t, j.SetNotifyInterface(r))
			transfer(t, j)
		}
		synctest.Wait()
		assert.EqualValues(t, notify.MaxInFlightPerUser, running.Load())
		assert.EqualValues(t, notify.MaxInFlightPerUser, started.Load())

		// Another user's notification runs although this user's slots are full.
		other := newRecorder("b", nil)
		jb := newJob(t, connect(t, m, "S-1-5-21-2000"), 1)
		require.NoError(t, jb.SetNotifyInterface(other))
		transfer(t, jb)
		synctest.Wait()
		assert.Equal(t, 1, other.nTransferred())

		gate <- struct{}{} // release one
		synctest.Wait()
		assert.EqualValues(t, notify.MaxInFlightPerUser+1, started.Load(), "a freed slot lets the next start")
		assert.EqualValues(t, notify.MaxInFlightPerUser, running.Load())

		close(gate)
		synctest.Wait()
		assert.EqualValues(t, jobs, started.Load())
		assert.EqualValues(t, 0, running.Load())
		assert.EqualValues(t, notify.MaxInFlightPerUser, peak.Load())
		assert.Equal(t, jobs, r.nTransferred())
	})
}

// A JobModification goes by the job's settings when it is delivered, however many were delivered
// before: a new callback, new flags and a closed client take effect for the next one (the
// dispatcher reuses what it read of the job only while NotifyGen says nothing in it changed).
func TestJobModificationFollowsTheLatestSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		a, b := connect(t, m, user), connect(t, m, user)
		j := newJob(t, a, 1)
		jb, err := b.GetJob(engine.Of(j).ID())
		require.NoError(t, err)
		require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
		withMods := bits.DefaultNotifyFlags | bits.NotifyJobModification
		require.NoError(t, j.SetNotifyFlags(withMods))
		r1, r2 := newRecorder("r1", nil), newRecorder("r2", nil)
		require.NoError(t, j.SetNotifyInterface(r1))
		synctest.Wait()
		describe := func(h bits.Job) {
			t.Helper()
			require.NoError(t, h.SetDescription("d"))
			synctest.Wait()
		}

		before := r1.nMods()
		describe(j)
		describe(j)
		assert.Equal(t, before+2, r1.nMods(), "each change delivered to r1")

		require.NoError(t, j.SetNotifyInterface(r2))
		synctest.Wait()
		n1, n2 := r1.nMods(), r2.nMods()
		describe(j)
		assert.Equal(t, n1, r1.nMods(), "r1 was replaced")
		assert.Equal(t, n2+1, r2.nMods(), "the change goes to r2")

		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags))
		synctest.Wait()
		n2 = r2.nMods()
		describe(j)
		assert.Equal(t, n2, r2.nMods(), "no JobModification without its flag")

		require.NoError(t, j.SetNotifyFlags(withMods))
		synctest.Wait()
		n2 = r2.nMods()
		describe(j)
		assert.Equal(t, n2+1, r2.nMods(), "the flag is back")

		// r2 was registered through a; once a closes, the callback is gone for b's changes too.
		require.NoError(t, a.Close())
		n2 = r2.nMods()
		describe(jb)
		assert.Equal(t, n2, r2.nMods(), "the client that registered r2 has closed")
	})
}

// A callback gets the very handle it was registered through, which acts as the caller that
// registered it: the job keeps that handle, so delivering a notification makes no new one.
func TestCallbackGetsTheHandleItWasRegisteredThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		owner := connect(t, m, user)
		admin, err := m.Connect(manager.Identity{SID: "S-1-5-21-2000", Admin: true})
		require.NoError(t, err)

		var mu sync.Mutex
		var got []bits.Job
		r := newRecorder("r", nil)
		keep := func(j bits.Job, _ int) error {
			mu.Lock()
			got = append(got, j)
			mu.Unlock()
			return nil
		}
		r.onTransferred, r.onMod = keep, keep
		r.onFile = func(j bits.Job, _ bits.File, n int) error { return keep(j, n) }

		j := newJob(t, owner, 1)
		require.NoError(t, j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileTransferred))
		require.NoError(t, j.SetNotifyInterface(r))
		transfer(t, j)
		synctest.Wait()

		// The same job, through the administrator's handle: its callback gets that handle.
		k := newJob(t, owner, 1)
		id, err := k.GetId()
		require.NoError(t, err)
		ka, err := admin.GetJob(id)
		require.NoError(t, err)
		require.NoError(t, ka.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification))
		require.NoError(t, ka.SetNotifyInterface(r))
		synctest.Wait()
		require.NoError(t, k.SetDescription("changed"))
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 4, "FileTransferred and JobTransferred of j, two JobModification of k")
		for i, h := range got[:2] {
			assert.Same(t, j, h, "notification %d of j", i)
		}
		for i, h := range got[2:] {
			assert.Same(t, ka, h, "notification %d of k", i)
		}
	})
}
