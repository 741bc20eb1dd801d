package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/childproc"
	"github.com/bitsemu/bitsemu/service"
)

// bin is the bitsadmin binary the tests drive, built once by TestMain (with -race when the
// tests run with it).
var bin string

func TestMain(m *testing.M) {
	// Commands run in the test's own process start the built binary as their service.
	serviceProgram = func() (string, error) { return bin, nil }
	os.Exit(childproc.BuildAndRun(m, "bitsadmin", &bin))
}

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// user is someone running bitsadmin on a store of their own. The store's service starts on
// the user's first command and is stopped when the test ends.
type user struct {
	t     *testing.T
	store string
	env   []string    // more variables, "NAME=value"
	cred  *credential // run as another user (root only); nil: as the test
}

// newUser returns a user with a fresh store.
func newUser(t *testing.T) *user {
	u := &user{t: t, store: t.TempDir()}
	t.Cleanup(func() {
		r := u.run("/shutdown")
		if r.code != 0 {
			t.Errorf("bitsadmin /shutdown:\n%s", r)
		}
	})
	return u
}

// with returns the same user with more environment.
func (u *user) with(env ...string) *user {
	return &user{t: u.t, store: u.store, cred: u.cred, env: append(append([]string(nil), u.env...), env...)}
}

// sid is the user's SID as the store's service names the test's uid: an administrator's for
// root (see package service).
func (u *user) sid() string {
	u.t.Helper()
	b, err := os.ReadFile(filepath.Join(u.store, "machine.sid"))
	require.NoError(u.t, err, "the service has not run on the store yet")
	uid := os.Getuid()
	if u.cred != nil {
		uid = int(u.cred.Uid)
	}
	return sidOf(strings.TrimSpace(string(b)), uid)
}

// sidOf is the SID the service gives uid on a machine.
func sidOf(machine string, uid int) string {
	if uid == 0 {
		return fmt.Sprintf("%s-%d", machine, service.AdministratorRID)
	}
	return fmt.Sprintf("%s-%d", machine, service.UserRIDBase+uid)
}

// admin reports whether the tests run as root, whom the service makes an administrator.
func admin() bool { return os.Getuid() == 0 }

// environ is the command's environment: the test's, without BITSEMU_ variables, plus the user's.
// A race-enabled binary would sleep a second at exit; GORACE turns that off (a race found still
// makes it exit with status 66, which fails the test).
func (u *user) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BITSEMU_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return append(env, append([]string{"BITSEMU_STORE=" + u.store}, u.env...)...)
}

// command returns the command, not started.
func (u *user) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = u.environ()
	if u.cred != nil {
		setCredential(cmd, u.cred)
	}
	return cmd
}

// run runs bitsadmin with args and returns what it gave.
func (u *user) run(args ...string) result {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := u.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		u.t.Fatalf("bitsadmin %q: %v", args, err)
	}
	return r
}

// ok runs bitsadmin and requires exit status 0; it returns the standard output.
func (u *user) ok(args ...string) string {
	u.t.Helper()
	r := u.run(args...)
	require.Equal(u.t, 0, r.code, "bitsadmin %q:\n%s", args, r)
	return r.stdout
}

// fails runs bitsadmin and requires the exit status code; it returns the result.
func (u *user) fails(code int, args ...string) result {
	u.t.Helper()
	r := u.run(args...)
	require.Equal(u.t, code, r.code, "bitsadmin %q:\n%s", args, r)
	return r
}

var createdRE = regexp.MustCompile(`^Created job (\{[0-9A-F-]{36}\})\.\n$`)

// create creates a job with /CREATE and returns its GUID as printed.
func (u *user) create(args ...string) string {
	u.t.Helper()
	out := u.ok(append([]string{"/create"}, args...)...)
	m := createdRE.FindStringSubmatch(out)
	require.NotNil(u.t, m, "unexpected /create output %q", out)
	return m[1]
}

// jobJSON is a job as /LIST --json and /INFO --json print it.
type jobJSON struct {
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	Description      string  `json:"description"`
	Type             string  `json:"type"`
	State            string  `json:"state"`
	Priority         string  `json:"priority"`
	Owner            string  `json:"owner"`
	BytesTotal       *uint64 `json:"bytes_total"`
	BytesTransferred uint64  `json:"bytes_transferred"`
	FilesTotal       uint32  `json:"files_total"`
	FilesTransferred uint32  `json:"files_transferred"`
	ErrorCount       uint32  `json:"error_count"`
	Error            *struct {
		Context string `json:"context"`
		Code    string `json:"code"`
		Name    string `json:"name"`
		Message string `json:"message"`
		File    *struct {
			Remote string `json:"remote"`
			Local  string `json:"local"`
		} `json:"file"`
	} `json:"error"`
	CreationTime   *time.Time `json:"creation_time"`
	CompletionTime *time.Time `json:"completion_time"`
	Files          []struct {
		Remote           string  `json:"remote"`
		Local            string  `json:"local"`
		BytesTotal       *uint64 `json:"bytes_total"`
		BytesTransferred uint64  `json:"bytes_transferred"`
		Completed        bool    `json:"completed"`
	} `json:"files"`
	TimedOut *bool `json:"timed_out"`
}

// list returns the user's jobs as /LIST --json gives them, and the raw output.
func (u *user) list(args ...string) ([]jobJSON, string) {
	u.t.Helper()
	out := u.ok(append([]string{"/list", "--json"}, args...)...)
	var jobs []jobJSON
	require.NoError(u.t, json.Unmarshal([]byte(out), &jobs), out)
	return jobs, out
}

// content makes n bytes of deterministic data.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
