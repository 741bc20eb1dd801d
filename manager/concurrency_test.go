package manager_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// sharedJobs is the pool of jobs the goroutines of TestConcurrentUse work on.
type sharedJobs struct {
	mu   sync.Mutex
	ids  []uuid.UUID
	seen map[uuid.UUID]bits.Job // the creator's handle of every job ever created
}

func (s *sharedJobs) add(j bits.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, engine.Of(j).ID())
	s.seen[engine.Of(j).ID()] = j
}

func (s *sharedJobs) pick(r *rand.Rand) (uuid.UUID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return uuid.Nil, false
	}
	// Prefer recent jobs: they are more likely to be live.
	n := min(len(s.ids), 24)
	return s.ids[len(s.ids)-1-r.IntN(n)], true
}

// okCodes are the HRESULTs the calls of TestConcurrentUse may fail with: what the state, the
// ownership and the limits allow, and nothing else (no E_FAIL, no E_UNEXPECTED).
var okCodes = []hresult.Code{
	hresult.S_OK,
	hresult.BG_E_INVALID_STATE,
	hresult.BG_E_EMPTY,
	hresult.BG_E_NOT_FOUND,
	hresult.E_ACCESSDENIED,
	hresult.E_INVALIDARG, // FireFileDone(-1) on a job whose files are all done
	hresult.BG_E_TOO_MANY_JOBS_PER_USER,
	hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE,
	hresult.BG_E_TOO_MANY_FILES_IN_JOB,
}

func TestConcurrentUse(t *testing.T) {
	defer goleak.VerifyNone(t)

	dir := t.TempDir()
	limits := manager.Limits{MaxJobsPerUser: 12, MaxJobsPerMachine: 30, MaxFilesPerJob: 4, MaxRangesPerFile: 4}
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(limits))
	users := []manager.Identity{
		{SID: "S-1-5-21-3001"},
		{SID: "S-1-5-21-3002"},
		{SID: "S-1-5-21-3003"},
		{SID: "S-1-5-21-3500", Admin: true},
	}
	pool := &sharedJobs{seen: map[uuid.UUID]bits.Job{}}

	const workers = 8
	const opsPerWorker = 400
	var wg sync.WaitGroup
	errs := make(chan string, workers*opsPerWorker)
	for w := range workers {
		id := users[w%len(users)]
		c, err := m.Connect(id)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			check := func(op string, err error) {
				if code := hresult.Of(err); !slices.Contains(okCodes, code) {
					errs <- fmt.Sprintf("worker %d: %s: %v", w, op, err)
				}
			}
			for i := range opsPerWorker {
				op := r.IntN(20)
				if op == 0 || op == 1 {
					j, err := c.CreateJob(fmt.Sprintf("w%d-%d", w, i), bits.Download)
					check("CreateJob", err)
					if err == nil {
						pool.add(j)
					}
					continue
				}
				if op == 2 {
					e, err := c.EnumJobs(0)
					check("EnumJobs", err)
					if err == nil {
						jobs, _ := bits.All(e)
						for _, j := range jobs {
							_, err := j.GetState()
							check("GetState(enumerated)", err)
						}
					}
					if id.Admin {
						_, err := c.EnumJobs(bits.EnumAllUsers)
						check("EnumJobs(ALL_USERS)", err)
					}
					continue
				}
				jid, ok := pool.pick(r)
				if !ok {
					continue
				}
				j, err := c.GetJob(jid)
				check("GetJob", err)
				if err != nil {
					continue
				}
				switch op {
				case 3, 4:
					check("AddFile", j.AddFile("http://example.com/f", filepath.Join(dir, fmt.Sprintf("f%d-%d", w, i))))
				case 5, 6:
					check("Resume", j.Resume())
				case 7:
					check("Suspend", j.Suspend())
				case 8:
					_, err := j.Cancel()
					check("Cancel", err)
				case 9:
					_, err := j.Complete()
					check("Complete", err)
				case 10:
					check("SetNotifyInterface", j.SetNotifyInterface(nopCallback{}))
				case 11:
					check("SetNotifyFlags", j.SetNotifyFlags(uint32(r.IntN(0x40))))
				case 12:
					if id.Admin {
						check("TakeOwnership", j.TakeOwnership())
					} else {
						_, err := j.GetNotifyInterface()
						check("GetNotifyInterface", err)
					}
				case 13:
					_, err := engine.Of(j).Fire(state.Pick)
					check("Fire(Pick)", err)
				case 14:
					_, err := engine.Of(j).Fire(state.Connect)
					check("Fire(Connect)", err)
				case 15, 16:
					_, err := engine.Of(j).Fire(state.FileDone)
					check("Fire(FileDone)", err)
				case 17:
					_, err := engine.Of(j).FireError(state.TransientFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.HTTP(503), File: -1, Protocol: "http"})
					check("FireError", err)
				case 18:
					ev := []state.Event{state.NetworkLost, state.NetworkRestored, state.RetryDelayElapsed, state.SliceEnd}[r.IntN(4)]
					_, err := engine.Of(j).Fire(ev)
					check("Fire", err)
				case 19:
					_, err := j.GetProgress()
					check("GetProgress", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	// Every job is in a valid state, and the queue holds exactly the live ones.
	viewer := job.NewCaller(manager.Identity{SID: "S-1-5-21-3999", Admin: true})
	admin, err := m.Connect(manager.Identity{SID: "S-1-5-21-3998", Admin: true})
	require.NoError(t, err)
	liveByOwner := map[string][]uuid.UUID{}
	var live []uuid.UUID
	for _, id := range pool.ids {
		h := engine.Of(pool.seen[id]).As(viewer)
		st, err := h.GetState()
		require.NoError(t, err)
		require.True(t, st.Valid(), "job %v in state %v", id, st)
		_, err = admin.GetJob(id)
		if st.Final() {
			assert.ErrorIs(t, err, hresult.BG_E_NOT_FOUND, "final job %v", id)
			continue
		}
		assert.NoError(t, err, "live job %v", id)
		owner, err := h.GetOwner()
		require.NoError(t, err)
		liveByOwner[owner] = append(liveByOwner[owner], id)
		live = append(live, id)
	}
	assert.Equal(t, len(live), m.JobCount())
	// Workers add jobs to the pool after CreateJob returns, so the pool's order is not quite
	// the creation order: compare as sets.
	assert.ElementsMatch(t, live, enumIDs(t, admin, bits.EnumAllUsers), "the queue lists the live jobs")

	counted := 0
	for _, u := range users {
		c, err := m.Connect(u)
		require.NoError(t, err)
		got := enumIDs(t, c, 0)
		assert.ElementsMatch(t, liveByOwner[u.SID], got, "EnumJobs(0) of %s", u.SID)
		if !u.Admin {
			assert.LessOrEqual(t, len(got), limits.MaxJobsPerUser, "%s is over the per-user limit", u.SID)
			counted += len(got)
		}
	}
	assert.LessOrEqual(t, counted, limits.MaxJobsPerMachine)
	t.Logf("%d jobs created, %d live at the end", len(pool.ids), len(live))
}

// TestConcurrentTakeOwnership has several administrators take the same jobs from one another
// at once. Whatever order the ownership changes are reported in, each user's count must follow
// the job's real owner.
func TestConcurrentTakeOwnership(t *testing.T) {
	defer goleak.VerifyNone(t)

	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{MaxJobsPerUser: 10, MaxJobsPerMachine: 10}))
	alice := connect(t, m, idAlice)
	var ids []uuid.UUID
	for range 10 {
		ids = append(ids, engine.Of(mustCreate(t, alice, "shared")).ID())
	}
	const admins = 4
	clients := make([]*manager.Client, admins)
	for i := range clients {
		clients[i] = connect(t, m, manager.Identity{SID: fmt.Sprintf("S-1-5-21-41%02d", i), Admin: true})
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for range 500 {
				j, err := c.GetJob(ids[r.IntN(len(ids))])
				if assert.NoError(t, err) {
					assert.NoError(t, j.TakeOwnership())
				}
			}
		}()
	}
	wg.Wait()

	owned := map[string][]uuid.UUID{}
	for _, id := range ids {
		j, err := clients[0].GetJob(id)
		require.NoError(t, err)
		owner, err := j.GetOwner()
		require.NoError(t, err)
		owned[owner] = append(owned[owner], id)
	}
	for _, c := range clients {
		assert.Equal(t, owned[c.Identity().SID], enumIDs(t, c, 0), "jobs of %s", c.Identity().SID)
	}
	assert.Empty(t, enumIDs(t, alice, 0))
	// Every job now belongs to an administrator: Alice's slots are all free again, and none
	// counts toward the machine limit.
	for range 10 {
		mustCreate(t, alice, "new")
	}
}
