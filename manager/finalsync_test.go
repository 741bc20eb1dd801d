package manager_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// A kept job becomes TRANSFERRED as soon as its last byte is written, before the file's final
// sync; until that sync is done its record describes the job as a crash of the machine would
// find it: QUEUED, its file not done and claiming only the bytes synced before. Complete does not
// wait for the sync, and its end (the record's removal) is on disk when it returns. A store
// holding the record of the moment before, opened again as after such a crash, transfers the job
// again and gets the whole file.
func TestFinalSyncComesAfterTransferred(t *testing.T) {
	if !manager.FinalSyncLater {
		t.Skip("the final sync comes before TRANSFERRED on this system")
	}
	body := content(5, 3<<20+17)
	srv := newServer(t, map[string][]byte{"f.bin": body})
	entered, release := make(chan struct{}, 1), make(chan struct{})
	manager.SetFinalSyncHook(func() {
		entered <- struct{}{}
		<-release
	})
	t.Cleanup(func() { manager.SetFinalSyncHook(nil) })
	dir, out := t.TempDir(), t.TempDir()
	m, err := manager.Open(dir, manager.WithLimits(job.Limits{}))
	require.NoError(t, err)
	defer m.Close()
	defer close(release) // before Close, which waits for the syncs
	c := connectAs(t, m, manager.Identity{SID: userSID})
	j := download(t, c, out, srv.URLFor("f.bin"))
	w := &transferWatch{done: make(chan struct{}, 1)}
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobTransferred))
	require.NoError(t, j.SetNotifyInterface(w))
	require.NoError(t, j.Resume())
	for _, ch := range []chan struct{}{w.done, entered} {
		select {
		case <-ch:
		case <-time.After(time.Minute):
			t.Fatalf("not TRANSFERRED with its sync begun: %v", stateOf(t, j))
		}
	}
	assert.Equal(t, state.Transferred, stateOf(t, j))

	recs, err := m.StoredRecords()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, state.Queued, recs[0].State, "on disk the job is not transferred yet")
	assert.False(t, recs[0].Files[0].Completed)
	assert.Less(t, recs[0].Files[0].BytesDone, uint64(len(body)), "nor is its file claimed whole")
	snapshot := recs

	code, err := j.Complete()
	require.NoError(t, err)
	require.Equal(t, hresult.S_OK, code)
	got, err := os.ReadFile(filepath.Join(out, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, body, got, "Complete renamed the file without waiting")
	recs, err = m.StoredRecords()
	require.NoError(t, err)
	assert.Empty(t, recs, "Complete's end is on disk when it returns")

	release <- struct{}{} // not the deferred close: let this one sync run
	m.WaitFinalSyncs()
	recs, err = m.StoredRecords()
	require.NoError(t, err)
	assert.Empty(t, recs, "the sync of a completed job writes nothing")
	require.NoError(t, m.StoreErr())

	// The store as a crash of the machine before the sync leaves it (the record of then; the
	// file, renamed by Complete, may not hold its data): the job comes back and transfers again.
	require.NoError(t, os.WriteFile(filepath.Join(out, "out0.bin"), nil, 0o644))
	crashed := t.TempDir()
	st, err := store.Open(crashed, store.Options{})
	require.NoError(t, err)
	require.NoError(t, st.PutAll(snapshot))
	require.NoError(t, st.Close())
	manager.SetFinalSyncHook(nil)
	m2, err := manager.Open(crashed, manager.WithLimits(job.Limits{}))
	require.NoError(t, err)
	defer m2.Close()
	j2 := getJob(t, connectAs(t, m2, manager.Identity{SID: userSID}), j)
	w2 := &transferWatch{done: make(chan struct{}, 1)}
	require.NoError(t, j2.SetNotifyFlags(bits.NotifyJobTransferred))
	require.NoError(t, j2.SetNotifyInterface(w2)) // fires at once if it is TRANSFERRED already
	select {
	case <-w2.done:
	case <-time.After(time.Minute):
		t.Fatalf("the job did not transfer again: %v", stateOf(t, j2))
	}
	code, err = j2.Complete()
	require.NoError(t, err)
	require.Equal(t, hresult.S_OK, code)
	got, err = os.ReadFile(filepath.Join(out, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, body, got, "the file transferred again is whole")
	m2.WaitFinalSyncs()
	recs, err = m2.StoredRecords()
	require.NoError(t, err)
	assert.Empty(t, recs)
}
