package bitstest_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Every effect an API call causes waits for the next step on the virtual clock, not only the
// scheduler's pick: a notification's delivery, a notify command line, and the restart of a job
// in ERROR or TRANSIENT_ERROR. Between the call and the step nothing is delivered, launched or
// requested.
func TestEveryEffectWaitsForAStep(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"ok.bin": []byte("payload")})
	t.Cleanup(srv.Close)
	rec := bitstest.NewLaunchRecorder(nil)
	h := bitstest.NewHarness(t, manager.WithLauncher(rec))
	app := h.Connect(userSID)
	// idle waits until the engine has done all it started, without stepping the clock: what a
	// call started of its own would be over by then.
	idle := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, h.Manager.WaitIdle(ctx))
	}
	newJob := func(name string) bits.Job {
		j, err := app.CreateJob(name, bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor("ok.bin"), filepath.Join(t.TempDir(), name)))
		return j
	}
	// transferredJob returns a new job that has transferred, with no callback and no command
	// line: nothing was delivered or launched for it.
	transferredJob := func(t *testing.T, name string) bits.Job {
		j := newJob(name)
		require.NoError(t, j.Resume())
		st, err := h.WaitState(j, time.Minute, state.Transferred)
		require.NoError(t, err)
		require.Equal(t, state.Transferred, st)
		return j
	}

	t.Run("a late callback's JobTransferred", func(t *testing.T) {
		j := transferredJob(t, "late")
		var calls atomic.Int32
		require.NoError(t, j.SetNotifyInterface(&bitstest.Callback{Transferred: func(bits.Job) error {
			calls.Add(1)
			return nil
		}}))
		idle(t)
		assert.Zero(t, calls.Load(), "registered after TRANSFERRED: delivered at the next step, not inside the call")
		h.Settle()
		assert.EqualValues(t, 1, calls.Load(), "delivered at once on the virtual clock: no time passed")
		assert.Equal(t, bitstest.Epoch, h.Clock.Now())
	})

	t.Run("JobModification", func(t *testing.T) {
		j := newJob("modified")
		var calls atomic.Int32
		require.NoError(t, j.SetNotifyFlags(bits.NotifyJobModification))
		require.NoError(t, j.SetNotifyInterface(&bitstest.Callback{Modified: func(bits.Job) error {
			calls.Add(1)
			return nil
		}}))
		h.Settle()
		before := calls.Load()
		require.NoError(t, j.SetDescription("changed"))
		idle(t)
		assert.Equal(t, before, calls.Load(), "the change is delivered at the next step")
		h.Settle()
		assert.Greater(t, calls.Load(), before)
	})

	t.Run("the notify command line", func(t *testing.T) {
		j := transferredJob(t, "cmdline")
		require.Empty(t, rec.For(engine.Of(j).ID()), "no command line yet, nothing launched")
		// A command line set while the job is TRANSFERRED runs (at least once), at the step.
		require.NoError(t, j.SetNotifyCmdLine("/usr/bin/notify", "late one"))
		idle(t)
		assert.Empty(t, rec.For(engine.Of(j).ID()), "not inside the call")
		h.Settle()
		got := rec.For(engine.Of(j).ID())
		require.Len(t, got, 1)
		assert.Equal(t, "late one", got[0].Params)
		assert.Equal(t, bitstest.Epoch, got[0].Time)
	})

	t.Run("Resume of a job in ERROR", func(t *testing.T) {
		j := newJob("error")
		require.NoError(t, j.Resume())
		st, err := h.FailFatal(j, hresult.HTTP(404))
		require.NoError(t, err)
		require.Equal(t, state.Error, st)
		requests := srv.Stats().Requests
		require.NoError(t, j.Resume())
		idle(t)
		assert.Equal(t, state.Queued, stateOf(t, j))
		assert.Equal(t, requests, srv.Stats().Requests, "no request before the step")
		h.Settle()
		assert.Equal(t, state.Transferred, stateOf(t, j))
		assert.Greater(t, srv.Stats().Requests, requests)
	})

	t.Run("the retry after TRANSIENT_ERROR", func(t *testing.T) {
		j := newJob("transient")
		require.NoError(t, j.SetMinimumRetryDelay(60))
		require.NoError(t, j.Resume())
		st, err := h.FailTransient(j, hresult.BG_E_CONNECTION_CLOSED)
		require.NoError(t, err)
		require.Equal(t, state.TransientError, st)
		requests := srv.Stats().Requests
		require.NoError(t, j.Resume(), "Resume retries at once, ignoring the retry delay")
		idle(t)
		assert.Equal(t, state.Queued, stateOf(t, j))
		assert.Equal(t, requests, srv.Stats().Requests)
		h.Settle()
		assert.Equal(t, state.Transferred, stateOf(t, j))
	})
}

// On the virtual clock a call that stops a transfer returns once the transfer has stopped: no
// transfer is left running when the call returns, and nothing the transfer did afterwards shows
// before the next step.
func TestStoppingCallsReturnOnceTheTransferStopped(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(bits.Job) error
		want state.State
	}{
		{"Suspend", func(j bits.Job) error { return j.Suspend() }, state.Suspended},
		{"Cancel", func(j bits.Job) error { _, err := j.Cancel(); return err }, state.Cancelled},
		{"Complete", func(j bits.Job) error { _, err := j.Complete(); return err }, state.Acknowledged},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := bitstest.NewServer(map[string][]byte{"big.bin": make([]byte, 200_000)}, bitstest.Stall(50_000).Times(1))
			t.Cleanup(srv.Close)
			h := bitstest.NewHarness(t)
			j, err := h.Connect(userSID).CreateJob("stopped", bits.Download)
			require.NoError(t, err)
			require.NoError(t, j.AddFile(srv.URLFor("big.bin"), filepath.Join(t.TempDir(), "big.bin")))
			require.NoError(t, j.Resume())
			h.Settle()
			require.Equal(t, state.Transferring, stateOf(t, j))
			require.Equal(t, 1, srv.Stats().Stalled, "the transfer waits in the server's stall")

			require.NoError(t, tt.stop(j))
			assert.Equal(t, tt.want, stateOf(t, j))
			done, cancel := context.WithCancel(context.Background())
			cancel()
			// WaitIdle with an ended context succeeds only if nothing runs at all.
			assert.NoError(t, h.Manager.WaitIdle(done), "no transfer is left running when the call returns")
			if tt.want == state.Suspended {
				before, err := j.GetProgress()
				require.NoError(t, err)
				assert.EqualValues(t, 50_000, before.BytesTransferred, "what arrived before the stall")
				h.Step(time.Hour)
				after, err := j.GetProgress()
				require.NoError(t, err)
				assert.Equal(t, before, after, "no progress after Suspend returned")
			}
		})
	}
}
