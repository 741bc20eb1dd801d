package manager_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/uptest"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// diskWitness is a WithFilesAs function that runs each piece of work on a goroutine of its
// own, as the service does, and records the owner it ran for and what appeared in and vanished
// from dir meanwhile. While refusing is set it refuses, running nothing.
type diskWitness struct {
	t   *testing.T
	dir string

	mu       sync.Mutex
	refusing bool
	calls    []diskCall
}

// diskCall is one call of a diskWitness.
type diskCall struct {
	owner              string
	refused            bool
	appeared, vanished []string
}

func (w *diskWitness) as(owner manager.Identity, do func()) error {
	w.mu.Lock()
	defer w.mu.Unlock() // the jobs' work is serialised: a listing sees only this call's
	call := diskCall{owner: owner.SID, refused: w.refusing}
	if w.refusing {
		w.calls = append(w.calls, call)
		return errors.New("refused")
	}
	before := w.list()
	done := make(chan struct{})
	go func() { defer close(done); do() }()
	<-done
	after := w.list()
	for _, n := range after {
		if !slices.Contains(before, n) {
			call.appeared = append(call.appeared, n)
		}
	}
	for _, n := range before {
		if !slices.Contains(after, n) {
			call.vanished = append(call.vanished, n)
		}
	}
	w.calls = append(w.calls, call)
	return nil
}

func (w *diskWitness) list() []string {
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		w.t.Errorf("listing %s: %v", w.dir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func (w *diskWitness) refuse(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refusing = on
}

// since returns the calls made after the first n.
func (w *diskWitness) since(n int) []diskCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls[n:])
}

func (w *diskWitness) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

// during runs f and returns the calls made meanwhile, requiring at least one, all for owner.
func (w *diskWitness) during(t *testing.T, owner, what string, f func()) []diskCall {
	t.Helper()
	n := w.count()
	f()
	calls := w.since(n)
	require.NotEmpty(t, calls, "%s goes through WithFilesAs", what)
	for _, c := range calls {
		assert.Equal(t, owner, c.owner, "%s runs for the job's owner", what)
	}
	return calls
}

// changes sums up what appeared and vanished in calls.
func changes(calls []diskCall) (appeared, vanished []string) {
	for _, c := range calls {
		appeared = append(appeared, c.appeared...)
		vanished = append(vanished, c.vanished...)
	}
	return appeared, vanished
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func tempName(t *testing.T, j bits.Job) string {
	t.Helper()
	files, err := j.EnumFiles()
	require.NoError(t, err)
	all, _, _ := files.Next(1)
	require.Len(t, all, 1)
	name, err := all[0].GetTemporaryName()
	require.NoError(t, err)
	return filepath.Base(name)
}

// TestFilesAsDownload: with WithFilesAs, every use of a download job's local names by path goes
// through the function given, for the job's owner: AddFile's directory check, the temporary
// file's creation, its reopening after a cut, Complete's rename, Cancel's removal. Every file
// that appears in or vanishes from the directory does so inside it. When it refuses, the call
// fails with E_ACCESSDENIED (a transfer with a fatal E_ACCESSDENIED, context LOCAL_FILE) and
// nothing changes on disk.
func TestFilesAsDownload(t *testing.T) {
	const otherSID = "S-1-5-21-4343"
	data := content(31, 50_000)
	srv := newServer(t, map[string][]byte{"d.bin": data, "e.bin": data},
		bitstest.DropAfter(10_000).On("d.bin").Times(1), bitstest.DropAfter(10_000).On("e.bin"))
	dir := t.TempDir()
	w := &diskWitness{t: t, dir: dir}
	h := bitstest.NewHarness(t, manager.WithFilesAs(w.as))
	j, err := h.Connect(userSID).CreateJob("d", bits.Download)
	require.NoError(t, err)
	local := filepath.Join(dir, "out0.bin")

	// AddFile.
	w.refuse(true)
	calls := w.during(t, userSID, "a refused AddFile", func() {
		require.ErrorIs(t, j.AddFile(srv.URLFor("d.bin"), local), hresult.E_ACCESSDENIED)
	})
	assert.True(t, calls[0].refused)
	n, err := j.GetProgress()
	require.NoError(t, err)
	assert.Zero(t, n.FilesTotal, "a refused AddFile adds nothing")
	w.refuse(false)
	w.during(t, userSID, "AddFile", func() { require.NoError(t, j.AddFile(srv.URLFor("d.bin"), local)) })

	// The temporary file's creation, refused.
	w.refuse(true)
	w.during(t, userSID, "a refused creation", func() {
		require.NoError(t, j.Resume())
		h.Settle()
	})
	require.Equal(t, state.Error, stateOf(t, j))
	ctx, code := jobError(t, j)
	assert.Equal(t, hresult.E_ACCESSDENIED, code)
	assert.Equal(t, bits.ContextLocalFile, ctx)
	assert.Empty(t, listDir(t, dir), "nothing created")
	w.refuse(false)

	// The creation, and the reopening after a cut.
	calls = w.during(t, userSID, "the creation", func() {
		require.NoError(t, j.Resume())
		h.Settle()
	})
	require.Equal(t, state.TransientError, stateOf(t, j), "the cut happened")
	temp := tempName(t, j)
	appeared, _ := changes(calls)
	assert.Equal(t, []string{temp}, appeared, "the temporary file is created inside WithFilesAs")
	calls = w.during(t, userSID, "the reopening", func() {
		_, err := h.WaitState(j, 24*time.Hour, state.Transferred)
		require.NoError(t, err)
	})
	appeared, vanished := changes(calls)
	assert.Empty(t, appeared)
	assert.Empty(t, vanished)
	faultsServed(t, srv, 1)

	// Complete, refused: nothing renamed, the job stays TRANSFERRED.
	w.refuse(true)
	w.during(t, userSID, "a refused Complete", func() {
		_, err := j.Complete()
		require.ErrorIs(t, err, hresult.E_ACCESSDENIED)
	})
	assert.Equal(t, state.Transferred, stateOf(t, j))
	assert.Equal(t, []string{temp}, listDir(t, dir), "nothing renamed")
	w.refuse(false)
	calls = w.during(t, userSID, "Complete", func() {
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.S_OK, code)
	})
	appeared, vanished = changes(calls)
	assert.Equal(t, []string{"out0.bin"}, appeared, "the rename happens inside WithFilesAs")
	assert.Equal(t, []string{temp}, vanished)
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	// Cancel, refused and not, for another owner's jobs.
	cancelled := func(refuse bool) {
		k, err := h.Connect(otherSID).CreateJob("e", bits.Download)
		require.NoError(t, err)
		require.NoError(t, k.AddFile(srv.URLFor("e.bin"), filepath.Join(dir, fmt.Sprintf("e%v.bin", refuse))))
		require.NoError(t, k.Resume())
		h.Settle()
		require.Equal(t, state.TransientError, stateOf(t, k), "the cut happened")
		temp := tempName(t, k)
		require.Contains(t, listDir(t, dir), temp)
		w.refuse(refuse)
		defer w.refuse(false)
		calls := w.during(t, otherSID, "Cancel", func() {
			code, err := k.Cancel()
			require.NoError(t, err)
			if refuse {
				assert.Equal(t, hresult.BG_S_UNABLE_TO_DELETE_FILES, code)
			} else {
				assert.Equal(t, hresult.S_OK, code)
			}
		})
		_, vanished := changes(calls)
		if refuse {
			assert.Contains(t, listDir(t, dir), temp, "a refused removal leaves the file")
			assert.Empty(t, vanished)
		} else {
			assert.NotContains(t, listDir(t, dir), temp)
			assert.Equal(t, []string{temp}, vanished, "the removal happens inside WithFilesAs")
		}
	}
	cancelled(true)
	cancelled(false)
}

// TestFilesAsReply: an upload-reply job's reply file, its name's check, its temporary file's
// creation, the reading of the reply and Complete's rename, goes through WithFilesAs for the
// job's owner; a refused SetReplyFileName gives E_ACCESSDENIED and keeps the name.
func TestFilesAsReply(t *testing.T) {
	var w *diskWitness
	e := newUpEnv(t, &uptest.Server{Reply: func(name string, b []byte) []byte { return []byte("got " + name) }},
		manager.WithFilesAs(func(owner manager.Identity, do func()) error { return w.as(owner, do) }))
	w = &diskWitness{t: t, dir: e.dir}
	j := e.job(t, bits.UploadReply, "/app/r.bin", content(5, 1000))
	replyName := filepath.Join(e.dir, "answer.txt")

	w.refuse(true)
	w.during(t, userSID, "a refused SetReplyFileName", func() {
		require.ErrorIs(t, j.SetReplyFileName(replyName), hresult.E_ACCESSDENIED)
	})
	name, err := j.GetReplyFileName()
	require.NoError(t, err)
	assert.NotEqual(t, replyName, name, "a refused name is not kept")
	w.refuse(false)
	w.during(t, userSID, "SetReplyFileName", func() { require.NoError(t, j.SetReplyFileName(replyName)) })

	calls := w.during(t, userSID, "the upload and its reply", func() {
		require.NoError(t, j.Resume())
		e.transferred(t, j)
	})
	appeared, _ := changes(calls)
	require.Len(t, appeared, 1, "the reply's temporary file is created inside WithFilesAs")
	assert.Regexp(t, `^BIT.*R\.tmp$`, appeared[0])
	w.during(t, userSID, "GetReplyData", func() {
		got, err := j.GetReplyData()
		require.NoError(t, err)
		assert.Equal(t, "got r.bin", string(got))
	})
	calls = w.during(t, userSID, "Complete", func() {
		_, err := j.Complete()
		require.NoError(t, err)
	})
	appeared, vanished := changes(calls)
	assert.Equal(t, []string{"answer.txt"}, appeared, "the reply file is renamed inside WithFilesAs")
	require.Len(t, vanished, 1, "the reply's temporary file is renamed")
	assert.Regexp(t, `^BIT.*R\.tmp$`, vanished[0])
}
