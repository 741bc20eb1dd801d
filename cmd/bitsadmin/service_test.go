//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service"
)

// pollState runs /getstate from new processes until the job is in one of the states, for at
// most a minute, and returns it.
func (u *user) pollState(id string, states ...string) string {
	u.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := u.run("/getstate", id)
		st := strings.TrimSpace(r.stdout)
		for _, want := range states {
			if r.code == 0 && st == want {
				return st
			}
		}
		require.True(u.t, time.Now().Before(deadline), "job %s is %q (exit %d, %s), not one of %v", id, st, r.code, r.stderr, states)
		time.Sleep(20 * time.Millisecond)
	}
}

// servicePID is the pid the store's service wrote.
func (u *user) servicePID() int { return service.ReadPID(u.store) }

// alive reports whether a process exists.
func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

var startedRE = regexp.MustCompile(`msg="service started" pid=(\d+)`)

// serviceStarts returns the pids of the services the store's log says started, in order.
func (u *user) serviceStarts() []int {
	b, _ := os.ReadFile(filepath.Join(u.store, "service.log"))
	var pids []int
	for _, m := range startedRE.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		pids = append(pids, n)
	}
	return pids
}

// The service model end to end, with nothing started by hand: a job queued by one process moves
// with no other running; other processes (a /TRANSFER, a /LIST) work at the same time; a
// notify command line that runs bitsadmin /COMPLETE completes its job; and a service killed with
// SIGKILL mid-transfer is started again by the next command and resumes the transfer from its
// checkpoint, byte-exact.
func TestServiceEndToEnd(t *testing.T) {
	t.Parallel()
	// More than manager.CheckpointBytes arrive before the stall, so a checkpoint is on disk.
	big := content(manager.CheckpointBytes+2<<20, 21)
	stallAt := int64(manager.CheckpointBytes + 1<<20)
	slow := bitstest.NewServer(map[string][]byte{"big.bin": big}, bitstest.Stall(stallAt).Times(1))
	defer slow.Close()
	small := content(50_000, 22)
	fast := bitstest.NewServer(map[string][]byte{"small.bin": small, "notified.bin": content(3000, 23)})
	defer fast.Close()
	u := newUser(t)
	dst := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// No service runs yet: /CREATE starts one.
	require.Empty(t, u.serviceStarts())
	id := u.create("big")
	first := u.servicePID()
	require.True(t, alive(first), "the first command started the service")
	u.ok("/addfile", id, slow.URLFor("big.bin"), filepath.Join(dst, "big.bin"))
	u.ok("/resume", id)
	// This process is gone; the service transfers the job on its own, up to the stall.
	require.NoError(t, slow.WaitFor(ctx, func(s bitstest.Stats) bool { return s.Stalled == 1 }))
	assert.Equal(t, "TRANSFERRING", u.pollState(id, "TRANSFERRING"))

	// Meanwhile other processes use the service at once: a /TRANSFER and /LISTs.
	var wg sync.WaitGroup
	var transfer result
	wg.Go(func() {
		// FOREGROUND: a background job waits for the stalled one's time slice, as in BITS.
		transfer = u.run("/transfer", "small", "/priority", "foreground", fast.URLFor("small.bin"), filepath.Join(dst, "small.bin"))
	})
	lists := make([]result, 3)
	for i := range lists {
		wg.Go(func() { lists[i] = u.run("/list") })
	}
	wg.Wait()
	require.Equal(t, 0, transfer.code, "%s", transfer)
	assert.Contains(t, transfer.stdout, "Transfer complete.")
	got, err := os.ReadFile(filepath.Join(dst, "small.bin"))
	require.NoError(t, err)
	assert.Equal(t, small, got)
	for _, l := range lists {
		require.Equal(t, 0, l.code, "%s", l)
		assert.Contains(t, l.stdout, id+" 'big' TRANSFERRING")
	}

	// A notify command line that runs bitsadmin /COMPLETE completes its job.
	notified := u.create("notified")
	u.ok("/addfile", notified, fast.URLFor("notified.bin"), filepath.Join(dst, "notified.bin"))
	u.ok("/setnotifycmdline", notified, bin, "bitsadmin /store "+u.store+" /complete "+notified)
	u.ok("/setpriority", notified, "foreground")
	u.ok("/resume", notified)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dst, "notified.bin")); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the command line did not complete the job")
		time.Sleep(20 * time.Millisecond)
	}
	r := u.fails(1, "/getstate", notified)
	assert.Contains(t, r.stderr, "BG_E_NOT_FOUND", "the command line completed the job: it left the queue")

	// SIGKILL mid-transfer: nothing is written on the way out.
	require.Equal(t, first, u.servicePID())
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	kills := 1
	for alive(first) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, slow.WaitFor(ctx, func(s bitstest.Stats) bool { return s.Stalled == 0 }))
	assert.Equal(t, 1, slow.Stats().Gets, "one GET before the kill")

	// Any verb starts the service again; the job continues where its checkpoint left it.
	assert.Contains(t, []string{"QUEUED\n", "CONNECTING\n", "TRANSFERRING\n", "TRANSFERRED\n"}, u.ok("/getstate", id))
	second := u.servicePID()
	assert.NotEqual(t, first, second)
	assert.True(t, alive(second))
	starts := u.serviceStarts()
	assert.Equal(t, []int{first, second}, starts, "the kill and the restart both happened")
	assert.Equal(t, 1, kills)
	u.pollState(id, "TRANSFERRED")
	u.ok("/complete", id)
	got, err = os.ReadFile(filepath.Join(dst, "big.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, got), "the file is byte-exact after the kill and the resume")
	st := slow.Stats()
	assert.GreaterOrEqual(t, st.RangeGets, 1, "the restarted service resumed with a range request")
	assert.Less(t, st.BytesSent, int64(len(big))+int64(len(big))/2, "it did not download the file again from the start")
}

// Commands that find no service start one between them: several at once on a new store start
// exactly one, and all of them succeed.
func TestServiceStartsOnce(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = u.run("/create", "racer"+strconv.Itoa(i)) })
	}
	wg.Wait()
	for _, r := range results {
		require.Equal(t, 0, r.code, "%s", r)
	}
	starts := u.serviceStarts()
	require.Len(t, starts, 1, "one service started")
	assert.Equal(t, starts[0], u.servicePID())
	jobs, _ := u.list()
	assert.Len(t, jobs, len(results))
	assert.Contains(t, u.ok("/service"), "runs (pid "+strconv.Itoa(starts[0])+")")
}

// /RAWRETURN prints bare values for scripts; /VERSION says which service runs; under /JSON a
// failure is a JSON document too, with its HRESULT.
func TestRawReturnVersionAndJSONErrors(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	assert.Equal(t, "No service runs on "+u.store+".\n", strings.SplitN(u.ok("/version"), "\n", 2)[1], "/VERSION starts no service")
	id := u.ok("/rawreturn", "/create", "raw")
	assert.Regexp(t, `^\{[0-9A-F-]{36}\}$`, id)
	assert.Equal(t, "SUSPENDED", u.ok("/rawreturn", "/getstate", id))
	assert.Equal(t, "", u.ok("/rawreturn", "/setdescription", id, "quiet"))
	assert.Equal(t, "S_FALSE", u.ok("/rawreturn", "/removecredentials", id, "SERVER", "BASIC"))

	var v struct {
		Protocol   int  `json:"protocol"`
		ServicePID *int `json:"service_pid"`
	}
	require.NoError(t, json.Unmarshal([]byte(u.ok("/version", "/json")), &v))
	assert.Equal(t, 1, v.Protocol)
	require.NotNil(t, v.ServicePID)
	assert.Equal(t, u.servicePID(), *v.ServicePID)

	var failure struct {
		Error struct {
			Code, Name, Operation, State, Job, Usage string
		} `json:"error"`
		ExitStatus int `json:"exit_status"`
	}
	r := u.fails(1, "/resume", id, "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &failure), r.stdout)
	assert.Equal(t, "0x80200003", failure.Error.Code)
	assert.Equal(t, "BG_E_EMPTY", failure.Error.Name)
	assert.Equal(t, "Resume", failure.Error.Operation)
	assert.Equal(t, "SUSPENDED", failure.Error.State)
	assert.Equal(t, id, failure.Error.Job)
	assert.Equal(t, 1, failure.ExitStatus)
	assert.Contains(t, r.stderr, "BG_E_EMPTY (0x80200003)", "the text goes to standard error as before")

	r = u.fails(2, "--json", "/nosuchverb")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &failure), r.stdout)
	assert.Equal(t, "unknown verb /nosuchverb", failure.Error.Usage)
	assert.Equal(t, 2, failure.ExitStatus)
}

// A service in the foreground (as systemd or a container runs it) stops cleanly on SIGTERM in
// the middle of a transfer: exit status 0, its pid file and socket gone, and the next service
// continues the transfer from where it stopped, byte-exact.
func TestServiceForegroundSIGTERM(t *testing.T) {
	t.Parallel()
	big := content(manager.CheckpointBytes+2<<20, 24)
	srv := bitstest.NewServer(map[string][]byte{"big.bin": big}, bitstest.Stall(manager.CheckpointBytes+1<<20).Times(1))
	defer srv.Close()
	u := newUser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fg := u.command(ctx, "/service", "/foreground")
	var logs bytes.Buffer
	fg.Stderr = &logs
	require.NoError(t, fg.Start())
	deadline := time.Now().Add(time.Minute)
	for u.servicePID() != fg.Process.Pid {
		require.True(t, time.Now().Before(deadline), "the foreground service did not start")
		time.Sleep(10 * time.Millisecond)
	}
	id := u.create("big")
	dst := filepath.Join(t.TempDir(), "big.bin")
	u.ok("/addfile", id, srv.URLFor("big.bin"), dst)
	u.ok("/resume", id)
	require.NoError(t, srv.WaitFor(ctx, func(s bitstest.Stats) bool { return s.Stalled == 1 }))

	require.NoError(t, fg.Process.Signal(syscall.SIGTERM))
	require.NoError(t, fg.Wait(), "exit status 0 after SIGTERM:\n%s", logs.String())
	assert.Contains(t, logs.String(), `msg="service stopping" reason=signal`)
	for _, f := range []string{"service.pid", "bitsemu.sock"} {
		_, err := os.Stat(filepath.Join(u.store, f))
		assert.True(t, os.IsNotExist(err), "%s is left", f)
	}

	u.pollState(id, "TRANSFERRED") // the first command starts a new service
	u.ok("/complete", id)
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, got), "byte-exact after the stop and the restart")
	assert.GreaterOrEqual(t, srv.Stats().RangeGets, 1, "the transfer continued with a range request")
	assert.Less(t, srv.Stats().BytesSent, int64(len(big))+int64(len(big))/2)
}

// A store whose service cannot start (its socket path is too long for a Unix-domain socket)
// fails every verb that needs the service with exit status 4, in text and in JSON.
func TestServiceUnreachableExitStatus(t *testing.T) {
	t.Parallel()
	u := &user{t: t, store: filepath.Join(t.TempDir(), strings.Repeat("s", 120))}
	r := u.fails(exitNoService, "/list")
	assert.Contains(t, r.stderr, "cannot reach the bitsemu service of the job store "+u.store)
	assert.Contains(t, r.stderr, "choose a shorter store directory")
	r = u.fails(exitNoService, "--json", "/getstate", "job")
	var failure struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		ExitStatus int `json:"exit_status"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &failure), r.stdout)
	assert.Equal(t, exitNoService, failure.ExitStatus)
	assert.Contains(t, failure.Error.Message, "cannot reach the bitsemu service")
	u.ok("/version") // needs no service
}
