package job_test

import (
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

func fire(t *testing.T, j bits.Job, ev state.Event, want state.State) {
	t.Helper()
	got, err := engine.Of(j).Fire(ev)
	require.NoError(t, err, ev.String())
	require.Equal(t, want, got, ev.String())
	mustState(t, j, want)
}

func fireErr(t *testing.T, j bits.Job, ev state.Event, f job.Failure, want state.State) {
	t.Helper()
	got, err := engine.Of(j).FireError(ev, f)
	require.NoError(t, err, ev.String())
	require.Equal(t, want, got, ev.String())
	mustState(t, j, want)
}

func errorCount(t *testing.T, j bits.Job) uint32 {
	t.Helper()
	n, err := j.GetErrorCount()
	require.NoError(t, err)
	return n
}

var transient = job.Failure{Context: bits.ContextGeneralTransport, Code: hresult.BG_E_CONNECT_FAILURE, File: -1}

// Transient and fatal errors count; network loss does not (bits-api GetErrorCount).
func TestErrorCount(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 1, state.Connecting)

	fireErr(t, j, state.TransientFailure, transient, state.TransientError)
	assert.Equal(t, uint32(1), errorCount(t, j), "CONNECTING → TRANSIENT_ERROR counts")

	fire(t, j, state.RetryDelayElapsed, state.Queued)
	fire(t, j, state.Pick, state.Connecting)
	fire(t, j, state.Connect, state.Transferring)
	fireErr(t, j, state.TransientFailure, transient, state.TransientError)
	assert.Equal(t, uint32(2), errorCount(t, j), "TRANSFERRING → TRANSIENT_ERROR counts")

	fire(t, j, state.NetworkRestored, state.Queued)
	fire(t, j, state.NetworkLost, state.TransientError)
	assert.Equal(t, uint32(2), errorCount(t, j), "network loss from QUEUED does not count")
	e, err := j.GetError()
	require.NoError(t, err)
	_, code, _ := e.GetError()
	assert.Equal(t, hresult.BG_E_NETWORK_DISCONNECTED, code)

	fire(t, j, state.NetworkRestored, state.Queued)
	fire(t, j, state.Pick, state.Connecting)
	fire(t, j, state.Connect, state.Transferring)
	fire(t, j, state.NetworkLost, state.TransientError)
	assert.Equal(t, uint32(2), errorCount(t, j), "network loss from TRANSFERRING does not count")

	require.NoError(t, j.Resume())
	fire(t, j, state.Pick, state.Connecting)
	fireErr(t, j, state.FatalFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_404, File: 0, Protocol: "http"}, state.Error)
	assert.Equal(t, uint32(3), errorCount(t, j), "fatal errors count")

	// Never reset: Resume and a successful transfer leave it alone.
	require.NoError(t, j.Resume())
	fire(t, j, state.Pick, state.Connecting)
	fire(t, j, state.Connect, state.Transferring)
	_, err = engine.Of(j).FireFileDone(0)
	require.NoError(t, err)
	mustState(t, j, state.Transferred)
	assert.Equal(t, uint32(3), errorCount(t, j))

	// Max download time counts as an error.
	j2 := x.jobIn(bits.Download, 1, state.Transferring)
	fire(t, j2, state.MaxDownloadTimeout, state.Error)
	assert.Equal(t, uint32(1), errorCount(t, j2))
	e, err = j2.GetError()
	require.NoError(t, err)
	_, code, _ = e.GetError()
	assert.Equal(t, hresult.BG_E_MAXDOWNLOAD_TIMEOUT, code)
}

func TestGetErrorContents(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 2, state.Transferring)
	_, err := j.GetError()
	isCode(t, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, err)

	fireErr(t, j, state.FatalFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_404, File: 1, Protocol: "http"}, state.Error)
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, _ := e.GetError()
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	assert.Equal(t, hresult.BG_E_HTTP_ERROR_404, code)

	f, err := e.GetFile()
	require.NoError(t, err)
	want := fileAt(t, j, 1)
	wantName, err := want.GetRemoteName()
	require.NoError(t, err)
	gotName, err := f.GetRemoteName()
	require.NoError(t, err)
	assert.Equal(t, wantName, gotName, "GetFile names the failing file")

	proto, err := e.GetProtocol()
	require.NoError(t, err)
	assert.Equal(t, "http", proto)

	text, err := e.GetErrorDescription(0x0409)
	require.NoError(t, err)
	assert.NotEmpty(t, text)
	_, err = e.GetErrorDescription(0)
	isCode(t, hresult.E_INVALIDARG, err)
	_, err = e.GetErrorDescription(0x0407)
	isCode(t, hresult.ERROR_RESOURCE_LANG_NOT_FOUND, err)

	ctext, err := e.GetErrorContextDescription(0x0409)
	require.NoError(t, err)
	assert.NotEmpty(t, ctext)
	_, err = e.GetErrorContextDescription(0)
	isCode(t, hresult.E_INVALIDARG, err)
	_, err = e.GetErrorContextDescription(0x0407)
	isCode(t, hresult.ERROR_RESOURCE_LANG_NOT_FOUND, err)

	// No file, no protocol.
	j2 := x.jobIn(bits.Download, 1, state.Connecting)
	fireErr(t, j2, state.TransientFailure, job.Failure{Context: bits.ContextGeneralTransport, Code: hresult.BG_E_CONNECT_FAILURE, File: -1}, state.TransientError)
	e2, err := j2.GetError()
	require.NoError(t, err)
	_, err = e2.GetFile()
	isCode(t, hresult.BG_E_FILE_NOT_AVAILABLE, err)
	_, err = e2.GetProtocol()
	isCode(t, hresult.BG_E_PROTOCOL_NOT_AVAILABLE, err)

	ctx2, code2, _ := e2.GetError()
	assert.Equal(t, bits.ContextGeneralTransport, ctx2)
	assert.Equal(t, hresult.BG_E_CONNECT_FAILURE, code2)
}

// The error record survives Resume, Pick and CONNECTING, and is dropped when the job enters
// TRANSFERRING (bits-api GetError; bits-behaviour §7).
func TestErrorRecordLifetime(t *testing.T) {
	for _, from := range []state.State{state.TransientError, state.Error} {
		t.Run(from.String(), func(t *testing.T) {
			x := newFx(t)
			j := x.jobIn(bits.Download, 1, from)
			_, err := j.GetError()
			require.NoError(t, err)

			require.NoError(t, j.Resume())
			mustState(t, j, state.Queued)
			_, err = j.GetError()
			assert.NoError(t, err, "kept after Resume")

			require.NoError(t, j.Suspend())
			_, err = j.GetError()
			assert.NoError(t, err, "kept while SUSPENDED")
			require.NoError(t, j.Resume())

			fire(t, j, state.Pick, state.Connecting)
			_, err = j.GetError()
			assert.NoError(t, err, "kept while CONNECTING")

			fire(t, j, state.Connect, state.Transferring)
			_, err = j.GetError()
			isCode(t, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, err, "dropped on TRANSFERRING")
		})
	}
	t.Run("cancelled after error", func(t *testing.T) {
		x := newFx(t)
		j := x.jobIn(bits.Download, 1, state.Error)
		_, err := j.Cancel()
		require.NoError(t, err)
		_, err = j.GetError()
		assert.NoError(t, err, "a final job keeps the record it had")
	})
}

func TestTransferCompletionTime(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 2, state.Transferring)
	x.clk.Advance(10 * time.Second)
	_, err := engine.Of(j).FireFileDone(0)
	require.NoError(t, err)
	tm, err := j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.TransferCompletionTime.IsZero(), "not TRANSFERRED yet")

	x.clk.Advance(5 * time.Second)
	st, err := engine.Of(j).FireFileDone(1)
	require.NoError(t, err)
	require.Equal(t, state.Transferred, st)
	tm, err = j.GetTimes()
	require.NoError(t, err)
	done := epoch.Add(15 * time.Second)
	assert.True(t, tm.TransferCompletionTime.Equal(done), "got %v", tm.TransferCompletionTime)
	assert.True(t, tm.ModificationTime.Equal(done))
	assert.True(t, tm.CreationTime.Equal(epoch))

	// Complete later does not move TransferCompletionTime.
	x.clk.Advance(time.Hour)
	_, err = j.Complete()
	require.NoError(t, err)
	tm, err = j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.TransferCompletionTime.Equal(done))
	assert.True(t, tm.ModificationTime.Equal(done.Add(time.Hour)), "Complete is a modification")

	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint32(2), p.FilesTransferred)
}

// NoRetry: a no-progress timeout of 0, a retry delay longer than the timeout, or a timeout that
// ran out turn a transient error into ERROR.
func TestNoRetry(t *testing.T) {
	t.Run("timeout 0", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		require.NoError(t, j.SetNoProgressTimeout(0))
		driveTo(t, j, state.Transferring)
		fireErr(t, j, state.TransientFailure, transient, state.Error)
		assert.Equal(t, uint32(1), errorCount(t, j))
		e, err := j.GetError()
		require.NoError(t, err)
		_, code, _ := e.GetError()
		assert.Equal(t, hresult.BG_E_CONNECT_FAILURE, code, "the transient error is what is recorded")
	})
	t.Run("retry delay longer than timeout", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		require.NoError(t, j.SetNoProgressTimeout(60))
		require.NoError(t, j.SetMinimumRetryDelay(61))
		driveTo(t, j, state.Connecting)
		fireErr(t, j, state.TransientFailure, transient, state.Error)
	})
	t.Run("retry delay equal to timeout still retries", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		require.NoError(t, j.SetNoProgressTimeout(60))
		require.NoError(t, j.SetMinimumRetryDelay(60))
		driveTo(t, j, state.Connecting)
		fireErr(t, j, state.TransientFailure, transient, state.TransientError)
	})
	t.Run("timeout ran out", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		require.NoError(t, j.SetNoProgressTimeout(100))
		require.NoError(t, j.SetMinimumRetryDelay(10))
		driveTo(t, j, state.Connecting)
		fireErr(t, j, state.TransientFailure, transient, state.TransientError)
		x.clk.Advance(50 * time.Second)
		fire(t, j, state.RetryDelayElapsed, state.Queued)
		fire(t, j, state.Pick, state.Connecting)
		fireErr(t, j, state.TransientFailure, transient, state.TransientError)
		x.clk.Advance(50 * time.Second)
		fire(t, j, state.RetryDelayElapsed, state.Queued)
		fire(t, j, state.Pick, state.Connecting)
		fireErr(t, j, state.TransientFailure, transient, state.Error)
	})
	t.Run("progress restarts the timeout", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		require.NoError(t, j.SetNoProgressTimeout(100))
		require.NoError(t, j.SetMinimumRetryDelay(10))
		driveTo(t, j, state.Transferring)
		fireErr(t, j, state.TransientFailure, transient, state.TransientError)
		x.clk.Advance(90 * time.Second)
		fire(t, j, state.RetryDelayElapsed, state.Queued)
		fire(t, j, state.Pick, state.Connecting)
		fire(t, j, state.Connect, state.Transferring)
		require.NoError(t, engine.Of(j).FileProgress(0, 1000, 10))
		x.clk.Advance(90 * time.Second)
		fireErr(t, j, state.TransientFailure, transient, state.TransientError)
	})
	t.Run("no-progress timeout event", func(t *testing.T) {
		x := newFx(t)
		j := x.jobIn(bits.Download, 1, state.TransientError)
		n := errorCount(t, j)
		fire(t, j, state.NoProgressTimeout, state.Error)
		assert.Equal(t, n, errorCount(t, j))
	})
}

func TestFileProgressUpdatesJobProgress(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 2, state.Transferring)
	require.NoError(t, engine.Of(j).FileProgress(0, 1000, 250))
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: bits.SizeUnknown, BytesTransferred: 250, FilesTotal: 2}, p, "file 1's size is still unknown")

	require.NoError(t, engine.Of(j).FileProgress(1, 500, 0))
	p, err = j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: 1500, BytesTransferred: 250, FilesTotal: 2}, p)

	fp, err := fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.FileProgress{BytesTotal: 1000, BytesTransferred: 250}, fp)

	x.clk.Advance(time.Second)
	require.NoError(t, engine.Of(j).FileProgress(0, 1000, 1000))
	tm, err := j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.ModificationTime.Equal(epoch.Add(time.Second)), "bytes transferred modify the job")

	_, err = engine.Of(j).FireFileDone(0)
	require.NoError(t, err)
	fp, err = fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.FileProgress{BytesTotal: 1000, BytesTransferred: 1000, Completed: true}, fp, "Completed once the bytes all arrived (README decision)")
	p, err = j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: 1500, BytesTransferred: 1000, FilesTotal: 2, FilesTransferred: 1}, p)

	isCode(t, hresult.E_INVALIDARG, engine.Of(j).FileProgress(5, 1, 0), "no such file")
	isCode(t, hresult.E_INVALIDARG, engine.Of(j).FileProgress(1, 10, 11), "more than the total")
}

func TestEngineEventsInWrongState(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	_, err := engine.Of(j).Fire(state.Connect)
	isCode(t, hresult.BG_E_INVALID_STATE, err, "connect from SUSPENDED")
	_, err = engine.Of(j).FireError(state.FatalFailure, job.Failure{Code: hresult.E_FAIL, File: -1})
	isCode(t, hresult.BG_E_INVALID_STATE, err)
	_, err = engine.Of(j).FireError(state.Pick, job.Failure{Code: hresult.E_FAIL, File: -1})
	isCode(t, hresult.E_INVALIDARG, err, "FireError needs a failure event")
	_, err = engine.Of(j).FireError(state.FatalFailure, job.Failure{Code: hresult.S_OK, File: -1})
	isCode(t, hresult.E_INVALIDARG, err, "FireError needs a failure code")
	_, err = engine.Of(j).Fire(state.TransientFailure)
	isCode(t, hresult.E_INVALIDARG, err, "errors go through FireError")
	_, err = engine.Of(j).FireFileDone(3)
	isCode(t, hresult.E_INVALIDARG, err)
	mustState(t, j, state.Suspended)

	require.NoError(t, j.Resume())
	fire(t, j, state.InactivityExpired, state.Cancelled)
	_, err = engine.Of(j).Fire(state.Pick)
	isCode(t, hresult.BG_E_INVALID_STATE, err)
	isCode(t, hresult.BG_E_INVALID_STATE, engine.Of(j).FileProgress(0, 10, 5))
}

// The time-slice end and Suspend interplay with the engine.
func TestEngineRoundTrips(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 2, state.Transferring)
	_, err := engine.Of(j).FireFileDone(0)
	require.NoError(t, err)
	fire(t, j, state.SliceEnd, state.Queued)
	fire(t, j, state.Pick, state.Connecting)
	_, err = engine.Of(j).FireFileDone(1)
	isCode(t, hresult.BG_E_INVALID_STATE, err, "files finish only while TRANSFERRING (T12, T13)")
	fire(t, j, state.Connect, state.Transferring)
	st, err := engine.Of(j).FireFileDone(1)
	require.NoError(t, err)
	assert.Equal(t, state.Transferred, st)

	// Suspend moves even a TRANSFERRED job to SUSPENDED (bits-behaviour T7).
	require.NoError(t, j.Suspend())
	mustState(t, j, state.Suspended)
}

// Resuming a TRANSIENT_ERROR job retries early but keeps counting the time without progress;
// resuming a job in ERROR starts the count afresh.
func TestNoProgressCountAcrossResume(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 1, state.Transferring)
	require.NoError(t, j.SetMinimumRetryDelay(5))
	require.NoError(t, j.SetNoProgressTimeout(100))
	fail := job.Failure{Context: bits.ContextGeneralTransport, Code: hresult.BG_E_CONNECTION_CLOSED, File: 0, Protocol: "http"}
	retry := func() {
		t.Helper()
		require.NoError(t, j.Resume())
		fire(t, j, state.Pick, state.Connecting)
		fire(t, j, state.Connect, state.Transferring)
	}

	st, err := engine.Of(j).FireError(state.TransientFailure, fail)
	require.NoError(t, err)
	require.Equal(t, state.TransientError, st)
	x.clk.Advance(60 * time.Second)
	retry()
	x.clk.Advance(60 * time.Second)
	st, err = engine.Of(j).FireError(state.TransientFailure, fail)
	require.NoError(t, err)
	assert.Equal(t, state.Error, st, "120 s without progress exceed the 100 s timeout despite the Resume")

	retry()
	st, err = engine.Of(j).FireError(state.TransientFailure, fail)
	require.NoError(t, err)
	assert.Equal(t, state.TransientError, st, "Resume of an ERROR job restarts the count")
}
