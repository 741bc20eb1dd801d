package bitstest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// silentServer accepts connections and never answers: a peer that sends nothing.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range held {
			_ = c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/f.bin"
}

func stateOf(t *testing.T, j bits.Job) state.State {
	t.Helper()
	st, err := j.GetState()
	require.NoError(t, err)
	return st
}

// Resume leaves the job QUEUED until the test steps (BITS: Resume queues, the scheduler picks
// later). A step picks it; against a server that never answers the step still returns, with
// the job CONNECTING, and stepping past the stall timeout and then the no-progress timeout
// fails the job as BITS would.
func TestNothingMovesBetweenSteps(t *testing.T) {
	h := bitstest.NewHarness(t)
	j, err := h.Connect("S-1-5-21-7").CreateJob("silent", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(silentServer(t), filepath.Join(t.TempDir(), "f.bin")))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.SetNoProgressTimeout(600))
	require.NoError(t, j.Resume())
	assert.Equal(t, state.Queued, stateOf(t, j), "Resume queues; nothing picks the job before a step")
	assert.Equal(t, state.Queued, stateOf(t, j), "still: nothing moves between steps")

	// A stalled peer is idle: the step returns (well within a second of real time).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, h.SettleContext(ctx))
	assert.Equal(t, state.Connecting, stateOf(t, j), "picked, waiting for an answer that never comes")
	assert.Equal(t, bitstest.Epoch, h.Clock.Now(), "settling does not move the clock")

	// The stall timeout (2 minutes) runs on the virtual clock.
	h.Step(2*time.Minute - time.Second)
	assert.Equal(t, state.Connecting, stateOf(t, j))
	h.Step(time.Second)
	assert.Equal(t, state.TransientError, stateOf(t, j))
	e, err := j.GetError()
	require.NoError(t, err)
	_, code, _ := e.GetError()
	assert.Equal(t, hresult.ERROR_WINHTTP_TIMEOUT, code)

	st, err := h.WaitState(j, time.Hour, state.Error)
	require.NoError(t, err)
	assert.Equal(t, state.Error, st, "no progress for the no-progress timeout: ERROR")
	assert.Equal(t, bitstest.Epoch.Add(2*time.Minute+600*time.Second), h.Clock.Now(),
		"ERROR exactly when the no-progress timeout, counted from the first transient error, ran out")
}

// WaitState tells when the virtual limit ran out instead of returning another state silently.
func TestWaitStateReportsTheLimit(t *testing.T) {
	h := bitstest.NewHarness(t)
	j, err := h.Connect("S-1-5-21-7").CreateJob("silent", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(silentServer(t), filepath.Join(t.TempDir(), "f.bin")))
	require.NoError(t, j.Resume())
	st, err := h.WaitState(j, time.Minute, state.Transferred)
	require.ErrorIs(t, err, bitstest.ErrLimit)
	assert.Equal(t, state.Connecting, st)
	assert.Contains(t, err.Error(), "CONNECTING")
}

// A callback that never returns keeps the engine busy: the step reports it instead of hanging.
func TestSettleReportsWhatIsBusy(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"f.bin": []byte("data")})
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	j, err := h.Connect("S-1-5-21-7").CreateJob("blocked", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("f.bin"), filepath.Join(t.TempDir(), "f.bin")))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	require.NoError(t, j.SetNotifyInterface(&bitstest.Callback{Transferred: func(bits.Job) error {
		<-release
		return nil
	}}))
	require.NoError(t, j.Resume())
	h.Timeout = 2 * time.Second
	err = h.SettleContext(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0 transfers running, 1 notifications being delivered")
	assert.Contains(t, err.Error(), "did not become quiescent within the harness's Timeout")
}

// memDir returns a new directory in memory (tmpfs) when the machine has /dev/shm, removed at the
// end of the test, and a t.TempDir otherwise. A simulation creates thousands of temporary files:
// on a disk each creation costs about a millisecond, which would measure the disk rather than
// the engine.
func memDir(t testing.TB) string {
	if d, err := os.MkdirTemp("/dev/shm", "bitsemu-sim-"); err == nil {
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}

// simulate runs jobs downloads over a 30%-flaky in-memory network for days of virtual time, with
// everything drawn from seed, and returns the manager's event log.
func simulate(t testing.TB, seed uint64, jobs int, days int) string {
	n := bitstest.NewNetwork()
	defer n.Close()
	files := map[string][]byte{}
	r := rand.New(rand.NewPCG(seed, 1))
	zeros := make([]byte, 64<<10) // every file is zeros: one buffer serves them all (the server copies)
	for i := range jobs {
		files[fmt.Sprintf("f%05d.bin", i)] = zeros[:1+r.IntN(64<<10)]
	}
	srv := bitstest.NewServerOn(n, "bits.test:80", files, bitstest.Flaky(int64(seed), 0.3))
	defer srv.Close()
	var log bytes.Buffer
	h := bitstest.NewHarness(nil, bitstest.OnNetwork(n), manager.WithLimits(job.Limits{}),
		manager.WithRandom(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})),
		manager.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	defer h.Close()
	c := h.Connect("S-1-5-21-1")
	dir := memDir(t)
	for i := range jobs {
		name := fmt.Sprintf("f%05d.bin", i)
		j, err := c.CreateJob(name, bits.Download)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.AddFile(srv.URLFor(name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		_ = j.SetMinimumRetryDelay(uint32(60 + r.IntN(3600)))
		_ = j.SetNoProgressTimeout(uint32(3600 + r.IntN(3*86400)))
		if err := j.Resume(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.RunUntilContext(context.Background(), h.Clock.Now().Add(time.Duration(days)*24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	return log.String()
}

// The same seed gives the same run: two simulations of 1,000 jobs (100 under -short) over 30
// virtual days on a flaky in-memory network log the same events, byte for byte: the same jobs
// (their GUIDs drawn from the seed too), states, virtual times and errors.
func TestSameSeedSameTrace(t *testing.T) {
	jobs := 1000
	if testing.Short() {
		jobs = 100
	}
	first := simulate(t, 42, jobs, 30)
	second := simulate(t, 42, jobs, 30)
	if first != second {
		a, b := strings.Split(first, "\n"), strings.Split(second, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("two runs with one seed differ at event %d:\n%s\n%s", i, a[i], b[i])
			}
		}
		t.Fatalf("two runs with one seed differ: %d events, then %d", len(a), len(b))
	}
	for _, want := range []string{"to=QUEUED", "to=CONNECTING", "to=TRANSFERRING", "to=TRANSIENT_ERROR", "to=TRANSFERRED",
		"error=BG_E_HTTP_ERROR_503", "error=BG_E_CONNECTION_CLOSED"} {
		assert.True(t, strings.Contains(first, want), "the trace shows the faults and their recoveries: %s", want)
	}
	assert.GreaterOrEqual(t, strings.Count(first, "to=TRANSFERRED"), jobs*9/10)
	other := simulate(t, 43, jobs, 30)
	assert.False(t, first == other, "another seed, another run")
}

// On loopback sockets too the engine's own order is fixed: three jobs against Flaky(42, 0.99)
// with a two-hour no-progress timeout end at the same virtual time, in the same states, run
// after run.
func TestSameSeedSameRunOnLoopback(t *testing.T) {
	runs := 5
	if testing.Short() {
		runs = 2
	}
	var first string
	for run := range runs {
		srv := bitstest.NewServer(map[string][]byte{"a": make([]byte, 5000), "b": make([]byte, 7000), "c": make([]byte, 9000)},
			bitstest.Flaky(42, 0.99))
		h := bitstest.NewHarness(t)
		c := h.Connect("S-1-5-21-1")
		var jobs []bits.Job
		for _, name := range []string{"a", "b", "c"} {
			j, err := c.CreateJob(name, bits.Download)
			require.NoError(t, err)
			require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(t.TempDir(), name)))
			require.NoError(t, j.SetMinimumRetryDelay(60))
			require.NoError(t, j.SetNoProgressTimeout(7200))
			require.NoError(t, j.Resume())
			jobs = append(jobs, j)
		}
		var end time.Time
		h.RunUntil(h.Clock.Now().Add(24*time.Hour), func() bool {
			for _, j := range jobs {
				if st := stateOf(t, j); st != state.Transferred && st != state.Error {
					return false
				}
			}
			end = h.Clock.Now()
			return true
		})
		require.False(t, end.IsZero(), "every job ended within a day")
		var b strings.Builder
		fmt.Fprintf(&b, "ended after %v:", end.Sub(bitstest.Epoch))
		for _, j := range jobs {
			n, _ := j.GetErrorCount()
			fmt.Fprintf(&b, " %s/%d", stateOf(t, j), n)
		}
		fmt.Fprintf(&b, " requests=%d", srv.Stats().Requests)
		h.Close()
		srv.Close()
		if run == 0 {
			first = b.String()
			continue
		}
		require.Equal(t, first, b.String(), "run %d", run)
	}
	t.Log(first)
}

// Whatever keeps a transfer waiting (a peer that never answers, or a bitstest server's Stall on
// loopback, over TLS or on an in-memory network), a step returns within a second of real time,
// and stepping past the stall timeout and then the no-progress timeout fails the job at the
// virtual time BITS would. The Context forms of every step report the same.
func TestStalledPeerIsIdle(t *testing.T) {
	files := map[string][]byte{"f.bin": make([]byte, 50_000)}
	tests := []struct {
		name string
		// setup returns the file's URL and the options that reach it, and counts the stalls
		// served.
		setup func(t *testing.T) (url string, opts []manager.Option, stalls func() int)
	}{
		{"silent loopback peer", func(t *testing.T) (string, []manager.Option, func() int) {
			return silentServer(t), nil, nil
		}},
		{"Stall on loopback", func(t *testing.T) (string, []manager.Option, func() int) {
			srv := bitstest.NewServer(files, bitstest.Stall(0))
			t.Cleanup(srv.Close)
			return srv.URLFor("f.bin"), nil, func() int { return srv.Stats().Faults }
		}},
		{"Stall on loopback TLS", func(t *testing.T) (string, []manager.Option, func() int) {
			srv := bitstest.NewTLSServer(files, bitstest.Stall(0))
			t.Cleanup(srv.Close)
			return srv.URLFor("f.bin"), []manager.Option{bitstest.Trust(srv)}, func() int { return srv.Stats().Faults }
		}},
		{"Stall on an in-memory network", func(t *testing.T) (string, []manager.Option, func() int) {
			n := bitstest.NewNetwork()
			t.Cleanup(func() { _ = n.Close() })
			srv := bitstest.NewServerOn(n, "bits.test:80", files, bitstest.Stall(0))
			t.Cleanup(srv.Close)
			return srv.URLFor("f.bin"), []manager.Option{bitstest.OnNetwork(n)}, func() int { return srv.Stats().Faults }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, opts, stalls := tt.setup(t)
			h := bitstest.NewHarness(t, opts...)
			j, err := h.Connect("S-1-5-21-7").CreateJob("stalled", bits.Download)
			require.NoError(t, err)
			require.NoError(t, j.AddFile(url, filepath.Join(t.TempDir(), "f.bin")))
			require.NoError(t, j.SetMinimumRetryDelay(60))
			require.NoError(t, j.SetNoProgressTimeout(600))
			require.NoError(t, j.Resume())

			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			require.NoError(t, h.SettleContext(ctx), "a stalled transfer is idle: the step returns")
			assert.Contains(t, []state.State{state.Connecting, state.Transferring}, stateOf(t, j))
			if stalls != nil {
				assert.Equal(t, 1, stalls(), "the server really stalls the answer")
			}

			bg := context.Background()
			require.NoError(t, h.StepContext(bg, 2*time.Minute-time.Second))
			assert.Contains(t, []state.State{state.Connecting, state.Transferring}, stateOf(t, j), "before the stall timeout")
			require.NoError(t, h.StepContext(bg, time.Second))
			require.Equal(t, state.TransientError, stateOf(t, j), "the stall timeout ran on the virtual clock")
			e, err := j.GetError()
			require.NoError(t, err)
			_, code, err := e.GetError()
			require.NoError(t, err)
			assert.Equal(t, hresult.ERROR_WINHTTP_TIMEOUT, code)

			st, err := h.WaitStateContext(bg, j, time.Hour, state.Error)
			require.NoError(t, err)
			assert.Equal(t, state.Error, st)
			assert.Equal(t, bitstest.Epoch.Add(2*time.Minute+600*time.Second), h.Clock.Now(),
				"ERROR when the no-progress timeout, counted from the first transient error, ran out")
			if stalls != nil {
				assert.GreaterOrEqual(t, stalls(), 4, "the retries at 3, 6 and 9 minutes stalled too")
			}
		})
	}
}

// The Context forms of the steps return what is busy instead of failing the test, and
// WaitStateContext tells the virtual limit apart from a step that never became quiescent.
func TestStepsContextReport(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"f.bin": []byte("data")})
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	h.Timeout = 500 * time.Millisecond
	c := h.Connect("S-1-5-21-7")
	j, err := c.CreateJob("blocked", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("f.bin"), filepath.Join(t.TempDir(), "f.bin")))
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	require.NoError(t, j.SetNotifyInterface(&bitstest.Callback{Transferred: func(bits.Job) error {
		<-release
		return nil
	}}))
	require.NoError(t, j.Resume())

	bg := context.Background()
	_, err = h.WaitStateContext(bg, j, time.Hour, state.Acknowledged)
	require.Error(t, err)
	assert.NotErrorIs(t, err, bitstest.ErrLimit, "not the virtual limit: the engine is busy")
	assert.Contains(t, err.Error(), "1 notifications being delivered")
	err = h.StepContext(bg, time.Minute)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 notifications being delivered")

	ctx, cancel := context.WithCancel(bg)
	cancel()
	assert.ErrorIs(t, h.StepContext(ctx, time.Minute), context.Canceled)

	free()
	st, err := h.WaitStateContext(bg, j, time.Hour, state.Transferred)
	require.NoError(t, err)
	assert.Equal(t, state.Transferred, st)
	_, err = h.WaitStateContext(bg, j, time.Hour, state.Acknowledged)
	assert.ErrorIs(t, err, bitstest.ErrLimit)
}
