package manager_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// These tests move real bytes from loopback servers (bitstest.Server, built on
// net/http/httptest) through the manager's scheduler, on a virtual clock: transfers take the
// little real time they take, and timers fire only when a test advances the clock.

const userSID = "S-1-5-21-4242"

// content returns n deterministic bytes that differ with seed.
func content(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func newServer(t *testing.T, files map[string][]byte, faults ...bitstest.Fault) *bitstest.Server {
	t.Helper()
	s := bitstest.NewServer(files, faults...)
	t.Cleanup(s.Close)
	return s
}

// setup returns a harness, a client and a scratch directory.
func setup(t *testing.T, opts ...manager.Option) (*bitstest.Harness, *manager.Client, string) {
	t.Helper()
	h := bitstest.NewHarness(t, opts...)
	return h, h.Connect(userSID), t.TempDir()
}

// download creates a job with the given files (remote → local name in dir).
func download(t *testing.T, c *manager.Client, dir string, remotes ...string) bits.Job {
	t.Helper()
	j, err := c.CreateJob("download", bits.Download)
	require.NoError(t, err)
	for i, r := range remotes {
		require.NoError(t, j.AddFile(r, filepath.Join(dir, fmt.Sprintf("out%d.bin", i))))
	}
	return j
}

// jobError returns the context and code of the job's error object, failing the test when it has
// none.
func jobError(t *testing.T, j bits.Job) (bits.ErrorContext, hresult.Code) {
	t.Helper()
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, err := e.GetError()
	require.NoError(t, err)
	return ctx, code
}

func completeAndRead(t *testing.T, j bits.Job, dir string, n int) [][]byte {
	t.Helper()
	code, err := j.Complete()
	require.NoError(t, err)
	require.Equal(t, hresult.S_OK, code)
	out := make([][]byte, n)
	for i := range out {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out%d.bin", i)))
		require.NoError(t, err)
		out[i] = data
	}
	return out
}

// noTempFiles asserts that dir holds no BITS temporary file.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "BIT*.tmp"))
	require.NoError(t, err)
	assert.Empty(t, left)
}

// faultsServed asserts that s played its whole fault script: every fault with a limited number
// of uses took effect that many times, and at least want faults took effect in all. A fault test
// that passes without its fault proves nothing.
func faultsServed(t *testing.T, s *bitstest.Server, want int) {
	t.Helper()
	assert.Empty(t, s.PendingFaults(), "faults the server never served")
	assert.GreaterOrEqual(t, s.Stats().Faults, want, "faults that took effect")
}

// waitServer steps h until the engine is quiescent (a transfer waiting on a stalled server is),
// then waits until s's stats satisfy cond.
func waitServer(t *testing.T, h *bitstest.Harness, s *bitstest.Server, cond func(bitstest.Stats) bool) {
	t.Helper()
	h.Settle()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, cond))
}

func TestDownloadEndToEnd(t *testing.T) {
	a, b := content(1, 300_000), content(2, 1234)
	srv := newServer(t, map[string][]byte{"a.bin": a, "b.bin": b})
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("a.bin"), srv.URLFor("b.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))

	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: 301_234, BytesTransferred: 301_234, FilesTotal: 2, FilesTransferred: 2}, p)
	times, err := j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, bitstest.Epoch, times.TransferCompletionTime, "no virtual time passed")
	n, err := j.GetErrorCount()
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = j.GetError()
	assert.ErrorIs(t, err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE)
	assert.NoFileExists(t, filepath.Join(dir, "out0.bin"), "local files appear only on Complete")

	got := completeAndRead(t, j, dir, 2)
	assert.Equal(t, a, got[0])
	assert.Equal(t, b, got[1])
	noTempFiles(t, dir)
}

func TestDownloadOverTLS(t *testing.T) {
	data := content(3, 70_000)
	srv := bitstest.NewTLSServer(map[string][]byte{"s.bin": data})
	t.Cleanup(srv.Close)
	h, c, dir := setup(t, bitstest.Trust(srv))
	require.True(t, strings.HasPrefix(srv.URLFor("s.bin"), "https://"))
	j := download(t, c, dir, srv.URLFor("s.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestDownloadUntrustedCertificateIsFatal(t *testing.T) {
	srv := bitstest.NewTLSServer(map[string][]byte{"s.bin": content(3, 10)})
	t.Cleanup(srv.Close)
	h, c, dir := setup(t) // does not trust the server
	j := download(t, c, dir, srv.URLFor("s.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	assert.Equal(t, state.Error, stateOf(t, j))
}

func TestDownloadFromFilesAndFileURLs(t *testing.T) {
	src := t.TempDir()
	a, b := content(4, 5000), content(5, 6000)
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.bin"), a, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "b c.bin"), b, 0o644))
	h, c, dir := setup(t)
	j := download(t, c, dir, filepath.Join(src, "a.bin"), "file://"+filepath.ToSlash(filepath.Join(src, "b%20c.bin")))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	got := completeAndRead(t, j, dir, 2)
	assert.Equal(t, a, got[0])
	assert.Equal(t, b, got[1])
}

func TestMissingSourceFileIsFatal(t *testing.T) {
	h, c, dir := setup(t)
	j := download(t, c, dir, filepath.Join(t.TempDir(), "absent.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, j))
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, _ := e.GetError()
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	assert.Equal(t, hresult.ERROR_FILE_NOT_FOUND, code)
	proto, err := e.GetProtocol()
	require.NoError(t, err)
	assert.Equal(t, "file", proto)
}

func TestFilesTransferOneAtATimeInOrder(t *testing.T) {
	files := map[string][]byte{}
	var remotes []string
	srv := newServer(t, files)
	for i := range 5 {
		name := fmt.Sprintf("f%d.bin", i)
		srv.SetContent(name, content(10+i, 20_000))
		remotes = append(remotes, srv.URLFor(name))
	}
	h, c, dir := setup(t)
	j := download(t, c, dir, remotes...)
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	last := -1
	for _, r := range srv.Requests() {
		var i int
		_, err := fmt.Sscanf(r.Path, "/f%d.bin", &i)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, i, last, "file %d requested after file %d", i, last)
		last = i
	}
	assert.Equal(t, 4, last)
}

func TestHTTPRequirements(t *testing.T) {
	data := content(6, 50_000)
	for _, tt := range []struct {
		name  string
		fault bitstest.Fault
		code  hresult.Code
	}{
		{"no Content-Length", bitstest.NoContentLength(), hresult.BG_E_MISSING_FILE_SIZE},
		{"not found", bitstest.Status(404, 0), hresult.BG_E_HTTP_ERROR_404},
		{"forbidden", bitstest.Status(403, 0), hresult.BG_E_HTTP_ERROR_403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, map[string][]byte{"d.bin": data}, tt.fault)
			h, c, dir := setup(t)
			j := download(t, c, dir, srv.URLFor("d.bin"))
			require.NoError(t, j.Resume())
			h.Settle()
			require.Equal(t, state.Error, stateOf(t, j), "http-requirements: a fatal error")
			e, err := j.GetError()
			require.NoError(t, err)
			ctx, code, _ := e.GetError()
			assert.Equal(t, tt.code, code)
			assert.Equal(t, bits.ContextRemoteFile, ctx)
			f, err := e.GetFile()
			require.NoError(t, err)
			remote, err := f.GetRemoteName()
			require.NoError(t, err)
			assert.Equal(t, srv.URLFor("d.bin"), remote)
		})
	}
}

func TestNoRangeSupportFailsTheResume(t *testing.T) {
	data := content(6, 50_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.DropAfter(1000).Times(1), bitstest.NoRange())
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetPriority(bits.Foreground)) // only foreground jobs take a 200 at all
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, j), "http-requirements: a server that ignores Range cannot resume")
	faultsServed(t, srv, 1)
	ctx, code := jobError(t, j)
	assert.Equal(t, hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT, code)
	assert.Equal(t, bits.ContextRemoteFile, ctx)
}

// Only a FOREGROUND job may take a whole file from a server that ignores Range; HIGH, NORMAL and
// LOW jobs fail with BG_E_INSUFFICIENT_RANGE_SUPPORT, and succeed once made FOREGROUND.
func TestNoRangeSupportFailsABackgroundJob(t *testing.T) {
	for _, prio := range []bits.Priority{bits.High, bits.Normal, bits.Low} {
		t.Run(prio.String(), func(t *testing.T) {
			data := content(6, 50_000)
			srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.NoRange())
			h, c, dir := setup(t)
			j := download(t, c, dir, srv.URLFor("d.bin"))
			require.NoError(t, j.SetPriority(prio))
			require.NoError(t, j.Resume())
			h.Settle()
			require.Equal(t, state.Error, stateOf(t, j), "http-requirements: only a foreground job may take the whole file in one answer")
			ctx, code := jobError(t, j)
			assert.Equal(t, hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT, code)
			assert.Equal(t, bits.ContextRemoteFile, ctx)

			require.NoError(t, j.SetPriority(bits.Foreground))
			require.NoError(t, j.Resume())
			h.Settle()
			require.Equal(t, state.Transferred, stateOf(t, j))
			assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
		})
	}
}

func TestDynamicContentAllowsAPlainServer(t *testing.T) {
	data := content(7, 40_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.NoContentLength(), bitstest.NoRange(), bitstest.NoHead())
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestTransientErrorRetriesAfterTheDelay(t *testing.T) {
	data := content(8, 10_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.Status(503, 1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j))
	ctx, code := jobError(t, j)
	assert.Equal(t, hresult.BG_E_HTTP_ERROR_503, code)
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	n, _ := j.GetErrorCount()
	assert.EqualValues(t, 1, n)

	h.Step(59 * time.Second)
	assert.Equal(t, state.TransientError, stateOf(t, j), "not before the minimum retry delay")
	h.Step(time.Second)
	assert.Equal(t, state.Transferred, stateOf(t, j))
	_, err := j.GetError()
	assert.ErrorIs(t, err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, "the error record goes on entering TRANSFERRING")
	faultsServed(t, srv, 1)
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestNoProgressTimeoutEndsRetries(t *testing.T) {
	srv := newServer(t, map[string][]byte{"d.bin": content(9, 100)}, bitstest.Status(503, 0))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.SetNoProgressTimeout(300))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j))
	h.Step(299 * time.Second)
	assert.Equal(t, state.TransientError, stateOf(t, j))
	h.Step(time.Second)
	assert.Equal(t, state.Error, stateOf(t, j), "ERROR once the no-progress timeout ran out")
	n, _ := j.GetErrorCount()
	assert.EqualValues(t, 5, n, "the first attempt and retries at 60, 120, 180 and 240 s; at 300 s the timeout runs out before the retry")
	h.Step(24 * time.Hour)
	assert.Equal(t, state.Error, stateOf(t, j), "no retry from ERROR")
	assert.Equal(t, 5, srv.Stats().Faults, "every attempt refused")
	assert.Equal(t, 5, srv.Stats().Requests, "one HEAD per attempt")
}

func TestProgressRestartsTheNoProgressTimeout(t *testing.T) {
	data := content(10, 10_000)
	// Every attempt brings 1,000 more bytes before the connection drops.
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.DropAfter(1000).Times(9))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.SetNoProgressTimeout(100))
	require.NoError(t, j.Resume())
	st, _ := h.WaitState(j, time.Hour, state.Transferred, state.Error)
	require.Equal(t, state.Transferred, st, "each retry made progress, so the 100 s timeout never ran out")
	n, _ := j.GetErrorCount()
	assert.EqualValues(t, 9, n)
	faultsServed(t, srv, 9)
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
	assert.EqualValues(t, len(data), srv.Stats().BytesSent, "every retry continued from the exact byte")
}

func TestResumeContinuesFromTheExactByte(t *testing.T) {
	data := content(11, 100_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.DropAfter(12_345).Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j))
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.EqualValues(t, 12_345, p.BytesTransferred)
	require.NoError(t, j.Resume(), "Resume retries at once, ignoring the retry delay")
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	var ranges []string
	for _, r := range srv.Requests() {
		if r.Method == "GET" {
			ranges = append(ranges, r.Range)
		}
	}
	assert.Equal(t, []string{"bytes=0-99999", "bytes=12345-99999"}, ranges)
	faultsServed(t, srv, 1)
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestRemoteFileChangeRestartsThatFileOnly(t *testing.T) {
	a := content(12, 30_000)
	b1, b2 := content(13, 40_000), content(14, 45_000)
	srv := newServer(t, map[string][]byte{"a.bin": a, "b.bin": b1},
		bitstest.ChangeAfter(10_000, b2).On("b.bin"), bitstest.DropAfter(10_000).On("b.bin").Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("a.bin"), srv.URLFor("b.bin"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.Resume())
	st, _ := h.WaitState(j, time.Hour, state.Transferred, state.Error)
	require.Equal(t, state.Transferred, st)
	got := completeAndRead(t, j, dir, 2)
	assert.Equal(t, a, got[0])
	assert.Equal(t, b2, got[1], "file-transfer-consistency: the changed file is downloaded again from byte 0")
	faultsServed(t, srv, 2) // the change and the cut
	assert.Equal(t, 2, srv.StatsFor("b.bin").Gets, "b.bin: the cut GET and the one from byte 0")
	assert.Equal(t, 1, srv.StatsFor("a.bin").Gets, "the file already transferred is not fetched again")
}

func TestRangesDownloadOnlyTheRequestedBytes(t *testing.T) {
	data := content(15, 100_000)
	srv := newServer(t, map[string][]byte{"r.bin": data})
	h, c, dir := setup(t)
	j, err := c.CreateJob("ranges", bits.Download)
	require.NoError(t, err)
	local := filepath.Join(dir, "out0.bin")
	require.NoError(t, j.AddFileWithRanges(srv.URLFor("r.bin"), local, []bits.FileRange{
		{InitialOffset: 50_000, Length: 1000}, {InitialOffset: 10, Length: 20}, {InitialOffset: 99_990, Length: bits.LengthToEOF},
	}))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	want := append(append(append([]byte(nil), data[50_000:51_000]...), data[10:30]...), data[99_990:]...)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.EqualValues(t, len(want), p.BytesTotal)
	assert.Equal(t, want, completeAndRead(t, j, dir, 1)[0], "AddFileWithRanges: the ranges back to back, in the order given")
	assert.EqualValues(t, len(want), srv.Stats().BytesSent)
}

func TestRedirectPolicies(t *testing.T) {
	data := content(16, 1000)
	t.Run("silent", func(t *testing.T) {
		srv := newServer(t, map[string][]byte{"new.bin": data}, bitstest.Redirect("new.bin", 301).On("old.bin"))
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URLFor("old.bin"))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Transferred, stateOf(t, j))
		f, _ := j.EnumFiles()
		files, _, _ := f.Next(1)
		remote, _ := files[0].GetRemoteName()
		assert.Equal(t, srv.URLFor("old.bin"), remote)
	})
	t.Run("report", func(t *testing.T) {
		srv := newServer(t, map[string][]byte{"new.bin": data}, bitstest.Redirect("new.bin", 302).On("old.bin"))
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URLFor("old.bin"))
		require.NoError(t, j.SetSecurityFlags(bits.RedirectPolicyAllowReport))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Transferred, stateOf(t, j))
		f, _ := j.EnumFiles()
		files, _, _ := f.Next(1)
		remote, _ := files[0].GetRemoteName()
		assert.Equal(t, srv.URLFor("new.bin"), remote, "SetSecurityFlags: ALLOW_REPORT rewrites the remote name")
		assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
	})
	t.Run("disallow", func(t *testing.T) {
		srv := newServer(t, map[string][]byte{"new.bin": data}, bitstest.Redirect("new.bin", 302).On("old.bin"))
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URLFor("old.bin"))
		require.NoError(t, j.SetSecurityFlags(bits.RedirectPolicyDisallow))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Error, stateOf(t, j))
		_, code := jobError(t, j)
		assert.Equal(t, hresult.HTTP_STATUS_REDIRECT, code)
	})
}

func TestCustomHeadersMethodAndCredentialsReachTheServer(t *testing.T) {
	srv := newServer(t, map[string][]byte{"d.bin": content(17, 100)})
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetCustomHeaders("X-Token: abc\r\nX-Other: 1\r\n"))
	require.NoError(t, j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, "abc", r.Header.Get("X-Token"), "%s %s", r.Method, r.Path)
		assert.Equal(t, "1", r.Header.Get("X-Other"))
		assert.Equal(t, "Basic dTpw", r.Header.Get("Authorization"))
	}
}

func TestCustomMethodMakesTransientErrorsFatalAndRestartsFromZero(t *testing.T) {
	data := content(25, 50_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.DropAfter(10_000).Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetHttpMethod("FETCH"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, j), "SetHttpMethod: an error that would be transient is ERROR")
	_, code := jobError(t, j)
	assert.Equal(t, hresult.BG_E_CONNECTION_CLOSED, code)
	p, _ := j.GetProgress()
	assert.EqualValues(t, 10_000, p.BytesTransferred)

	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	var gets []string
	for _, r := range srv.Requests() {
		if r.Method != "HEAD" {
			assert.Equal(t, "FETCH", r.Method)
			gets = append(gets, r.Range)
		}
	}
	assert.Equal(t, []string{"bytes=0-49999", "bytes=0-49999"}, gets, "Resume restarts from the beginning")
	faultsServed(t, srv, 1)
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestSuspendStopsATransferPromptly(t *testing.T) {
	data := content(18, 200_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.Stall(50_000).Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	require.Equal(t, state.Transferring, stateOf(t, j))
	require.NoError(t, j.Suspend())
	// The transfer returns without the server releasing it: the worker stopped.
	h.Settle()
	assert.Equal(t, state.Suspended, stateOf(t, j))
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 0 })

	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

func TestCancelStopsATransferAndRemovesItsData(t *testing.T) {
	srv := newServer(t, map[string][]byte{"d.bin": content(19, 200_000)}, bitstest.Stall(50_000))
	h, c, dir := setup(t)
	local := filepath.Join(dir, "out0.bin")
	require.NoError(t, os.WriteFile(local, []byte("keep me"), 0o644))
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	h.Settle()
	noTempFiles(t, dir)
	data, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(data))
}

func TestMaximumDownloadTime(t *testing.T) {
	srv := newServer(t, map[string][]byte{"d.bin": content(20, 100_000)}, bitstest.Stall(1000))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMaximumDownloadTime(30)) // shorter than the stall timeout
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	// The transfer is stalled, so Settle would wait for it: move the clock directly.
	h.Clock.Advance(30 * time.Second)
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, j))
	_, code := jobError(t, j)
	assert.Equal(t, hresult.BG_E_MAXDOWNLOAD_TIMEOUT, code)
}

func TestMaximumDownloadTimeFollowsResumeAndChanges(t *testing.T) {
	srv := newServer(t, map[string][]byte{"d.bin": content(20, 100_000)}, bitstest.Stall(1000))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMaximumDownloadTime(60))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	h.Clock.Advance(40 * time.Second)
	require.NoError(t, j.Resume(), "Resume restarts the count")
	h.Clock.Advance(40 * time.Second)
	h.Clock.Wait()
	assert.Equal(t, state.Transferring, stateOf(t, j), "80 s in all, 40 s since Resume")
	require.NoError(t, j.SetMaximumDownloadTime(50))
	h.Clock.Advance(9 * time.Second)
	h.Clock.Wait()
	assert.Equal(t, state.Transferring, stateOf(t, j))
	h.Clock.Advance(time.Second)
	h.Settle()
	assert.Equal(t, state.Error, stateOf(t, j), "a lower maximum takes effect at once")
}

func TestStalledConnectionIsATransientError(t *testing.T) {
	data := content(21, 100_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.Stall(1000).Times(1))
	// Reads of 1,000 bytes: the job's progress shows when the bytes before the stall arrived.
	h, c, dir := setup(t, manager.WithTransfer(transfer.Config{ChunkSize: 1000}))
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	reached := make(chan struct{})
	require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobModification))
	require.NoError(t, j.SetNotifyInterface(&progressWatch{at: 1000, reached: reached}))
	require.NoError(t, j.Resume())
	h.Settle() // the transfer starts, reads the bytes before the stall, and waits
	<-reached
	h.Clock.Advance(2 * time.Minute) // the default stall timeout
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j))
	assert.Equal(t, state.Transferred, h.ElapseRetryDelay(j))
	faultsServed(t, srv, 1)
	assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
}

// stalledJobs creates one job per priority given, each on its own file, every GET of which
// stalls after 1 byte until the server is released.
func stalledJobs(t *testing.T, c *manager.Client, srv *bitstest.Server, dir string, prios ...bits.Priority) []bits.Job {
	t.Helper()
	var jobs []bits.Job
	for i, p := range prios {
		name := fmt.Sprintf("s%d.bin", i)
		srv.SetContent(name, content(100+i, 10_000))
		j, err := c.CreateJob(name, bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(dir, name)))
		require.NoError(t, j.SetPriority(p))
		jobs = append(jobs, j)
	}
	return jobs
}

func states(t *testing.T, jobs []bits.Job) []state.State {
	t.Helper()
	out := make([]state.State, len(jobs))
	for i, j := range jobs {
		out[i] = stateOf(t, j)
	}
	return out
}

func TestSchedulerForegroundJobsRunTogetherWithOneBackgroundJob(t *testing.T) {
	srv := newServer(t, nil, bitstest.Stall(1))
	h, c, dir := setup(t)
	jobs := stalledJobs(t, c, srv, dir, bits.Foreground, bits.Normal, bits.Foreground, bits.Normal, bits.Foreground)
	for _, j := range jobs {
		require.NoError(t, j.Resume())
	}
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 4 })
	T, Q := state.Transferring, state.Queued
	assert.Equal(t, []state.State{T, T, T, Q, T}, states(t, jobs),
		"every FOREGROUND job at once, and one background job")
	for _, j := range jobs {
		_, _ = j.Cancel()
	}
}

func TestSchedulerPreemptsForAHigherPriority(t *testing.T) {
	srv := newServer(t, nil, bitstest.Stall(1))
	h, c, dir := setup(t)
	jobs := stalledJobs(t, c, srv, dir, bits.Low, bits.Normal, bits.High)
	require.NoError(t, jobs[0].Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == 1 && st.Stalled == 1 })
	require.NoError(t, jobs[1].Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == 2 && st.Stalled == 1 })
	assert.Equal(t, []state.State{state.Queued, state.Transferring, state.Suspended}, states(t, jobs), "NORMAL pre-empts LOW")
	require.NoError(t, jobs[2].Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == 3 && st.Stalled == 1 })
	assert.Equal(t, []state.State{state.Queued, state.Queued, state.Transferring}, states(t, jobs), "HIGH pre-empts NORMAL")
	require.NoError(t, jobs[1].SetPriority(bits.High))
	// Same priority: no pre-emption, NORMAL-now-HIGH waits for the slice to end.
	assert.Equal(t, []state.State{state.Queued, state.Queued, state.Transferring}, states(t, jobs))
	for _, j := range jobs {
		_, _ = j.Cancel()
	}
}

func TestSchedulerRoundRobinTimeSlices(t *testing.T) {
	srv := newServer(t, nil, bitstest.Stall(1))
	h, c, dir := setup(t, manager.WithTimeSlice(time.Minute))
	jobs := stalledJobs(t, c, srv, dir, bits.Normal, bits.Normal, bits.Normal)
	for _, j := range jobs {
		require.NoError(t, j.Resume())
	}
	var order []int
	for turn := range 5 {
		waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Gets == turn+1 && st.Stalled == 1 })
		running := -1
		for i, st := range states(t, jobs) {
			if st == state.Transferring || st == state.Connecting {
				require.Equal(t, -1, running, "one background job at a time")
				running = i
			}
		}
		order = append(order, running)
		h.Clock.Advance(time.Minute)
	}
	assert.Equal(t, []int{0, 1, 2, 0, 1}, order, "life-cycle page: round-robin in time slices")
	for _, j := range jobs {
		_, _ = j.Cancel()
	}
}

func TestSliceEndsOnlyWhenAnotherJobWaits(t *testing.T) {
	data := content(22, 10_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.Stall(1).Times(1))
	h, c, dir := setup(t, manager.WithTimeSlice(time.Minute))
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })
	h.Clock.Advance(time.Minute)
	h.Clock.Wait()
	assert.Equal(t, state.Transferring, stateOf(t, j), "alone in the queue, the job keeps its turn")
	srv.Release()
	h.Settle()
	assert.Equal(t, state.Transferred, stateOf(t, j))
}

func TestNetworkLostAndRestored(t *testing.T) {
	data := content(23, 10_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.Stall(100).Times(1))
	h, c, dir := setup(t)
	running := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, running.Resume())
	waitServer(t, h, srv, func(st bitstest.Stats) bool { return st.Stalled == 1 })

	h.Manager.SetNetworkAvailable(false)
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, running))
	_, code := jobError(t, running)
	assert.Equal(t, hresult.BG_E_NETWORK_DISCONNECTED, code)
	n, _ := running.GetErrorCount()
	assert.Zero(t, n, "GetErrorCount: a lost network is not an error")

	later := download(t, c, t.TempDir(), srv.URLFor("d.bin"))
	require.NoError(t, later.Resume())
	h.Settle()
	assert.Equal(t, state.TransientError, stateOf(t, later), "a job queued while offline waits for the network too")

	h.Step(30 * 24 * time.Hour)
	assert.Equal(t, state.TransientError, stateOf(t, running), "no retry timer while the network is down")

	h.Manager.SetNetworkAvailable(true)
	h.Settle()
	assert.Equal(t, state.Transferred, stateOf(t, running))
	assert.Equal(t, state.Transferred, stateOf(t, later))
	assert.Equal(t, data, completeAndRead(t, running, dir, 1)[0])
}

func TestCompleteInsideJobTransferred(t *testing.T) {
	data := content(24, 5000)
	srv := newServer(t, map[string][]byte{"d.bin": data})
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	done := make(chan hresult.Code, 1)
	require.NoError(t, j.SetNotifyInterface(completer{done}))
	require.NoError(t, j.Resume())
	h.Settle()
	assert.Equal(t, hresult.S_OK, <-done)
	assert.Equal(t, state.Acknowledged, stateOf(t, j))
	got, err := os.ReadFile(filepath.Join(dir, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(got))
	assert.True(t, bytes.Equal(data, got))
}

// completer completes the job from JobTransferred, the usual pattern.
type completer struct{ done chan hresult.Code }

func (c completer) JobTransferred(j bits.Job) error {
	code, err := j.Complete()
	if err != nil {
		return err
	}
	c.done <- code
	return nil
}
func (completer) JobError(bits.Job, bits.Error) error { return nil }
func (completer) JobModification(bits.Job) error      { return nil }
