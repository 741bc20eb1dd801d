package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
)

// The HTTP options, ACL and peer-caching flags: set, read back as text, bare and JSON, and
// refused with the right status.
func TestHTTPOptionVerbs(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	id := u.create("options")

	assert.Equal(t, "0x0000\n", u.ok("/getsecurityflags", id))
	assert.Equal(t, "Security flags set to 257.\n", u.ok("/setsecurityflags", id, "0x0101"))
	assert.Equal(t, "0x0101\n", u.ok("/getsecurityflags", id))
	assert.Equal(t, "0x0101", u.ok("/rawreturn", "/getsecurityflags", id))

	assert.Equal(t, "NONE\n", u.ok("/getaclflags", id))
	assert.Equal(t, "ACL flags set to og.\n", u.ok("/setaclflag", id, "go"))
	assert.Equal(t, "og\n", u.ok("/getaclflags", id))
	u.ok("/SetACLFlags", id, "DS") // bitsadmin's example spells the verb with an s
	var acl map[string]any
	require.NoError(t, json.Unmarshal([]byte(u.ok("/getaclflags", id, "--json")), &acl))
	assert.Equal(t, map[string]any{"id": id, "acl_flags": "ds", "acl_flags_value": float64(12)}, acl)
	u.ok("/setaclflag", id, "NULL")
	assert.Equal(t, "NONE\n", u.ok("/getaclflags", id))

	assert.Equal(t, "GET\n", u.ok("/gethttpmethod", id))
	assert.Equal(t, "HTTP method set to PUT.\n", u.ok("/sethttpmethod", id, "PUT"))
	assert.Equal(t, "PUT\n", u.ok("/gethttpmethod", id))

	assert.Equal(t, "0x0\n", u.ok("/getpeercachingflags", id))
	u.ok("/setpeercachingflags", id, "3")
	assert.Equal(t, "0x3\n", u.ok("/getpeercachingflags", id))

	assert.Equal(t, "UNREGISTERED\n", u.ok("/getnotifyinterface", id))

	assert.Equal(t, "NULL\n", u.ok("/getcustomheaders", id))
	u.ok("/setcustomheaders", id, "X-One: 1", "X-Two: 2")
	assert.Equal(t, "X-One: 1\nX-Two: 2\n", u.ok("/getcustomheaders", id))
	var hdrs struct {
		ID      string   `json:"id"`
		Headers []string `json:"custom_headers"`
	}
	require.NoError(t, json.Unmarshal([]byte(u.ok("/getcustomheaders", id, "--json")), &hdrs))
	assert.Equal(t, []string{"X-One: 1", "X-Two: 2"}, hdrs.Headers)
	assert.Equal(t, "Custom headers made write-only.\n", u.ok("/makecustomheaderswriteonly", id))
	r := u.fails(1, "/getcustomheaders", id)
	assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)")
	assert.Contains(t, u.ok("/info", id, "/verbose"), "CUSTOM HEADERS: (not readable: E_ACCESSDENIED)")

	for _, c := range []struct {
		code int
		args []string
		want string
	}{
		{2, []string{"/setaclflag", id, "oxg"}, "letters among o (owner)"},
		{2, []string{"/setsecurityflags", id, "lots"}, "must be a number"},
		{2, []string{"/setpeercachingflags", id}, "/SETPEERCACHINGFLAGS needs job value"},
		{2, []string{"/gethttpmethod"}, "/GETHTTPMETHOD needs job"},
		{1, []string{"/setsecurityflags", id, "0x0300"}, "E_NOTIMPL (0x80004001)"},
		{1, []string{"/setpeercachingflags", id, "8"}, "E_INVALIDARG (0x80070057)"},
		{1, []string{"/sethttpmethod", id, "BAD METHOD"}, "E_INVALIDARG (0x80070057)"},
		{1, []string{"/getsecurityflags", "nosuch"}, "BG_E_NOT_FOUND (0x80200001)"},
	} {
		r := u.fails(c.code, c.args...)
		assert.Contains(t, r.stderr, c.want, "%q", c.args)
		var doc struct {
			Error      map[string]any `json:"error"`
			ExitStatus int            `json:"exit_status"`
		}
		rj := u.fails(c.code, append([]string{"--json"}, c.args...)...)
		require.NoError(t, json.Unmarshal([]byte(rj.stdout), &doc), rj.stdout)
		assert.Equal(t, c.code, doc.ExitStatus, "%q", c.args)
	}
	assert.Equal(t, "0x0101\n", u.ok("/getsecurityflags", id), "a refused value changes nothing")
}

// /ADDFILEWITHRANGES downloads only the ranges; /REPLACEREMOTEPREFIX moves the job's files to
// another server; the file verbs read and set a file by index.
func TestRangesAndPrefix(t *testing.T) {
	t.Parallel()
	data := content(10_000, 21)
	old := bitstest.NewServer(map[string][]byte{})
	defer old.Close()
	srv := bitstest.NewServer(map[string][]byte{"r.bin": data})
	defer srv.Close()
	u := newUser(t)
	local := filepath.Join(t.TempDir(), "r.bin")
	id := u.create("ranges")

	for _, c := range []struct {
		ranges, want string
	}{
		{"0:100,nope", "a range is offset:length"},
		{"x:100", "the offset of range"},
		{"0:many", "neither a number nor eof"},
	} {
		r := u.fails(2, "/addfilewithranges", id, old.URLFor("r.bin"), local, c.ranges)
		assert.Contains(t, r.stderr, c.want, c.ranges)
	}
	r := u.fails(1, "/addfilewithranges", id, old.URLFor("r.bin"), local, "0:100,50:100")
	assert.Contains(t, r.stderr, "BG_E_OVERLAPPING_RANGES (0x8020002C)")

	assert.Equal(t, "Added "+old.URLFor("r.bin")+" -> "+local+" to job (3 range(s)).\n",
		u.ok("/addfilewithranges", id, old.URLFor("r.bin"), local, "0:100,2000:0x64,9000:eof"))

	oldPrefix := strings.TrimSuffix(old.URLFor("r.bin"), "r.bin")
	newPrefix := strings.TrimSuffix(srv.URLFor("r.bin"), "r.bin")
	assert.Equal(t, "No remote name starts with http://nowhere/ (S_FALSE).\n", u.ok("/replaceremoteprefix", id, "http://nowhere/", "http://else/"))
	assert.Equal(t, "S_FALSE", u.ok("/rawreturn", "/replaceremoteprefix", id, "http://nowhere/", "http://else/"))
	u.ok("/replaceremoteprefix", id, oldPrefix, newPrefix)
	assert.Contains(t, u.ok("/listfiles", id), srv.URLFor("r.bin")+" -> "+local)

	assert.Equal(t, "FALSE\n", u.ok("/getvalidationstate", id, "0"))
	r = u.fails(2, "/gettemporaryname", id, "first")
	assert.Contains(t, r.stderr, "the file index is a number")
	r = u.fails(1, "/gettemporaryname", id, "1")
	assert.Contains(t, r.stderr, "E_INVALIDARG (0x80070057)")
	assert.Contains(t, r.stderr, "the job has 1 file(s)")

	u.ok("/resume", id)
	assert.Equal(t, "TRANSFERRED\n", u.ok("/wait", id, "/timeout", "30"))
	tmp := strings.TrimSpace(u.ok("/gettemporaryname", id, "0"))
	assert.Equal(t, filepath.Dir(local), filepath.Dir(tmp), "the temporary file is beside the local one")
	var fv fileValue
	require.NoError(t, json.Unmarshal([]byte(u.ok("/gettemporaryname", id, "0", "--json")), &fv))
	assert.Equal(t, tmp, *fv.TemporaryName)
	assert.Equal(t, "Validation state of file 0 set to TRUE.\n", u.ok("/setvalidationstate", id, "0", "true"))
	assert.Equal(t, "TRUE\n", u.ok("/getvalidationstate", id, "0"))
	u.ok("/complete", id)

	got, err := os.ReadFile(local)
	require.NoError(t, err)
	want := append(append(append([]byte(nil), data[:100]...), data[2000:2100]...), data[9000:]...)
	assert.Equal(t, want, got, "the local file holds the ranges, one after another")
	assert.Zero(t, old.Stats().Gets, "after the prefix was replaced no request went to the old server")
}

// /TRANSFER's switches: /DYNAMIC lets a server without HEAD serve the job (no HEAD is sent);
// without it the same server fails the job. /ACLFLAGS and /PRIORITY reach the job.
func TestTransferSwitches(t *testing.T) {
	t.Parallel()
	a, b := content(50_000, 31), content(700, 32)
	srv := bitstest.NewServer(map[string][]byte{"a.bin": a, "b.bin": b}, bitstest.NoHead())
	defer srv.Close()
	u := newUser(t)
	dst := t.TempDir()
	la, lb := filepath.Join(dst, "a.bin"), filepath.Join(dst, "b.bin")

	out := u.ok("/transfer", "dyn", "/ACLFLAGS", "og", "/DYNAMIC", "/priority", "high",
		srv.URLFor("a.bin"), la, srv.URLFor("b.bin"), lb, "--json")
	var doc struct {
		Priority       string `json:"priority"`
		ACLFlags       string `json:"acl_flags"`
		DynamicContent bool   `json:"dynamic_content"`
		FinalState     string `json:"final_state"`
		Files          []struct {
			Local string `json:"local"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, "HIGH", doc.Priority)
	assert.Equal(t, "og", doc.ACLFlags)
	assert.True(t, doc.DynamicContent)
	assert.Equal(t, "ACKNOWLEDGED", doc.FinalState)
	require.Len(t, doc.Files, 2)
	for name, want := range map[string][]byte{la: a, lb: b} {
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	assert.Zero(t, srv.Stats().Heads, "a dynamic job sends no HEAD")

	r := u.fails(exitNotTransferred, "/transfer", "static", srv.URLFor("a.bin"), filepath.Join(dst, "static.bin"))
	assert.Contains(t, r.stderr, "Transfer failed: BG_E_HTTP_ERROR_405")
	assert.Positive(t, srv.Stats().Heads, "a job without /DYNAMIC asks for the size first")

	r = u.fails(2, "/transfer", "bad", "/aclflags", "x", srv.URLFor("a.bin"), la)
	assert.Contains(t, r.stderr, "letters among o (owner)")
	jobs, _ := u.list()
	assert.Empty(t, jobs)
}
