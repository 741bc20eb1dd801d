package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// queuedJob returns a job of Alice's with n files, resumed (QUEUED).
func queuedJob(t *testing.T, n int) bits.Job {
	t.Helper()
	dir := t.TempDir()
	c := connect(t, manager.New(manager.WithManualTransfers()), idAlice)
	j := mustCreate(t, c, "engine")
	for i := range n {
		require.NoError(t, j.AddFile(fmt.Sprintf("http://example.com/%d", i), filepath.Join(dir, fmt.Sprint(i))))
	}
	require.NoError(t, j.Resume())
	return j
}

// TestEngineLastFileDoneNeedsTransferring: files finish only while the job is TRANSFERRING
// (bits-behaviour §3.2 T12 and T13: "TRANSFERRING | last file finished | TRANSFERRED"). A job
// still CONNECTING has moved no data, so no file of it can finish, the last one no more than
// the others. The engine refuses FileDone in CONNECTING but accepts LastFileDone there (state
// Events: "last file done | CONNECTING|TRANSFERRING").
func TestEngineLastFileDoneNeedsTransferring(t *testing.T) {
	t.Run("not the last file", func(t *testing.T) {
		j := queuedJob(t, 2)
		_, err := engine.Of(j).Fire(state.Pick)
		require.NoError(t, err)
		st, err := engine.Of(j).FireFileDone(0)
		assert.ErrorIs(t, err, hresult.BG_E_INVALID_STATE)
		assert.Equal(t, state.Connecting, st)
	})
	t.Run("the last file", func(t *testing.T) {
		j := queuedJob(t, 1)
		_, err := engine.Of(j).Fire(state.Pick)
		require.NoError(t, err)
		st, err := engine.Of(j).FireFileDone(0)
		assert.ErrorIs(t, err, hresult.BG_E_INVALID_STATE, "LastFileDone in CONNECTING")
		assert.Equal(t, state.Connecting, st)
		p, err := j.GetProgress()
		require.NoError(t, err)
		assert.Equal(t, uint32(0), p.FilesTransferred, "a refused event must not finish the file")
	})
}

// TestEngineErrorRecord follows the error record through a job's life: created on a transfer
// error or network loss, kept through Resume, dropped when the job enters TRANSFERRING.
func TestEngineErrorRecord(t *testing.T) {
	j := queuedJob(t, 2)
	_, err := j.GetError()
	assert.ErrorIs(t, err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE)

	_, err = engine.Of(j).Fire(state.NetworkLost)
	require.NoError(t, err)
	assert.Equal(t, state.TransientError, stateOf(t, j))
	info, err := j.GetError()
	require.NoError(t, err)
	_, code, _ := info.GetError()
	assert.Equal(t, hresult.BG_E_NETWORK_DISCONNECTED, code)
	n, err := j.GetErrorCount()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), n, "network loss is not counted")

	_, err = engine.Of(j).Fire(state.NetworkRestored)
	require.NoError(t, err)
	_, err = engine.Of(j).Fire(state.Pick)
	require.NoError(t, err)
	st, err := engine.Of(j).FireError(state.FatalFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.HTTP(404), File: 0, Protocol: "http"})
	require.NoError(t, err)
	assert.Equal(t, state.Error, st)
	n, err = j.GetErrorCount()
	require.NoError(t, err)
	assert.Equal(t, uint32(1), n)

	require.NoError(t, j.Resume())
	assert.Equal(t, state.Queued, stateOf(t, j))
	info, err = j.GetError()
	require.NoError(t, err, "the record outlives Resume")
	ctx, code, _ := info.GetError()
	assert.Equal(t, hresult.HTTP(404), code)
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	f, err := info.GetFile()
	require.NoError(t, err)
	name, err := f.GetRemoteName()
	require.NoError(t, err)
	assert.Equal(t, "http://example.com/0", name)

	_, err = engine.Of(j).Fire(state.Pick)
	require.NoError(t, err)
	_, err = engine.Of(j).Fire(state.Connect)
	require.NoError(t, err)
	_, err = j.GetError()
	assert.ErrorIs(t, err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, "dropped on entering TRANSFERRING")

	st, err = engine.Of(j).Fire(state.FileDone)
	require.NoError(t, err)
	assert.Equal(t, state.Transferring, st)
	st, err = engine.Of(j).Fire(state.FileDone)
	require.NoError(t, err)
	assert.Equal(t, state.Transferred, st)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint32(2), p.FilesTotal)
	assert.Equal(t, uint32(2), p.FilesTransferred)
	code, err = j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
}
