//go:build linux

package manager_test

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// fullDisk makes the store in dir fail every write with ENOSPC, as a full disk does: the file
// descriptor bbolt writes through is pointed at /dev/full. bbolt reads through its map of the
// file, which still works. mend points the descriptor back at the file.
type fullDisk struct {
	t    *testing.T
	path string
	fd   int
}

func breakDisk(t *testing.T, dir string) *fullDisk {
	t.Helper()
	path := filepath.Join(dir, store.FileName)
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	fd := -1
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			require.Equal(t, -1, fd, "one descriptor of the store's file")
			fd, err = strconv.Atoi(e.Name())
			require.NoError(t, err)
		}
	}
	require.NotEqual(t, -1, fd, "the store's file is open")
	full, err := os.OpenFile("/dev/full", os.O_RDWR, 0)
	require.NoError(t, err)
	defer full.Close()
	require.NoError(t, syscall.Dup3(int(full.Fd()), fd, 0))
	return &fullDisk{t: t, path: path, fd: fd}
}

func (d *fullDisk) mend() {
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	require.NoError(d.t, err)
	defer f.Close()
	require.NoError(d.t, syscall.Dup3(int(f.Fd()), d.fd, 0))
}

// modifications counts JobModification callbacks.
type modifications struct{ n atomic.Int32 }

func (m *modifications) JobModification(bits.Job) error    { m.n.Add(1); return nil }
func (*modifications) JobTransferred(bits.Job) error       { return nil }
func (*modifications) JobError(bits.Job, bits.Error) error { return nil }

// requireDiskFull checks a call's failure: the disk's HRESULT, the call and the job named.
func requireDiskFull(t *testing.T, err error, op string, j bits.Job) {
	t.Helper()
	require.Error(t, err, op)
	require.ErrorIs(t, err, hresult.ERROR_DISK_FULL, op)
	require.ErrorIs(t, err, syscall.ENOSPC, op)
	require.ErrorContains(t, err, op)
	require.ErrorContains(t, err, job.GUIDString(engine.Of(j).ID()), op)
}

// TestFailedWriteChangesNothing: with the store's disk full, every call that changes a job fails
// with ERROR_DISK_FULL and changes nothing: the getters show the old values, nothing is
// reported, files stay where they were, and a manager opened on the store afterwards agrees.
// Once the disk takes writes again, the same calls succeed and are kept.
func TestFailedWriteChangesNothing(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	alice := manager.Identity{SID: "S-1-5-21-100"}
	admin := manager.Identity{SID: "S-1-5-21-500", Admin: true}
	data := content(60, 5000)
	srv := newServer(t, map[string][]byte{"f.bin": data})

	// A job transferred by a real transfer.
	clk := clock.NewVirtual(bitstest.Epoch)
	h := openVM(t, dir, clk)
	done := download(t, connectAs(t, h.Manager, alice), out, srv.URLFor("f.bin"))
	require.NoError(t, done.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, done))
	h.Close()

	h = openVM(t, dir, clk, manager.WithManualTransfers())
	m := h.Manager
	c := connectAs(t, m, alice)
	done = getJob(t, c, done)
	temp, err := fileAt(t, done, 0).GetTemporaryName()
	require.NoError(t, err)
	require.FileExists(t, temp)
	suspended := download(t, c, out, "http://127.0.0.1:9/a")
	require.NoError(t, suspended.SetNotifyCmdLine("/bin/true", "before"))
	queued := download(t, c, out, "http://127.0.0.1:9/b")
	require.NoError(t, queued.Resume())
	cancelled := download(t, c, out, "http://127.0.0.1:9/c")
	count := m.JobCount()
	events := &modifications{}
	require.NoError(t, suspended.SetNotifyFlags(bits.NotifyJobModification))
	require.NoError(t, suspended.SetNotifyInterface(events))
	h.Settle()
	h.Step(time.Minute)
	events.n.Store(0)

	disk := breakDisk(t, dir)
	type call struct {
		op    string
		j     bits.Job
		do    func() error
		check func(t *testing.T, j bits.Job) // the old value is there
	}
	calls := []call{
		{"SetDisplayName", suspended, func() error { return suspended.SetDisplayName("after") }, func(t *testing.T, j bits.Job) {
			name, err := j.GetDisplayName()
			require.NoError(t, err)
			assert.Equal(t, "download", name)
		}},
		{"Resume", suspended, suspended.Resume, func(t *testing.T, j bits.Job) {
			assert.Equal(t, state.Suspended, stateOf(t, j))
		}},
		{"Suspend", queued, queued.Suspend, func(t *testing.T, j bits.Job) {
			assert.Equal(t, state.Queued, stateOf(t, j))
		}},
		{"AddFile", suspended, func() error { return suspended.AddFile("http://127.0.0.1:9/z", filepath.Join(out, "z.bin")) }, func(t *testing.T, j bits.Job) {
			p, err := j.GetProgress()
			require.NoError(t, err)
			assert.EqualValues(t, 1, p.FilesTotal)
		}},
		{"SetNotifyCmdLine", suspended, func() error { return suspended.SetNotifyCmdLine("/bin/false", "after") }, func(t *testing.T, j bits.Job) {
			cmd, err := j.GetNotifyCmdLine()
			require.NoError(t, err)
			assert.Equal(t, bits.NotifyCmdLine{Program: "/bin/true", Parameters: "before"}, cmd)
		}},
		{"TakeOwnership", suspended, engine.Of(suspended).As(job.NewCaller(admin)).TakeOwnership, func(t *testing.T, j bits.Job) {
			owner, err := j.GetOwner()
			require.NoError(t, err)
			assert.Equal(t, alice.SID, owner)
			cmd, err := j.GetNotifyCmdLine()
			require.NoError(t, err)
			assert.Equal(t, "/bin/true", cmd.Program, "TakeOwnership would have cleared it")
		}},
		{"Cancel", cancelled, func() error { _, err := cancelled.Cancel(); return err }, func(t *testing.T, j bits.Job) {
			assert.Equal(t, state.Suspended, stateOf(t, j))
		}},
		{"Complete", done, func() error { _, err := done.Complete(); return err }, func(t *testing.T, j bits.Job) {
			assert.Equal(t, state.Transferred, stateOf(t, j))
			f := fileAt(t, j, 0)
			name, err := f.GetTemporaryName()
			require.NoError(t, err)
			assert.Equal(t, temp, name)
		}},
	}
	failures := 0
	for _, cl := range calls {
		requireDiskFull(t, cl.do(), cl.op, cl.j)
		failures++
		cl.check(t, cl.j)
	}
	require.Equal(t, len(calls), failures)
	assert.Equal(t, count, m.JobCount(), "no job left the queue")
	_, err = c.GetJob(engine.Of(cancelled).ID())
	assert.NoError(t, err, "the job whose Cancel failed is still there")
	h.Settle()
	h.Step(time.Minute)
	assert.Zero(t, events.n.Load(), "a change that was not kept is not reported")
	for _, cl := range calls {
		cl.check(t, cl.j)
	}

	// The disk takes writes again: the manager goes on.
	disk.mend()
	require.NoError(t, suspended.SetDescription("written"))
	h.Settle()
	h.Step(time.Minute)
	assert.Positive(t, events.n.Load(), "a change that was kept is reported")
	h.Close()

	m2, err := manager.Open(dir, manager.WithManualTransfers())
	require.NoError(t, err)
	defer m2.Close()
	c2 := connectAs(t, m2, alice)
	assert.Equal(t, count, m2.JobCount())
	for _, cl := range calls {
		cl.check(t, getJob(t, c2, cl.j))
	}
	desc, err := getJob(t, c2, suspended).GetDescription()
	require.NoError(t, err)
	assert.Equal(t, "written", desc)

	// The same calls now succeed, and the Complete that failed finishes the files.
	j := getJob(t, c2, done)
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	got, err := os.ReadFile(filepath.Join(out, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	require.NoError(t, getJob(t, c2, suspended).SetDisplayName("after"))
	_, err = getJob(t, c2, cancelled).Cancel()
	require.NoError(t, err)
}

// TestFailedCheckpointStopsTransfer: a transfer whose progress cannot be written (the disk is
// full when its checkpoint is due) stops in TRANSIENT_ERROR with the disk's error, in the queue
// manager's context, rather than go on claiming progress the disk does not hold; StoreErr tells.
// The store holds the job as last written, and a manager opened on it transfers the file again
// from what that record vouches for, to the end.
func TestFailedCheckpointStopsTransfer(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	alice := manager.Identity{SID: "S-1-5-21-100"}
	// Past the checkpoint, more than the two chunks a transfer writing directly (4 MiB each)
	// may have read and written before it hears that it stopped.
	big := content(62, manager.CheckpointBytes+16<<20)
	srv := newServer(t, map[string][]byte{"big.bin": big}, bitstest.Stall(1<<20).On("big.bin").Times(1))
	clk := clock.NewVirtual(bitstest.Epoch)
	h := openVM(t, dir, clk)
	c := connectAs(t, h.Manager, alice)
	j := download(t, c, out, srv.URLFor("big.bin"))
	reached := make(chan struct{})
	require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobModification))
	require.NoError(t, j.SetNotifyInterface(&progressWatch{at: 1 << 20, reached: reached}))
	require.NoError(t, j.Resume())
	h.Settle()
	<-reached // the bytes before the stall arrived; the next checkpoint is due at CheckpointBytes

	disk := breakDisk(t, dir)
	require.NoError(t, h.Manager.StoreErr())
	srv.Release()
	if st, err := h.WaitState(j, time.Second, state.TransientError); assert.NoError(t, err) {
		require.Equal(t, state.TransientError, st)
	}
	ctx, code := jobError(t, j)
	assert.Equal(t, bits.ContextGeneralQueueManager, ctx)
	assert.Equal(t, hresult.ERROR_DISK_FULL, code)
	assert.ErrorIs(t, h.Manager.StoreErr(), hresult.ERROR_DISK_FULL)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Less(t, p.BytesTransferred, uint64(len(big)), "the transfer stopped")
	disk.mend()
	h.Close()

	h2 := openVM(t, dir, clk)
	defer h2.Close()
	j2 := getJob(t, connectAs(t, h2.Manager, alice), j)
	p, err = j2.GetProgress()
	require.NoError(t, err)
	assert.Less(t, p.BytesTransferred, uint64(manager.CheckpointBytes), "the progress that was not written is not claimed")
	if st, err := h2.WaitState(j2, time.Minute, state.Transferred); assert.NoError(t, err) {
		require.Equal(t, state.Transferred, st)
	}
	code2, err := j2.Complete()
	require.NoError(t, err)
	require.Equal(t, hresult.S_OK, code2)
	got, err := os.ReadFile(filepath.Join(out, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, big, got)
}
