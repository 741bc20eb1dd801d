package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// run, in process, with an environment of its own: the commands start the store's service (the
// built bitsadmin) and talk to it.
func TestRunInProcess(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	env := map[string]string{envStore: store}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	t.Cleanup(func() { run([]string{"/shutdown"}, &out, &errb, getenv) })
	require.Equal(t, 0, run([]string{"/create", "/download", "inproc"}, &out, &errb, getenv), errb.String())
	assert.Regexp(t, `^Created job \{[0-9A-F-]{36}\}\.\n$`, out.String())

	out.Reset()
	require.Equal(t, 0, run([]string{"--json", "/LIST"}, &out, &errb, getenv), errb.String())
	var jobs []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &jobs))
	require.Len(t, jobs, 1)
	assert.Equal(t, "inproc", jobs[0]["name"])
	u := &user{t: t, store: store}
	assert.Equal(t, u.sid(), jobs[0]["owner"])

	// /store on the command line wins over the environment.
	out.Reset()
	other := filepath.Join(t.TempDir(), "other")
	t.Cleanup(func() { run([]string{"/shutdown", "/store", other}, &out, &errb, getenv) })
	require.Equal(t, 0, run([]string{"/list", "/store", other}, &out, &errb, getenv), errb.String())
	assert.Equal(t, "Listed 0 job(s).\n", out.String())
	require.Equal(t, 0, run([]string{"--store=" + other, "/list"}, &out, &errb, getenv), errb.String())

	errb.Reset()
	assert.Equal(t, 2, run([]string{"/nope"}, &out, &errb, getenv))
	assert.Contains(t, errb.String(), "unknown verb /nope")
}

func TestJobReferences(t *testing.T) {
	for _, ref := range []string{
		"{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
		"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
		"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
	} {
		assert.True(t, looksLikeGUID(ref), ref)
		id, ok := parseGUID(ref)
		require.True(t, ok, ref)
		assert.Equal(t, "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}", job.GUIDString(id))
	}
	for _, ref := range []string{"{0F1E2D3C}", "{zz1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1FZ"} {
		assert.True(t, looksLikeGUID(ref), ref)
		_, ok := parseGUID(ref)
		assert.False(t, ok, ref)
	}
	for _, name := range []string{"nightly", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "my {job"} {
		assert.False(t, looksLikeGUID(name), name)
	}
}

func TestOptionParsing(t *testing.T) {
	v := lookupVerb("transfer")
	a, err := v.parse([]string{"name", "/PRIORITY", "high", "--download", "/tmp/src", "/tmp/dst", "--", "/priority"})
	require.NoError(t, err)
	assert.Equal(t, []string{"name", "/tmp/src", "/tmp/dst", "/priority"}, a.pos, "paths and what follows -- stay positional")
	assert.True(t, a.flag("download"))
	p, _ := a.value("priority")
	assert.Equal(t, "high", p)

	// bitsadmin transfer's switches come in any order between the name and the files; after the
	// first remote name every argument is a name, even one spelled like a switch.
	a, err = v.parse([]string{"t", "/dynamic", "/ACLFLAGS", "og", "/priority", "low", "/upload", "http://h/a", "/dynamic", "http://h/b", "/priority"})
	require.NoError(t, err)
	assert.Equal(t, []string{"t", "http://h/a", "/dynamic", "http://h/b", "/priority"}, a.pos)
	assert.True(t, a.flag("dynamic"))
	assert.True(t, a.flag("upload"))
	acl, _ := a.value("aclflags")
	assert.Equal(t, "og", acl)
	ts, err := transferOptions(a)
	require.NoError(t, err)
	assert.Equal(t, bits.CopyFileOwner|bits.CopyFileGroup, ts.acl)
	assert.Equal(t, bits.Low, ts.prio)
	assert.Equal(t, []bits.FileInfo{{RemoteName: "http://h/a", LocalName: "/dynamic"}, {RemoteName: "http://h/b", LocalName: "/priority"}}, ts.files)
	assert.True(t, ts.dynamic)

	for in, want := range map[string]uint32{"o": 1, "G": 2, "dS": 12, "sdgo": 15, "NULL": 0, "0": 0} {
		got, err := parseACLFlags(v, in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "og1"} {
		_, err := parseACLFlags(v, in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "NONE", aclText(0))
	assert.Equal(t, "ogds", aclText(15))
}

// The JSON documents keep their members' names and order: a job, verbose and not, and a failure.
func TestJSONDocuments(t *testing.T) {
	ji := &jobInfo{id: "{X}", name: "n", typ: bits.Download, state: state.Suspended, priority: bits.Normal, owner: "S-1",
		progress: bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}}
	b, err := json.Marshal(ji.json())
	require.NoError(t, err)
	assert.Equal(t, `{"id":"{X}","name":"n","description":"","type":"DOWNLOAD","state":"SUSPENDED","priority":"NORMAL",`+
		`"owner":"S-1","bytes_total":null,"bytes_transferred":0,"files_total":1,"files_transferred":0,"error_count":0,`+
		`"error":null,"creation_time":null,"modification_time":null,"completion_time":null}`, string(b))

	ji.verbose = true
	ji.files = []fileInfo{{remote: "r", local: "l", temp: "t", progress: bits.FileProgress{BytesTotal: 5, BytesTransferred: 5, Completed: true}}}
	ji.cmdLine = bits.NotifyCmdLine{Program: "p", Parameters: "a"}
	ji.integrity = bits.IntegrityMedium
	b, err = json.Marshal(transferDoc{jobDoc: ji.json(), Result: "S_OK", FinalState: "ACKNOWLEDGED"})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"completion_time":null,"min_retry_delay":0,"no_progress_timeout":0,"max_download_time":0,`+
		`"notify_flags":0,"notify_cmdline":{"program":"p","parameters":"a"},"proxy":{"usage":"PRECONFIG","list":"","bypass":""},`+
		`"owner_integrity_level":"MEDIUM","owner_elevated":false,"files":[{"remote":"r","local":"l","temporary":"t",`+
		`"bytes_total":5,"bytes_transferred":5,"completed":true}],"acl_flags":"","security_flags":0,"peer_caching_flags":0,`+
		`"http_method":"","dynamic_content":false,"result":"S_OK","final_state":"ACKNOWLEDGED"}`)

	b, err = json.Marshal(failureDoc{Error: errorJSON(failed("resume", &hresult.Error{Op: "Resume", Code: hresult.BG_E_INVALID_STATE})), ExitStatus: 1})
	require.NoError(t, err)
	assert.Equal(t, `{"error":{"code":"0x80200002","name":"BG_E_INVALID_STATE","message":"`+hresult.BG_E_INVALID_STATE.Message()+
		`","text":"unable to resume: Resume: `+hresult.BG_E_INVALID_STATE.Error()+`","operation":"Resume","job":"","state":""},"exit_status":1}`, string(b))
	b, err = json.Marshal(errorJSON(usagef(nil, "bad")))
	require.NoError(t, err)
	assert.Equal(t, `{"usage":"bad"}`, string(b))

	assert.Nil(t, byteJSON(bits.SizeUnknown))
	assert.Equal(t, "UNKNOWN", byteCount(bits.SizeUnknown))
}

func TestProgressView(t *testing.T) {
	var b strings.Builder
	tty := newProgress(&b, true)
	tty.show(state.Transferring, bits.Progress{BytesTotal: 100, BytesTransferred: 50, FilesTotal: 1}, "")
	tty.show(state.Transferred, bits.Progress{BytesTotal: 100, BytesTransferred: 100, FilesTotal: 1, FilesTransferred: 1}, "")
	tty.end()
	assert.Equal(t, "\r\x1b[K[##########..........] TRANSFERRING    FILES: 0 / 1 BYTES: 50 / 100 (50%)"+
		"\r\x1b[K[####################] TRANSFERRED     FILES: 1 / 1 BYTES: 100 / 100 (100%)\n", b.String())

	b.Reset()
	plain := newProgress(&b, false)
	plain.show(state.Queued, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "")
	plain.show(state.Queued, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "")
	plain.show(state.TransientError, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "BG_E_CONNECTION_CLOSED")
	plain.end()
	assert.Equal(t, "QUEUED          FILES: 0 / 1 BYTES: 0 / UNKNOWN\n"+
		"TRANSIENT_ERROR FILES: 0 / 1 BYTES: 0 / UNKNOWN BG_E_CONNECTION_CLOSED\n", b.String())
}
