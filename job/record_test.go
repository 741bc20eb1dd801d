package job_test

import (
	"fmt"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

func TestRecordRestoreRoundTrip(t *testing.T) {
	for _, st := range []state.State{state.Suspended, state.Queued, state.Connecting, state.Transferring,
		state.TransientError, state.Error, state.Transferred} {
		t.Run(st.String(), func(t *testing.T) {
			x := newFx(t)
			j := x.jobIn(bits.Download, 2, st)
			require.NoError(t, j.SetDescription("kept"))
			r := engine.Of(j).Record()
			back, err := job.Restore(&job.Env{Clock: x.clk}, job.NewCaller(ownerID), r)
			require.NoError(t, err)
			assert.Nil(t, engine.Of(back).Service(), "Restore attaches nothing")
			got := engine.Of(back).Record()
			want := st
			if st == state.Connecting || st == state.Transferring {
				want = state.Queued // scheduled again after a restart
			}
			assert.Equal(t, want, got.State)
			got.State = r.State
			assert.Equal(t, r, got)
			if r.Error != nil {
				e, err := back.GetError()
				require.NoError(t, err)
				_, code, _ := e.GetError()
				assert.Equal(t, r.Error.Code, code)
			}
			cb, err := back.GetNotifyInterface()
			require.NoError(t, err)
			assert.Nil(t, cb)
		})
	}
}

// TestRestoreWith: RestoreWith rebuilds the job Restore does and gives the service a zero value
// of its own type, attached to the job and made in the same allocation as a one-file job; the
// record is left as it was.
func TestRestoreWith(t *testing.T) {
	type service struct {
		n    int
		name string
	}
	for _, files := range []int{0, 1, 3} {
		x := newFx(t)
		j := x.jobIn(bits.Download, files, state.Suspended)
		r := engine.Of(j).Record()
		before := engine.Of(j).Record()
		env := &job.Env{Clock: x.clk}
		back, svc, err := job.RestoreWith[service](env, job.NewCaller(ownerID), &r)
		require.NoError(t, err)
		require.NotNil(t, svc)
		assert.Equal(t, service{}, *svc)
		assert.Same(t, svc, engine.Of(back).Service(), "attached to the job")
		svc.n, svc.name = 1, "mine"
		assert.Equal(t, before, r, "%d files: the record is not changed", files)
		assert.Equal(t, r, engine.Of(back).Record(), "%d files", files)
	}
	x := newFx(t)
	r := engine.Of(x.jobIn(bits.Download, 1, state.Suspended)).Record()
	env, caller := &job.Env{Clock: x.clk}, job.NewCaller(ownerID)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := job.RestoreWith[[4]int](env, caller, &r); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 1.0, allocs, "a one-file job, its file and the service's value: one allocation")

	_, svc, err := job.RestoreWith[int](env, caller, &job.Record{})
	assert.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
	assert.Nil(t, svc)
}

// TestRestorer: a Restorer rebuilds the jobs RestoreWith does, its one-file jobs RestoreBatch at
// a time in one allocation, each job and service value its own; a job of another number of
// files is made alone.
func TestRestorer(t *testing.T) {
	type service struct{ n int }
	x := newFx(t)
	env, caller := &job.Env{Clock: x.clk}, job.NewCaller(ownerID)
	var recs []job.Record
	for i := range 2*job.RestoreBatch + 1 {
		j := x.jobIn(bits.Download, 1, state.Suspended)
		require.NoError(t, j.SetDescription(fmt.Sprint("job ", i)))
		recs = append(recs, engine.Of(j).Record())
	}
	recs = append(recs, engine.Of(x.jobIn(bits.Download, 3, state.Suspended)).Record())
	var rr job.Restorer[service]
	var jobs []bits.Job
	var svcs []*service
	for i := range recs {
		j, svc, err := rr.Restore(env, caller, &recs[i])
		require.NoError(t, err)
		assert.Equal(t, service{}, *svc)
		assert.Same(t, svc, engine.Of(j).Service(), "job %d: attached to the job", i)
		svc.n = i
		jobs, svcs = append(jobs, j), append(svcs, svc)
	}
	require.NoError(t, jobs[1].SetDescription("changed"))
	for i, j := range jobs {
		want := recs[i]
		if i == 1 {
			want.Description = "changed"
		}
		got := engine.Of(j).Record()
		got.Seq, got.Modified = want.Seq, want.Modified
		assert.Equal(t, want, got, "job %d", i)
		assert.Equal(t, i, svcs[i].n, "job %d's value is its own", i)
	}

	one := recs[:job.RestoreBatch]
	allocs := testing.AllocsPerRun(50, func() {
		rr := job.Restorer[service]{}
		for i := range one {
			if _, _, err := rr.Restore(env, caller, &one[i]); err != nil {
				t.Fatal(err)
			}
		}
	})
	assert.Equal(t, 1.0, allocs, "RestoreBatch one-file jobs: one allocation")
}

func TestRestoreRefusesBadRecords(t *testing.T) {
	x := newFx(t)
	good := engine.Of(x.jobIn(bits.Download, 1, state.Error)).Record()
	for name, spoil := range map[string]func(r *job.Record){
		"no id":          func(r *job.Record) { r.ID = uuid.Nil },
		"final state":    func(r *job.Record) { r.State = state.Cancelled },
		"unknown state":  func(r *job.Record) { r.State = 42 },
		"unknown type":   func(r *job.Record) { r.Type = 7 },
		"priority":       func(r *job.Record) { r.Priority = 9 },
		"no owner":       func(r *job.Record) { r.Owner.SID = "" },
		"error file":     func(r *job.Record) { r.Error.File = 5 },
		"error success":  func(r *job.Record) { r.Error.Code = hresult.S_OK },
		"remote name":    func(r *job.Record) { r.Files[0].RemoteName = "gopher://x" },
		"progress":       func(r *job.Record) { r.Files[0].BytesTotal, r.Files[0].BytesDone = 10, 11 },
		"long name":      func(r *job.Record) { r.DisplayName = string(make([]byte, 300)) },
		"upload 2 files": func(r *job.Record) { r.Type = bits.Upload; r.Files = append(r.Files, r.Files[0]) },
	} {
		t.Run(name, func(t *testing.T) {
			r := good
			r.Files = append([]job.FileRecord(nil), good.Files...)
			e := *good.Error
			r.Error = &e
			spoil(&r)
			_, err := job.Restore(&job.Env{Clock: x.clk}, job.NewCaller(ownerID), r)
			assert.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
		})
	}
}

func TestLocalRootsInTheEnv(t *testing.T) {
	x := newFx(t)
	env := &job.Env{Clock: x.clk, LocalRoots: []string{x.dir}}
	j, err := job.New(env, job.NewCaller(ownerID), uuid.New(), "confined", bits.Download)
	require.NoError(t, err)
	assert.NoError(t, j.AddFile("http://example.com/a", x.local()))
	assert.ErrorIs(t, j.AddFile("http://example.com/b", "/tmp/elsewhere.bin"), hresult.E_ACCESSDENIED)
}
