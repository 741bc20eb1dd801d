package notify_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/notify"
	"github.com/bitsemu/bitsemu/state"
)

// The command line runs as a real process, without a shell: the parameters arrive split as
// CommandLineToArgvW splits them, the first becoming argv[0].
func TestCmdLineArguments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 0)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		app := connect(t, m, user)

		j := newJob(t, app, 1)
		params := `"` + prog + `" plain "two words" "quote \"inside\"" back\\slash $HOME 'single' a;b|c`
		require.NoError(t, j.SetNotifyCmdLine(prog, params))
		transfer(t, j)
		synctest.Wait()
		assert.Equal(t, [][]string{{prog, "plain", "two words", `quote "inside"`, `back\\slash`, "$HOME", "'single'", "a;b|c"}}, runs())

		// Without parameters, argv[0] is the program.
		j2 := newJob(t, app, 1)
		require.NoError(t, j2.SetNotifyCmdLine(prog, ""))
		fail(t, j2)
		synctest.Wait()
		all := runs()
		require.Len(t, all, 2)
		assert.Equal(t, []string{prog}, all[1])
	})
}

// A non-zero exit runs the program again after the minimum retry delay while the job stays
// TRANSFERRED; once the job is completed it is not run again.
func TestCmdLineNonZeroExitRunsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 30 * time.Second
		prog, runs := child(t, 1)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		j := newJob(t, connect(t, m, user), 1)
		require.NoError(t, j.SetMinimumRetryDelay(uint32(delay/time.Second)))
		require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" again`))
		transfer(t, j)
		synctest.Wait()
		require.Len(t, runs(), 1)

		sleep(delay - time.Millisecond)
		assert.Len(t, runs(), 1, "not before the minimum retry delay")
		sleep(time.Millisecond)
		assert.Len(t, runs(), 2)
		sleep(delay)
		assert.Len(t, runs(), 3)
		assert.Equal(t, state.Transferred, stateOf(t, j))

		code, err := j.Complete()
		require.NoError(t, err)
		require.Equal(t, hresult.S_OK, code)
		sleep(24 * time.Hour)
		assert.Len(t, runs(), 3, "a completed job's program is not run again")
	})
}

// A program that exits 0 runs once.
func TestCmdLineZeroExitRunsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 0)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		j := newJob(t, connect(t, m, user), 2)
		require.NoError(t, j.SetMinimumRetryDelay(5))
		require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" once`))
		fail(t, j)
		sleep(24 * time.Hour)
		assert.Equal(t, [][]string{{prog, "once"}}, runs())
		assert.Equal(t, state.Error, stateOf(t, j))
	})
}

// TakeOwnership removes the command line: a pending re-run does not happen.
func TestCmdLineRemovedByTakeOwnership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 1)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		j := newJob(t, connect(t, m, user), 1)
		require.NoError(t, j.SetMinimumRetryDelay(30))
		require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" owned`))
		transfer(t, j)
		synctest.Wait()
		require.Len(t, runs(), 1)

		admin, err := m.Connect(manager.Identity{SID: "S-1-5-21-500", Admin: true})
		require.NoError(t, err)
		ja, err := admin.GetJob(engine.Of(j).ID())
		require.NoError(t, err)
		require.NoError(t, ja.TakeOwnership())
		cl, err := ja.GetNotifyCmdLine()
		require.NoError(t, err)
		assert.Equal(t, bits.NotifyCmdLine{}, cl)
		sleep(24 * time.Hour)
		assert.Len(t, runs(), 1, "no run after TakeOwnership")
	})
}

// A failed callback hands the event to the command line and is not called again for it; the
// command line runs again while it exits non-zero.
func TestFailedCallbackFallsBackToCmdLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		exit int
	}{{"program succeeds", 0}, {"program fails", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const delay = 30 * time.Second
				prog, runs := child(t, tc.exit)
				m := manager.New(manager.WithManualTransfers())
				defer m.Close()
				j := newJob(t, connect(t, m, user), 1)
				require.NoError(t, j.SetMinimumRetryDelay(uint32(delay/time.Second)))
				r := newRecorder("r", nil)
				r.onTransferred = func(bits.Job, int) error { return hresult.E_FAIL }
				require.NoError(t, j.SetNotifyInterface(r))
				require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" fallback`))
				transfer(t, j)
				synctest.Wait()
				assert.Equal(t, 1, r.nTransferred())
				assert.Len(t, runs(), 1, "the command line runs in the failed callback's place")

				sleep(delay)
				want := 1
				if tc.exit != 0 {
					want = 2
				}
				assert.Len(t, runs(), want)
				if tc.exit != 0 {
					setChildExit(t, 0)
					sleep(delay)
					assert.Len(t, runs(), 3)
				}
				sleep(24 * time.Hour)
				assert.Len(t, runs(), max(want, 3*tc.exit), "not run again after it exited 0")
				assert.Equal(t, 1, r.nTransferred(), "the failed callback is not called again for the event")
			})
		})
	}
}

// The command line never runs for a service account's job.
func TestCmdLineNeverForServiceAccounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prog, runs := child(t, 0)
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		svc, err := m.Connect(manager.Identity{SID: "S-1-5-18", Service: true})
		require.NoError(t, err)
		jt, je := newJob(t, svc, 1), newJob(t, svc, 1)
		for _, j := range []bits.Job{jt, je} {
			require.NoError(t, j.SetNotifyCmdLine(prog, `"`+prog+`" service`))
		}
		transfer(t, jt)
		fail(t, je)
		sleep(24 * time.Hour)
		assert.Empty(t, runs())
	})
}

func TestSplitCmdLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{``, nil},
		{`   `, nil},
		{"\t \t", nil},
		{`a`, []string{"a"}},
		{`a b  c`, []string{"a", "b", "c"}},
		{"  a\t\tb  ", []string{"a", "b"}},
		{`"a b" c`, []string{"a b", "c"}},
		{"\"a\tb\"", []string{"a\tb"}},
		{`a"b c"d`, []string{"ab cd"}},
		{`"unterminated quote`, []string{"unterminated quote"}},
		// Empty arguments.
		{`""`, []string{""}},
		{`"" ""`, []string{"", ""}},
		{`a "" b`, []string{"a", "", "b"}},
		// "" inside quotes is a literal quote.
		{`"a""b"`, []string{`a"b`}},
		{`"a"""`, []string{`a"`}},
		{`"""a"`, []string{`"a`}},
		// Backslashes are literal unless a quote follows.
		{`a\b`, []string{`a\b`}},
		{`a\\b`, []string{`a\\b`}},
		{`a\`, []string{`a\`}},
		{`"a\b"`, []string{`a\b`}},
		{`C:\dir\ x`, []string{`C:\dir\`, "x"}},
		// 2n+1 backslashes and a quote: n backslashes and a literal quote.
		{`\"a`, []string{`"a`}},
		{`\\\"a`, []string{`\"a`}},
		{`"x \" y"`, []string{`x " y`}},
		// 2n backslashes and a quote: n backslashes, and the quote toggles quoting.
		{`\\"a b"`, []string{`\a b`}},
		{`\\\\"a"`, []string{`\\a`}},
		{`"a\\" b`, []string{`a\`, "b"}},
		{`"C:\dir\\" x`, []string{`C:\dir\`, "x"}},
		// The notify example.
		{`"C:\p.exe" plain "two words" "quote \"inside\"" back\\slash`,
			[]string{`C:\p.exe`, "plain", "two words", `quote "inside"`, `back\\slash`}},
	} {
		assert.Equal(t, tc.want, notify.SplitCmdLine(tc.in), "SplitCmdLine(%q)", tc.in)
	}
}
