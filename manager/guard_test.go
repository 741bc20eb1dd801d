package manager_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// tempSize returns the size of file i's temporary file, or -1 when there is none.
func tempSize(t *testing.T, j bits.Job, i int) int64 {
	t.Helper()
	files, err := j.EnumFiles()
	require.NoError(t, err)
	all, _ := bits.All(files)
	require.Greater(t, len(all), i)
	name, err := all[i].GetTemporaryName()
	require.NoError(t, err)
	fi, err := os.Stat(name)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func TestJobsCannotReadTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	h, err := bitstest.OpenHarness(t, dir, nil)
	require.NoError(t, err)
	c := h.Connect(userSID)
	admin, err := h.Manager.Connect(manager.Identity{SID: "S-1-5-32-544-1", Admin: true})
	require.NoError(t, err)
	out := t.TempDir()
	db := filepath.Join(dir, store.FileName)
	for _, cl := range []*manager.Client{c, admin} {
		j, err := cl.CreateJob("steal", bits.Download)
		require.NoError(t, err)
		require.NoError(t, j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "secret"}))
		local := filepath.Join(out, "copy.db")
		require.NoError(t, j.AddFile("file://"+filepath.ToSlash(db), local))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Error, stateOf(t, j))
		ctx, code := jobError(t, j)
		assert.Equal(t, hresult.E_ACCESSDENIED, code)
		assert.Equal(t, bits.ContextRemoteFile, ctx)
		assert.LessOrEqual(t, tempSize(t, j, 0), int64(0), "nothing is copied")
		_, err = j.Cancel()
		require.NoError(t, err)
		assert.NoFileExists(t, local)
	}
}

func TestLocalRootsConfineFileSources(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("not for this job"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(root, "link")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "ok.bin"), []byte("fine"), 0o644))
	h, c, _ := setup(t, manager.WithLocalRoots(root))
	for _, src := range []string{secret, filepath.Join(root, "link")} {
		j := download(t, c, root, src)
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Error, stateOf(t, j), src)
		_, code := jobError(t, j)
		assert.Equal(t, hresult.E_ACCESSDENIED, code, src)
		assert.LessOrEqual(t, tempSize(t, j, 0), int64(0), "nothing is copied")
		_, err := j.Cancel()
		require.NoError(t, err)
	}
	j := download(t, c, root, filepath.Join(root, "ok.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, j))
	assert.Equal(t, "fine", string(completeAndRead(t, j, root, 1)[0]))
}

func TestMaxDownloadSize(t *testing.T) {
	const max = 1 << 20
	t.Run("an endless body stops at the cap", func(t *testing.T) {
		written := make(chan int64, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			block := content(20, 64<<10)
			var n int64
			defer func() { written <- n }()
			for r.Context().Err() == nil {
				m, err := w.Write(block)
				n += int64(m)
				if err != nil {
					return
				}
			}
		}))
		t.Cleanup(srv.Close)
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URL+"/endless")
		require.NoError(t, j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
		require.NoError(t, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: max}))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Error, stateOf(t, j))
		ctx, code := jobError(t, j)
		assert.Equal(t, hresult.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, code)
		assert.Equal(t, bits.ContextRemoteFile, ctx)
		assert.LessOrEqual(t, tempSize(t, j, 0), int64(max), "at most the cap is on disk")
		p, err := j.GetProgress()
		require.NoError(t, err)
		assert.LessOrEqual(t, p.BytesTransferred, uint64(max))
		assert.Greater(t, <-written, int64(max), "the server sent more than the cap")
	})
	t.Run("the cap counts the job's other files", func(t *testing.T) {
		a, b := content(21, 600_000), content(22, 600_000)
		srv := newServer(t, map[string][]byte{"a.bin": a, "b.bin": b})
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URLFor("a.bin"), srv.URLFor("b.bin"))
		require.NoError(t, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: max}))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Error, stateOf(t, j))
		_, code := jobError(t, j)
		assert.Equal(t, hresult.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, code)
		e, err := j.GetError()
		require.NoError(t, err)
		f, err := e.GetFile()
		require.NoError(t, err)
		remote, err := f.GetRemoteName()
		require.NoError(t, err)
		assert.Equal(t, srv.URLFor("b.bin"), remote, "the second file goes over")
		assert.EqualValues(t, len(a), tempSize(t, j, 0))
		assert.EqualValues(t, 0, tempSize(t, j, 1), "the known size fails before a byte is written")
		for _, r := range srv.Requests() {
			assert.False(t, r.Method == http.MethodGet && r.Path == "/b.bin", "no GET for the file over the cap")
		}
	})
	t.Run("under the cap", func(t *testing.T) {
		a := content(23, 600_000)
		srv := newServer(t, map[string][]byte{"a.bin": a})
		h, c, dir := setup(t)
		j := download(t, c, dir, srv.URLFor("a.bin"))
		require.NoError(t, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: uint64(len(a))}))
		require.NoError(t, j.Resume())
		h.Settle()
		require.Equal(t, state.Transferred, stateOf(t, j))
		assert.Equal(t, a, completeAndRead(t, j, dir, 1)[0])
	})
}

func TestResumeNeverWritesThroughALinkAtTheTemporaryName(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	data := content(24, 100_000)
	srv := newServer(t, map[string][]byte{"d.bin": data}, bitstest.DropAfter(10_000).Times(1))
	h, c, dir := setup(t)
	j := download(t, c, dir, srv.URLFor("d.bin"))
	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.TransientError, stateOf(t, j), "the cut happened")
	files, err := j.EnumFiles()
	require.NoError(t, err)
	all, _, _ := files.Next(1)
	require.Len(t, all, 1)
	temp, err := all[0].GetTemporaryName()
	require.NoError(t, err)
	victim := filepath.Join(t.TempDir(), "victim")
	precious := content(25, 200_000)
	require.NoError(t, os.WriteFile(victim, precious, 0o644))
	require.NoError(t, os.Remove(temp))
	require.NoError(t, os.Symlink(victim, temp))

	require.NoError(t, j.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, j))
	ctx, code := jobError(t, j)
	assert.Equal(t, hresult.BG_E_LOCAL_FILE_CHANGED, code)
	assert.Equal(t, bits.ContextLocalFile, ctx)
	got, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, precious, got, "the link's target is untouched")
}

// TestReadAsOwner: with WithFilesAs, every local source, a download's and an upload's, is opened
// inside the function given, for the job's owner as it is now; its refusal fails the job with a
// fatal E_ACCESSDENIED before a byte is copied. The function lets each refused owner through
// the file work that comes before the source's open (the directory check of AddFile, the
// temporary file's creation), and refuses what follows.
func TestReadAsOwner(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	require.NoError(t, os.WriteFile(src, []byte("payload"), 0o644))
	var mu sync.Mutex
	asked := map[string]int{}
	const refusedDL, refusedUp = "S-1-5-21-refused-dl", "S-1-5-21-refused-up"
	allowed := map[string]int{refusedDL: 2, refusedUp: 1}
	h := bitstest.NewHarness(t, manager.WithFilesAs(func(owner manager.Identity, open func()) error {
		mu.Lock()
		asked[owner.SID]++
		n, limited := allowed[owner.SID]
		refuse := limited && asked[owner.SID] > n
		mu.Unlock()
		if refuse {
			return errors.New("not this user")
		}
		open()
		return nil
	}))
	out := t.TempDir()

	ok := download(t, h.Connect(userSID), out, src)
	require.NoError(t, ok.Resume())
	h.Settle()
	require.Equal(t, state.Transferred, stateOf(t, ok))
	assert.Equal(t, "payload", string(completeAndRead(t, ok, out, 1)[0]))

	no := download(t, h.Connect(refusedDL), t.TempDir(), "file://"+filepath.ToSlash(src))
	require.NoError(t, no.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, no))
	ctx, code := jobError(t, no)
	assert.Equal(t, hresult.E_ACCESSDENIED, code)
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	assert.Equal(t, int64(0), tempSize(t, no, 0), "nothing is copied")

	up, err := h.Connect(refusedUp).CreateJob("send", bits.Upload)
	require.NoError(t, err)
	require.NoError(t, up.AddFile("http://127.0.0.1:9/put", src))
	require.NoError(t, up.Resume())
	h.Settle()
	require.Equal(t, state.Error, stateOf(t, up))
	ctx, code = jobError(t, up)
	assert.Equal(t, hresult.E_ACCESSDENIED, code)
	assert.Equal(t, bits.ContextLocalFile, ctx)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 3, asked[refusedDL], "the check, the temporary file, the source, once each")
	assert.Equal(t, 2, asked[refusedUp], "the check, the source, once each")
	assert.Greater(t, asked[userSID], 1, "the owner's source and files")
}
