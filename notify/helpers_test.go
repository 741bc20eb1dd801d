package notify_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/childproc"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

func TestMain(m *testing.M) {
	childproc.Main() // the test binary doubles as the notify command-line program
	os.Exit(m.Run())
}

// child makes the test binary the notify program of this test (see childproc.Start).
func child(t *testing.T, exit int) (prog string, runs func() [][]string) {
	t.Helper()
	return childproc.Start(t, exit)
}

func setChildExit(t *testing.T, exit int) { childproc.SetExit(t, exit) }

// recorder is a Callback2 that records what it is called with. Its fields are guarded by mu;
// the hooks run outside the lock and decide what a call returns (nil when unset).
type recorder struct {
	name string
	log  *eventLog // shared with other recorders when set

	mu          sync.Mutex
	transferred int
	errs        int
	mods        int
	modStates   []state.State
	files       []string // local names, in call order
	errCodes    []hresult.Code

	onTransferred func(j bits.Job, n int) error
	onError       func(j bits.Job, n int) error
	onMod         func(j bits.Job, n int) error
	onFile        func(j bits.Job, f bits.File, n int) error
}

func (r *recorder) JobTransferred(j bits.Job) error {
	r.mu.Lock()
	r.transferred++
	n, hook := r.transferred, r.onTransferred
	r.mu.Unlock()
	r.log.add(r.name + ":transferred")
	if hook != nil {
		return hook(j, n)
	}
	return nil
}

func (r *recorder) JobError(j bits.Job, e bits.Error) error {
	r.mu.Lock()
	r.errs++
	if e != nil {
		_, code, _ := e.GetError()
		r.errCodes = append(r.errCodes, code)
	}
	n, hook := r.errs, r.onError
	r.mu.Unlock()
	r.log.add(r.name + ":error")
	if hook != nil {
		return hook(j, n)
	}
	return nil
}

func (r *recorder) JobModification(j bits.Job) error {
	st, _ := j.GetState()
	r.mu.Lock()
	r.mods++
	r.modStates = append(r.modStates, st)
	n, hook := r.mods, r.onMod
	r.mu.Unlock()
	r.log.add(r.name + ":mod")
	if hook != nil {
		return hook(j, n)
	}
	return nil
}

func (r *recorder) FileTransferred(j bits.Job, f bits.File) error {
	name, err := f.GetLocalName()
	if err != nil {
		name = "?" + err.Error()
	}
	r.mu.Lock()
	r.files = append(r.files, filepath.Base(name))
	n, hook := len(r.files), r.onFile
	r.mu.Unlock()
	r.log.add(r.name + ":file " + filepath.Base(name))
	if hook != nil {
		return hook(j, f, n)
	}
	return nil
}

func (r *recorder) set(f func(r *recorder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// counts returns JobTransferred, JobError and JobModification calls so far.
func (r *recorder) counts() (transferred, errs, mods int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.transferred, r.errs, r.mods
}

func (r *recorder) nTransferred() int { n, _, _ := r.counts(); return n }
func (r *recorder) nErrors() int      { _, n, _ := r.counts(); return n }
func (r *recorder) nMods() int        { _, _, n := r.counts(); return n }

func (r *recorder) fileNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.files...)
}

func (r *recorder) seenModStates() []state.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]state.State(nil), r.modStates...)
}

func newRecorder(name string, log *eventLog) *recorder { return &recorder{name: name, log: log} }

// plain hides FileTransferred: it is only an IBackgroundCopyCallback.
type plain struct{ r *recorder }

func (p plain) JobTransferred(j bits.Job) error         { return p.r.JobTransferred(j) }
func (p plain) JobError(j bits.Job, e bits.Error) error { return p.r.JobError(j, e) }
func (p plain) JobModification(j bits.Job) error        { return p.r.JobModification(j) }

// failFirst returns a hook that fails the first n calls with E_FAIL.
func failFirst(n int) func(bits.Job, int) error {
	return func(_ bits.Job, k int) error {
		if k <= n {
			return hresult.E_FAIL
		}
		return nil
	}
}

// always returns a hook that returns err.
func always(err error) func(bits.Job, int) error {
	return func(bits.Job, int) error { return err }
}

// eventLog is an ordered record of calls across callbacks.
type eventLog struct {
	mu  sync.Mutex
	all []string
}

func (l *eventLog) add(s string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// connect connects an application running as sid.
func connect(t *testing.T, m *manager.Manager, sid string) *manager.Client {
	t.Helper()
	c, err := m.Connect(manager.Identity{SID: sid})
	require.NoError(t, err)
	return c
}

// newJob creates a download job with n files named f0, f1, … under a temporary directory.
func newJob(t *testing.T, c *manager.Client, n int) bits.Job {
	t.Helper()
	j, err := c.CreateJob("notify test", bits.Download)
	require.NoError(t, err)
	dir := t.TempDir()
	for i := range n {
		require.NoError(t, j.AddFile(fmt.Sprintf("http://h/f%d", i), filepath.Join(dir, fmt.Sprintf("f%d", i))))
	}
	return j
}

// start moves a suspended job to TRANSFERRING.
func start(t *testing.T, j bits.Job) {
	t.Helper()
	require.NoError(t, j.Resume())
	_, err := engine.Of(j).Fire(state.Pick)
	require.NoError(t, err)
	st, err := engine.Of(j).Fire(state.Connect)
	require.NoError(t, err)
	require.Equal(t, state.Transferring, st)
}

// finish marks every file of a TRANSFERRING job done: the job becomes TRANSFERRED.
func finish(t *testing.T, j bits.Job) {
	t.Helper()
	files, err := j.EnumFiles()
	require.NoError(t, err)
	n := int(enumCount(files))
	var st state.State
	for i := range n {
		st, err = engine.Of(j).FireFileDone(i)
		require.NoError(t, err)
	}
	require.Equal(t, state.Transferred, st)
}

// transfer drives a suspended job to TRANSFERRED.
func transfer(t *testing.T, j bits.Job) {
	t.Helper()
	start(t, j)
	finish(t, j)
}

var notFound = job.Failure{Context: bits.ContextRemoteFile, Code: hresult.HTTP(404), File: 0, Protocol: "http"}

// fail drives a suspended job to ERROR.
func fail(t *testing.T, j bits.Job) {
	t.Helper()
	start(t, j)
	st, err := engine.Of(j).FireError(state.FatalFailure, notFound)
	require.NoError(t, err)
	require.Equal(t, state.Error, st)
}

func stateOf(t *testing.T, j bits.Job) state.State {
	t.Helper()
	st, err := j.GetState()
	require.NoError(t, err)
	return st
}

// sleep advances virtual time by d and lets every goroutine of the bubble settle.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
