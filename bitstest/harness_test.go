package bitstest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// stalledJob returns a harness and a job whose transfer is stalled by the server mid-file.
func stalledJob(t *testing.T) (*bitstest.Harness, *bitstest.Server, bits.Job) {
	t.Helper()
	srv := bitstest.NewServer(map[string][]byte{"f.bin": make([]byte, 10_000)}, bitstest.Stall(100).Times(1))
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	app := h.Connect("S-1-5-21-7")
	j, err := app.CreateJob("stalled", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("f.bin"), filepath.Join(t.TempDir(), "f.bin")))
	require.NoError(t, j.SetMinimumRetryDelay(30))
	require.NoError(t, j.Resume())
	st, err := j.GetState()
	require.NoError(t, err)
	require.Equal(t, state.Queued, st, "nothing moves until the test steps")
	h.Settle() // the pick, the transfer's start, and its stall: the silent server is idle
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitFor(ctx, func(st bitstest.Stats) bool { return st.Stalled == 1 }))
	st, err = j.GetState()
	require.NoError(t, err)
	require.Equal(t, state.Transferring, st)
	return h, srv, j
}

func TestHarnessFailTransientThenRetry(t *testing.T) {
	h, _, j := stalledJob(t)
	st, err := h.FailTransient(j, hresult.BG_E_HTTP_ERROR_503)
	require.NoError(t, err)
	assert.Equal(t, state.TransientError, st)
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, _ := e.GetError()
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	assert.Equal(t, hresult.BG_E_HTTP_ERROR_503, code)

	h.Step(29 * time.Second)
	got, _ := j.GetState()
	assert.Equal(t, state.TransientError, got)
	assert.Equal(t, state.Transferred, h.ElapseRetryDelay(j), "the retry resumes and finishes the file")
	assert.Equal(t, bitstest.Epoch.Add(59*time.Second), h.Clock.Now())
}

func TestHarnessFailFatal(t *testing.T) {
	h, _, j := stalledJob(t)
	st, err := h.FailFatal(j, hresult.BG_E_CONNECT_FAILURE)
	require.NoError(t, err)
	assert.Equal(t, state.Error, st)
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, _ := e.GetError()
	assert.Equal(t, bits.ContextGeneralTransport, ctx)
	assert.Equal(t, hresult.BG_E_CONNECT_FAILURE, code)
	h.Step(24 * time.Hour)
	got, _ := j.GetState()
	assert.Equal(t, state.Error, got, "ERROR is not retried")
}

func TestHarnessFailPicksAQueuedJob(t *testing.T) {
	h := bitstest.NewHarness(t, manager.WithManualTransfers())
	app := h.Connect("S-1-5-21-7")
	j, err := app.CreateJob("queued", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile("http://127.0.0.1:9/x", filepath.Join(t.TempDir(), "x")))
	require.NoError(t, j.Resume())
	st, err := h.FailTransient(j, hresult.BG_E_CONNECT_FAILURE)
	require.NoError(t, err)
	assert.Equal(t, state.TransientError, st)
	n, _ := j.GetErrorCount()
	assert.EqualValues(t, 1, n)

	_, err = h.FailFatal(j, hresult.BG_E_CONNECT_FAILURE)
	assert.ErrorIs(t, err, hresult.BG_E_INVALID_STATE, "a job that is not transferring cannot fail")
}

func TestHarnessWaitStateStopsAtTheLimit(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"f.bin": []byte("x")}, bitstest.Status(503, 0))
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	j, err := h.Connect("S-1-5-21-7").CreateJob("never", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(srv.URLFor("f.bin"), filepath.Join(t.TempDir(), "f.bin")))
	require.NoError(t, j.Resume())
	st, _ := h.WaitState(j, time.Hour, state.Transferred)
	assert.Equal(t, state.TransientError, st)
	assert.Equal(t, bitstest.Epoch.Add(time.Hour), h.Clock.Now())
	n, _ := j.GetErrorCount()
	assert.EqualValues(t, 7, n, "the first attempt and six retries, 600 s apart")
}

func TestHarnessTrustsATLSServer(t *testing.T) {
	srv := bitstest.NewTLSServer(map[string][]byte{"f.bin": []byte("secure")})
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t, bitstest.Trust(srv))
	j, err := h.Connect("S-1-5-21-7").CreateJob("tls", bits.Download)
	require.NoError(t, err)
	local := filepath.Join(t.TempDir(), "f.bin")
	require.NoError(t, j.AddFile(srv.URLFor("f.bin"), local))
	require.NoError(t, j.Resume())
	h.Settle()
	_, err = j.Complete()
	require.NoError(t, err)
	data, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, "secure", string(data))
}

func TestHarnessWithoutATestPanics(t *testing.T) {
	h := bitstest.NewHarness(nil)
	defer h.Close()
	assert.Panics(t, func() { h.Connect("") })
}

func TestOpenHarnessKeepsJobsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	h, err := bitstest.OpenHarness(t, dir, nil)
	require.NoError(t, err)
	_, err = bitstest.OpenHarness(t, dir, h.Clock)
	assert.ErrorIs(t, err, hresult.ERROR_SHARING_VIOLATION, "one manager per store")
	j, err := h.Connect("S-1-5-21-7").CreateJob("kept", bits.Download)
	require.NoError(t, err)
	h.Step(time.Hour)
	h.Close()
	h.Close() // closing twice does nothing

	h2, err := bitstest.OpenHarness(t, dir, h.Clock)
	require.NoError(t, err)
	got, err := h2.Connect("S-1-5-21-7").GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	name, _ := got.GetDisplayName()
	assert.Equal(t, "kept", name)
	assert.Equal(t, bitstest.Epoch.Add(time.Hour), h2.Clock.Now(), "the same clock goes on")
}
