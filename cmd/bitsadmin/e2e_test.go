package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/upload"
)

// /TRANSFER over HTTP: both files arrive whole, the job is completed and leaves the queue.
func TestTransferHTTP(t *testing.T) {
	t.Parallel()
	a, b := content(700_000, 1), content(1234, 2)
	srv := bitstest.NewServer(map[string][]byte{"a.bin": a, "dir/b.txt": b})
	defer srv.Close()
	u := newUser(t)
	dst := t.TempDir()
	la, lb := filepath.Join(dst, "a.bin"), filepath.Join(dst, "b.txt")

	out := u.ok("/TRANSFER", "nightly", "/priority", "foreground", srv.URLFor("a.bin"), la, srv.URLFor("dir/b.txt"), lb)
	assert.Contains(t, out, "DISPLAY: 'nightly' TYPE: DOWNLOAD PRIORITY: FOREGROUND")
	assert.Contains(t, out, "TRANSFERRED     FILES: 2 / 2 BYTES: 701234 / 701234 (100%)")
	assert.Contains(t, out, "Transfer complete.")
	assert.NotContains(t, out, "\x1b[", "no terminal redraw when stdout is a pipe")

	gotA, err := os.ReadFile(la)
	require.NoError(t, err)
	assert.Equal(t, a, gotA)
	gotB, err := os.ReadFile(lb)
	require.NoError(t, err)
	assert.Equal(t, b, gotB)
	jobs, _ := u.list()
	assert.Empty(t, jobs, "a completed job leaves the queue")
	assert.GreaterOrEqual(t, srv.Stats().Gets, 2)
}

// /TRANSFER of a file:// URL and of a plain path.
func TestTransferFileURLAndPath(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	one, two := filepath.Join(src, "one.dat"), filepath.Join(src, "two.dat")
	require.NoError(t, os.WriteFile(one, content(300_000, 3), 0o644))
	require.NoError(t, os.WriteFile(two, content(10, 4), 0o644))
	u := newUser(t)
	dst := t.TempDir()

	u.ok("/transfer", "by url", "file://"+filepath.ToSlash(one), filepath.Join(dst, "one.dat"))
	u.ok("/transfer", "by path", two, filepath.Join(dst, "two.dat"))
	for _, name := range []string{"one.dat", "two.dat"} {
		want, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dst, name))
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	jobs, _ := u.list()
	assert.Empty(t, jobs)
}

// A job made step by step, one invocation per step, all sharing the store.
func TestJobAcrossInvocations(t *testing.T) {
	t.Parallel()
	a, b := content(400_000, 5), content(5000, 6)
	srv := bitstest.NewServer(map[string][]byte{"a.bin": a, "b.bin": b})
	defer srv.Close()
	u := newUser(t)
	dst := t.TempDir()
	la, lb := filepath.Join(dst, "a.bin"), filepath.Join(dst, "b.bin")

	id := u.create("step by step")
	// By GUID in lower case without braces, and by display name.
	bare := strings.ToLower(strings.Trim(id, "{}"))
	assert.Equal(t, "Added "+srv.URLFor("a.bin")+" -> "+la+" to job.\n", u.ok("/addfile", bare, srv.URLFor("a.bin"), la))
	u.ok("/AddFile", "step by step", srv.URLFor("b.bin"), lb)
	u.ok("/setdescription", id, "two files")

	assert.Equal(t, "SUSPENDED\n", u.ok("/getstate", id))
	assert.Equal(t, "2\n", u.ok("/getfilestotal", id))
	assert.Equal(t, "UNKNOWN\n", u.ok("/getbytestotal", id), "sizes are unknown before the transfer")
	assert.Equal(t, id+" 'step by step' SUSPENDED 0 / 2 0 / UNKNOWN\nListed 1 job(s).\n", u.ok("/list"))
	info := u.ok("/info", id, "/verbose")
	for _, want := range []string{
		"GUID: " + id + " DISPLAY: 'step by step'",
		"TYPE: DOWNLOAD STATE: SUSPENDED OWNER: " + u.sid(),
		"PRIORITY: NORMAL FILES: 0 / 2 BYTES: 0 / UNKNOWN",
		"COMPLETION TIME: UNKNOWN",
		"RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0",
		"DESCRIPTION: two files",
		"JOB FILES:\n\t0 / UNKNOWN WORKING " + srv.URLFor("a.bin") + " -> " + la,
		"NOTIFICATION COMMAND LINE: none",
	} {
		assert.Contains(t, info, want)
	}

	jobs, _ := u.list()
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, id, j.ID)
	assert.Equal(t, "step by step", j.Name)
	assert.Equal(t, "two files", j.Description)
	assert.Equal(t, "DOWNLOAD", j.Type)
	assert.Equal(t, "SUSPENDED", j.State)
	assert.Equal(t, "NORMAL", j.Priority)
	assert.Equal(t, u.sid(), j.Owner)
	assert.Nil(t, j.BytesTotal, "an unknown size is null")
	assert.Equal(t, uint32(2), j.FilesTotal)
	assert.Nil(t, j.Error)
	assert.NotNil(t, j.CreationTime)
	assert.Nil(t, j.CompletionTime)

	assert.Equal(t, "Job resumed.\n", u.ok("/resume", id))
	// The service transfers the job on its own; this command only watches.
	assert.Equal(t, "TRANSFERRED\n", u.ok("/wait", id, "/timeout", "30"))
	assert.Equal(t, "FILES: 2 / 2 BYTES: 405000 / 405000 (100%)\n", u.ok("/getprogress", id))
	assert.Equal(t, "405000\n", u.ok("/getbytestransferred", "step by step"))
	assert.NotEqual(t, "UNKNOWN\n", u.ok("/getcompletiontime", id))

	var full jobJSON
	require.NoError(t, json.Unmarshal([]byte(u.ok("/info", id, "/verbose", "/json")), &full))
	assert.Equal(t, "TRANSFERRED", full.State)
	require.Len(t, full.Files, 2)
	assert.True(t, full.Files[0].Completed)
	assert.Equal(t, la, full.Files[0].Local)
	require.NotNil(t, full.BytesTotal)
	assert.Equal(t, uint64(405000), *full.BytesTotal)

	_, err := os.Stat(la)
	assert.True(t, os.IsNotExist(err), "files appear only on Complete")
	assert.Equal(t, "Job completed.\n", u.ok("/complete", id))
	gotA, err := os.ReadFile(la)
	require.NoError(t, err)
	assert.Equal(t, a, gotA)
	gotB, err := os.ReadFile(lb)
	require.NoError(t, err)
	assert.Equal(t, b, gotB)
	jobs, _ = u.list()
	assert.Empty(t, jobs)
	// The job has left the queue.
	r := u.fails(1, "/getstate", id)
	assert.Contains(t, r.stderr, "BG_E_NOT_FOUND (0x80200001)")
}

// A job whose file is missing: /WAIT ends with ERROR and /GETERROR shows the HTTP status.
func TestFailedDownload(t *testing.T) {
	t.Parallel()
	srv := bitstest.NewServer(map[string][]byte{"a.bin": content(10, 7)})
	defer srv.Close()
	u := newUser(t)
	local := filepath.Join(t.TempDir(), "missing.bin")
	id := u.create("doomed")
	u.ok("/addfile", id, srv.URLFor("missing.bin"), local)
	u.ok("/resume", id)

	r := u.fails(exitNotTransferred, "/wait", id)
	assert.Equal(t, "ERROR\n", r.stdout)
	assert.Contains(t, r.stderr, "BG_E_HTTP_ERROR_404 (0x80190194)")

	out := u.ok("/geterror", id)
	assert.Contains(t, out, "ERROR FILE:    "+srv.URLFor("missing.bin")+" -> "+local)
	assert.Contains(t, out, "ERROR CODE:    0x80190194 BG_E_HTTP_ERROR_404 - ")
	assert.Contains(t, out, "ERROR CONTEXT: 0x00000005 REMOTE_FILE - ")
	assert.Equal(t, "ERROR\n", u.ok("/getstate", id))
	assert.Equal(t, "1\n", u.ok("/geterrorcount", id))

	var got jobJSON
	require.NoError(t, json.Unmarshal([]byte(u.ok("/geterror", id, "--json")), &got))
	require.NotNil(t, got.Error)
	assert.Equal(t, "BG_E_HTTP_ERROR_404", got.Error.Name)
	assert.Equal(t, "0x80190194", got.Error.Code)
	assert.Equal(t, "REMOTE_FILE", got.Error.Context)
	require.NotNil(t, got.Error.File)
	assert.Equal(t, local, got.Error.File.Local)
	assert.Contains(t, u.ok("/info", id, "/verbose"), "ERROR CODE:    0x80190194 BG_E_HTTP_ERROR_404")

	// /WAIT on a suspended job ends at once, exit 1.
	suspended := u.create("suspended")
	r = u.fails(exitNotTransferred, "/wait", suspended)
	assert.Equal(t, "SUSPENDED\n", r.stdout)
	assert.Contains(t, r.stderr, "/RESUME it first")
	u.ok("/cancel", suspended)

	// The same through /TRANSFER: exit 1, the error printed, the job cancelled.
	r = u.fails(exitNotTransferred, "/transfer", "doomed too", srv.URLFor("gone.bin"), filepath.Join(t.TempDir(), "gone.bin"))
	assert.Contains(t, r.stderr, "Transfer failed: BG_E_HTTP_ERROR_404 (0x80190194)")
	assert.Contains(t, r.stderr, "cancelled")
	jobs, _ := u.list()
	require.Len(t, jobs, 1)
	assert.Equal(t, id, jobs[0].ID)
}

// Every kind of bad input fails with the right status and message, and leaves the store as it
// was.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	srv := bitstest.NewServer(map[string][]byte{"a.bin": content(10, 8)})
	defer srv.Close()
	u := newUser(t)
	dir := t.TempDir()
	u.create("dup")
	u.create("dup")
	u.create("/upload", "up")
	empty := u.create("empty")
	queued := u.create("queued")
	u.ok("/addfile", queued, srv.URLFor("a.bin"), filepath.Join(dir, "a.bin"))
	badList := filepath.Join(dir, "bad.list")
	require.NoError(t, os.WriteFile(badList, []byte("# comment\n"+srv.URLFor("a.bin")+"\n"), 0o644))
	halfList := filepath.Join(dir, "half.list")
	require.NoError(t, os.WriteFile(halfList, []byte(srv.URLFor("a.bin")+" "+filepath.Join(dir, "x")+"\n"+
		srv.URLFor("a.bin")+" relative/y\n"), 0o644))
	_, before := u.list()

	usage := []struct {
		args []string
		want string
	}{
		{nil, "no verb given"},
		{[]string{"/bogus"}, "unknown verb /bogus"},
		{[]string{"list"}, "is not a verb"},
		{[]string{"/addfile", empty}, "/ADDFILE needs job remote local"},
		{[]string{"/info", empty, "extra"}, "too many arguments"},
		{[]string{"/getstate", "{not-a-guid}"}, "is not a valid job GUID"},
		{[]string{"/getstate", "0123456Z-89ab-cdef-0123-456789abcdef"}, "is not a valid job GUID"},
		{[]string{"/setpriority", empty, "URGENT"}, "FOREGROUND, HIGH, NORMAL or LOW"},
		{[]string{"/transfer", "t", "/priority", "URGENT", srv.URLFor("a.bin"), filepath.Join(dir, "t")}, "FOREGROUND, HIGH, NORMAL or LOW"},
		{[]string{"/transfer", "t", srv.URLFor("a.bin")}, "/TRANSFER needs"},
		{[]string{"/transfer", "t", srv.URLFor("a.bin"), filepath.Join(dir, "t"), srv.URLFor("a.bin")}, "come in pairs"},
		{[]string{"/create", "/upload", "/download", "x"}, "choose one of"},
		{[]string{"/transfer", "t", "/upload", "/upload-reply", srv.URLFor("a.bin"), filepath.Join(dir, "t")}, "choose one of"},
		{[]string{"/transfer", "t", "/replyfile", filepath.Join(dir, "r"), srv.URLFor("a.bin"), filepath.Join(dir, "t")}, "/replyfile is for /upload-reply jobs"},
		{[]string{"/setminretrydelay", empty, "-5"}, "must be a number"},
		{[]string{"/wait", empty, "/timeout", "soon"}, "takes a number of seconds"},
		{[]string{"/monitor", "/refresh"}, "needs a value"},
		{[]string{"/setproxysettings", empty, "OVERRIDE"}, "OVERRIDE needs a proxy list"},
		{[]string{"/setproxysettings", empty, "SOMETIMES"}, "PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT"},
		{[]string{"/setproxysettings", empty, "NO_PROXY", "proxy:80"}, "only OVERRIDE takes"},
		{[]string{"/setcredentials", empty, "SERVER", "KERBEROS", "u", "p"}, "the scheme must be"},
		{[]string{"/addfileset", empty, badList}, `want "remote local"`},
		{[]string{"/list", "/store"}, "needs a directory"},
		{[]string{"/monitor", "/count", "many"}, "must be a number"},
	}
	for _, c := range usage {
		r := u.fails(2, c.args...)
		assert.Contains(t, r.stderr, c.want, "%q", c.args)
		assert.Contains(t, r.stderr, "Usage: bitsadmin", "%q", c.args)
		assert.Empty(t, r.stdout, "%q", c.args)
		_, after := u.list()
		require.Equal(t, before, after, "%q changed the store", c.args)
	}

	failures := []struct {
		args []string
		want string
	}{
		{[]string{"/getstate", "nosuch"}, "BG_E_NOT_FOUND (0x80200001): "},
		{[]string{"/cancel", "{00000000-0000-0000-0000-000000000001}"}, "BG_E_NOT_FOUND (0x80200001): "},
		{[]string{"/complete", "up"}, "BG_E_INVALID_STATE (0x80200002): the job's current state does not allow this call"},
		{[]string{"/resume", empty}, "BG_E_EMPTY (0x80200003): "},
		{[]string{"/geterror", empty}, "BG_E_ERROR_INFORMATION_UNAVAILABLE (0x8020000F): "},
		{[]string{"/wait", "nosuch"}, "BG_E_NOT_FOUND (0x80200001): "},
		{[]string{"/addfile", empty, srv.URLFor("a.bin"), "relative/a.bin"}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/addfile", empty, "ftp://example.com/a", filepath.Join(dir, "a")}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/addfile", empty, srv.URLFor("a.bin"), filepath.Join(dir, "no", "such", "dir")}, "ERROR_PATH_NOT_FOUND) (0x80070003): "},
		{[]string{"/addfileset", empty, halfList}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/setnotifyflags", empty, "0x40"}, "E_NOTIMPL (0x80004001): "},
		{[]string{"/setnotifycmdline", empty, "relative-program", "NULL"}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/setcustomheaders", empty, "not a header"}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/setdisplayname", empty, strings.Repeat("x", 300)}, "BG_E_STRING_TOO_LONG (0x80200021): "},
		{[]string{"/setcredentials", empty, "SERVER", "BASIC", "NULL", "secret"}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/create", strings.Repeat("n", 300)}, "E_INVALIDARG (0x80070057): "},
		// /TRANSFER adds every file before it starts; a bad one cancels the new job.
		{[]string{"/transfer", "t", srv.URLFor("a.bin"), "relative/t"}, "E_INVALIDARG (0x80070057): "},
		{[]string{"/transfer", "t", srv.URLFor("a.bin"), filepath.Join(dir, "t1"),
			srv.URLFor("a.bin"), filepath.Join(dir, "nodir", "t2")}, "(0x80070003): "},
		{[]string{"/transfer", "/upload", "t", srv.URLFor("a.bin"), filepath.Join(dir, "u1"),
			srv.URLFor("a.bin"), filepath.Join(dir, "u2")}, "BG_E_TOO_MANY_FILES (0x8020001C): "},
	}
	if !admin() {
		// A user who is not root is no administrator (TestUsersAreTheirUIDs covers this as root).
		for _, args := range [][]string{{"/list", "/allusers"}, {"/reset", "/allusers"},
			{"/monitor", "/allusers", "/count", "1"}, {"/takeownership", empty}} {
			failures = append(failures, struct {
				args []string
				want string
			}{args, "E_ACCESSDENIED (0x80070005): "})
		}
	}
	for _, c := range failures {
		r := u.fails(1, c.args...)
		assert.Contains(t, r.stderr, c.want, "%q", c.args)
		assert.NotContains(t, r.stderr, "Usage:", "%q", c.args)
		assert.Empty(t, r.stdout, "%q", c.args)
		_, after := u.list()
		require.Equal(t, before, after, "%q changed the store", c.args)
	}

	// An ambiguous display name lists the jobs that have it.
	r := u.fails(1, "/getstate", "dup")
	assert.Contains(t, r.stderr, "the display name 'dup' matches 2 jobs")
	jobs, _ := u.list()
	for _, j := range jobs {
		if j.Name == "dup" {
			assert.Contains(t, r.stderr, j.ID+" 'dup' SUSPENDED")
		}
	}
	_, after := u.list()
	require.Equal(t, before, after)
}

// Setters, getters and NULL, across invocations.
func TestProperties(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	id := u.create("props")
	u.ok("/setdisplayname", id, "renamed")
	assert.Equal(t, "renamed\n", u.ok("/getdisplayname", id))
	u.ok("/setdescription", "renamed", "a description")
	assert.Equal(t, "a description\n", u.ok("/getdescription", id))
	assert.Equal(t, "Priority set to HIGH.\n", u.ok("/setpriority", id, "high"))
	assert.Equal(t, "HIGH\n", u.ok("/getpriority", id))
	u.ok("/setminretrydelay", id, "60")
	assert.Equal(t, "60\n", u.ok("/getminretrydelay", id))
	u.ok("/setnoprogresstimeout", id, "3600")
	assert.Equal(t, "3600\n", u.ok("/getnoprogresstimeout", id))
	u.ok("/setnotifyflags", id, "0x1")
	assert.Equal(t, "1\n", u.ok("/getnotifyflags", id))
	program := filepath.Join(t.TempDir(), "notify")
	u.ok("/setnotifycmdline", id, program, "notify --job done")
	assert.Equal(t, "'"+program+"' 'notify --job done'\n", u.ok("/getnotifycmdline", id))
	u.ok("/setnotifycmdline", id, "NULL", "NULL")
	assert.Equal(t, "NULL\n", u.ok("/getnotifycmdline", id))
	u.ok("/setcustomheaders", id, "X-One: 1", "X-Two: 2")
	assert.Contains(t, u.ok("/info", id, "/verbose"), "CUSTOM HEADERS:\n\tX-One: 1\n\tX-Two: 2\n")
	u.ok("/setcustomheaders", id, "NULL")
	assert.Contains(t, u.ok("/info", id, "/verbose"), "CUSTOM HEADERS: NULL\n")
	u.ok("/setproxysettings", id, "OVERRIDE", "proxy1:80,proxy2:8080", "<local>")
	assert.Equal(t, "OVERRIDE\n", u.ok("/getproxyusage", id))
	assert.Equal(t, "proxy1:80 proxy2:8080\n", u.ok("/getproxylist", id))
	assert.Equal(t, "<local>\n", u.ok("/getproxybypasslist", id))
	u.ok("/setproxysettings", id, "no_proxy")
	assert.Equal(t, "NO_PROXY\nNULL\n", u.ok("/getproxyusage", id)+u.ok("/getproxylist", id))
	u.ok("/setcredentials", id, "server", "basic", "me", "secret")
	assert.Equal(t, "Credentials removed.\n", u.ok("/removecredentials", id, "SERVER", "BASIC"))
	assert.Equal(t, "No credentials to remove (S_FALSE).\n", u.ok("/removecredentials", id, "SERVER", "BASIC"))
	u.ok("/setmaxdownloadtime", id, "0")
	assert.Equal(t, "0\n", u.ok("/getmaxdownloadtime", id))
	assert.Equal(t, "DOWNLOAD\n", u.ok("/gettype", id))
	assert.Equal(t, u.sid()+"\n", u.ok("/getowner", id))
	assert.Equal(t, "0\n", u.ok("/getbytestotal", id), "a job without files has 0 bytes")
	assert.NotEqual(t, "UNKNOWN\n", u.ok("/getcreationtime", id))
	assert.NotEqual(t, "UNKNOWN\n", u.ok("/getmodificationtime", id))

	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(u.ok("/getpriority", id, "/json")), &got))
	assert.Equal(t, map[string]any{"id": id, "priority": "HIGH"}, got)
	require.NoError(t, json.Unmarshal([]byte(u.ok("/setpriority", id, "LOW", "--json")), &got))
	assert.Equal(t, "S_OK", got["result"])

	assert.Equal(t, "Job suspended.\n", u.ok("/suspend", id))
	assert.Equal(t, "Job canceled.\n", u.ok("/cancel", id))
	jobs, _ := u.list()
	assert.Empty(t, jobs)
}

// /WAIT /TIMEOUT gives up on a job that does not finish, with exit status 1.
func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	srv := bitstest.NewServer(map[string][]byte{"slow.bin": content(100_000, 9)}, bitstest.Stall(1000))
	defer srv.Close()
	u := newUser(t)
	id := u.create("slow")
	u.ok("/addfile", id, srv.URLFor("slow.bin"), filepath.Join(t.TempDir(), "slow.bin"))
	u.ok("/resume", id)
	r := u.fails(exitNotTransferred, "/wait", id, "/timeout", "0.5", "/json")
	var got jobJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	require.NotNil(t, got.TimedOut)
	assert.True(t, *got.TimedOut)
	assert.Contains(t, r.stderr, "Timed out: job "+id)
	// The job goes on in the service: /WAIT only watched it.
	assert.Contains(t, []string{"CONNECTING\n", "TRANSFERRING\n"}, u.ok("/getstate", id))
}

// /MONITOR /COUNT n --json prints n refreshes as one array, hosting the service meanwhile.
func TestMonitorJSON(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	u.create("watched")
	var snaps []struct {
		Time time.Time `json:"time"`
		Jobs []jobJSON `json:"jobs"`
	}
	out := u.ok("/monitor", "/count", "3", "/refresh", "0.01", "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &snaps), out)
	require.Len(t, snaps, 3)
	for _, s := range snaps {
		require.Len(t, s.Jobs, 1)
		assert.Equal(t, "watched", s.Jobs[0].Name)
	}
	text := u.ok("/monitor", "/count", "1")
	assert.Contains(t, text, "MONITORING BACKGROUND COPY MANAGER (5 second refresh)")
	assert.Contains(t, text, "'watched' SUSPENDED 0 / 0 0 / 0\nListed 1 job(s).")
}

// demoUser is a user whose temporary directory is tmp, where /DEMO makes its directory.
func demoUser(t *testing.T) (*user, string) {
	u := newUser(t)
	tmp := t.TempDir()
	u.env = append(u.env, "TMPDIR="+tmp, "TMP="+tmp, "TEMP="+tmp)
	return u, tmp
}

// /DEMO downloads the embedded file through a cut connection and checks it, then retries a job
// through a day of server errors in virtual time and shows two notification rules; it leaves
// no directory behind.
func TestDemo(t *testing.T) {
	t.Parallel()
	u, tmp := demoUser(t)
	out := u.ok("/demo")
	data, err := os.ReadFile(filepath.Join("testdata", "demo", demoName))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Contains(t, out, "sha256: "+hex.EncodeToString(sum[:])+" (matches the source)")
	assert.Contains(t, out, "state:  ACKNOWLEDGED")
	assert.Contains(t, out, "BG_E_CONNECTION_CLOSED", "the demo shows a cut connection")
	assert.Contains(t, out, "GET /bitsemu-demo.txt Range: bytes=0-1048575 (the server cuts it after 419431 bytes)")
	assert.Contains(t, out, "Range: bytes=419431-", "and the ranged GET that resumes it")
	assert.LessOrEqual(t, len(data), 1<<20)

	// A day of 503s, retried every 10 minutes, in virtual time.
	assert.Contains(t, out, "Its server answers 503 for\nthe first 24 hours; the job's minimum retry delay is 10 minutes.")
	assert.Contains(t, out, "  +0s        TRANSIENT_ERROR after the first attempt: BG_E_HTTP_ERROR_503\n")
	assert.Contains(t, out, "  +24h0m0s   TRANSFERRED after 144 transient errors (146 requests to the server)\n",
		"a failed attempt every 10 minutes until the server recovers at 24 h, then HEAD and GET")
	m := regexp.MustCompile(`Virtual time elapsed: 24h0m0s; real time taken: (\d+) ms\.`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	ms, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.Less(t, ms, 24*60*60*1000, "a virtual day takes less than a real one")

	// The notification rules.
	assert.Contains(t, out, "A callback set after the job became TRANSFERRED is called at once: JobTransferred ran at\n"+
		"+24h0m0s, and Complete inside it gave S_OK (the file arrived whole).")
	assert.Contains(t, out, "the last registration wins. JobTransferred\ncalls: first callback 0, second callback 1.")

	// Nothing is left behind.
	assert.Contains(t, out, "bitsadmin /demo /keep keeps the file.")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the demo removes its directory")
}

// /DEMO /KEEP keeps the downloaded file (and nothing else); --json reports both parts.
func TestDemoKeepJSON(t *testing.T) {
	t.Parallel()
	u, tmp := demoUser(t)
	var got struct {
		Local      string   `json:"local"`
		Kept       bool     `json:"kept"`
		Verified   bool     `json:"verified"`
		State      string   `json:"state"`
		Requests   []string `json:"requests"`
		VirtualDay struct {
			VirtualElapsed         string `json:"virtualElapsed"`
			RealMs                 int64  `json:"realMs"`
			TransientErrors        int    `json:"transientErrors"`
			LateCallbackAt         string `json:"lateCallbackAt"`
			LateCallbackComplete   string `json:"lateCallbackComplete"`
			ReplacedCallbackCalls  int    `json:"replacedCallbackCalls"`
			ReplacingCallbackCalls int    `json:"replacingCallbackCalls"`
		} `json:"virtualDay"`
	}
	out := u.ok("/demo", "/keep", "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.True(t, got.Kept)
	assert.True(t, got.Verified)
	assert.Equal(t, "ACKNOWLEDGED", got.State)
	require.GreaterOrEqual(t, len(got.Requests), 3, "HEAD, the cut GET and the resuming GET")
	assert.Contains(t, got.Requests[1], "(the server cuts it after 419431 bytes)")
	assert.Contains(t, got.Requests[len(got.Requests)-1], "Range: bytes=419431-")
	assert.Equal(t, "24h0m0s", got.VirtualDay.VirtualElapsed)
	assert.Equal(t, 144, got.VirtualDay.TransientErrors)
	assert.Equal(t, "24h0m0s", got.VirtualDay.LateCallbackAt)
	assert.Equal(t, "S_OK", got.VirtualDay.LateCallbackComplete)
	assert.Equal(t, 0, got.VirtualDay.ReplacedCallbackCalls)
	assert.Equal(t, 1, got.VirtualDay.ReplacingCallbackCalls)

	data, err := os.ReadFile(filepath.Join("testdata", "demo", demoName))
	require.NoError(t, err)
	matches, err := filepath.Glob(filepath.Join(tmp, "bitsemu-demo-*", demoName))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	assert.Equal(t, matches[0], got.Local)
	kept, err := os.ReadFile(matches[0])
	require.NoError(t, err)
	assert.Equal(t, data, kept)
	entries, err := os.ReadDir(filepath.Dir(matches[0]))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the file stays: no store, no files of the virtual part")
	assert.Equal(t, demoName, entries[0].Name())
}

// /ADDFILESET adds every listed file; /LISTFILES shows them.
func TestAddFileSet(t *testing.T) {
	t.Parallel()
	srv := bitstest.NewServer(map[string][]byte{"a": content(100, 10), "b": content(200, 11)})
	defer srv.Close()
	u := newUser(t)
	dir := t.TempDir()
	list := filepath.Join(dir, "files.txt")
	require.NoError(t, os.WriteFile(list, []byte("# two files\n\n"+
		srv.URLFor("a")+" "+filepath.Join(dir, "a")+"\n"+
		srv.URLFor("b")+"\t"+filepath.Join(dir, "b")+"\n"), 0o644))
	id := u.create("set")
	assert.Equal(t, "Added 2 file(s) to job.\n", u.ok("/addfileset", id, list))
	out := u.ok("/listfiles", id)
	assert.Contains(t, out, "0 / UNKNOWN WORKING "+srv.URLFor("b")+" -> "+filepath.Join(dir, "b"))
	assert.Contains(t, out, "Listed 2 file(s).")
	u.ok("/resume", id)
	u.ok("/wait", id)
	u.ok("/complete", id)
	got, err := os.ReadFile(filepath.Join(dir, "b"))
	require.NoError(t, err)
	assert.Equal(t, content(200, 11), got)
}

// /HELP and /? print every verb on standard output.
func TestHelp(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	for _, v := range []string{"/help", "/?", "/HELP"} {
		out := u.ok(v)
		for _, verb := range []string{"/TRANSFER", "/GETERROR", "/SETPROXYSETTINGS", "/DEMO", "/MONITOR",
			"/ADDFILEWITHRANGES", "/REPLACEREMOTEPREFIX", "/GETCUSTOMHEADERS", "/SETSECURITYFLAGS", "/GETSECURITYFLAGS",
			"/SETACLFLAG", "/GETACLFLAGS", "/SETHTTPMETHOD", "/GETHTTPMETHOD", "/SETPEERCACHINGFLAGS", "/GETPEERCACHINGFLAGS",
			"/MAKECUSTOMHEADERSWRITEONLY", "/GETNOTIFYINTERFACE", "/GETTEMPORARYNAME", "/SETVALIDATIONSTATE", "/GETVALIDATIONSTATE"} {
			assert.Contains(t, out, verb)
		}
		for _, status := range []string{"1 a BITS failure", "2 a command line that does not parse", "3 a job /TRANSFER or /WAIT",
			"4 the store's service could\nnot be reached"} {
			assert.Contains(t, out, strings.ReplaceAll(status, "\\n", "\n"))
		}
	}
}

// Ctrl-C during /TRANSFER cancels the job: nothing is left in the store or on disk.
func TestTransferInterrupted(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGINT")
	}
	t.Parallel()
	srv := bitstest.NewServer(map[string][]byte{"big.bin": content(200_000, 12)}, bitstest.Stall(50_000))
	defer srv.Close()
	u := newUser(t)
	dst := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := u.command(ctx, "/transfer", "interrupted", srv.URLFor("big.bin"), filepath.Join(dst, "big.bin"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	require.NoError(t, srv.WaitFor(ctx, func(s bitstest.Stats) bool { return s.Stalled > 0 }))
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	require.Error(t, err)
	assert.Equal(t, exitNotTransferred, cmd.ProcessState.ExitCode())
	assert.Contains(t, stderr.String(), "Transfer interrupted")
	assert.Contains(t, stderr.String(), "cancelled")
	jobs, _ := u.list()
	assert.Empty(t, jobs)
	left, err := os.ReadDir(dst)
	require.NoError(t, err)
	assert.Empty(t, left, "the temporary file is deleted with the job")

	// Under --json the interrupted job is the document.
	cmd = u.command(ctx, "--json", "/transfer", "interrupted too", srv.URLFor("big.bin"), filepath.Join(dst, "big.bin"))
	var stdout strings.Builder
	cmd.Stdout = &stdout
	gets := srv.Stats().Gets
	require.NoError(t, cmd.Start())
	require.NoError(t, srv.WaitFor(ctx, func(s bitstest.Stats) bool { return s.Gets > gets }))
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.Error(t, cmd.Wait())
	assert.Equal(t, exitNotTransferred, cmd.ProcessState.ExitCode())
	var doc struct {
		Name       string `json:"name"`
		Result     string `json:"result"`
		FinalState string `json:"final_state"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &doc), stdout.String())
	assert.Equal(t, "interrupted too", doc.Name)
	assert.Equal(t, "INTERRUPTED", doc.Result)
	assert.Equal(t, "CANCELLED", doc.FinalState)
	jobs, _ = u.list()
	assert.Empty(t, jobs)
}

// /TRANSFER /UPLOAD sends a file to a BITS upload server; /TRANSFER /UPLOAD-REPLY also brings
// back the server application's reply to the reply file.
func TestTransferUpload(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("BITS-Copy-File-To-Destination", "true") // keep the upload too
		fmt.Fprintf(w, "got %d bytes", len(b))
	}))
	defer app.Close()
	srv := bitstest.NewUploadServer(t.TempDir(), upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: app.URL,
		ErrorLog: log.New(io.Discard, "", 0)})
	defer srv.Close()
	u := newUser(t)
	src := t.TempDir()
	data := content(300_000, 21)
	local := filepath.Join(src, "report.bin")
	require.NoError(t, os.WriteFile(local, data, 0o644))

	out := u.ok("/TRANSFER", "up", "/UPLOAD", srv.URLFor("plain.bin"), local)
	assert.Contains(t, out, "DISPLAY: 'up' TYPE: UPLOAD PRIORITY: NORMAL")
	assert.Contains(t, out, "TRANSFERRED     FILES: 1 / 1 BYTES: 300000 / 300000 (100%)")
	assert.Contains(t, out, "Transfer complete.\n  "+local+" -> "+srv.URLFor("plain.bin"))
	got, err := os.ReadFile(filepath.Join(srv.Dir, "plain.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)

	reply := filepath.Join(t.TempDir(), "reply.txt")
	out = u.ok("/transfer", "ask", "/upload-reply", "/replyfile", reply, srv.URLFor("ask.bin"), local)
	assert.Contains(t, out, "TYPE: UPLOAD_REPLY")
	assert.Contains(t, out, "  reply -> "+reply)
	answer, err := os.ReadFile(reply)
	require.NoError(t, err)
	assert.Equal(t, "got 300000 bytes", string(answer))
	jobs, _ := u.list()
	assert.Empty(t, jobs, "completed jobs leave the queue")
}

// An upload-reply job step by step: /CREATE /UPLOAD-REPLY, /ADDFILE, /SETREPLYFILENAME,
// /RESUME, /WAIT, the reply verbs, /COMPLETE.
func TestUploadReplyAcrossInvocations(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("OK\x00\xff"))
	}))
	defer app.Close()
	srv := bitstest.NewUploadServer(t.TempDir(), upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: app.URL,
		ErrorLog: log.New(io.Discard, "", 0)})
	defer srv.Close()
	u := newUser(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "in.bin")
	require.NoError(t, os.WriteFile(local, content(5000, 22), 0o644))

	id := u.create("/UPLOAD-REPLY", "ask")
	u.ok("/addfile", id, srv.URLFor("in.bin"), local)
	assert.Equal(t, filepath.Join(dir, "BITS-reply-"+strings.ToLower(strings.Trim(id, "{}"))+".tmp")+"\n", u.ok("/getreplyfilename", id),
		"a name beside the upload file until one is set")
	reply := filepath.Join(dir, "answer.bin")
	assert.Equal(t, "Reply file name set to '"+reply+"'.\n", u.ok("/setreplyfilename", id, reply))
	assert.Equal(t, reply+"\n", u.ok("/getreplyfilename", id))
	assert.Equal(t, "REPLY: 0 / UNKNOWN\n", u.ok("/getreplyprogress", id))
	r := u.fails(1, "/getreplydata", id)
	assert.Contains(t, r.stderr, "BG_E_INVALID_STATE (0x80200002)")

	u.ok("/resume", id)
	assert.Equal(t, "TRANSFERRED\n", u.ok("/wait", id, "/timeout", "30"))
	assert.Equal(t, "REPLY: 4 / 4 (100%)\n", u.ok("/getreplyprogress", id))
	assert.Equal(t, "00000000  4f 4b 00 ff                                       |OK..|\n", u.ok("/getreplydata", id))
	var data struct {
		ID   string  `json:"id"`
		Size int     `json:"reply_size"`
		Data *string `json:"reply_data"`
	}
	require.NoError(t, json.Unmarshal([]byte(u.ok("/getreplydata", id, "/json")), &data))
	assert.Equal(t, id, data.ID)
	assert.Equal(t, 4, data.Size)
	require.NotNil(t, data.Data)
	assert.Equal(t, "4f4b00ff", *data.Data)
	r = u.fails(1, "/setreplyfilename", id, filepath.Join(dir, "late.bin"))
	assert.Contains(t, r.stderr, "BG_E_INVALID_STATE (0x80200002)", "the reply has started")
	info := u.ok("/info", id, "/verbose")
	assert.Contains(t, info, "REPLY FILE: "+reply+" REPLY: 4 / 4")

	_, err := os.Stat(reply)
	assert.True(t, os.IsNotExist(err), "the reply file appears on Complete")
	assert.Equal(t, "Job completed.\n", u.ok("/complete", id))
	got, err := os.ReadFile(reply)
	require.NoError(t, err)
	assert.Equal(t, "OK\x00\xff", string(got))

	// The reply verbs on a download job: E_NOTIMPL.
	dl := u.create("dl")
	for _, verb := range []string{"/getreplyfilename", "/getreplyprogress", "/getreplydata"} {
		r := u.fails(1, verb, dl)
		assert.Contains(t, r.stderr, "E_NOTIMPL (0x80004001)", verb)
	}
	r = u.fails(1, "/setreplyfilename", dl, reply)
	assert.Contains(t, r.stderr, "E_NOTIMPL (0x80004001)")
}
