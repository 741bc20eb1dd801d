package store_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// TestLoadInRanges: a large store is read in as many ranges of keys as there are processors,
// each on a goroutine of its own, and Load returns every record once, in creation order, as
// when it is read whole; damage is reported for the first damaged record in the order of the
// keys, in whichever range it lies.
func TestLoadInRanges(t *testing.T) {
	const n = 10_000
	rng := rand.New(rand.NewPCG(3, 4))
	recs := typicalRandom(n, rng)
	for i := range recs {
		// Creation order unrelated to the keys, some created at the same instant.
		recs[i].Created = base.Add(time.Duration(rng.IntN(n/2)) * time.Second)
	}
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, s.PutAll(recs))
	require.NoError(t, s.Close())
	want := sorted(recs)
	keys := make([]uuid.UUID, n)
	for i := range recs {
		keys[i] = recs[i].ID
	}
	slices.SortFunc(keys, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })

	for _, procs := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			s, err := store.Open(dir, store.Options{})
			require.NoError(t, err)
			assert.Equal(t, procs, store.Ranges(s))
			got, err := s.Load()
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.Len(t, got, n)
			for i := range want {
				require.True(t, equalRecords(want[i:i+1], got[i:i+1]), "record %d", i)
			}
		})
	}

	// Damage near the end of the keys and near their start: the first in key order is named,
	// whichever range finds it first.
	damage := func(ids ...uuid.UUID) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			for _, id := range ids {
				v := slices.Clone(jobs(tx).Get(id[:]))
				v[len(v)/2] ^= 0x10
				if err := jobs(tx).Put(id[:], v); err != nil {
					return err
				}
			}
			return nil
		}
	}
	early, late := keys[n/10], keys[n-n/10]
	for _, tc := range []struct {
		name    string
		damaged []uuid.UUID
		named   uuid.UUID
	}{
		{"late", []uuid.UUID{late}, late},
		{"early and late", []uuid.UUID{late, early}, early},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
			ddir := t.TempDir()
			s, err := store.Open(ddir, store.Options{NoSync: true})
			require.NoError(t, err)
			require.NoError(t, s.PutAll(recs))
			require.NoError(t, s.Close())
			raw(t, ddir, damage(tc.damaged...))
			s, err = store.Open(ddir, store.Options{})
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, 4, store.Ranges(s))
			_, err = s.Load()
			requireCorrupt(t, err, store.ErrCorrupt, "Load "+guidOf(tc.named), "checksum does not match")
		})
	}
}

// guidOf formats id as the store's errors name jobs.
func guidOf(id uuid.UUID) string { return job.GUIDString(id) }

// TestLoadInRangesWhileGrowing: Loads that read a large store in ranges, each range in a read
// transaction of its own, while Puts grow the file (bbolt maps it again, which waits for every
// read transaction): every Load and every Put completes, and every Load returns a consistent
// state, the base records with some of the new ones.
func TestLoadInRangesWhileGrowing(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	const n = 6_000
	recs := typicalRandom(n, rand.New(rand.NewPCG(5, 6)))
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, s.PutAll(recs))
	require.NoError(t, s.Close())
	s, err = store.Open(dir, store.Options{NoSync: true})
	require.NoError(t, err)
	defer s.Close()
	require.Greater(t, store.Ranges(s), 1)

	puts := 150
	if testing.Short() {
		puts = 50
	}
	done := make(chan error, 1)
	go func() {
		for i := range puts {
			r := typical(n + 1 + i)
			r.Files[0].ResponseHeaders = fmt.Sprintf("X-Padding: %0*d\r\n", 128<<10, i) // the file grows
			if err := s.Put(&r); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	loads := 0
	for finished := false; !finished; loads++ {
		select {
		case err := <-done:
			require.NoError(t, err)
			finished = true
		default:
		}
		got, err := s.Load()
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(got), n)
		require.LessOrEqual(t, len(got), n+puts)
	}
	got, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, got, n+puts)
	t.Logf("%d loads", loads)
}
