package manager_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
	"github.com/bitsemu/bitsemu/transfer"
)

// openVM opens a persistent manager on the virtual clock clk, as a bitstest harness.
func openVM(t *testing.T, dir string, clk *clock.Virtual, opts ...manager.Option) *bitstest.Harness {
	t.Helper()
	h, err := bitstest.OpenHarness(t, dir, clk, opts...)
	require.NoError(t, err)
	return h
}

func connectAs(t *testing.T, m *manager.Manager, id manager.Identity) *manager.Client {
	t.Helper()
	c, err := m.Connect(id)
	require.NoError(t, err)
	return c
}

func getJob(t *testing.T, c *manager.Client, j bits.Job) bits.Job {
	t.Helper()
	got, err := c.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	return got
}

// recordOf is a job's record with the fields a restart may change cleared: the change count,
// and the state of a job that was transferring (it comes back QUEUED).
func recordOf(j bits.Job) job.Record {
	r := engine.Of(j).Record()
	r.Seq = 0
	return r
}

func TestRestartKeepsJobsButNotCallbacks(t *testing.T) {
	dir := t.TempDir()
	out := t.TempDir()
	big, small := content(40, 600_000), content(41, 3000)
	srv := newServer(t, map[string][]byte{"big.bin": big, "small.bin": small},
		bitstest.Stall(200_000).On("big.bin").Times(1), bitstest.Status(404, 0).On("gone.bin"),
		bitstest.Status(503, 0).On("busy.bin"))
	clk := clock.NewVirtual(bitstest.Epoch)
	alice := manager.Identity{SID: "S-1-5-21-100"}
	// Small reads, so that progress is reported as the bytes arrive.
	m1 := openVM(t, dir, clk, manager.WithTransfer(transfer.Config{ChunkSize: 16 << 10}))
	c1 := connectAs(t, m1.Manager, alice)

	// A suspended job with every kind of property.
	props, err := c1.CreateJob("props", bits.Download)
	require.NoError(t, err)
	require.NoError(t, props.AddFile(srv.URLFor("small.bin"), filepath.Join(out, "props.bin")))
	require.NoError(t, props.SetDescription("all the properties"))
	require.NoError(t, props.SetPriority(bits.High))
	require.NoError(t, props.SetNotifyFlags(bits.NotifyJobTransferred|bits.NotifyJobModification))
	require.NoError(t, props.SetNotifyCmdLine("/bin/true", "true --job"))
	require.NoError(t, props.SetCustomHeaders("X-Key: 1\r\n"))
	require.NoError(t, props.SetProxySettings(bits.ProxyOverride, "proxy.example:8080", "<local>"))
	require.NoError(t, props.SetMinimumRetryDelay(77))
	require.NoError(t, props.SetNoProgressTimeout(7777))
	require.NoError(t, props.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))

	// A job transferred while its callback listened, one in ERROR, one in TRANSIENT_ERROR.
	done := download(t, c1, out, srv.URLFor("small.bin"))
	require.NoError(t, done.SetPriority(bits.Foreground))
	cb := &countingCallback{transferred: make(chan struct{}, 4)}
	require.NoError(t, done.SetNotifyInterface(cb))
	require.NoError(t, done.Resume())
	m1.Settle()
	<-cb.transferred
	failed := download(t, c1, out, srv.URLFor("gone.bin"))
	require.NoError(t, failed.SetPriority(bits.Foreground))
	require.NoError(t, failed.Resume())
	waiting := download(t, c1, out, srv.URLFor("busy.bin"))
	require.NoError(t, waiting.SetPriority(bits.Foreground))
	require.NoError(t, waiting.SetMinimumRetryDelay(600))
	require.NoError(t, waiting.Resume())
	m1.Settle()
	require.Equal(t, state.Transferred, stateOf(t, done))
	require.Equal(t, state.Error, stateOf(t, failed))
	require.Equal(t, state.TransientError, stateOf(t, waiting))

	// A job part-way through a file, stalled by the server.
	partial := download(t, c1, out, srv.URLFor("big.bin"))
	transferUntil(t, m1, partial, 150_000) // the bytes before the stall are in the temporary file

	before := map[string]job.Record{}
	for name, j := range map[string]bits.Job{"props": props, "done": done, "failed": failed, "waiting": waiting} {
		before[name] = recordOf(j)
	}
	m1.Close()
	p, err := partial.GetProgress()
	require.NoError(t, err)
	require.GreaterOrEqual(t, p.BytesTransferred, uint64(150_000))
	require.Less(t, p.BytesTransferred, uint64(len(big)))
	srv.Release()

	// A new manager on the same directory.
	m2 := openVM(t, dir, clk)
	defer m2.Close()
	c2 := connectAs(t, m2.Manager, alice)
	for name, j := range map[string]bits.Job{"props": props, "done": done, "failed": failed, "waiting": waiting} {
		got := getJob(t, c2, j)
		assert.Equal(t, before[name], recordOf(got), "%s: every property, file, time and error is back", name)
	}
	got := getJob(t, c2, done)
	cbNow, err := got.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, cbNow, "callbacks are not kept")
	cmd, err := getJob(t, c2, props).GetNotifyCmdLine()
	require.NoError(t, err)
	assert.Equal(t, bits.NotifyCmdLine{Program: "/bin/true", Parameters: "true --job"}, cmd, "the command line is kept")
	owner, err := got.GetOwner()
	require.NoError(t, err)
	assert.Equal(t, alice.SID, owner)

	// The application registers again: the event that happened while nobody listened is
	// delivered at once.
	cb2 := &countingCallback{transferred: make(chan struct{}, 4)}
	require.NoError(t, got.SetNotifyInterface(cb2))
	m2.Settle() // on the virtual clock, delivery happens when the test steps, at this instant
	<-cb2.transferred

	// The part-way job continues from its data and ends byte-exact.
	resumed := getJob(t, c2, partial)
	m2.Settle()
	require.Equal(t, state.Transferred, stateOf(t, resumed))
	assert.Equal(t, big, completeAndRead(t, resumed, out, 1)[0])
	var ranges []string
	for _, r := range srv.Requests() {
		if r.Path == "/big.bin" && r.Method == "GET" {
			ranges = append(ranges, r.Range)
		}
	}
	require.Len(t, ranges, 2)
	assert.Equal(t, fmt.Sprintf("bytes=%d-599999", p.BytesTransferred), ranges[1], "the second GET resumes where the first stopped")

	// The job in TRANSIENT_ERROR retries after its delay.
	w := getJob(t, c2, waiting)
	m2.Step(599 * time.Second)
	n, _ := w.GetErrorCount()
	assert.EqualValues(t, 1, n)
	m2.Step(time.Second)
	n, _ = w.GetErrorCount()
	assert.EqualValues(t, 2, n, "the retry timer came back with the job")
}

// transferUntil resumes j and returns once its progress reached at bytes (its notifications
// set to tell each change of progress).
func transferUntil(t *testing.T, h *bitstest.Harness, j bits.Job, at uint64) {
	t.Helper()
	reached := make(chan struct{})
	require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobModification))
	require.NoError(t, j.SetNotifyInterface(&progressWatch{at: at, reached: reached}))
	require.NoError(t, j.Resume())
	h.Settle()
	<-reached
}

// progressWatch closes reached once the job's progress reaches at bytes.
type progressWatch struct {
	at      uint64
	reached chan struct{}
	once    sync.Once
}

func (w *progressWatch) JobModification(j bits.Job) error {
	if p, err := j.GetProgress(); err == nil && p.BytesTransferred >= w.at {
		w.once.Do(func() { close(w.reached) })
	}
	return nil
}
func (*progressWatch) JobTransferred(bits.Job) error       { return nil }
func (*progressWatch) JobError(bits.Job, bits.Error) error { return nil }

// countingCallback signals every JobTransferred.
type countingCallback struct{ transferred chan struct{} }

func (c *countingCallback) JobTransferred(bits.Job) error {
	c.transferred <- struct{}{}
	return nil
}
func (*countingCallback) JobError(bits.Job, bits.Error) error { return nil }
func (*countingCallback) JobModification(bits.Job) error      { return nil }

func TestRestartOwnershipAndAccess(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	alice, bob := manager.Identity{SID: "S-1-5-21-100"}, manager.Identity{SID: "S-1-5-21-200"}
	admin := manager.Identity{SID: "S-1-5-21-500", Admin: true}
	clk := clock.NewVirtual(bitstest.Epoch)
	m1 := openVM(t, dir, clk, manager.WithManualTransfers())
	a := download(t, connectAs(t, m1.Manager, alice), out, "http://127.0.0.1:9/a")
	b := download(t, connectAs(t, m1.Manager, bob), out, "http://127.0.0.1:9/b")
	taken := download(t, connectAs(t, m1.Manager, bob), out, "http://127.0.0.1:9/c")
	require.NoError(t, taken.SetNotifyCmdLine("/bin/true", ""))
	require.NoError(t, engine.Of(taken).As(job.NewCaller(admin)).TakeOwnership())
	m1.Close()

	m2 := openVM(t, dir, clk, manager.WithManualTransfers())
	defer m2.Close()
	ca, cb, cadm := connectAs(t, m2.Manager, alice), connectAs(t, m2.Manager, bob), connectAs(t, m2.Manager, admin)
	_, err := cb.GetJob(engine.Of(a).ID())
	assert.ErrorIs(t, err, hresult.E_ACCESSDENIED, "Bob cannot see Alice's job after a restart either")
	ja := getJob(t, ca, a)
	bobsView := engine.Of(ja).As(job.NewCaller(bob))
	assert.ErrorIs(t, bobsView.SetDescription("x"), hresult.E_ACCESSDENIED)
	_, err = bobsView.GetState()
	assert.ErrorIs(t, err, hresult.E_ACCESSDENIED)
	all, err := cadm.EnumJobs(bits.EnumAllUsers)
	require.NoError(t, err)
	n := enumCount(all)
	assert.EqualValues(t, 3, n)
	mine, err := cb.EnumJobs(0)
	require.NoError(t, err)
	n = enumCount(mine)
	assert.EqualValues(t, 1, n, "the job the administrator took is no longer Bob's")
	_ = b
	jt := getJob(t, cadm, taken)
	owner, _ := jt.GetOwner()
	assert.Equal(t, admin.SID, owner)
	cmd, _ := jt.GetNotifyCmdLine()
	assert.Equal(t, bits.NotifyCmdLine{}, cmd, "TakeOwnership cleared the command line, and that was kept")
}

func TestOpenTwiceIsRefused(t *testing.T) {
	dir := t.TempDir()
	m, err := manager.Open(dir)
	require.NoError(t, err)
	_, err = manager.Open(dir)
	assert.ErrorIs(t, err, store.ErrInUse)
	assert.ErrorIs(t, err, hresult.ERROR_SHARING_VIOLATION)
	m.Close()
	m, err = manager.Open(dir)
	require.NoError(t, err, "free again once the first manager closed")
	m.Close()
}

func TestOpenDamagedStore(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs.db"), []byte("this is not a job database, not at all"), 0o600))
	_, err := manager.Open(dir)
	assert.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
	assert.ErrorIs(t, err, store.ErrCorrupt)
	data, _ := os.ReadFile(filepath.Join(dir, "jobs.db"))
	assert.Equal(t, "this is not a job database, not at all", string(data), "a damaged store is left as it was")
}

func TestStoreFilesAreOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	m, err := manager.Open(dir)
	require.NoError(t, err)
	defer m.Close()
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dir, "jobs.db"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestInactiveJobsExpire(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	srv := newServer(t, map[string][]byte{"f.bin": content(50, 10_000)}, bitstest.DropAfter(5000).Times(1))
	clk := clock.NewVirtual(bitstest.Epoch)
	m := openVM(t, dir, clk)
	c := connectAs(t, m.Manager, manager.Identity{SID: userSID})
	idle := download(t, c, out, srv.URLFor("f.bin"))
	require.NoError(t, idle.SetMinimumRetryDelay(600))
	require.NoError(t, idle.SetNoProgressTimeout(0)) // the cut makes it ERROR, with its temporary file
	require.NoError(t, idle.Resume())
	m.Settle()
	require.Equal(t, state.Error, stateOf(t, idle))
	faultsServed(t, srv, 1)
	temp, err := fileAt(t, idle, 0).GetTemporaryName()
	require.NoError(t, err)
	require.FileExists(t, temp)
	touched, err := c.CreateJob("touched", bits.Download)
	require.NoError(t, err)

	m.Step(60 * 24 * time.Hour)
	require.NoError(t, touched.SetDescription("still wanted")) // activity restarts its count
	m.Step(30*24*time.Hour - time.Second)
	assert.Equal(t, state.Error, stateOf(t, idle), "not before 90 days")
	m.Step(time.Second)
	assert.Equal(t, state.Cancelled, stateOf(t, idle), "group-policies: JobInactivityTimeout")
	assert.NoFileExists(t, temp, "its temporary file is removed")
	assert.Equal(t, state.Suspended, stateOf(t, touched))
	m.Step(60 * 24 * time.Hour)
	assert.Equal(t, state.Cancelled, stateOf(t, touched))
	m.Close()

	m2 := openVM(t, dir, clk)
	defer m2.Close()
	assert.Zero(t, m2.Manager.JobCount(), "expired jobs are gone from the store")
}

func TestInactivityTimeoutIsConfigurable(t *testing.T) {
	h := bitstest.NewHarness(t, manager.WithInactivityTimeout(time.Hour))
	j, err := h.Connect(userSID).CreateJob("short-lived", bits.Download)
	require.NoError(t, err)
	h.Step(time.Hour)
	assert.Equal(t, state.Cancelled, stateOf(t, j))
}

func TestLocalRoots(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "escape")))
	m := manager.New(manager.WithManualTransfers(), manager.WithLocalRoots(root))
	c := connectAs(t, m, manager.Identity{SID: userSID})
	j, err := c.CreateJob("confined", bits.Download)
	require.NoError(t, err)
	const remote = "http://127.0.0.1:9/f"
	assert.NoError(t, j.AddFile(remote, filepath.Join(root, "a.bin")))
	assert.NoError(t, j.AddFile(remote, filepath.Join(root, "sub", "b.bin")))
	assert.ErrorIs(t, j.AddFile(remote, filepath.Join(outside, "c.bin")), hresult.E_ACCESSDENIED)
	assert.ErrorIs(t, j.AddFile(remote, filepath.Join(root, "escape", "d.bin")), hresult.E_ACCESSDENIED, "a link cannot lead out")
	assert.ErrorIs(t, j.AddFileSet([]bits.FileInfo{{RemoteName: remote, LocalName: filepath.Join(root, "e.bin")},
		{RemoteName: remote, LocalName: filepath.Join(outside, "f.bin")}}), hresult.E_ACCESSDENIED)
	assert.ErrorIs(t, j.AddFileWithRanges(remote, filepath.Join(outside, "g.bin"), []bits.FileRange{{InitialOffset: 0, Length: 1}}), hresult.E_ACCESSDENIED)
	p, _ := j.GetProgress()
	assert.EqualValues(t, 2, p.FilesTotal)
	r, err := c.CreateJob("reply", bits.UploadReply)
	require.NoError(t, err)
	assert.ErrorIs(t, r.SetReplyFileName(filepath.Join(outside, "reply.bin")), hresult.E_ACCESSDENIED)
	assert.NoError(t, r.SetReplyFileName(filepath.Join(root, "reply.bin")))
}

// fileAt returns file i of j.
func fileAt(t *testing.T, j bits.Job, i int) bits.File {
	t.Helper()
	e, err := j.EnumFiles()
	require.NoError(t, err)
	e.Skip(uint32(i))
	fs, _, _ := e.Next(1)
	require.Len(t, fs, 1)
	return fs[0]
}

// TestReopenReconcilesTemporaryFiles: jobs that were transferring when their manager went away
// come back with their temporary files agreeing with their records: bytes past the recorded
// progress (written after the last checkpoint) are cut off, and a temporary file that went
// missing sets the progress to 0. A job without a temporary file is left as it was.
func TestReopenReconcilesTemporaryFiles(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	big := content(60, 600_000)
	srv := newServer(t, map[string][]byte{"long.bin": big, "gone.bin": big},
		bitstest.Stall(200_000).On("long.bin").Times(1), bitstest.Stall(200_000).On("gone.bin").Times(1))
	clk := clock.NewVirtual(bitstest.Epoch)
	alice := manager.Identity{SID: "S-1-5-21-100"}
	m1 := openVM(t, dir, clk, manager.WithTransfer(transfer.Config{ChunkSize: 16 << 10}))
	c1 := connectAs(t, m1.Manager, alice)
	idle, err := c1.CreateJob("idle", bits.Download)
	require.NoError(t, err)
	require.NoError(t, idle.AddFile(srv.URLFor("long.bin"), filepath.Join(out, "idle.bin")))
	jobs := map[string]bits.Job{}
	for _, name := range []string{"long", "gone"} {
		sub := filepath.Join(out, name)
		require.NoError(t, os.Mkdir(sub, 0o700))
		j := download(t, c1, sub, srv.URLFor(name+".bin"))
		require.NoError(t, j.SetPriority(bits.Foreground)) // both run, each until its stall
		transferUntil(t, m1, j, 150_000)
		jobs[name] = j
	}
	temps := map[string]string{}
	for name, j := range jobs {
		temps[name], err = fileAt(t, j, 0).GetTemporaryName()
		require.NoError(t, err)
	}
	m1.Close()
	srv.Release()

	// What the records hold, and the temporary files made to disagree with them.
	s, err := store.Open(dir, store.Options{})
	require.NoError(t, err)
	recs, err := s.Load()
	require.NoError(t, err)
	require.NoError(t, s.Close())
	recorded := map[uuid.UUID]uint64{}
	for _, r := range recs {
		recorded[r.ID] = r.Files[0].BytesDone
	}
	for _, j := range jobs {
		require.Positive(t, recorded[engine.Of(j).ID()], "the transfer reached a checkpoint")
	}
	f, err := os.OpenFile(temps["long"], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 5000))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Remove(temps["gone"]))

	m2 := openVM(t, dir, clk)
	defer m2.Close()
	c2 := connectAs(t, m2.Manager, alice)
	long := getJob(t, c2, jobs["long"])
	p, err := long.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, recorded[engine.Of(long).ID()], p.BytesTransferred, "the recorded progress stands")
	st, err := os.Stat(temps["long"])
	require.NoError(t, err)
	assert.EqualValues(t, p.BytesTransferred, st.Size(), "the bytes past the record are cut off")
	p, err = getJob(t, c2, jobs["gone"]).GetProgress()
	require.NoError(t, err)
	assert.Zero(t, p.BytesTransferred, "the temporary file is gone: the file starts again")
	p, err = getJob(t, c2, idle).GetProgress()
	require.NoError(t, err)
	assert.Zero(t, p.BytesTransferred)
	assert.Equal(t, state.Suspended, stateOf(t, getJob(t, c2, idle)))
}
