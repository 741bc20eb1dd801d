package job_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Identities used throughout the job tests.
var (
	ownerID = manager.Identity{SID: "S-1-5-21-1000"}
	otherID = manager.Identity{SID: "S-1-5-21-2000"}
	adminID = manager.Identity{SID: "S-1-5-32-544-9", Admin: true}
)

// allStates lists the nine states in the column order of the expectation tables:
// SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSIENT_ERROR ERROR TRANSFERRED ACKNOWLEDGED CANCELLED.
var allStates = []state.State{
	state.Suspended, state.Queued, state.Connecting, state.Transferring, state.TransientError,
	state.Error, state.Transferred, state.Acknowledged, state.Cancelled,
}

// epoch is where every virtual clock of these tests starts.
var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// fx is a manager with a virtual clock, an owner, an administrator and a scratch directory.
type fx struct {
	t     *testing.T
	m     *manager.Manager
	clk   *clock.Virtual
	owner *manager.Client
	admin *manager.Client
	dir   string
	n     int
}

func newFx(t *testing.T, opts ...manager.Option) *fx {
	t.Helper()
	clk := clock.NewVirtual(epoch)
	m := manager.New(append([]manager.Option{manager.WithClock(clk), manager.WithManualTransfers()}, opts...)...)
	owner, err := m.Connect(ownerID)
	require.NoError(t, err)
	admin, err := m.Connect(adminID)
	require.NoError(t, err)
	return &fx{t: t, m: m, clk: clk, owner: owner, admin: admin, dir: t.TempDir()}
}

// local returns a fresh absolute local file name in the scratch directory.
func (f *fx) local() string {
	f.n++
	return filepath.Join(f.dir, fmt.Sprintf("file%03d.bin", f.n))
}

// remote returns a fresh http remote name.
func (f *fx) remote() string {
	f.n++
	return fmt.Sprintf("http://example.com/dir/file%03d.bin", f.n)
}

// newJob creates a job of type typ owned by the fixture's owner, with nfiles files.
func (f *fx) newJob(typ bits.JobType, nfiles int) bits.Job {
	f.t.Helper()
	j, err := f.owner.CreateJob("test job", typ)
	require.NoError(f.t, err)
	for i := 0; i < nfiles; i++ {
		require.NoError(f.t, j.AddFile(f.remote(), f.local()))
	}
	return j
}

// jobIn builds a job of type typ with nfiles files and drives it into st, the way the brief
// describes: Resume, then the engine events, then Complete or Cancel.
func (f *fx) jobIn(typ bits.JobType, nfiles int, st state.State) bits.Job {
	f.t.Helper()
	j := f.newJob(typ, nfiles)
	driveTo(f.t, j, st)
	return j
}

// driveTo moves a fresh SUSPENDED job that has files into st, and checks it got there.
func driveTo(t *testing.T, j bits.Job, st state.State) {
	t.Helper()
	step := func(s state.State, err error) {
		t.Helper()
		require.NoError(t, err)
		_ = s
	}
	transferring := func() {
		require.NoError(t, j.Resume())
		step(engine.Of(j).Fire(state.Pick))
		step(engine.Of(j).Fire(state.Connect))
	}
	transferred := func() {
		transferring()
		p, err := j.GetProgress()
		require.NoError(t, err)
		for i := 0; i < int(p.FilesTotal); i++ {
			step(engine.Of(j).FireFileDone(i))
		}
	}
	switch st {
	case state.Suspended:
	case state.Queued:
		require.NoError(t, j.Resume())
	case state.Connecting:
		require.NoError(t, j.Resume())
		step(engine.Of(j).Fire(state.Pick))
	case state.Transferring:
		transferring()
	case state.TransientError:
		transferring()
		step(engine.Of(j).FireError(state.TransientFailure, job.Failure{
			Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_503, File: -1, Protocol: "http",
		}))
	case state.Error:
		transferring()
		step(engine.Of(j).FireError(state.FatalFailure, job.Failure{
			Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_404, File: 0, Protocol: "http",
		}))
	case state.Transferred:
		transferred()
	case state.Acknowledged:
		transferred()
		code, err := j.Complete()
		require.NoError(t, err)
		require.Equal(t, hresult.S_OK, code)
	case state.Cancelled:
		code, err := j.Cancel()
		require.NoError(t, err)
		require.Equal(t, hresult.S_OK, code)
	default:
		t.Fatalf("driveTo: unknown state %v", st)
	}
	got, err := j.GetState()
	require.NoError(t, err)
	require.Equal(t, st, got, "driveTo(%v) ended in %v", st, got)
}

// mustState asserts the job's state.
func mustState(t *testing.T, j bits.Job, want state.State, msgAndArgs ...any) {
	t.Helper()
	got, err := j.GetState()
	require.NoError(t, err)
	assert.Equal(t, want, got, msgAndArgs...)
}

// fileAt returns file i of j through EnumFiles.
func fileAt(t *testing.T, j bits.Job, i int) bits.File {
	t.Helper()
	e, err := j.EnumFiles()
	require.NoError(t, err)
	require.Greater(t, int(enumCount(e)), i)
	if i > 0 {
		require.Equal(t, hresult.S_OK, enumSkip(e, uint32(i)))
	}
	fs, code, _ := e.Next(1)
	require.Equal(t, hresult.S_OK, code)
	require.Len(t, fs, 1)
	return fs[0]
}

// checkResult asserts that a call returned want: for a failure code, an error for which
// errors.Is(err, want) holds and whose HRESULT is exactly want; for a success code, no error and
// exactly that code.
func checkResult(t *testing.T, want hresult.Code, got hresult.Code, err error, msgAndArgs ...any) bool {
	t.Helper()
	if want.Failed() {
		if !assert.Error(t, err, msgAndArgs...) {
			return false
		}
		ok := assert.Truef(t, errors.Is(err, want), "want %v, got %v (%v)", want, err, fmt.Sprint(msgAndArgs...))
		return assert.Equal(t, want, hresult.Of(err), msgAndArgs...) && ok
	}
	if !assert.NoError(t, err, msgAndArgs...) {
		return false
	}
	return assert.Equal(t, want, got, msgAndArgs...)
}

// isCode asserts errors.Is(err, want) and that err carries exactly that HRESULT.
func isCode(t *testing.T, want hresult.Code, err error, msgAndArgs ...any) bool {
	t.Helper()
	return checkResult(t, want, 0, err, msgAndArgs...)
}

// nopCallback is a bits.Callback that does nothing.
type nopCallback struct{ name string }

func (*nopCallback) JobTransferred(bits.Job) error       { return nil }
func (*nopCallback) JobError(bits.Job, bits.Error) error { return nil }
func (*nopCallback) JobModification(bits.Job) error      { return nil }
