package job_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// changeLog is an Observer that keeps every change.
type changeLog struct {
	mu  sync.Mutex
	chs []job.Change
}

func (l *changeLog) JobChanged(ch job.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chs = append(l.chs, ch)
}

// last returns the latest change.
func (l *changeLog) last() job.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.chs[len(l.chs)-1]
}

// queuedJob returns a job of env with one file, resumed at the clock's time, and the change
// that queued it.
func queuedJob(t *testing.T, env *job.Env, log *changeLog) (*job.Job, job.Change) {
	t.Helper()
	j, err := job.New(env, job.NewCaller(ownerID), uuid.New(), "pick", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile("http://example.com/a.bin", filepath.Join(t.TempDir(), "a.bin")))
	require.NoError(t, j.Resume())
	ch := log.last()
	require.Equal(t, state.Queued, ch.To)
	return j, ch
}

// Pick dates the move to CONNECTING as the change that queued the job when it is given that
// change and nothing changed since, and reads the clock otherwise; the Timing it returns is the
// job's as the Pick left it.
func TestPickTakesTheQueuingChangesTime(t *testing.T) {
	tests := []struct {
		name    string
		seq     func(queued job.Change) uint64
		between func(j *job.Job) // what happens to the job between the queuing change and the Pick
		sameAt  bool             // the Pick takes the queuing change's time
	}{
		{name: "the queuing change", seq: func(ch job.Change) uint64 { return ch.Seq }, sameAt: true},
		{name: "no change given", seq: func(job.Change) uint64 { return 0 }},
		{name: "an older change", seq: func(ch job.Change) uint64 { return ch.Seq - 1 }},
		{name: "a change since", seq: func(ch job.Change) uint64 { return ch.Seq },
			between: func(j *job.Job) { require.NoError(t, j.SetDescription("changed")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewVirtual(epoch)
			log := &changeLog{}
			env := &job.Env{Clock: clk, Observer: log}
			j, queued := queuedJob(t, env, log)
			resumedAt := clk.Now()
			clk.AdvanceTo(resumedAt.Add(time.Minute))
			if tt.between != nil {
				tt.between(j)
			}
			reported := len(log.chs)
			tm, ch, err := engine.Of(j).Pick(tt.seq(queued))
			require.NoError(t, err)
			assert.Len(t, log.chs, reported, "the Pick's change is the caller's to report")
			mustState(t, j, state.Connecting)
			want := clk.Now()
			if tt.sameAt {
				want = resumedAt
			}
			times, err := j.GetTimes()
			require.NoError(t, err)
			assert.Equal(t, want, times.ModificationTime, "modification time")
			assert.Equal(t, state.Connecting, tm.State)
			assert.Equal(t, want, tm.RunningSince, "running since")
			assert.Equal(t, want, tm.Modified)
			assert.Equal(t, want.Add(time.Duration(job.DefaultMaximumDownload)*time.Second), tm.DownloadDeadline)
			assert.Equal(t, job.StateChanged, ch.Kind)
			assert.Equal(t, state.Pick, ch.Event)
			assert.Equal(t, state.Queued, ch.From)
			assert.Equal(t, state.Connecting, ch.To)
			assert.Equal(t, queued.Seq+1+boolToUint(tt.between != nil), ch.Seq)
			assert.Same(t, j, ch.Job)
		})
	}
}

// Pick fails as Fire(Pick) does when the job is not QUEUED, and leaves it alone.
func TestPickNotQueued(t *testing.T) {
	log := &changeLog{}
	env := &job.Env{Clock: clock.NewVirtual(epoch), Observer: log}
	j, queued := queuedJob(t, env, log)
	require.NoError(t, j.Suspend())
	_, ch, err := engine.Of(j).Pick(queued.Seq)
	isCode(t, hresult.BG_E_INVALID_STATE, err)
	assert.Equal(t, job.Change{}, ch)
	mustState(t, j, state.Suspended)
}

// NewWith makes the service's record with the job: zero, attached as Service returns it.
func TestNewWith(t *testing.T) {
	type record struct {
		n    int
		name string
	}
	env := &job.Env{Clock: clock.NewVirtual(epoch)}
	j, rec, err := job.NewWith[record](env, job.NewCaller(ownerID), uuid.New(), "with", bits.Download)
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.Equal(t, record{}, *rec)
	assert.Same(t, rec, engine.Of(j).Service())
	mustState(t, j, state.Suspended)
	times, err := j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, epoch, times.CreationTime)

	_, _, err = job.NewWith[record](env, job.NewCaller(ownerID), uuid.New(), "bad type", bits.JobType(9))
	isCode(t, hresult.E_INVALIDARG, err)
}

func boolToUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
