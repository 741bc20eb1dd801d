package manager_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// On the real clock a kept download records its progress while the file arrives, off the
// transfer's goroutine: by the time the server stalls, past CheckpointBytes, the store holds a
// record that claims at least CheckpointBytes bytes, never more than the temporary file holds
// nor than the job transferred, and the download then finishes byte for byte.
func TestCheckpointsWhileTransferring(t *testing.T) {
	stallAt := manager.CheckpointBytes + 2<<20
	big := content(71, stallAt+3<<20)
	srv := newServer(t, map[string][]byte{"big.bin": big}, bitstest.Stall(int64(stallAt)).On("big.bin").Times(1))
	checkpoints := make(chan uint64, 64)
	manager.SetCheckpointHook(func(n uint64) {
		select {
		case checkpoints <- n:
		default:
		}
	})
	t.Cleanup(func() { manager.SetCheckpointHook(nil) })
	dir, out := t.TempDir(), t.TempDir()
	m, err := manager.Open(dir, manager.WithLimits(job.Limits{}))
	require.NoError(t, err)
	defer m.Close()
	c := connectAs(t, m, manager.Identity{SID: userSID})
	j := download(t, c, out, srv.URLFor("big.bin"))
	reached := make(chan struct{})
	w := &transferWatch{progressWatch: progressWatch{at: uint64(stallAt), reached: reached}, done: make(chan struct{}, 1)}
	require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
	require.NoError(t, j.SetNotifyFlags(bits.NotifyJobModification|bits.NotifyJobTransferred))
	require.NoError(t, j.SetNotifyInterface(w))
	require.NoError(t, j.Resume())
	select {
	case <-reached: // every byte before the stall arrived
	case <-time.After(time.Minute):
		t.Fatal("the download did not reach the stall")
	}
	var claimed uint64
	for claimed < manager.CheckpointBytes {
		select {
		case claimed = <-checkpoints:
		case <-time.After(time.Minute):
			t.Fatalf("no checkpoint of %d bytes or more; the last claimed %d", manager.CheckpointBytes, claimed)
		}
	}

	recs, err := m.StoredRecords()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	f := recs[0].Files[0]
	assert.GreaterOrEqual(t, f.BytesDone, uint64(manager.CheckpointBytes), "the checkpoint is in the store")
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.LessOrEqual(t, f.BytesDone, p.BytesTransferred)
	st, err := os.Stat(filepath.Join(out, filepath.Base(f.TempName)))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, uint64(st.Size()), f.BytesDone, "the record claims no byte the file does not hold")
	assert.Equal(t, state.Transferring, recs[0].State)

	srv.Release()
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		t.Fatalf("not TRANSFERRED: %v", stateOf(t, j))
	}
	m.WaitFinalSyncs() // the file's last sync comes after TRANSFERRED (finalsync_test.go)
	recs, err = m.StoredRecords()
	require.NoError(t, err)
	assert.True(t, recs[0].Files[0].Completed, "the end is recorded")
	assert.Equal(t, uint64(len(big)), recs[0].Files[0].BytesDone)
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	got, err := os.ReadFile(filepath.Join(out, "out0.bin"))
	require.NoError(t, err)
	assert.Equal(t, big, got)
}

// transferWatch is a progressWatch that also signals JobTransferred.
type transferWatch struct {
	progressWatch
	done chan struct{}
}

func (w *transferWatch) JobTransferred(bits.Job) error {
	w.done <- struct{}{}
	return nil
}
