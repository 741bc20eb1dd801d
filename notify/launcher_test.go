package notify_test

import (
	"context"
	"errors"
	"os/exec"
	"sync"
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

// launches is a Launcher that records each launch and answers with the next result of its
// script (nil once the script is used up).
type launches struct {
	mu     sync.Mutex
	all    []notify.Launch
	script []error
}

func (l *launches) Launch(_ context.Context, x notify.Launch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, x)
	if len(l.script) == 0 {
		return nil
	}
	err := l.script[0]
	l.script = l.script[1:]
	return err
}

func (l *launches) list() []notify.Launch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]notify.Launch(nil), l.all...)
}

// The launcher is told of each launch: the job, the state that caused it, the program, and the
// parameter string exactly as it was set, quotes, runs of spaces and non-ASCII text included.
func TestLauncherSeesEachLaunch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &launches{}
		m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(rec))
		defer m.Close()
		app := connect(t, m, user)
		const prog = "/opt/app/notifié"
		params := `"/opt/app/notifié"  "deux mots"	tab "quote \"inside\"" back\\slash 日本語 $HOME 'single' a;b|c ""`

		jt := newJob(t, app, 1)
		require.NoError(t, jt.SetNotifyCmdLine(prog, params))
		start0 := time.Now()
		transfer(t, jt)
		synctest.Wait()
		je := newJob(t, app, 1)
		require.NoError(t, je.SetNotifyCmdLine(prog, ""))
		fail(t, je)
		synctest.Wait()

		got := rec.list()
		require.Len(t, got, 2)
		assert.Equal(t, notify.Launch{Job: engine.Of(jt).ID(), State: state.Transferred, Program: prog, Params: params,
			Owner: user, Time: start0}, got[0])
		assert.Equal(t, []string{prog, "deux mots", "tab", `quote "inside"`, `back\\slash`, "日本語", "$HOME", "'single'", "a;b|c", ""},
			got[0].Args())
		assert.Equal(t, notify.Launch{Job: engine.Of(je).ID(), State: state.Error, Program: prog, Owner: user, Time: start0}, got[1])
		assert.Equal(t, []string{prog}, got[1].Args(), "without parameters the program is argv[0]")
	})
}

// A launcher's error is a failed command line: it is launched again after the minimum retry
// delay, on the clock, until it succeeds; then never again.
func TestLauncherErrorLaunchesAgainAfterRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay uint32 // the minimum retry delay, seconds
	}{{"default delay", 600}, {"30 s", 30}, {"floor of 5 s", 5}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				boom := errors.New("launch failed")
				rec := &launches{script: []error{boom, &exec.ExitError{}, boom}}
				m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(rec))
				defer m.Close()
				j := newJob(t, connect(t, m, user), 1)
				if tc.delay != 600 {
					require.NoError(t, j.SetMinimumRetryDelay(tc.delay))
				}
				require.NoError(t, j.SetNotifyCmdLine("/bin/notify", "notify again"))
				t0 := time.Now()
				transfer(t, j)
				synctest.Wait()
				delay := time.Duration(tc.delay) * time.Second

				sleep(delay - time.Nanosecond)
				require.Len(t, rec.list(), 1, "not before the minimum retry delay")
				sleep(time.Nanosecond)
				require.Len(t, rec.list(), 2)
				sleep(2 * delay)
				got := rec.list()
				require.Len(t, got, 4, "three failures, then a success")
				for i, l := range got {
					assert.Equal(t, t0.Add(time.Duration(i)*delay), l.Time, "launch %d", i)
					assert.Equal(t, "notify again", l.Params)
				}
				sleep(24 * time.Hour)
				assert.Len(t, rec.list(), 4, "a launch that succeeded is not repeated")
				assert.Equal(t, state.Transferred, stateOf(t, j))
			})
		})
	}
}

// A launcher that panics has failed: the dispatcher survives and launches again after the delay.
func TestLauncherPanicIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		calls := 0
		m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(notify.LauncherFunc(
			func(context.Context, notify.Launch) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls == 1 {
					panic("launcher bug")
				}
				return nil
			})))
		defer m.Close()
		j := newJob(t, connect(t, m, user), 1)
		require.NoError(t, j.SetMinimumRetryDelay(60))
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", ""))
		fail(t, j)
		synctest.Wait()
		count := func() int { mu.Lock(); defer mu.Unlock(); return calls }
		require.Equal(t, 1, count())
		sleep(time.Minute)
		assert.Equal(t, 2, count())
		sleep(time.Hour)
		assert.Equal(t, 2, count())
	})
}

// Closing the manager cancels a running launch's context, and Close waits for the launch to return.
func TestLauncherCancelledByClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		var ctxErr error
		m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(notify.LauncherFunc(
			func(ctx context.Context, _ notify.Launch) error {
				close(started)
				<-ctx.Done()
				ctxErr = ctx.Err()
				return ctx.Err()
			})))
		j := newJob(t, connect(t, m, user), 1)
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", ""))
		transfer(t, j)
		<-started
		require.NoError(t, m.Close())
		assert.ErrorIs(t, ctxErr, context.Canceled)
	})
}

// A failed callback hands the event to the launcher, which sees the state of the event.
func TestLauncherAfterFailedCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &launches{}
		m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(rec))
		defer m.Close()
		j := newJob(t, connect(t, m, user), 1)
		r := newRecorder("r", nil)
		r.onError = func(bits.Job, int) error { return hresult.E_FAIL }
		require.NoError(t, j.SetNotifyInterface(r))
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", "x"))
		fail(t, j)
		synctest.Wait()
		assert.Equal(t, 1, r.nErrors())
		got := rec.list()
		require.Len(t, got, 1)
		assert.Equal(t, state.Error, got[0].State)
	})
}

// A service account's command line is never handed to the launcher.
func TestLauncherNeverForServiceAccounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &launches{}
		m := manager.New(manager.WithManualTransfers(), manager.WithLauncher(rec))
		defer m.Close()
		svc, err := m.Connect(manager.Identity{SID: "S-1-5-18", Service: true})
		require.NoError(t, err)
		j := newJob(t, svc, 1)
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", ""))
		transfer(t, j)
		sleep(24 * time.Hour)
		assert.Empty(t, rec.list())

		// Nor a user's job whose command line an administrator running as a service account set.
		u := newJob(t, connect(t, m, user), 1)
		adminSvc, err := m.Connect(manager.Identity{SID: "S-1-5-18", Service: true, Admin: true})
		require.NoError(t, err)
		ua, err := adminSvc.GetJob(engine.Of(u).ID())
		require.NoError(t, err)
		require.NoError(t, ua.SetNotifyCmdLine("/bin/notify", ""))
		transfer(t, u)
		sleep(24 * time.Hour)
		assert.Empty(t, rec.list())

		// A command line its owner set is launched.
		v := newJob(t, connect(t, m, user), 1)
		require.NoError(t, v.SetNotifyCmdLine("/bin/notify", ""))
		transfer(t, v)
		synctest.Wait()
		assert.Len(t, rec.list(), 1)
	})
}

// ExecLauncher runs the program as a real process with the split parameters, and reports a
// non-zero exit as an *exec.ExitError.
func TestExecLauncher(t *testing.T) {
	prog, runs := child(t, 0)
	params := `"` + prog + `" "two words" 日本語`
	require.NoError(t, notify.ExecLauncher{}.Launch(context.Background(), notify.Launch{Program: prog, Params: params}))
	assert.Equal(t, [][]string{{prog, "two words", "日本語"}}, runs())

	setChildExit(t, 3)
	err := notify.ExecLauncher{}.Launch(context.Background(), notify.Launch{Program: prog})
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	assert.Equal(t, [][]string{{prog, "two words", "日本語"}, {prog}}, runs())

	err = notify.ExecLauncher{}.Launch(context.Background(), notify.Launch{Program: prog + ".missing"})
	assert.Error(t, err)
	assert.Len(t, runs(), 2)
}
