package store_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// FuzzDecode: Decode never panics; what it accepts encodes and decodes again to the same record;
// what it rejects is a damaged-store error.
func FuzzDecode(f *testing.F) {
	withError := typical(2)
	withError.Error = &job.ErrorRecord{Code: hresult.BG_E_HTTP_ERROR_404, File: 0, Protocol: "http"}
	withError.Credentials = []job.Credentials{{Target: job.TargetServer, Scheme: job.SchemeBasic, UserName: "u", Password: "p"}}
	withError.Files[0].Ranges = []job.FileRange{{InitialOffset: 10, Length: 20}, {InitialOffset: 100, Length: 1<<64 - 1}}
	seeds := [][]byte{
		store.Encode(&job.Record{ID: idOf(1)}),
		store.Encode(ptr(typical(1))),
		store.Encode(&withError),
	}
	for _, s := range seeds {
		f.Add(s)
		for _, n := range []int{0, 1, 17, len(s) / 2, len(s) - 1} {
			f.Add(s[:n])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := store.Decode(b)
		if err != nil {
			require.True(t, errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrVersion), "%v", err)
			require.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
			return
		}
		again, err := store.Decode(store.Encode(&r))
		require.NoError(t, err)
		require.Equal(t, r, again)
	})
}

func ptr[T any](v T) *T { return &v }
