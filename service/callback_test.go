package service_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/client"
	"github.com/bitsemu/bitsemu/state"
)

// The test binary is also the helper process of TestCallbackOfExitedProcess, when run with
// $HELPER_SOCKET set: an application that registers a callback on a job, says so, and exits
// when its standard input closes.
func TestMain(m *testing.M) {
	if sock := os.Getenv("HELPER_SOCKET"); sock != "" {
		os.Exit(helper(sock, os.Getenv("HELPER_JOB")))
	}
	goleak.VerifyTestMain(m)
}

func helper(sock, jobID string) int {
	c, err := client.Dial(sock)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	j, err := c.GetJob(uuid.MustParse(jobID))
	if err == nil {
		err = j.SetNotifyInterface(&recorder{})
	}
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("registered")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes the pipe
	return 0                                          // exits without Close: the service sees the connection drop
}

// recorder is a Callback3 that records its calls; complete makes JobTransferred complete the job.
type recorder struct {
	complete bool

	mu       sync.Mutex
	calls    []string
	jobIDs   []uuid.UUID
	code     hresult.Code
	errInfo  string
	complErr error
	done     chan struct{} // closed by JobTransferred or JobError when set
}

func (r *recorder) record(call string, j bits.Job) {
	id, _ := j.GetId()
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.jobIDs = append(r.jobIDs, id)
	r.mu.Unlock()
}

func (r *recorder) finish() {
	if r.done != nil {
		close(r.done)
	}
}

func (r *recorder) JobTransferred(j bits.Job) error {
	r.record("JobTransferred", j)
	if r.complete {
		// Back into the service from inside its call: the usual pattern.
		code, err := j.Complete()
		r.mu.Lock()
		r.code, r.complErr = code, err
		r.mu.Unlock()
	}
	r.finish()
	return nil
}

func (r *recorder) JobError(j bits.Job, e bits.Error) error {
	r.record("JobError", j)
	ctx, code, err := e.GetError()
	f, ferr := e.GetFile()
	var local string
	if ferr == nil {
		local, _ = f.GetLocalName()
	}
	desc, _ := e.GetErrorDescription(0x0409)
	proto, _ := e.GetProtocol()
	r.mu.Lock()
	r.errInfo = fmt.Sprintf("%v %s %v %s %t %s", ctx, code.Name(), err, filepath.Base(local), desc != "", proto)
	r.mu.Unlock()
	r.finish()
	return nil
}

func (r *recorder) JobModification(j bits.Job) error {
	r.record("JobModification", j)
	return nil
}

func (r *recorder) FileTransferred(j bits.Job, f bits.File) error {
	name, _ := f.GetLocalName()
	r.record("FileTransferred "+filepath.Base(name), j)
	return nil
}

func (r *recorder) FileRangesTransferred(j bits.Job, _ bits.File, _ []bits.FileRange) error {
	r.record("FileRangesTransferred", j)
	return nil
}

func (r *recorder) has(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

// wait waits for ch, failing the test after a minute (a deadlock guard, not a timing check).
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not happen", what)
	}
}

// A callback of the client's process is called across the connection, with handles that work,
// and may call the service back: Complete inside JobTransferred returns and completes the job.
func TestCallbackCompletesInsideJobTransferred(t *testing.T) {
	s := serve(t)
	c := s.connect(t)
	srv := bitstest.NewServer(map[string][]byte{"a": []byte("alpha"), "b": []byte("beta")})
	defer srv.Close()
	dir := t.TempDir()
	j, err := c.CreateJob("callback", bits.Download)
	require.NoError(t, err)
	id, err := j.GetId()
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("a"), filepath.Join(dir, "a")))
	require.NoError(t, j.AddFile(srv.URLFor("b"), filepath.Join(dir, "b")))
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobTransferred|bits.NotifyJobError|bits.NotifyFileTransferred))
	cb := &recorder{complete: true, done: make(chan struct{})}
	require.NoError(t, j.SetNotifyInterface(cb))
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb, got, "the registering connection gets its own callback back")
	require.NoError(t, j.Resume())

	wait(t, cb.done, "JobTransferred")
	cb.mu.Lock()
	defer cb.mu.Unlock()
	require.NoError(t, cb.complErr)
	assert.Equal(t, hresult.S_OK, cb.code)
	assert.Contains(t, cb.calls, "FileTransferred a")
	assert.Contains(t, cb.calls, "FileTransferred b")
	assert.Equal(t, "JobTransferred", cb.calls[len(cb.calls)-1])
	for _, got := range cb.jobIDs {
		assert.Equal(t, id, got, "the callback's job handles name the job")
	}
	b, err := os.ReadFile(filepath.Join(dir, "b"))
	require.NoError(t, err)
	assert.Equal(t, "beta", string(b))
	_, err = c.GetJob(id)
	assert.True(t, errors.Is(err, hresult.BG_E_NOT_FOUND), "the completed job left the queue: %v", err)
}

// JobError's error object answers across the connection: context, code, file and description.
func TestCallbackJobErrorObject(t *testing.T) {
	s := serve(t)
	c := s.connect(t)
	srv := bitstest.NewServer(map[string][]byte{})
	defer srv.Close()
	j, err := c.CreateJob("doomed", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("missing"), filepath.Join(t.TempDir(), "missing")))
	cb := &recorder{done: make(chan struct{})}
	require.NoError(t, j.SetNotifyInterface(cb))
	require.NoError(t, j.Resume())
	wait(t, cb.done, "JobError")
	cb.mu.Lock()
	assert.Equal(t, "REMOTE_FILE BG_E_HTTP_ERROR_404 <nil> missing true http", cb.errInfo)
	cb.mu.Unlock()
	e, err := j.GetError()
	require.NoError(t, err)
	_, code, err := e.GetError()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_E_HTTP_ERROR_404, code)
}

// A callback registered through one connection is, for another, a callback object that calls
// the first application through the service.
func TestForeignCallback(t *testing.T) {
	s := serve(t, manager.WithManualTransfers())
	a, b := s.connect(t), s.connect(t)
	ja, err := a.CreateJob("shared", bits.Download)
	require.NoError(t, err)
	id, _ := ja.GetId()
	cb := &recorder{}
	require.NoError(t, ja.SetNotifyInterface(cb))

	jb, err := b.GetJob(id)
	require.NoError(t, err)
	foreign, err := jb.GetNotifyInterface()
	require.NoError(t, err)
	require.NotNil(t, foreign)
	_, isCB3 := foreign.(bits.Callback3)
	assert.True(t, isCB3, "it has the interfaces of the application's callback")
	require.NoError(t, foreign.JobModification(jb))
	assert.True(t, cb.has("JobModification"))
	assert.Equal(t, []uuid.UUID{id}, cb.jobIDs)

	// A job handle of another connection is not an argument it takes.
	err = foreign.JobModification(ja)
	assert.True(t, errors.Is(err, hresult.E_INVALIDARG), "%v", err)

	// The callback stops being valid when its application disconnects.
	require.NoError(t, a.Close())
	waitFor(t, func() bool { return s.srv.Connections() == 1 })
	got, err := jb.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got)
	_, err = ja.GetState()
	assert.True(t, errors.Is(err, hresult.RPC_E_DISCONNECTED), "a closed connection's handles fail: %v", err)
}

// waitFor polls cond for at most a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "the condition did not come true")
		time.Sleep(5 * time.Millisecond)
	}
}

// A process that registered a callback and exited: its callback is invalid from then on, and
// the job's notify command line runs instead.
func TestCallbackOfExitedProcess(t *testing.T) {
	rec := bitstest.NewLaunchRecorder(nil)
	s := serve(t, manager.WithLauncher(rec))
	c := s.connect(t)
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.WriteFile(src, []byte("data"), 0o644))
	j, err := c.CreateJob("orphan", bits.Download)
	require.NoError(t, err)
	id, _ := j.GetId()
	require.NoError(t, j.AddFile(src, filepath.Join(t.TempDir(), "dst")))
	require.NoError(t, j.SetNotifyCmdLine("/bin/true", "true"))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HELPER_SOCKET="+s.sock, "HELPER_JOB="+id.String())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "registered\n", line)
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	require.NotNil(t, got, "the helper's callback is valid while it runs")

	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	waitFor(t, func() bool { return s.srv.Connections() == 1 })
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got, "the exited process's callback is no longer valid")

	require.NoError(t, j.Resume())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, rec.WaitFor(ctx, func(l []bitstest.LaunchRecord) bool { return len(l) > 0 }))
	launches := rec.For(id)
	require.Len(t, launches, 1, "the command line ran in the callback's place")
	assert.Equal(t, state.Transferred, launches[0].State)
	assert.Equal(t, "/bin/true", launches[0].Program)
}
