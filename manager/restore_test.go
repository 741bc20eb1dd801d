package manager_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
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
			ID: uuid.MustParse("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"), Type: job.Download, State: state.Suspended,
			Seq: 3, Owner: job.Identity{SID: "S-1-5-21-100"}, Priority: job.Normal, DisplayName: "kept",
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
