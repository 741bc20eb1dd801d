package manager_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// soakSize is how many jobs the fault and simulation tests run: 1,000, or 100 under -short. The
// environment variable BITSEMU_SOAK overrides both.
func soakSize(t *testing.T) int {
	if s := os.Getenv("BITSEMU_SOAK"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "BITSEMU_SOAK")
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// TestFaultCutsResumeByteExact downloads files whose connection is cut once at a random byte
// offset. Each job resumes and ends with the source's exact bytes, and the server sends again
// at most one read chunk per cut.
func TestFaultCutsResumeByteExact(t *testing.T) {
	n := soakSize(t)
	const chunk = 16 << 10
	r := rand.New(rand.NewPCG(7, uint64(n)))
	srv := newServer(t, nil)
	h, c, dir := setup(t, manager.WithLimits(job.Limits{}), manager.WithTransfer(transfer.Config{ChunkSize: chunk}))
	type dl struct {
		j    *job.Job
		name string
		sum  [32]byte
		size int
	}
	dls := make([]dl, n)
	for i := range dls {
		name := fmt.Sprintf("f%04d.bin", i)
		size := 1 + r.IntN(200_000)
		data := content(1000+i, size)
		srv.SetContent(name, data)
		srv.AddFaults(bitstest.DropAfter(int64(r.IntN(size))).On(name).Times(1))
		j, err := c.CreateJob(name, job.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(dir, name)))
		require.NoError(t, j.SetMinimumRetryDelay(5))
		require.NoError(t, j.SetPriority(job.Foreground))
		dls[i] = dl{j: j, name: name, sum: sha256.Sum256(data), size: size}
	}
	for _, d := range dls {
		require.NoError(t, d.j.Resume())
	}
	h.RunUntil(bitstest.Epoch.Add(time.Hour), func() bool {
		for _, d := range dls {
			if st, _ := d.j.GetState(); st != state.Transferred {
				return false
			}
		}
		return true
	})
	for _, d := range dls {
		require.Equal(t, state.Transferred, stateOf(t, d.j), "%s: %v", d.name, errorOf(d.j))
		errs, _ := d.j.GetErrorCount()
		assert.LessOrEqual(t, errs, uint32(1), d.name)
		code, err := d.j.Complete()
		require.NoError(t, err)
		require.Equal(t, hresult.S_OK, code)
		got, err := os.ReadFile(filepath.Join(dir, d.name))
		require.NoError(t, err)
		assert.Equal(t, d.sum, sha256.Sum256(got), "%s: byte-identical to the source", d.name)
		resent := srv.StatsFor(d.name).BytesSent - int64(d.size)
		assert.GreaterOrEqual(t, resent, int64(0))
		assert.LessOrEqual(t, resent, int64(chunk), "%s: at most one read chunk sent again", d.name)
	}
}

// TestSimulationFlakyServer30Days runs jobs against a server that fails GETs at random (a 503
// or a connection cut at a random offset) for 30 virtual days, then checks every job against
// the rules, replayed from the server's own log of what each attempt got:
//
//   - an attempt that gets the whole rest of the file ends the job TRANSFERRED;
//   - a failed attempt is a transient error: the job retries after the minimum retry delay;
//   - progress restarts the no-progress timeout; when it runs out before the next retry, the
//     job ends in ERROR.
func TestSimulationFlakyServer30Days(t *testing.T) {
	n := soakSize(t)
	const (
		retry      = 6 * time.Hour
		noProgress = 33 * time.Hour // not a multiple of the retry delay: no ties
		size       = 4096
	)
	srv := newServer(t, nil, bitstest.Flaky(42, 0.7))
	h, c, dir := setup(t, manager.WithLimits(job.Limits{}))
	jobs := make([]*job.Job, n)
	for i := range jobs {
		name := fmt.Sprintf("s%04d.bin", i)
		srv.SetContent(name, content(5000+i, size))
		j, err := c.CreateJob(name, job.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(dir, name)))
		require.NoError(t, j.SetMinimumRetryDelay(uint32(retry/time.Second)))
		require.NoError(t, j.SetNoProgressTimeout(uint32(noProgress/time.Second)))
		jobs[i] = j
	}
	start := time.Now()
	for _, j := range jobs {
		require.NoError(t, j.Resume())
	}
	h.Advance(30 * 24 * time.Hour)
	t.Logf("%d jobs, 30 virtual days, %v of wall time", n, time.Since(start))

	// What each job's GETs got, in order.
	attempts := map[string][]attempt{}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			continue
		}
		attempts[r.Path[1:]] = append(attempts[r.Path[1:]], attempt{status: r.Status, sent: r.Sent})
	}
	var transferred, failed int
	for i, j := range jobs {
		name := fmt.Sprintf("s%04d.bin", i)
		want := predict(attempts[name], size, retry, noProgress)
		st := stateOf(t, j)
		require.Equal(t, want.state, st, "%s: attempts %v, error %v", name, attempts[name], errorOf(j))
		errs, _ := j.GetErrorCount()
		assert.Equal(t, want.errors, errs, name)
		times, _ := j.GetTimes()
		if st == state.Transferred {
			transferred++
			assert.Equal(t, bitstest.Epoch.Add(want.at), times.TransferCompletionTime, name)
		} else {
			failed++
			assert.Equal(t, bitstest.Epoch.Add(want.at), times.ModificationTime, name)
		}
	}
	t.Logf("%d TRANSFERRED, %d ERROR", transferred, failed)
	assert.Positive(t, transferred)
}

// errorOf describes j's error record, for failure messages.
func errorOf(j *job.Job) string {
	e, err := j.GetError()
	if err != nil {
		return err.Error()
	}
	ctx, code := e.GetError()
	return fmt.Sprintf("%v %v", ctx, code)
}

type attempt struct {
	status int
	sent   int64
}

type outcome struct {
	state  state.State
	errors uint32
	at     time.Duration // since the first attempt: when the job got there
}

// predict applies the retry rules to what a job's attempts got. Transfers take no virtual time.
func predict(as []attempt, size int64, retry, noProgress time.Duration) outcome {
	var have int64
	var now time.Duration
	since := time.Duration(-1) // start of the no-progress period; -1 when none
	var errs uint32
	for _, a := range as {
		ok := (a.status == 200 || a.status == 206) && have+a.sent == size
		if a.status == 200 || a.status == 206 {
			if a.sent > 0 {
				since = -1 // progress restarts the no-progress timeout
			}
			have += a.sent
		}
		if ok {
			return outcome{state: state.Transferred, errors: errs, at: now}
		}
		errs++
		if since < 0 {
			since = now
		}
		if now-since >= noProgress {
			return outcome{state: state.Error, errors: errs, at: now}
		}
		if deadline := since + noProgress; deadline <= now+retry {
			return outcome{state: state.Error, errors: errs, at: deadline}
		}
		now += retry
	}
	return outcome{state: state.TransientError, errors: errs, at: now}
}
