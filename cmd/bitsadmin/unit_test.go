package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	tty := newProgress(&b, true)
	tty.width = func() int { return 100 }
	tty.show(t0, state.Transferring, bits.Progress{BytesTotal: 100, BytesTransferred: 50, FilesTotal: 1}, "")
	tty.show(t0.Add(time.Second), state.Transferring, bits.Progress{BytesTotal: 100, BytesTransferred: 50, FilesTotal: 1}, "")
	tty.show(t0.Add(2*time.Second), state.Transferred, bits.Progress{BytesTotal: 100, BytesTransferred: 100, FilesTotal: 1, FilesTransferred: 1}, "")
	tty.end()
	assert.Equal(t, "\r[##############..............] TRANSFERRING    FILES: 0 / 1 BYTES: 50 / 100 (50%)\x1b[K"+
		"\r[############################] TRANSFERRED     FILES: 1 / 1 BYTES: 100 / 100 (100%)\x1b[K\n", b.String(),
		"an unchanged line is not drawn again")

	b.Reset()
	plain := newProgress(&b, false)
	plain.show(t0, state.Queued, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "")
	plain.show(t0, state.Queued, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "")
	plain.show(t0, state.TransientError, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, "BG_E_CONNECTION_CLOSED")
	plain.show(t0.Add(time.Second), state.Transferring, bits.Progress{BytesTotal: 4 << 20, BytesTransferred: 1 << 20, FilesTotal: 1}, "")
	plain.show(t0.Add(1500*time.Millisecond), state.Transferring, bits.Progress{BytesTotal: 4 << 20, BytesTransferred: 2 << 20, FilesTotal: 1}, "")
	plain.show(t0.Add(2*time.Second), state.Transferring, bits.Progress{BytesTotal: 4 << 20, BytesTransferred: 3 << 20, FilesTotal: 1}, "")
	plain.end()
	assert.Equal(t, "QUEUED          FILES: 0 / 1 BYTES: 0 / UNKNOWN\n"+
		"TRANSIENT_ERROR FILES: 0 / 1 BYTES: 0 / UNKNOWN BG_E_CONNECTION_CLOSED\n"+
		"TRANSFERRING    FILES: 0 / 1 BYTES: 1048576 / 4194304 (25%) 1.0 MiB/s ETA 0:03\n"+
		"TRANSFERRING    FILES: 0 / 1 BYTES: 3145728 / 4194304 (75%) 1.5 MiB/s ETA 0:01\n", b.String(),
		"plain lines: one per state, then at most one a second, with the rate once known")
}

func TestProgressRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := newProgress(io.Discard, false)
	assert.Zero(t, v.rate(t0, 0), "one sample gives no rate")
	assert.InDelta(t, 1000, v.rate(t0.Add(time.Second), 1000), 0.001)
	// Over the window only: after a stall of 10 s the old fast samples are forgotten.
	assert.InDelta(t, 1000, v.rate(t0.Add(2*time.Second), 2000), 0.001)
	for i := 3; i <= 12; i++ {
		v.rate(t0.Add(time.Duration(i)*time.Second), 2000)
	}
	assert.Zero(t, v.rate(t0.Add(13*time.Second), 2000), "no bytes in the window: rate 0")
	assert.LessOrEqual(t, len(v.samples), 8, "old samples are dropped")
	// A count that goes down (a restarted file) starts again.
	assert.Zero(t, v.rate(t0.Add(14*time.Second), 10))
	assert.InDelta(t, 500, v.rate(t0.Add(16*time.Second), 1010), 0.001)
}

func TestProgressFormatting(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want string
	}{{0.4, "0 B/s"}, {512, "512 B/s"}, {1023, "1023 B/s"}, {1024, "1.0 KiB/s"}, {1536 << 10, "1.5 MiB/s"}, {3 << 30, "3.0 GiB/s"}, {1 << 50, "1024.0 TiB/s"}} {
		assert.Equal(t, c.want, rateText(c.rate), "%v", c.rate)
	}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0:00"}, {time.Millisecond, "0:01"}, {59 * time.Second, "0:59"}, {61 * time.Second, "1:01"},
		{3599 * time.Second, "59:59"}, {3600 * time.Second, "1:00:00"}, {26*time.Hour + 3*time.Minute + 4*time.Second, "26:03:04"},
		{100 * time.Hour, "--:--"}} {
		assert.Equal(t, c.want, etaText(c.d), "%v", c.d)
	}

	p := bits.Progress{BytesTotal: 10 << 20, BytesTransferred: 4 << 20, FilesTotal: 2, FilesTransferred: 1}
	text := progressText(state.Transferring, p, 2<<20, "")
	assert.Equal(t, "TRANSFERRING    FILES: 1 / 2 BYTES: 4194304 / 10485760 (40%) 2.0 MiB/s ETA 0:03", text)
	assert.Equal(t, "TRANSFERRING    FILES: 1 / 2 BYTES: 4194304 / UNKNOWN 2.0 MiB/s",
		progressText(state.Transferring, bits.Progress{BytesTotal: bits.SizeUnknown, BytesTransferred: 4 << 20, FilesTotal: 2, FilesTransferred: 1}, 2<<20, ""),
		"no ETA while the size is unknown")
	assert.Equal(t, "TRANSIENT_ERROR FILES: 1 / 2 BYTES: 4194304 / 10485760 (40%) BG_E_HTTP_ERROR_503",
		progressText(state.TransientError, p, 2<<20, "BG_E_HTTP_ERROR_503"), "no rate when not transferring")

	for _, width := range []int{1, 2, 10, 40, 79, 80, 81, 120, 200, 1000} {
		line := terminalLine(width, p, text)
		assert.LessOrEqual(t, utf8.RuneCountInString(line), max(width-1, 1), "width %d: %q", width, line)
		assert.NotContains(t, line, "\n")
		if width >= 120 {
			assert.True(t, strings.HasPrefix(line, "[###########.................] "), "a bar 30 columns wide when there is room: %q", line)
			assert.True(t, strings.HasSuffix(line, text), "the whole text when there is room: %q", line)
		}
	}
	assert.Equal(t, text[:39], terminalLine(40, p, text), "no bar on a narrow terminal; the text is cut")
	assert.Equal(t, "[###.....] "+text, terminalLine(len(text)+12, p, text), "the bar shrinks to fit")
	assert.Equal(t, text, terminalLine(len(text)+11, p, text), "a bar under 10 columns is left out")
	assert.Equal(t, "ab\u00e9", truncate("ab\u00e9cd", 3), "cut by runes, not bytes")
}

func TestMonitorScreen(t *testing.T) {
	lines := []string{"MONITORING", strings.Repeat("x", 50), "short"}
	assert.Equal(t, "\x1b[HMONITORING\x1b[K\r\n"+strings.Repeat("x", 19)+"\x1b[K\r\nshort\x1b[K\r\n\x1b[J", screen(lines, 20, 24, false),
		"lines cut to the width, each line's rest and the screen's rest erased")
	s := screen(append(lines, "4", "5", "6"), 80, 4, false)
	assert.Equal(t, "\x1b[HMONITORING\x1b[K\r\n"+strings.Repeat("x", 50)+"\x1b[K\r\n... 4 more line(s); widen or heighten the terminal\x1b[K\r\n\x1b[J", s,
		"no more lines than the height less one: the screen never scrolls")
	assert.Equal(t, 3, strings.Count(s, "\n"))

	// /WRAP: long lines are whole and take the rows they wrap to.
	s = screen(lines, 20, 24, true)
	assert.Contains(t, s, strings.Repeat("x", 50)+"\x1b[K")
	s = screen(lines, 20, 4, true)
	assert.Equal(t, "\x1b[HMONITORING\x1b[K\r\n... 2 more line(s); widen or heighten the terminal\x1b[K\r\n\x1b[J", s,
		"the 50-column line needs 3 rows of 20: it does not fit in the 3 rows left")
}

func TestCutWriter(t *testing.T) {
	var b strings.Builder
	width := 8
	cw := &cutWriter{w: &b, width: func() int { return width }}
	_, err := io.WriteString(cw, "short\nmuch too long a line\n\x1b[1mbold text here\x1b[0m\rab")
	require.NoError(t, err)
	width = 3
	_, err = io.WriteString(cw, "cdef")
	require.NoError(t, err)
	require.NoError(t, cw.flush())
	assert.Equal(t, "short\nmuch to\n\x1b[1mbold te\x1b[0m\rab", b.String(),
		"each line cut to width-1 with its escapes kept; a partial line cut to the width when it is flushed")
	assert.Equal(t, "\x1b[2Kab\x1b[0m", cutVisible("\x1b[2Kabc\x1b[0m", 2))
}
