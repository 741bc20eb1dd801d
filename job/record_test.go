package job_test

import (
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
// of its own type, made in the same allocation as a one-file job; the record is left as it was.
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
