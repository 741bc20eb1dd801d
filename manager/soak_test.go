package manager_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/bitsemu/bitsemu/transfer"
)

// soakSize is how many jobs the fault and simulation tests run: 1,000, or 100 under -short. The
// environment variable BITSEMU_SOAK overrides both.
func soakSize(t *testing.T) int { return envSize(t, "BITSEMU_SOAK", 1000, 100) }

// envSize is the size of a big test: the number in the environment variable name when it is
// set, else short under -short, else full.
func envSize(t *testing.T, name string, full, short int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, name)
		return n
	}
	if testing.Short() {
		return short
	}
	return full
}

// TestFaultCutsResumeByteExact downloads files whose connection is cut once at a random byte
// offset. Each job resumes and ends with the source's exact bytes, and the server sends again
// at most one read chunk per cut. The test counts from the server's log that every cut was
// served, and that every file cut beyond its first chunk was resumed from a non-zero offset no
// further back than one chunk.
func TestFaultCutsResumeByteExact(t *testing.T) {
	n := soakSize(t)
	const chunk = 16 << 10
	r := rand.New(rand.NewPCG(7, uint64(n)))
	srv := newServer(t, nil)
	h, c, dir := setup(t, manager.WithLimits(job.Limits{}), manager.WithTransfer(transfer.Config{ChunkSize: chunk}))
	type dl struct {
		j    bits.Job
		name string
		sum  [32]byte
		size int
		cut  int64 // the offset of the cut
	}
	dls := make([]dl, n)
	for i := range dls {
		name := fmt.Sprintf("f%04d.bin", i)
		size := 1 + r.IntN(200_000)
		data := content(1000+i, size)
		srv.SetContent(name, data)
		cut := int64(r.IntN(size))
		srv.AddFaults(bitstest.DropAfter(cut).On(name).Times(1))
		j, err := c.CreateJob(name, bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(dir, name)))
		require.NoError(t, j.SetMinimumRetryDelay(5))
		require.NoError(t, j.SetPriority(bits.Foreground))
		dls[i] = dl{j: j, name: name, sum: sha256.Sum256(data), size: size, cut: cut}
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

	// The faults happened: one cut per file, each served by the server, and the resumes.
	require.Empty(t, srv.PendingFaults(), "cuts the server never served")
	byName := map[string][]bitstest.Request{}
	for _, rq := range srv.Requests() {
		if rq.Method == "GET" {
			byName[rq.Path[1:]] = append(byName[rq.Path[1:]], rq)
		}
	}
	cuts, resumes := 0, 0
	for _, d := range dls {
		var cut, from int64 = -1, -1
		for _, rq := range byName[d.name] {
			if len(rq.Faults) > 0 {
				require.Equal(t, -1, int(cut), "%s: cut once", d.name)
				cut = rq.Sent
				continue
			}
			if cut >= 0 && from < 0 {
				from = rangeStart(t, rq.Range)
			}
		}
		require.Equal(t, d.cut, cut, "%s: the cut was served at its offset", d.name)
		cuts++
		require.GreaterOrEqual(t, from, int64(0), "%s: a GET after the cut", d.name)
		assert.LessOrEqual(t, from, cut, d.name)
		assert.GreaterOrEqual(t, from, cut-chunk, "%s: the resume starts at most one chunk back", d.name)
		if from > 0 {
			resumes++
		}
	}
	assert.Equal(t, n, cuts, "cuts served")
	assert.GreaterOrEqual(t, resumes, n/2, "resumes from a non-zero offset")
	t.Logf("%d downloads, %d cuts served, %d resumed from a non-zero offset", n, cuts, resumes)
}

// rangeStart is the first byte a Range header ("bytes=a-b" or "bytes=a-") asks for; 0 when
// there is none.
func rangeStart(t *testing.T, rng string) int64 {
	if rng == "" {
		return 0
	}
	a, _, ok := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
	require.True(t, ok, rng)
	n, err := strconv.ParseInt(a, 10, 64)
	require.NoError(t, err, rng)
	return n
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
	jobs := make([]bits.Job, n)
	for i := range jobs {
		name := fmt.Sprintf("s%04d.bin", i)
		srv.SetContent(name, content(5000+i, size))
		j, err := c.CreateJob(name, bits.Download)
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
	h.Step(30 * 24 * time.Hour)
	t.Logf("%d jobs, 30 virtual days, %v of wall time", n, time.Since(start))

	// What each job's GETs got, in order.
	attempts := map[string][]attempt{}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			continue
		}
		attempts[r.Path[1:]] = append(attempts[r.Path[1:]], attempt{status: r.Status, sent: r.Sent})
	}
	var transferred, failed, retried, refused, cut, resumed int
	for _, rq := range srv.Requests() {
		switch {
		case rq.Method != "GET":
		case len(rq.Faults) > 0 && rq.Status == 503:
			refused++
		case len(rq.Faults) > 0:
			cut++
		}
		if rq.Method == "GET" && rq.Status == 206 && rangeStart(t, rq.Range) > 0 {
			resumed++
		}
	}
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
			if errs > 0 {
				retried++
			}
			assert.Equal(t, bitstest.Epoch.Add(want.at), times.TransferCompletionTime, name)
		} else {
			failed++
			assert.Equal(t, bitstest.Epoch.Add(want.at), times.ModificationTime, name)
		}
	}
	t.Logf("%d TRANSFERRED (%d after retries), %d ERROR; %d GETs refused (503), %d cut, %d ranged GETs from a non-zero offset",
		transferred, retried, failed, refused, cut, resumed)
	// The faults happened, and did what they should: refusals and cuts, retries that ended
	// TRANSFERRED, resumes from where a cut stopped, and jobs the no-progress timeout ended.
	assert.Positive(t, transferred)
	assert.GreaterOrEqual(t, refused, n/2, "GETs refused")
	assert.GreaterOrEqual(t, cut, n/2, "GETs cut")
	assert.GreaterOrEqual(t, retried, n/4, "jobs TRANSFERRED after a transient error")
	assert.GreaterOrEqual(t, resumed, n/10, "GETs resuming a cut download")
	assert.Positive(t, failed, "jobs ended by the no-progress timeout")
}

// errorOf describes j's error record, for failure messages.
func errorOf(j bits.Job) string {
	e, err := j.GetError()
	if err != nil {
		return err.Error()
	}
	ctx, code, _ := e.GetError()
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
