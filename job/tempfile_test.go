package job_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// needLinks skips a test that makes symbolic links where the platform may not let it.
func needLinks(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
}

// victim writes a file outside the job's directory that a redirected write would damage.
func victim(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(name, []byte(content), 0o644))
	return name
}

func assertContent(t *testing.T, name, want string, msgAndArgs ...any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if assert.NoError(t, err, msgAndArgs...) {
		assert.Equal(t, want, string(data), msgAndArgs...)
	}
}

// swapTemp replaces the temporary file temp by what make puts at its name.
type swapTemp func(t *testing.T, temp string)

func linkTo(target string) swapTemp {
	return func(t *testing.T, temp string) {
		require.NoError(t, os.Remove(temp))
		require.NoError(t, os.Symlink(target, temp))
	}
}

// otherFile moves the temporary file aside (an existing file: a removed one's inode could be
// reused) and puts a file with content at its name.
func otherFile(content string) swapTemp {
	return func(t *testing.T, temp string) {
		require.NoError(t, os.Rename(temp, temp+".aside"))
		require.NoError(t, os.WriteFile(temp, []byte(content), 0o600))
	}
}

func TestOpenTempNeverWritesThroughAReplacedTemporaryFile(t *testing.T) {
	needLinks(t)
	for _, tc := range []struct {
		name string
		swap func(victim string) swapTemp
		keep string // what must stay at the victim's name (the temp name for otherFile)
	}{
		{"link", func(v string) swapTemp { return linkTo(v) }, "precious data, longer than the download"},
		{"other file", func(string) swapTemp { return otherFile("precious data, longer than the download") }, "precious data, longer than the download"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFx(t)
			j := fx.jobIn(bits.Download, 1, state.Transferring)
			writeFile(t, j, 0, "partial", false)
			_, temp := names(t, j, 0)
			v := victim(t, tc.keep)
			tc.swap(v)(t, temp)

			f, err := engine.Of(j).OpenTemp(0)
			if f != nil {
				f.Close()
			}
			isCode(t, hresult.BG_E_LOCAL_FILE_CHANGED, err)
			assertContent(t, v, tc.keep, "the link's target is not touched")
			fi, err := os.Lstat(temp)
			require.NoError(t, err)
			if tc.name == "other file" {
				assertContent(t, temp, tc.keep, "another file at the temporary name is not cut to the recorded progress")
			} else {
				assert.Equal(t, os.ModeSymlink, fi.Mode().Type())
			}
		})
	}
}

func TestOpenTempRecreatesARemovedTemporaryFile(t *testing.T) {
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	writeFile(t, j, 0, "partial", false)
	_, temp := names(t, j, 0)
	require.NoError(t, os.Remove(temp))
	f, err := engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	_, err = f.WriteString("again")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	p, err := fileAt(t, j, 0).GetProgress()
	require.NoError(t, err)
	assert.Zero(t, p.BytesTransferred, "the file starts again")
	// The new file is the job's own: it opens again.
	f, err = engine.Of(j).OpenTemp(0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestTemporaryFileIdentityOutlivesARestart(t *testing.T) {
	needLinks(t)
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 2, state.Transferring)
	writeFile(t, j, 0, "partial", false)
	writeFile(t, j, 1, "second", false)
	rec := engine.Of(j).Record()
	require.NotZero(t, rec.Files[0].TempInode, "the record keeps the temporary file's identity")
	_, temp0 := names(t, j, 0)
	_, temp1 := names(t, j, 1)
	otherFile("somebody else's longer file")(t, temp1)
	v := victim(t, "precious data, longer than the download")
	linkTo(v)(t, temp0)

	restored, err := job.Restore(&job.Env{}, job.NewCaller(rec.Owner), rec)
	require.NoError(t, err)
	require.NoError(t, engine.Of(restored).Reconcile())
	assertContent(t, v, "precious data, longer than the download", "Reconcile does not cut the link's target")
	assertContent(t, temp1, "somebody else's longer file", "nor another file at the temporary name")
	_, err = engine.Of(restored).OpenTemp(0)
	isCode(t, hresult.BG_E_LOCAL_FILE_CHANGED, err)
	_, err = engine.Of(restored).OpenTemp(1)
	isCode(t, hresult.BG_E_LOCAL_FILE_CHANGED, err)
	assertContent(t, v, "precious data, longer than the download")
}

func TestCompleteRefusesATemporaryFileThatIsNotTheJobs(t *testing.T) {
	needLinks(t)
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, temp, victim string)
	}{
		{"link swapped in", func(t *testing.T, temp, v string) { linkTo(v)(t, temp) }},
		{"truncated", func(t *testing.T, temp, _ string) { require.NoError(t, os.Truncate(temp, 3)) }},
		{"grown", func(t *testing.T, temp, _ string) {
			f, err := os.OpenFile(temp, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString("junk")
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"removed", func(t *testing.T, temp, _ string) { require.NoError(t, os.Remove(temp)) }},
		{"replaced by another file of the same size", func(t *testing.T, temp, _ string) {
			otherFile("FORGED DATA")(t, temp)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFx(t)
			j := fx.jobIn(bits.Download, 2, state.Transferring)
			local0, temp0 := names(t, j, 0)
			local1, _ := names(t, j, 1)
			require.NoError(t, os.WriteFile(local1, []byte("old version"), 0o644))
			writeFile(t, j, 0, "first file", true)
			writeFile(t, j, 1, "downloaded!", true) // 11 bytes, as FORGED DATA
			mustState(t, j, state.Transferred)
			_, temp1 := names(t, j, 1)
			v := victim(t, "target of the link")
			tc.swap(t, temp1, v)

			code, err := j.Complete()
			isCode(t, hresult.BG_E_LOCAL_FILE_CHANGED, err)
			assert.Zero(t, code)
			mustState(t, j, state.Transferred, "nothing changes")
			assertContent(t, local1, "old version", "the existing local file is left alone")
			assert.NoFileExists(t, local0, "no file was renamed")
			assertContent(t, temp0, "first file")
			assertContent(t, v, "target of the link")
			p, err := fileAt(t, j, 0).GetProgress()
			require.NoError(t, err)
			assert.True(t, p.Completed)
		})
	}
}

// rootedJob makes a job of a manager confined to a local root, whose one file goes to
// root/sub/f.bin, and a directory outside the root.
func rootedJob(t *testing.T) (j bits.Job, root, outside string) {
	t.Helper()
	root = t.TempDir()
	outside = t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	fx := newFx(t, manager.WithLocalRoots(root))
	j, err := fx.owner.CreateJob("rooted", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile("http://example.com/f.bin", filepath.Join(root, "sub", "f.bin")))
	driveTo(t, j, state.Transferring)
	return j, root, outside
}

// escape replaces root/sub by a link to target.
func escape(t *testing.T, root, target string) {
	t.Helper()
	sub := filepath.Join(root, "sub")
	require.NoError(t, os.Rename(sub, sub+".moved"))
	require.NoError(t, os.Symlink(target, sub))
}

func TestLocalRootsHoldAfterAddFile(t *testing.T) {
	needLinks(t)
	t.Run("OpenTemp", func(t *testing.T) {
		j, root, outside := rootedJob(t)
		escape(t, root, outside)
		_, err := engine.Of(j).OpenTemp(0)
		isCode(t, hresult.E_ACCESSDENIED, err)
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Empty(t, entries, "nothing is created outside the root")
	})
	t.Run("Complete", func(t *testing.T) {
		j, root, outside := rootedJob(t)
		writeFile(t, j, 0, "data", true)
		escape(t, root, outside)
		_, temp := names(t, j, 0)
		// The same temporary file, as it was, now also outside.
		data, err := os.ReadFile(filepath.Join(root, "sub.moved", filepath.Base(temp)))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(outside, filepath.Base(temp)), data, 0o600))
		_, err = j.Complete()
		isCode(t, hresult.E_ACCESSDENIED, err)
		mustState(t, j, state.Transferred)
		assert.NoFileExists(t, filepath.Join(outside, "f.bin"), "nothing is renamed outside the root")
	})
	t.Run("Cancel", func(t *testing.T) {
		j, root, outside := rootedJob(t)
		writeFile(t, j, 0, "partial", false)
		_, temp := names(t, j, 0)
		escape(t, root, outside)
		bait := filepath.Join(outside, filepath.Base(temp))
		require.NoError(t, os.WriteFile(bait, []byte("not the job's"), 0o600))
		code, err := j.Cancel()
		require.NoError(t, err)
		assert.Equal(t, hresult.BG_S_UNABLE_TO_DELETE_FILES, code)
		assertContent(t, bait, "not the job's", "nothing is removed outside the root")
	})
	t.Run("a link inside the root is followed", func(t *testing.T) {
		j, root, _ := rootedJob(t)
		inside := filepath.Join(root, "elsewhere")
		require.NoError(t, os.Mkdir(inside, 0o755))
		escape(t, root, "elsewhere") // os.Root follows relative links that stay inside
		writeFile(t, j, 0, "data", true)
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.S_OK, code)
		assertContent(t, filepath.Join(inside, "f.bin"), "data")
	})
}

func TestCancelLeavesALinkAtTheTemporaryNameAlone(t *testing.T) {
	needLinks(t)
	fx := newFx(t)
	j := fx.jobIn(bits.Download, 1, state.Transferring)
	writeFile(t, j, 0, "partial", false)
	_, temp := names(t, j, 0)
	v := victim(t, "target of the link")
	linkTo(v)(t, temp)
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_S_UNABLE_TO_DELETE_FILES, code, "the job's own file is not there to delete")
	mustState(t, j, state.Cancelled)
	assertContent(t, v, "target of the link")
	fi, err := os.Lstat(temp)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, fi.Mode().Type(), "what is not the job's stays")
}
