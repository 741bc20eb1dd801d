package manager_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// TestOpenRecordThatIsNoJob: a record the store reads well but that cannot describe a job (an
// undefined state, a final one, no owner, an error of a file the job lacks) fails Open with
// BG_E_DATABASE_CORRUPT and store.ErrCorrupt, naming the job, and the store keeps it.
func TestOpenRecordThatIsNoJob(t *testing.T) {
	good := func() job.Record {
		return job.Record{
			ID: uuid.MustParse("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"), Type: bits.Download, State: state.Suspended,
			Seq: 3, Owner: job.Identity{SID: "S-1-5-21-100"}, Priority: bits.Normal, DisplayName: "kept",
		}
	}
	for _, tc := range []struct {
		name   string
		damage func(r *job.Record)
		want   string
	}{
		{"undefined state", func(r *job.Record) { r.State = 99 }, "undefined state 99"},
		{"final state", func(r *job.Record) { r.State = state.Cancelled }, "a CANCELLED job is not kept"},
		{"no owner", func(r *job.Record) { r.Owner.SID = "" }, "no owner"},
		{"error of a missing file", func(r *job.Record) {
			r.Error = &job.ErrorRecord{Code: hresult.E_FAIL, File: 3}
		}, "error of file 3 of 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := store.Open(dir, store.Options{})
			require.NoError(t, err)
			r := good()
			tc.damage(&r)
			require.NoError(t, st.Put(&r))
			require.NoError(t, st.Close())

			m, err := manager.Open(dir)
			require.Nil(t, m)
			assert.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
			assert.ErrorIs(t, err, store.ErrCorrupt)
			assert.ErrorContains(t, err, "{0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F1}")
			assert.ErrorContains(t, err, tc.want)

			st, err = store.Open(dir, store.Options{})
			require.NoError(t, err, "the manager let go of the store")
			recs, err := st.Load()
			require.NoError(t, err)
			assert.Equal(t, []job.Record{r}, recs, "the record is kept as it was")
			require.NoError(t, st.Close())
		})
	}
}

// TestOpenDamagedRecord: one bit flipped in a job's record on disk fails Open with
// BG_E_DATABASE_CORRUPT and store.ErrCorrupt, naming the job, and leaves the file as it was; so
// does an empty or cut-short jobs.db, which is never taken for a new store.
func TestOpenDamagedRecord(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	m, err := manager.Open(dir, manager.WithManualTransfers())
	require.NoError(t, err)
	c := connectAs(t, m, manager.Identity{SID: userSID})
	j := download(t, c, out, "http://127.0.0.1:9/a")
	require.NoError(t, j.SetDisplayName("a name to find in the file"))
	require.NoError(t, m.Close())
	path := filepath.Join(dir, store.FileName)
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		damage  func(b []byte) []byte
		naming  bool
		message string
	}{
		{"a bit of the display name", func(b []byte) []byte {
			at := bytes.Index(b, []byte("a name to find"))
			require.Positive(t, at)
			b[at] ^= 0x04
			return b
		}, true, "checksum does not match"},
		{"empty", func([]byte) []byte { return nil }, false, "the file is empty"},
		{"cut to one page", func(b []byte) []byte { return b[:4096] }, false, "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			damaged := tc.damage(bytes.Clone(good))
			require.NoError(t, os.WriteFile(path, damaged, 0o600))
			m, err := manager.Open(dir)
			require.Nil(t, m)
			assert.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
			assert.ErrorIs(t, err, store.ErrCorrupt)
			assert.ErrorContains(t, err, tc.message)
			if tc.naming {
				assert.ErrorContains(t, err, job.GUIDString(engine.Of(j).ID()))
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(damaged, after), "the damaged file is left as it was")
		})
	}
	require.NoError(t, os.WriteFile(path, good, 0o600))
	m, err = manager.Open(dir)
	require.NoError(t, err, "the undamaged file opens")
	defer m.Close()
	assert.Equal(t, 1, m.JobCount())
}
