package manager_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
)

// Each benchmark sits beside a "Floor" benchmark: the least work the operation could possibly do
// (a GUID, a map under a mutex, a slice copy), so that one run gives the ratio.
//
//	go test -run '^$' -bench . -benchmem ./manager/

const benchSID = "S-1-5-21-1000"

// benchClient returns a client of a manager without limits, so that the queue never fills, and
// with its transfer engine off unless opts turn it on.
func benchClient(b *testing.B, opts ...manager.Option) *manager.Client {
	b.Helper()
	m := manager.New(append([]manager.Option{manager.WithLimits(job.Limits{})}, opts...)...)
	b.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// fillJobs creates n suspended jobs for c and returns their ids in creation order.
func fillJobs(b *testing.B, c *manager.Client, n int) []uuid.UUID {
	b.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		j, err := c.CreateJob("bench", bits.Download)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = engine.Of(j).ID()
	}
	return ids
}

// floorEntry stands for the queue's per-job record in the floor benchmarks.
type floorEntry struct {
	owner string
	pos   int
}

// floorQueue is the least a job queue can be: a map of GUIDs under a mutex.
type floorQueue struct {
	mu   sync.Mutex
	jobs map[uuid.UUID]*floorEntry
}

// randomIndexes returns a fixed pseudo-random sequence of indexes below n, of length a power of
// two so that a benchmark can index it with i&mask.
func randomIndexes(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	idx := make([]int, 1<<16)
	for i := range idx {
		idx[i] = r.IntN(n)
	}
	return idx
}

// BenchmarkLifecycle is one job's whole life: CreateJob, AddFile, Resume, Cancel. Cancelled jobs
// leave the queue, so it stays empty. The transfer engine is off: this is the cost of the calls.
func BenchmarkLifecycle(b *testing.B) {
	benchLifecycle(b, benchClient(b, manager.WithManualTransfers()))
}

// BenchmarkLifecycleScheduled is BenchmarkLifecycle with the transfer engine on: Resume also
// wakes a worker of the scheduler to pick the job, which Cancel takes back when it comes first
// (a pick that came first has its transfer stopped by Cancel).
func BenchmarkLifecycleScheduled(b *testing.B) {
	benchLifecycle(b, benchClient(b))
}

func benchLifecycle(b *testing.B, c *manager.Client) {
	local := filepath.Join(b.TempDir(), "update.bin")
	// A port nothing listens on: a transfer that starts fails at once, without a name lookup.
	const remote = "http://127.0.0.1:9/files/update.bin"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		j, err := c.CreateJob("bench", bits.Download)
		if err != nil {
			b.Fatal(err)
		}
		if err := j.AddFile(remote, local); err != nil {
			b.Fatal(err)
		}
		if err := j.Resume(); err != nil {
			b.Fatal(err)
		}
		if _, err := j.Cancel(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLifecycleFloor is a GUID plus an insert into and a delete from a map under a mutex.
func BenchmarkLifecycleFloor(b *testing.B) {
	q := &floorQueue{jobs: make(map[uuid.UUID]*floorEntry)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		id := uuid.New()
		q.mu.Lock()
		q.jobs[id] = &floorEntry{owner: benchSID, pos: len(q.jobs)}
		q.mu.Unlock()
		q.mu.Lock()
		delete(q.jobs, id)
		q.mu.Unlock()
	}
}

// BenchmarkLifecycleStatFloor is one os.Stat of the destination directory: the system call
// AddFile needs at least once if it checks the local directory, for scale against the lifecycle.
func BenchmarkLifecycleStatFloor(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := os.Stat(dir); err != nil {
			b.Fatal(err)
		}
	}
}

const getJobN = 10_000

// BenchmarkGetJob looks up random existing jobs among 10,000, as their owner.
func BenchmarkGetJob(b *testing.B) {
	c := benchClient(b)
	benchGetJob(b, c, fillJobs(b, c, getJobN))
}

// benchGetJob looks up random jobs of ids through c.
func benchGetJob(b *testing.B, c *manager.Client, ids []uuid.UUID) {
	idx := randomIndexes(len(ids))
	mask := len(idx) - 1
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		j, err := c.GetJob(ids[idx[i&mask]])
		if err != nil || j == nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGetJobFloor is a map lookup under a mutex among 10,000 GUIDs.
func BenchmarkGetJobFloor(b *testing.B) { benchGetJobFloor(b, getJobN) }

// benchGetJobFloor looks up random GUIDs in a map of n under a mutex.
func benchGetJobFloor(b *testing.B, n int) {
	q := &floorQueue{jobs: make(map[uuid.UUID]*floorEntry, n)}
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
		q.jobs[ids[i]] = &floorEntry{owner: benchSID, pos: i}
	}
	idx := randomIndexes(len(ids))
	mask := len(idx) - 1
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		q.mu.Lock()
		e, ok := q.jobs[ids[idx[i&mask]]]
		q.mu.Unlock()
		if !ok || e == nil {
			b.Fatal("missing")
		}
		i++
	}
}

const enumN = 100_000

// BenchmarkEnumJobs100k enumerates 100,000 jobs of one user: EnumJobs(0), then one Next for all.
func BenchmarkEnumJobs100k(b *testing.B) {
	c := benchClient(b)
	fillJobs(b, c, enumN)
	benchEnumJobs(b, c, enumN)
}

// benchEnumJobs enumerates c's n jobs: EnumJobs(0), then one Next for all.
func benchEnumJobs(b *testing.B, c *manager.Client, n int) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, err := c.EnumJobs(0)
		if err != nil {
			b.Fatal(err)
		}
		jobs, _, _ := e.Next(uint32(n))
		if len(jobs) != n {
			b.Fatalf("got %d jobs", len(jobs))
		}
	}
}

// benchEnumJobsPaged enumerates c's n jobs: EnumJobs(0), then Next(1000) until the end.
func benchEnumJobsPaged(b *testing.B, c *manager.Client, n int) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, err := c.EnumJobs(0)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			jobs, code, err := e.Next(1000)
			if err != nil {
				b.Fatal(err)
			}
			got += len(jobs)
			if code != hresult.S_OK {
				break
			}
		}
		if got != n {
			b.Fatalf("got %d jobs", got)
		}
	}
}

// BenchmarkEnumJobs100kFloor copies 100,000 pointers out of a slice under a mutex.
func BenchmarkEnumJobs100kFloor(b *testing.B) { benchEnumJobsFloor(b, enumN) }

// benchEnumJobsFloor copies n pointers out of a slice under a mutex.
func benchEnumJobsFloor(b *testing.B, n int) {
	var mu sync.Mutex
	order := make([]*floorEntry, n)
	for i := range order {
		order[i] = &floorEntry{owner: benchSID, pos: i}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mu.Lock()
		out := make([]*floorEntry, len(order))
		copy(out, order)
		mu.Unlock()
		if len(out) != n {
			b.Fatal(len(out))
		}
	}
}

const idleN = 10_000

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkIdleJobMemory reports the live heap per idle job: 10,000 suspended jobs with one file
// each (distinct remote and local names, as real jobs have), held by the manager only. The
// figure is B/job, measured once; ns/op is the time to build the 10,000 jobs and is not a
// target.
func BenchmarkIdleJobMemory(b *testing.B) {
	dir := b.TempDir()
	build := func() (*manager.Manager, *manager.Client) { return idleManager(b, idleN, dir) }
	perJob := heapPerItem(idleN, func() any {
		m, c := build()
		return []any{m, c}
	})
	b.ReportAllocs()
	for b.Loop() {
		m, _ := build()
		_ = m.Close()
	}
	b.ReportMetric(perJob, "B/job")
}

// idleManager returns a manager without limits, and its client, holding n suspended jobs of
// that client with one file each, under distinct remote and local names (in dir), as real jobs
// have.
func idleManager(b *testing.B, n int, dir string) (*manager.Manager, *manager.Client) {
	b.Helper()
	m := manager.New(manager.WithLimits(job.Limits{}))
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		j, err := c.CreateJob("bench", bits.Download)
		if err != nil {
			b.Fatal(err)
		}
		name := strconv.Itoa(i) + ".bin"
		if err := j.AddFile("http://example.com/files/"+name, dir+"/"+name); err != nil {
			b.Fatal(err)
		}
	}
	if m.JobCount() != n {
		b.Fatal(m.JobCount())
	}
	return m, c
}

// heapPerItem returns the live heap that what build returns holds, per item of n: the heap
// while it is held, less the heap without it. The heap without it is the smaller of the heaps
// before build and after it is dropped, so that memory an earlier benchmark still held when this
// one began (a manager whose goroutines were ending) is not counted against the items.
func heapPerItem(n int, build func() any) float64 {
	before := heapAfterGC()
	kept := build()
	held := heapAfterGC()
	runtime.KeepAlive(kept) // and no longer: the next collection frees it
	base := min(before, heapAfterGC())
	return float64(int64(held)-int64(base)) / float64(n)
}

// BenchmarkIdleJobMemoryFloor is the same measure for the floor queue: a map entry and a record
// per job, with the same two names.
func BenchmarkIdleJobMemoryFloor(b *testing.B) {
	type rec struct {
		floorEntry
		remote, local string
	}
	dir := b.TempDir()
	build := func() map[uuid.UUID]*rec {
		q := make(map[uuid.UUID]*rec)
		for i := range idleN {
			name := strconv.Itoa(i) + ".bin"
			q[uuid.New()] = &rec{floorEntry: floorEntry{owner: benchSID, pos: i},
				remote: "http://example.com/files/" + name, local: dir + "/" + name}
		}
		return q
	}
	perJob := heapPerItem(idleN, func() any { return build() })
	b.ReportAllocs()
	for b.Loop() {
		runtime.KeepAlive(build())
	}
	b.ReportMetric(perJob, "B/job")
}

// manyN is the number of jobs of BenchmarkManyJobs: 1,000,000, 20,000 under -short.
func manyN() int {
	if testing.Short() {
		return 20_000
	}
	return 1_000_000
}

// many is BenchmarkManyJobs's manager, built once per process: idle jobs of one file each, all
// of one user, and the live heap they cost.
var many struct {
	once   sync.Once
	m      *manager.Manager
	c      *manager.Client
	ids    []uuid.UUID
	perJob float64
}

func manyJobs(b *testing.B) {
	b.Helper()
	many.once.Do(func() {
		n := manyN()
		dir := b.TempDir()
		many.perJob = heapPerItem(n, func() any {
			many.m, many.c = idleManager(b, n, dir)
			return []any{many.m, many.c}
		})
		many.ids = fillIDs(many.m)
	})
	if many.m == nil {
		b.Fatal("the jobs could not be made")
	}
}

// fillIDs returns the GUIDs of m's jobs, in creation order.
func fillIDs(m *manager.Manager) []uuid.UUID {
	c, _ := m.Connect(manager.Identity{SID: benchSID})
	e, _ := c.EnumJobs(0)
	n, _ := e.GetCount()
	jobs, _, _ := e.Next(n)
	ids := make([]uuid.UUID, len(jobs))
	for i, j := range jobs {
		ids[i] = engine.Of(j).ID()
	}
	return ids
}

// BenchmarkManyJobs holds 1,000,000 idle jobs (one file each, 20,000 under -short) in one
// manager, beside floors of the same size:
//
//   - Memory: the live heap per job (B/job; ns/op is a JobCount and is not a target);
//   - EnumJobs: EnumJobs(0) and one Next for all of them; its floor copies as many pointers
//     under a mutex;
//   - EnumJobsPaged: EnumJobs(0) and Next(1000) until the end, as a client pages through a
//     long list (each page is a new slice of its own);
//   - GetJob: a lookup of a random job; its floor is a map lookup under a mutex.
func BenchmarkManyJobs(b *testing.B) {
	b.Run("Memory", func(b *testing.B) {
		manyJobs(b)
		for b.Loop() {
			if many.m.JobCount() != manyN() {
				b.Fatal(many.m.JobCount())
			}
		}
		b.ReportMetric(many.perJob, "B/job")
	})
	b.Run("EnumJobs", func(b *testing.B) {
		manyJobs(b)
		benchEnumJobs(b, many.c, manyN())
	})
	b.Run("EnumJobsFloor", func(b *testing.B) { benchEnumJobsFloor(b, manyN()) })
	b.Run("EnumJobsPaged", func(b *testing.B) {
		manyJobs(b)
		benchEnumJobsPaged(b, many.c, manyN())
	})
	b.Run("GetJob", func(b *testing.B) {
		manyJobs(b)
		benchGetJob(b, many.c, many.ids)
	})
	b.Run("GetJobFloor", func(b *testing.B) { benchGetJobFloor(b, manyN()) })
}
