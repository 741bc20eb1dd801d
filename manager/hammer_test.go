package manager_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// The operations of TestHammer.
type hammerOp int

const (
	hCreate hammerOp = iota
	hAddFile
	hResume
	hSuspend
	hCancel
	hComplete
	hPriority   // SetPriority to a background priority
	hForeground // SetPriority(FOREGROUND)
	hGetters
	hEnumJobs
	hNotifyCallback // SetNotifyInterface(callback)
	hNotifyNil      // SetNotifyInterface(nil)
	hNotifyFlags
	hTakeOwnership
	hNetworkOff
	hNetworkOn
	hOpCount
)

var hammerOpNames = [hOpCount]string{
	"CreateJob", "AddFile", "Resume", "Suspend", "Cancel", "Complete", "SetPriority(background)",
	"SetPriority(FOREGROUND)", "getters", "EnumJobs", "SetNotifyInterface(cb)",
	"SetNotifyInterface(nil)", "SetNotifyFlags", "TakeOwnership", "SetNetworkAvailable(false)",
	"SetNetworkAvailable(true)",
}

// hammerWeights is how often each operation is drawn, out of their sum.
var hammerWeights = [hOpCount]int{
	hCreate: 8, hAddFile: 12, hResume: 14, hSuspend: 5, hCancel: 3, hComplete: 3, hPriority: 6,
	hForeground: 6, hGetters: 10, hEnumJobs: 3, hNotifyCallback: 4, hNotifyNil: 3, hNotifyFlags: 4,
	hTakeOwnership: 4, hNetworkOff: 1, hNetworkOn: 2,
}

// hammerCodes are the HRESULTs each call may fail with, beyond BG_E_INVALID_STATE (the job
// became final meanwhile) and E_ACCESSDENIED (an administrator took the job from the handle's
// user): what the rules, the limits and the ownership allow, and nothing else.
var hammerCodes = map[string][]hresult.Code{
	"CreateJob": {hresult.BG_E_TOO_MANY_JOBS_PER_USER, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE},
	"GetJob":    {hresult.BG_E_NOT_FOUND},
	"AddFile":   {hresult.BG_E_TOO_MANY_FILES_IN_JOB},
	"Resume":    {hresult.BG_E_EMPTY},
	"GetError":  {hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE},
	"Complete":  {hresult.BG_S_PARTIAL_COMPLETE},
}

// hammerJob is what the test knows of one job.
type hammerJob struct {
	creator bits.Job
	mu      sync.Mutex
	locals  []string // local names of the files added (AddFile succeeded)
	resumed bool     // a Resume succeeded
	// ends counts the successful Cancel and Complete calls.
	cancels, completes int
}

// transitionLog is a slog.Handler that keeps the manager's event log: one record per state change.
type transitionLog struct {
	mu    *sync.Mutex
	moves map[string][]logMove
}

type logMove struct{ from, to, cause string }

func (l transitionLog) Enabled(context.Context, slog.Level) bool { return true }
func (l transitionLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l transitionLog) WithGroup(string) slog.Handler            { return l }
func (l transitionLog) Handle(_ context.Context, r slog.Record) error {
	var id string
	var mv logMove
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "id":
			id = a.Value.String()
		case "from":
			mv.from = a.Value.String()
		case "to":
			mv.to = a.Value.String()
		case "event":
			mv.cause = "event:" + a.Value.String()
		case "method":
			mv.cause = "method:" + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.moves[id] = append(l.moves[id], mv)
	l.mu.Unlock()
	return nil
}

// hammerCallback counts notifications and calls back into the job from inside them.
type hammerCallback struct {
	calls atomic.Int64
}

func (c *hammerCallback) note(j bits.Job) error {
	c.calls.Add(1)
	_, _ = j.GetState() // re-entry from a delivery goroutine
	return nil
}
func (c *hammerCallback) JobTransferred(j bits.Job) error         { return c.note(j) }
func (c *hammerCallback) JobError(j bits.Job, _ bits.Error) error { return c.note(j) }
func (c *hammerCallback) JobModification(j bits.Job) error        { return c.note(j) }

// TestHammer runs 64 goroutines of random API calls against a manager whose transfer engine is
// on (real clock, real loopback server with faults, a bandwidth limit), then checks that every
// call returned a code the rules allow, that no job moved in a way the state rules forbid, and
// that after the network is back and every job is resumed, every file arrives byte-exact.
func TestHammer(t *testing.T) {
	defer goleak.VerifyNone(t)
	start := time.Now()

	const workers = 64
	opsPerWorker := 600
	if testing.Short() {
		opsPerWorker = 60
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The server: a few files, every file cut once, and random 503s and cuts.
	files := map[string][]byte{}
	var names []string
	for i, size := range []int{1, 2_000, 17_000, 48_000, 64_000, 96_000} {
		name := fmt.Sprintf("h%d.bin", i)
		files[name] = content(7000+i, size)
		names = append(names, name)
	}
	faults := []bitstest.Fault{bitstest.Flaky(11, 0.15).Times(40)}
	for _, n := range names {
		faults = append(faults, bitstest.DropAfter(int64(len(files[n])/2)).On(n).Times(1))
	}
	srv := bitstest.NewServer(files, faults...)
	defer srv.Close()

	dir := t.TempDir()
	log := transitionLog{mu: &sync.Mutex{}, moves: map[string][]logMove{}}
	m := manager.New(
		manager.WithBandwidth(256<<10),
		manager.WithTransfer(transfer.Config{ChunkSize: 4 << 10}),
		manager.WithLimits(manager.Limits{MaxJobsPerUser: 40, MaxJobsPerMachine: 150, MaxFilesPerJob: 6, MaxRangesPerFile: 4}),
		manager.WithLocalRoots(dir),
		manager.WithLogger(slog.New(log)),
	)
	defer m.Close()

	users := []manager.Identity{
		{SID: "S-1-5-21-7001"}, {SID: "S-1-5-21-7002"}, {SID: "S-1-5-21-7003"}, {SID: "S-1-5-21-7004"},
		{SID: "S-1-5-21-7500", Admin: true}, {SID: "S-1-5-21-7501", Admin: true},
	}

	var (
		poolMu   sync.Mutex
		pool     []*hammerJob
		localSrc sync.Map // local name → remote file name
		nLocal   atomic.Int64
		attempts [hOpCount]atomic.Int64
		success  [hOpCount]atomic.Int64
		errMu    sync.Mutex
		unexpect []string
	)
	cb := &hammerCallback{}
	var total int
	for _, w := range hammerWeights {
		total += w
	}
	draw := func(r *rand.Rand) hammerOp {
		n := r.IntN(total)
		for op, w := range hammerWeights {
			if n < w {
				return hammerOp(op)
			}
			n -= w
		}
		panic("unreachable")
	}
	// allowed reports whether err is a success or a code call may return.
	allowed := func(call string, code hresult.Code, err error) bool {
		if err == nil {
			return code == hresult.S_OK || slices.Contains(hammerCodes[call], code)
		}
		c := hresult.Of(err)
		return c == hresult.BG_E_INVALID_STATE || c == hresult.E_ACCESSDENIED || slices.Contains(hammerCodes[call], c)
	}
	record := func(w int, call string, code hresult.Code, err error) bool {
		if allowed(call, code, err) {
			return err == nil
		}
		errMu.Lock()
		unexpect = append(unexpect, fmt.Sprintf("worker %d: %s: code %v, err %v", w, call, code, err))
		errMu.Unlock()
		return false
	}
	pick := func(r *rand.Rand, sid string, admin bool) *hammerJob {
		poolMu.Lock()
		defer poolMu.Unlock()
		if len(pool) == 0 {
			return nil
		}
		// Prefer recent jobs, and an ordinary user's own.
		for range 8 {
			hj := pool[len(pool)-1-r.IntN(min(len(pool), 48))]
			if admin || engine.Of(hj.creator).OwnerSID() == sid {
				return hj
			}
		}
		return pool[r.IntN(len(pool))]
	}

	var wg sync.WaitGroup
	for w := range workers {
		id := users[w%len(users)]
		c, err := m.Connect(id)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 0x4a11))
			for i := range opsPerWorker {
				if ctx.Err() != nil {
					return
				}
				op := draw(r)
				if op == hTakeOwnership && !id.Admin || op == hCreate && id.Admin {
					// Administrators take jobs rather than create them (theirs would not
					// count toward the limits, and the queue would grow without bound).
					op = hGetters
				}
				attempts[op].Add(1)
				ok := false
				switch op {
				case hCreate:
					j, err := c.CreateJob(fmt.Sprintf("w%d-%d", w, i), bits.Download)
					if ok = record(w, "CreateJob", 0, err); ok {
						hj := &hammerJob{creator: j}
						poolMu.Lock()
						pool = append(pool, hj)
						poolMu.Unlock()
					}
				case hEnumJobs:
					flags := uint32(0)
					if id.Admin && r.IntN(2) == 0 {
						flags = bits.EnumAllUsers
					}
					e, err := c.EnumJobs(flags)
					if ok = record(w, "EnumJobs", 0, err); ok {
						jobs, _ := bits.All(e)
						for _, j := range jobs {
							_, err := j.GetState()
							record(w, "GetState(enumerated)", 0, err)
						}
					}
				case hNetworkOff:
					m.SetNetworkAvailable(false)
					ok = true
				case hNetworkOn:
					m.SetNetworkAvailable(true)
					ok = true
				default:
					hj := pick(r, id.SID, id.Admin)
					if hj == nil {
						continue
					}
					// A third of the calls go through the creator's handle, which stays usable
					// after the job leaves the queue or changes owner; the others through the
					// worker's own client.
					h := hj.creator
					if r.IntN(3) != 0 {
						var err error
						h, err = c.GetJob(engine.Of(hj.creator).ID())
						if !record(w, "GetJob", 0, err) {
							continue
						}
					}
					ok = hammerCall(r, w, op, h, hj, cb, srv, dir, names, &localSrc, &nLocal, record)
				}
				if ok {
					success[op].Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("the hammer did not finish: deadlock or livelock; goroutines:\n%s", buf[:n])
	}
	hammerTime := time.Since(start)

	errMu.Lock()
	for _, e := range unexpect {
		t.Error(e)
	}
	errMu.Unlock()
	var counts []string
	for op := range hOpCount {
		a, s := attempts[op].Load(), success[op].Load()
		counts = append(counts, fmt.Sprintf("%s %d/%d", hammerOpNames[op], s, a))
		assert.Positive(t, s, "%s never succeeded (%d attempts): the hammer did not exercise it", hammerOpNames[op], a)
	}
	t.Logf("operations (succeeded/attempted): %s", strings.Join(counts, ", "))

	// The network is back: no job may still wait for it. Every live job goes to the
	// foreground, where the bandwidth limit no longer holds it back.
	m.SetNetworkAvailable(true)
	poolMu.Lock()
	jobs := slices.Clone(pool)
	poolMu.Unlock()
	viewer := job.NewCaller(manager.Identity{SID: "S-1-5-21-7999", Admin: true})
	view := func(hj *hammerJob) bits.Job { return engine.Of(hj.creator).As(viewer) }
	for _, hj := range jobs {
		if err := view(hj).SetPriority(bits.Foreground); err != nil {
			require.ErrorIs(t, err, hresult.BG_E_INVALID_STATE)
		}
	}
	require.NoError(t, m.WaitIdle(ctx))
	for _, hj := range jobs {
		h := view(hj)
		st, err := h.GetState()
		require.NoError(t, err)
		if st == state.TransientError {
			e, err := h.GetError()
			require.NoError(t, err)
			_, code, _ := e.GetError()
			assert.NotEqual(t, hresult.BG_E_NETWORK_DISCONNECTED, code,
				"job %v waits for a network that is back", engine.Of(hj.creator).ID())
		}
	}

	// Every live job is resumed in the foreground until it has every file; empty jobs are
	// completed at once.
	cb2 := &hammerCallback{}
	rounds, still, lastSig := 0, 0, ""
	for {
		rounds++
		pending := 0
		for _, hj := range jobs {
			h := view(hj)
			st, err := h.GetState()
			require.NoError(t, err)
			if st.Final() {
				continue
			}
			p, err := h.GetProgress()
			require.NoError(t, err)
			if st == state.Transferred && p.FilesTransferred == p.FilesTotal {
				continue
			}
			if p.FilesTotal == 0 {
				code, err := h.Complete()
				require.NoError(t, err)
				require.Equal(t, hresult.S_OK, code)
				continue
			}
			pending++
			require.NoError(t, h.SetPriority(bits.Foreground))
			require.NoError(t, h.SetNotifyInterface(cb2))
			require.NoError(t, h.SetNotifyFlags(bits.NotifyJobTransferred|bits.NotifyJobError))
			if st != state.Queued && st != state.Connecting && st != state.Transferring {
				require.NoError(t, h.Resume(), "job %v in %v", engine.Of(hj.creator).ID(), st)
			}
		}
		if pending == 0 {
			break
		}
		require.NoError(t, m.WaitIdle(ctx), "round %d", rounds)
		// The engine is idle, yet jobs are pending: unless something moved since the last
		// round, they are stranded (queued, connecting or transferring with no transfer).
		sig := hammerSignature(t, jobs, view)
		if sig == lastSig {
			still++
		} else {
			lastSig, still = sig, 0
		}
		if still == 200 || ctx.Err() != nil {
			for _, hj := range jobs {
				h := view(hj)
				st, _ := h.GetState()
				p, _ := h.GetProgress()
				if !st.Final() && (st != state.Transferred || p.FilesTransferred < p.FilesTotal) {
					id := engine.Of(hj.creator).ID()
					t.Errorf("job %v stranded in %v (%d of %d files); its moves: %v", id, st,
						p.FilesTransferred, p.FilesTotal, log.moves[job.GUIDString(id)])
				}
			}
			t.FailNow()
		}
	}

	// Complete every TRANSFERRED job: each file is then in place, byte-exact.
	var completed int
	for _, hj := range jobs {
		h := view(hj)
		st, err := h.GetState()
		require.NoError(t, err)
		if st != state.Transferred {
			continue
		}
		code, err := h.Complete()
		require.NoError(t, err)
		require.Equal(t, hresult.S_OK, code)
		completed++
		hj.mu.Lock()
		for _, l := range hj.locals {
			_, err := os.Stat(l)
			assert.NoError(t, err, "a completed job's file is in place")
		}
		hj.mu.Unlock()
	}
	require.NoError(t, m.WaitIdle(ctx))

	// Every file in the directory is one a job delivered, byte for byte; no temporary file is
	// left behind by any job.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	delivered := 0
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		src, ok := localSrc.Load(p)
		if !assert.True(t, ok, "%s: a file no job names (a temporary file left behind?)", e.Name()) {
			continue
		}
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		if want := files[src.(string)]; !bytes.Equal(want, got) {
			at := 0
			for at < min(len(want), len(got)) && want[at] == got[at] {
				at++
			}
			t.Errorf("%s: not byte-exact with %s: %d bytes for %d, first difference at byte %d", e.Name(), src, len(got), len(want), at)
		}
		delivered++
	}
	assert.Positive(t, completed, "no job was completed after the hammer")
	assert.Positive(t, delivered, "no file was delivered")
	assert.Positive(t, cb.calls.Load()+cb2.calls.Load(), "no notification was delivered")

	// Every job is final, in the state its successful calls say, and it got there by moves the
	// state rules allow.
	methodRules := map[string]state.Rule{}
	for _, rl := range state.Methods() {
		methodRules["method:"+rl.Method.String()] = rl
	}
	eventRules := map[string][]state.Transition{}
	for _, tr := range state.Events() {
		eventRules["event:"+tr.Event.String()] = append(eventRules["event:"+tr.Event.String()], tr)
	}
	allowedMove := func(mv logMove) bool {
		from, ok1 := state.Parse(mv.from)
		to, ok2 := state.Parse(mv.to)
		if !ok1 || !ok2 {
			return false
		}
		if rl, ok := methodRules[mv.cause]; ok {
			for _, cs := range rl.Cases {
				if cs.From.Has(from) && cs.To == to {
					return true
				}
			}
			return false
		}
		for _, tr := range eventRules[mv.cause] {
			if tr.From.Has(from) && tr.To == to {
				return true
			}
		}
		return false
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	moves := 0
	for _, hj := range jobs {
		eid := engine.Of(hj.creator).ID()
		st, err := view(hj).GetState()
		require.NoError(t, err)
		require.True(t, st.Final(), "job %v ended in %v", eid, st)
		hj.mu.Lock()
		cancels, completes, resumed, nfiles := hj.cancels, hj.completes, hj.resumed, len(hj.locals)
		hj.mu.Unlock()
		assert.LessOrEqual(t, cancels+completes, 1, "job %v: ended twice", eid)
		if cancels == 1 {
			assert.Equal(t, state.Cancelled, st, "job %v was cancelled", eid)
		}
		if st == state.Cancelled {
			assert.Equal(t, 1, cancels, "job %v is CANCELLED without a Cancel", eid)
		}
		mv := log.moves[job.GUIDString(eid)]
		if !resumed && completes == 1 {
			// Never resumed: nothing but Complete or Cancel ever moved it.
			assert.Len(t, mv, 1, "job %v moved without a Resume: %v", eid, mv)
		}
		if nfiles == 0 && completes+cancels == 1 {
			assert.Len(t, mv, 1, "job %v moved with no file: %v", eid, mv)
		}
		// The moves form one path from SUSPENDED to the final state: each state is entered as
		// often as it is left, but for the ends.
		bal := map[string]int{}
		for _, x := range mv {
			assert.True(t, allowedMove(x), "job %v: move %s → %s by %s is not in the state rules", eid, x.from, x.to, x.cause)
			bal[x.from]--
			bal[x.to]++
		}
		moves += len(mv)
		bal[state.Suspended.String()]++
		bal[st.String()]--
		for s, b := range bal {
			assert.Zero(t, b, "job %v: the moves into and out of %s do not balance: %v", eid, s, mv)
		}
	}
	faultsServed := 0
	for _, rq := range srv.Requests() {
		if len(rq.Faults) > 0 {
			faultsServed++
		}
	}
	t.Logf("%d workers × %d operations in %v; %d jobs, %d state moves, %d faults served, %d notifications, %d files delivered, %d final rounds; total %v",
		workers, opsPerWorker, hammerTime.Round(time.Millisecond), len(jobs), moves, faultsServed,
		cb.calls.Load()+cb2.calls.Load(), delivered, rounds, time.Since(start).Round(time.Millisecond))
	assert.Positive(t, faultsServed, "no fault was served")
}

// hammerCall makes one call of op on h, a handle of the job hj, and records its outcome. It
// reports whether the call succeeded.
func hammerCall(r *rand.Rand, w int, op hammerOp, h bits.Job, hj *hammerJob, cb bits.Callback,
	srv *bitstest.Server, dir string, names []string, localSrc *sync.Map, nLocal *atomic.Int64,
	record func(int, string, hresult.Code, error) bool) bool {
	switch op {
	case hAddFile:
		name := names[r.IntN(len(names))]
		local := filepath.Join(dir, fmt.Sprintf("l%05d.bin", nLocal.Add(1)))
		localSrc.Store(local, name)
		hj.mu.Lock() // held across the call so that Complete's check sees the list whole
		defer hj.mu.Unlock()
		ok := record(w, "AddFile", 0, h.AddFile(srv.URLFor(name), local))
		if ok {
			hj.locals = append(hj.locals, local)
		}
		return ok
	case hResume:
		ok := record(w, "Resume", 0, h.Resume())
		if ok {
			hj.mu.Lock()
			hj.resumed = true
			hj.mu.Unlock()
		}
		return ok
	case hSuspend:
		return record(w, "Suspend", 0, h.Suspend())
	case hCancel:
		code, err := h.Cancel()
		ok := record(w, "Cancel", code, err)
		if ok {
			hj.mu.Lock()
			hj.cancels++
			hj.mu.Unlock()
		}
		return ok
	case hComplete:
		code, err := h.Complete()
		ok := record(w, "Complete", code, err)
		if ok {
			hj.mu.Lock()
			hj.completes++
			hj.mu.Unlock()
		}
		return ok
	case hPriority:
		p := []bits.Priority{bits.High, bits.Normal, bits.Low}[r.IntN(3)]
		return record(w, "SetPriority", 0, h.SetPriority(p))
	case hForeground:
		return record(w, "SetPriority", 0, h.SetPriority(bits.Foreground))
	case hGetters:
		_, err := h.GetState()
		ok := record(w, "GetState", 0, err)
		_, err = h.GetProgress()
		ok = record(w, "GetProgress", 0, err) && ok
		_, err = h.GetPriority()
		ok = record(w, "GetPriority", 0, err) && ok
		_, err = h.GetNotifyInterface()
		ok = record(w, "GetNotifyInterface", 0, err) && ok
		if e, err := h.GetError(); record(w, "GetError", 0, err) && e != nil {
			_, _, _ = e.GetError()
			_, err := e.GetErrorDescription(0x409)
			record(w, "ErrorInfo.GetErrorDescription", 0, err)
		}
		if e, err := h.EnumFiles(); record(w, "EnumFiles", 0, err) {
			fs, _ := bits.All(e)
			for _, f := range fs {
				_, err := f.GetProgress()
				record(w, "File.GetProgress", 0, err)
			}
		}
		return ok
	case hNotifyCallback:
		return record(w, "SetNotifyInterface", 0, h.SetNotifyInterface(cb))
	case hNotifyNil:
		return record(w, "SetNotifyInterface", 0, h.SetNotifyInterface(nil))
	case hNotifyFlags:
		flags := []uint32{
			bits.NotifyJobTransferred | bits.NotifyJobError,
			bits.NotifyJobTransferred | bits.NotifyJobError | bits.NotifyJobModification,
			bits.NotifyJobModification | bits.NotifyFileTransferred,
			bits.NotifyDisable,
		}[r.IntN(4)]
		return record(w, "SetNotifyFlags", 0, h.SetNotifyFlags(flags))
	case hTakeOwnership:
		return record(w, "TakeOwnership", 0, h.TakeOwnership())
	}
	panic(fmt.Sprintf("hammerCall: operation %d", op))
}

// hammerSignature sums up the states and progress of the jobs, to tell whether anything moved.
func hammerSignature(t *testing.T, jobs []*hammerJob, view func(*hammerJob) bits.Job) string {
	var b strings.Builder
	for _, hj := range jobs {
		h := view(hj)
		st, err := h.GetState()
		require.NoError(t, err)
		p, err := h.GetProgress()
		require.NoError(t, err)
		fmt.Fprintf(&b, "%d/%d/%d;", st, p.FilesTransferred, p.BytesTransferred)
	}
	return b.String()
}

// A file added while its job transfers is fetched in the same turn: the job does not stay
// TRANSFERRING with a pending file and no transfer (found by TestHammer).
func TestFileAddedDuringTransferIsFetched(t *testing.T) {
	first, second := content(31, 100_000), content(32, 30_000)
	srv := newServer(t, map[string][]byte{"a.bin": first, "b.bin": second}, bitstest.Stall(10_000).On("a.bin").Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("a.bin"))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	require.Equal(t, state.Transferring, stateOf(t, j))
	require.NoError(t, j.AddFile(srv.URLFor("b.bin"), filepath.Join(dir, "out1.bin")))
	srv.Release()
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j), "both files, in one turn")
	got := completeAndRead(t, j, dir, 2)
	assert.Equal(t, first, got[0])
	assert.Equal(t, second, got[1])
	assert.Equal(t, 1, srv.StatsFor("b.bin").Requests-srv.StatsFor("b.bin").Heads, "the added file was fetched once")
}

// Network changes made at once from many goroutines leave no job waiting for a network that
// is back: the losses and returns are applied one at a time, and a job the scheduler parks as
// the network returns is brought back (found by TestHammer).
func TestConcurrentNetworkChanges(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := bitstest.NewServer(map[string][]byte{"s.bin": content(33, 50_000)}, bitstest.Stall(1000))
	defer srv.Close()
	dir := t.TempDir()
	log := transitionLog{mu: &sync.Mutex{}, moves: map[string][]logMove{}}
	m := manager.New(manager.WithLogger(slog.New(log)))
	defer m.Close()
	c := connect(t, m, manager.Identity{SID: "S-1-5-21-7600"})
	var jobs []bits.Job
	for i := range 20 {
		j := mustCreate(t, c, fmt.Sprintf("n%d", i))
		require.NoError(t, j.AddFile(srv.URLFor("s.bin"), filepath.Join(dir, fmt.Sprintf("n%d.bin", i))))
		require.NoError(t, j.SetPriority(bits.Foreground))
		jobs = append(jobs, j)
	}
	for round := range 100 {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j := jobs[(round*8+g)%len(jobs)]
				_ = j.Resume()
				m.SetNetworkAvailable(g%2 == 0)
			}()
		}
		wg.Wait()
		m.SetNetworkAvailable(true)
		for _, j := range jobs {
			st := stateOf(t, j)
			if st != state.TransientError {
				continue
			}
			e, err := j.GetError()
			require.NoError(t, err)
			_, code, _ := e.GetError()
			if !assert.NotEqual(t, hresult.BG_E_NETWORK_DISCONNECTED, code, "round %d: a job waits for a network that is back", round) {
				return
			}
		}
	}
	// The changes happened: jobs lost the network and got it back.
	log.mu.Lock()
	defer log.mu.Unlock()
	counts := map[string]int{}
	for _, mv := range log.moves {
		for _, x := range mv {
			counts[x.cause]++
		}
	}
	t.Logf("moves by cause: %v", counts)
	assert.Positive(t, counts["event:"+state.NetworkLost.String()])
	assert.Positive(t, counts["event:"+state.NetworkRestored.String()])
	assert.Positive(t, counts["event:"+state.Pick.String()])
}
