package bitstest_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/childproc"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

const userSID = "S-1-5-21-7"

// download creates a job of c downloading name from srv into a temporary directory, and
// resumes it.
func download(t *testing.T, c *manager.Client, srv *bitstest.Server, name string) bits.Job {
	t.Helper()
	j, err := c.CreateJob(name, bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(t.TempDir(), name)))
	return j
}

// recorded starts a harness whose command lines go to a new recorder forwarding to forward,
// and a server with the files ok.bin and (missing, 404) gone.bin.
func recorded(t *testing.T, forward notify.Launcher) (*bitstest.Harness, *bitstest.LaunchRecorder, *bitstest.Server) {
	t.Helper()
	srv := bitstest.NewServer(map[string][]byte{"ok.bin": []byte("payload")})
	t.Cleanup(srv.Close)
	rec := bitstest.NewLaunchRecorder(forward)
	h := bitstest.NewHarness(t, manager.WithLauncher(rec))
	return h, rec, srv
}

// The recorder sees each launch: the job, the state that caused it, the program and the
// parameter string exactly as SetNotifyCmdLine set it.
func TestLaunchRecorderRecordsExactCommandLines(t *testing.T) {
	h, rec, srv := recorded(t, nil)
	app := h.Connect(userSID)
	const prog = "/opt/My Apps/notifié"
	cases := []string{
		`"/opt/My Apps/notifié" --job "two  spaces" 'single' "quote \"inside\"" back\\slash\ 日本語 $HOME a;b|c`,
		"\ttab\tfirst  and trailing spaces  ",
		`""`,
		"",
	}
	var transferred []bits.Job
	for i, params := range cases {
		j := download(t, app, srv, "ok.bin")
		require.NoError(t, j.SetNotifyCmdLine(prog, params), "case %d", i)
		require.NoError(t, j.Resume())
		transferred = append(transferred, j)
	}
	failed := download(t, app, srv, "gone.bin")
	require.NoError(t, failed.SetNotifyCmdLine(prog, "on error"))
	require.NoError(t, failed.Resume())
	h.Step(time.Minute)

	for i, j := range transferred {
		got := rec.For(engine.Of(j).ID())
		require.Len(t, got, 1, "case %d", i)
		assert.Equal(t, notify.Launch{Job: engine.Of(j).ID(), State: state.Transferred, Program: prog, Params: cases[i],
			Owner: userSID, Time: bitstest.Epoch}, got[0].Launch, "case %d", i)
		assert.NoError(t, got[0].Err)
	}
	got := rec.For(engine.Of(failed).ID())
	require.Len(t, got, 1)
	assert.Equal(t, state.Error, got[0].State)
	assert.Equal(t, "on error", got[0].Params)
	assert.Equal(t, len(cases)+1, rec.Len())
	assert.Len(t, rec.Launches(), len(cases)+1)
}

// A scripted failure (an exit code or an error) makes the manager launch the command line
// again after the minimum retry delay, in virtual time, until a launch succeeds.
func TestLaunchRecorderScriptedFailuresLaunchAgain(t *testing.T) {
	h, rec, srv := recorded(t, nil)
	cannotStart := errors.New("cannot start")
	rec.Script(bitstest.ExitCode(2), cannotStart, nil)
	j := download(t, h.Connect(userSID), srv, "ok.bin")
	require.NoError(t, j.SetNotifyCmdLine("/usr/bin/notify", "notify"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, 1, rec.Len())

	h.Step(600*time.Second - time.Nanosecond)
	require.Equal(t, 1, rec.Len(), "not before the default minimum retry delay of 600 s")
	h.Step(time.Hour)
	got := rec.Launches()
	require.Len(t, got, 3, "two failures, then a success")
	for i, want := range []error{bitstest.ExitCode(2), cannotStart, nil} {
		assert.Equal(t, bitstest.Epoch.Add(time.Duration(i)*600*time.Second), got[i].Time, "launch %d", i)
		assert.Equal(t, want, got[i].Err, "launch %d", i)
	}
	assert.EqualError(t, bitstest.ExitCode(2), "exit status 2")

	// Once the script is used up, launches succeed.
	j2 := download(t, h.Connect(userSID), srv, "ok.bin")
	require.NoError(t, j2.SetNotifyCmdLine("/usr/bin/notify", ""))
	require.NoError(t, j2.Resume())
	h.Step(24 * time.Hour)
	assert.Equal(t, 4, rec.Len())
	assert.Len(t, rec.For(engine.Of(j2).ID()), 1)
}

// child makes the test binary the notify program (see childproc.Start).
func child(t *testing.T, exit int) (string, func() [][]string) {
	t.Helper()
	return childproc.Start(t, exit)
}

// Forwarded to notify.ExecLauncher, the launches run real processes and record their outcome;
// a scripted result stands in for the process.
func TestLaunchRecorderForwardsToRealPrograms(t *testing.T) {
	prog, runs := child(t, 5)
	h, rec, srv := recorded(t, notify.ExecLauncher{})
	j := download(t, h.Connect(userSID), srv, "ok.bin")
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" "two words" 日本語`))
	require.NoError(t, j.Resume())
	h.Settle()
	assert.Equal(t, [][]string{{prog, "two words", "日本語"}}, runs())
	got := rec.Launches()
	require.Len(t, got, 1)
	var exit *exec.ExitError
	require.ErrorAs(t, got[0].Err, &exit)
	assert.Equal(t, 5, exit.ExitCode())

	rec.Script(bitstest.ExitCode(1))
	h.Step(time.Minute)
	assert.Len(t, runs(), 1, "the scripted launch starts no process")
	require.Equal(t, 2, rec.Len())
	assert.Equal(t, bitstest.ExitCode(1), rec.Launches()[1].Err)

	childproc.SetExit(t, 0)
	h.Step(time.Minute)
	assert.Len(t, runs(), 2)
	require.Equal(t, 3, rec.Len())
	assert.NoError(t, rec.Launches()[2].Err)
	h.Step(time.Hour)
	assert.Equal(t, 3, rec.Len(), "a program that exited 0 is not run again")
}

// Many jobs launching at once are all recorded, and the accessors are safe meanwhile.
func TestLaunchRecorderConcurrentLaunches(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 10
	}
	rec := bitstest.NewLaunchRecorder(nil)
	h := bitstest.NewHarness(t, manager.WithManualTransfers(), manager.WithLauncher(rec),
		manager.WithLimits(manager.Limits{}))
	dir := t.TempDir()
	var jobs []bits.Job
	for i := range n {
		app := h.Connect(fmt.Sprintf("S-1-5-21-%d", i%4))
		j, err := app.CreateJob("many", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile("http://h/f", filepath.Join(dir, strconv.Itoa(i))))
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", strconv.Itoa(i)))
		require.NoError(t, j.Resume())
		jobs = append(jobs, j)
	}
	var readers, fire sync.WaitGroup
	stop := make(chan struct{})
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				for _, r := range rec.Launches() {
					_ = r.Params
				}
				_ = rec.Len()
			}
		}
	})
	for _, j := range jobs {
		fire.Go(func() {
			_, err := engine.Of(j).Fire(state.Pick)
			assert.NoError(t, err)
			_, err = engine.Of(j).Fire(state.Connect)
			assert.NoError(t, err)
			st, err := engine.Of(j).FireFileDone(0)
			assert.NoError(t, err)
			assert.Equal(t, state.Transferred, st)
		})
	}
	fire.Wait()
	h.Settle()
	close(stop)
	readers.Wait()
	require.Equal(t, n, rec.Len())
	for i, j := range jobs {
		got := rec.For(engine.Of(j).ID())
		require.Len(t, got, 1)
		assert.Equal(t, strconv.Itoa(i), got[0].Params)
	}
}

// WaitFor waits for launches made on the real clock, and gives up when its context ends.
func TestLaunchRecorderWaitFor(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"ok.bin": []byte("payload")})
	t.Cleanup(srv.Close)
	rec := bitstest.NewLaunchRecorder(nil)
	m := manager.New(manager.WithLauncher(rec))
	t.Cleanup(func() { _ = m.Close() })
	app, err := m.Connect(manager.Identity{SID: userSID})
	require.NoError(t, err)
	j := download(t, app, srv, "ok.bin")
	require.NoError(t, j.SetNotifyCmdLine("/bin/notify", "real clock"))
	require.NoError(t, j.Resume())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, rec.WaitFor(ctx, func(rs []bitstest.LaunchRecord) bool { return len(rs) == 1 }))
	assert.Equal(t, "real clock", rec.Launches()[0].Params)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	err = rec.WaitFor(done, func(rs []bitstest.LaunchRecord) bool { return len(rs) == 2 })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, hresult.S_OK, mustComplete(t, j))
}

func mustComplete(t *testing.T, j bits.Job) hresult.Code {
	t.Helper()
	code, err := j.Complete()
	require.NoError(t, err)
	return code
}
