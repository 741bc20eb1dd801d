package job_test

import (
	"os"
	"path/filepath"
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

// writeFile does what the transfer engine does for file i: open its temporary file, write data,
// record the progress, and mark it done when done is set.
func writeFile(t *testing.T, j bits.Job, i int, data string, done bool) {
	t.Helper()
	f, err := engine.Of(j).OpenTemp(i)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	total := bits.SizeUnknown
	if done {
		total = uint64(len(data))
	}
	require.NoError(t, engine.Of(j).FileProgress(i, total, uint64(len(data))))
	if done {
		_, err = engine.Of(j).FireFileDone(i)
		require.NoError(t, err)
	}
}

func names(t *testing.T, j bits.Job, i int) (local, temp string) {
	t.Helper()
	f := fileAt(t, j, i)
	local, err := f.GetLocalName()
	require.NoError(t, err)
	temp, err = f.GetTemporaryName()
	require.NoError(t, err)
	return local, temp
}

func TestOpenTempCreatesOwnerOnlyFileInDestinationDirectory(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	local, temp := names(t, j, 0)
	f, err := engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, filepath.Dir(local), filepath.Dir(temp), "adding-files page: temporary file in the destination directory")
	assert.Equal(t, temp, f.Name())
	st, err := os.Stat(temp)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	assert.NoFileExists(t, local, "the local file appears only on Complete")
}

func TestOpenTempAvoidsAForeignFile(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	_, temp := names(t, j, 0)
	require.NoError(t, os.WriteFile(temp, []byte("someone else's"), 0o644))
	f, err := engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, now := names(t, j, 0)
	assert.NotEqual(t, temp, now, "the job takes another name")
	assert.Equal(t, now, f.Name())
	_, err = j.Cancel()
	require.NoError(t, err)
	assert.NoFileExists(t, now)
	data, err := os.ReadFile(temp)
	require.NoError(t, err)
	assert.Equal(t, "someone else's", string(data), "a file the job did not create is never touched")
}

func TestOpenTempReconcilesProgressWithTheFile(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	_, temp := names(t, j, 0)
	f, err := engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 100))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, engine.Of(j).FileProgress(0, 1000, 60)) // only 60 bytes were recorded

	f, err = engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	st, err := f.Stat()
	require.NoError(t, err)
	assert.EqualValues(t, 60, st.Size(), "bytes past the recorded progress are cut off")
	require.NoError(t, f.Close())

	require.NoError(t, os.Truncate(temp, 30))
	f, err = engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	p, err := fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.EqualValues(t, 30, p.BytesTransferred, "progress drops to what the file holds")

	require.NoError(t, os.Remove(temp))
	f, err = engine.Of(j).OpenTemp(0)
	require.NoError(t, err, "a temporary file removed behind the job's back is created again")
	require.NoError(t, f.Close())
	p, err = fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.EqualValues(t, 0, p.BytesTransferred)
}

func TestOpenTempOnAFinalJob(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Cancelled)
	_, err := engine.Of(j).OpenTemp(0)
	isCode(t, hresult.BG_E_INVALID_STATE, err)
	_, err = engine.Of(j).OpenTemp(1)
	isCode(t, hresult.E_INVALIDARG, err)
}

func TestCompleteRenamesFinishedFiles(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 2, state.Transferring)
	writeFile(t, j, 0, "first", true)
	writeFile(t, j, 1, "second", true)
	mustState(t, j, state.Transferred)
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	for i, want := range []string{"first", "second"} {
		local, temp := names(t, j, i)
		data, err := os.ReadFile(local)
		require.NoError(t, err)
		assert.Equal(t, want, string(data))
		assert.NoFileExists(t, temp)
	}
}

func TestCompleteReplacesAnExistingLocalFile(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	local, _ := names(t, j, 0)
	require.NoError(t, os.WriteFile(local, []byte("old version"), 0o644))
	writeFile(t, j, 0, "new version", true)
	data, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, "old version", string(data), "the local file keeps its old content until Complete")
	_, err = j.Complete()
	require.NoError(t, err)
	data, err = os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, "new version", string(data))
}

func TestPartialCompleteDiscardsUnfinishedFiles(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 3, state.Transferring)
	writeFile(t, j, 0, "done", true)
	writeFile(t, j, 1, "half", false)
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_S_PARTIAL_COMPLETE, code)
	mustState(t, j, state.Acknowledged)
	local0, _ := names(t, j, 0)
	assert.FileExists(t, local0)
	for i := 1; i < 3; i++ {
		local, temp := names(t, j, i)
		assert.NoFileExists(t, local, "an unfinished file is not created")
		assert.NoFileExists(t, temp, "its partial data is deleted")
	}
}

func TestCompleteRenameFailureKeepsTheJobTransferred(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 2, state.Transferring)
	writeFile(t, j, 0, "one", true)
	writeFile(t, j, 1, "two", true)
	local0, _ := names(t, j, 0)
	local1, temp1 := names(t, j, 1)
	// A non-empty directory where the second file goes: the rename fails.
	require.NoError(t, os.MkdirAll(filepath.Join(local1, "sub"), 0o755))

	code, err := j.Complete()
	require.Error(t, err)
	assert.Zero(t, code)
	mustState(t, j, state.Transferred, "IBackgroundCopyJob::Complete: the job stays TRANSFERRED")
	data, err := os.ReadFile(local0)
	require.NoError(t, err)
	assert.Equal(t, "one", string(data), "a file renamed before the failure stays available")
	assert.FileExists(t, temp1, "the file that failed keeps its data")
	p, err := fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.True(t, p.Completed)

	// The application fixes the cause and completes again.
	require.NoError(t, os.RemoveAll(local1))
	code, err = j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	mustState(t, j, state.Acknowledged)
	data, err = os.ReadFile(local1)
	require.NoError(t, err)
	assert.Equal(t, "two", string(data))
	data, err = os.ReadFile(local0)
	require.NoError(t, err)
	assert.Equal(t, "one", string(data))
}

func TestCancelRemovesTemporaryFilesOnly(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 3, state.Transferring)
	local0, temp0 := names(t, j, 0)
	require.NoError(t, os.WriteFile(local0, []byte("pre-existing"), 0o644))
	writeFile(t, j, 0, "done", true)
	writeFile(t, j, 1, "partial", false)
	_, temp1 := names(t, j, 1)
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.NoFileExists(t, temp0)
	assert.NoFileExists(t, temp1)
	data, err := os.ReadFile(local0)
	require.NoError(t, err)
	assert.Equal(t, "pre-existing", string(data), "Cancel never touches a file at the destination")
	local1, _ := names(t, j, 1)
	assert.NoFileExists(t, local1)
}

func TestCancelReportsTemporaryFilesItCannotDelete(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	writeFile(t, j, 0, "partial", false)
	_, temp := names(t, j, 0)
	// Replace the temporary file with a non-empty directory, which cannot be removed as a file.
	require.NoError(t, os.Remove(temp))
	require.NoError(t, os.MkdirAll(filepath.Join(temp, "x"), 0o755))
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_S_UNABLE_TO_DELETE_FILES, code)
	mustState(t, j, state.Cancelled)
}

func TestCompleteReportsTemporaryFilesItCannotDelete(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 2, state.Transferring)
	writeFile(t, j, 0, "done", true)
	writeFile(t, j, 1, "partial", false)
	_, temp := names(t, j, 1)
	require.NoError(t, os.Remove(temp))
	require.NoError(t, os.MkdirAll(filepath.Join(temp, "x"), 0o755))
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_S_UNABLE_TO_DELETE_FILES, code, "the failed deletion wins over BG_S_PARTIAL_COMPLETE")
	mustState(t, j, state.Acknowledged)
}

func TestInactivityExpiryRemovesTemporaryFiles(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	writeFile(t, j, 0, "partial", false)
	_, temp := names(t, j, 0)
	fire(t, j, state.InactivityExpired, state.Cancelled)
	assert.NoFileExists(t, temp)
}

func TestCompleteWithoutDataOnDisk(t *testing.T) {
	// A job driven only through the engine methods has no temporary files: Complete has nothing
	// to rename, and succeeds as for a real transfer.
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferred)
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	local, _ := names(t, j, 0)
	assert.NoFileExists(t, local)
}

func TestDownloadTimeCountsOnlyConnectingAndTransferring(t *testing.T) {
	fx := newFx(t)
	j := fx.newJob(bits.Download, 1)
	require.NoError(t, j.SetMaximumDownloadTime(3600))
	full := time.Hour
	require.NoError(t, j.Resume())
	fx.clk.Advance(10 * time.Minute) // QUEUED: does not count
	assert.Equal(t, full, engine.Of(j).TransferView().DownloadTimeLeft)
	fire(t, j, state.Pick, state.Connecting)
	fx.clk.Advance(5 * time.Minute)
	fire(t, j, state.Connect, state.Transferring)
	fx.clk.Advance(5 * time.Minute)
	assert.Equal(t, full-10*time.Minute, engine.Of(j).TransferView().DownloadTimeLeft)
	fireErr(t, j, state.TransientFailure, job.Failure{Context: bits.ContextGeneralTransport, Code: hresult.BG_E_CONNECTION_CLOSED, File: 0}, state.TransientError)
	fx.clk.Advance(time.Hour) // TRANSIENT_ERROR: does not count
	assert.Equal(t, full-10*time.Minute, engine.Of(j).TransferView().DownloadTimeLeft)
	require.NoError(t, j.Resume(), "Resume restarts the count")
	assert.Equal(t, full, engine.Of(j).TransferView().DownloadTimeLeft)

	require.NoError(t, j.SetMaximumDownloadTime(0))
	assert.True(t, engine.Of(j).TransferView().NoDownloadLimit)
}

func TestTransferView(t *testing.T) {
	fx := newFx(t)
	j := fx.newJob(bits.Download, 0)
	require.NoError(t, j.AddFileWithRanges("http://example.com/r.bin", fx.local(), []bits.FileRange{{InitialOffset: 10, Length: 5}}))
	require.NoError(t, j.SetCustomHeaders("X-A: 1\r\n"))
	require.NoError(t, j.SetHttpMethod("PUT"))
	require.NoError(t, j.SetSecurityFlags(bits.RedirectPolicyDisallow))
	require.NoError(t, j.SetProxySettings(bits.ProxyOverride, "proxy:8080", "<local>"))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, engine.Of(j).SetFileValidator(0, "v1"))
	v := engine.Of(j).TransferView()
	assert.Equal(t, "X-A: 1\r\n", v.Headers)
	assert.Equal(t, "PUT", v.Method)
	assert.Equal(t, bits.RedirectPolicyDisallow, v.SecurityFlags)
	assert.Equal(t, bits.ProxyOverride, v.ProxyUsage)
	assert.Equal(t, "proxy:8080", v.ProxyList)
	assert.Equal(t, "<local>", v.ProxyBypass)
	assert.Equal(t, time.Minute, v.RetryDelay)
	require.Len(t, v.Files, 1)
	assert.Equal(t, []bits.FileRange{{InitialOffset: 10, Length: 5}}, v.Files[0].Ranges)
	assert.EqualValues(t, 5, v.Files[0].Total)
	assert.Equal(t, "v1", v.Files[0].Validator)
	assert.True(t, v.NoProgressDeadline.IsZero())

	require.NoError(t, engine.Of(j).Redirected(0, "http://mirror.example.com/r.bin"))
	remote, err := fileAt(t, j, 0).GetRemoteName()
	require.NoError(t, err)
	assert.Equal(t, "http://mirror.example.com/r.bin", remote)
	isCode(t, hresult.E_INVALIDARG, engine.Of(j).Redirected(0, "ftp://x/y"))
	isCode(t, hresult.E_INVALIDARG, engine.Of(j).SetFileValidator(3, "v"))
}

func TestCompleteFinishesACompleteInterruptedByACrash(t *testing.T) {
	// The process renamed the first file and died before recording it: the temporary file is
	// gone and the local file is there. The next Complete takes the file as renamed.
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 2, state.Transferring)
	writeFile(t, j, 0, "one", true)
	writeFile(t, j, 1, "two", true)
	local0, temp0 := names(t, j, 0)
	require.NoError(t, os.Rename(temp0, local0))
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	data, err := os.ReadFile(local0)
	require.NoError(t, err)
	assert.Equal(t, "one", string(data))

	// Without the local file, the missing temporary file is an error.
	j2 := fx.jobIn(bits.Download, 1, state.Transferring)
	writeFile(t, j2, 0, "lost", true)
	_, temp := names(t, j2, 0)
	require.NoError(t, os.Remove(temp))
	_, err = j2.Complete()
	assert.ErrorIs(t, err, hresult.BG_E_LOCAL_FILE_CHANGED)
	mustState(t, j2, state.Transferred)
}

func TestReconcile(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 3, state.Transferring)
	assert.False(t, engine.Of(j).NeedsReconcile(), "no temporary file yet")
	for i := range 3 {
		f, err := engine.Of(j).OpenTemp(i)
		require.NoError(t, err)
		_, err = f.Write(make([]byte, 100))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	// The record says 60 bytes (more arrived after the checkpoint), 100, and 100.
	require.NoError(t, engine.Of(j).FileProgress(0, 1000, 60))
	require.NoError(t, engine.Of(j).FileProgress(1, 1000, 100))
	require.NoError(t, engine.Of(j).FileProgress(2, 1000, 100))
	_, temp1 := names(t, j, 1)
	_, temp2 := names(t, j, 2)
	require.NoError(t, os.Truncate(temp1, 40))
	require.NoError(t, os.Remove(temp2))

	require.True(t, engine.Of(j).NeedsReconcile())
	require.NoError(t, engine.Of(j).Reconcile())
	_, temp0 := names(t, j, 0)
	st, err := os.Stat(temp0)
	require.NoError(t, err)
	assert.EqualValues(t, 60, st.Size(), "cut back to the record")
	for i, want := range []uint64{60, 40, 0} {
		p, err := fileAt(t, j, i).GetProgress()
		require.NoError(t, err)
		assert.Equal(t, want, p.BytesTransferred, "file %d", i)
	}
}
