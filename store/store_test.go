package store_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// sorted returns rs in Load's order: Created, then ID.
func sorted(rs []job.Record) []job.Record {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b job.Record) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return rs
}

// reopen closes s and opens its directory again.
func reopen(t *testing.T, s *store.Store) *store.Store {
	t.Helper()
	require.NoError(t, s.Close())
	return openT(t, s.Dir())
}

// raw runs fn on the store's bbolt file directly, the store being closed.
func raw(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(fn))
}

func jobs(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket([]byte("jobs")) }

// openLoad opens the store in dir, loads it and closes it: the records, or the error of Open or
// of Load.
func openLoad(dir string) ([]job.Record, error) {
	s, err := store.Open(dir, store.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Load()
}

func TestPutReopenLoad(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "queue"))
	want := []job.Record{typical(3), typical(1), filled(t), typical(2)}
	for i := range want {
		require.NoError(t, s.Put(&want[i]))
	}
	s = reopen(t, s)
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, sorted(want), got)
	n, err := s.Len()
	require.NoError(t, err)
	require.Equal(t, len(want), n)
}

func TestPutReopenLoadRandom(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		rs := rapid.SliceOfNDistinct(rapid.Custom(genRecord), 0, 4, func(r job.Record) uuid.UUID { return r.ID }).Draw(rt, "records")
		rs = slices.DeleteFunc(rs, func(r job.Record) bool { return r.ID == uuid.Nil })
		sub, err := os.MkdirTemp(dir, "q")
		require.NoError(rt, err)
		s, err := store.Open(sub, store.Options{NoSync: true})
		require.NoError(rt, err)
		require.NoError(rt, s.PutAll(rs[:len(rs)/2]))
		for i := len(rs) / 2; i < len(rs); i++ {
			require.NoError(rt, s.Put(&rs[i]))
		}
		require.NoError(rt, s.Close())
		s, err = store.Open(sub, store.Options{NoSync: true})
		require.NoError(rt, err)
		defer s.Close()
		got, err := s.Load()
		require.NoError(rt, err)
		if len(rs) == 0 {
			require.Empty(rt, got)
			return
		}
		require.Equal(rt, sorted(rs), got)
	})
}

func TestPutKeepsNewest(t *testing.T) {
	type put struct {
		seq  uint64
		name string
	}
	for _, tc := range []struct {
		name string
		puts []put
		want put
	}{
		{"newer replaces older", []put{{3, "a"}, {5, "b"}}, put{5, "b"}},
		{"older is skipped", []put{{5, "a"}, {3, "b"}}, put{5, "a"}},
		{"equal replaces", []put{{5, "a"}, {5, "b"}}, put{5, "b"}},
		{"older after several", []put{{1, "a"}, {7, "b"}, {2, "c"}, {6, "d"}}, put{7, "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bulk := range []bool{false, true} {
				s := openT(t, t.TempDir())
				var rs []job.Record
				for _, p := range tc.puts {
					r := typical(1)
					r.Seq, r.DisplayName = p.seq, p.name
					rs = append(rs, r)
				}
				if bulk {
					require.NoError(t, s.PutAll(rs))
				} else {
					for i := range rs {
						require.NoError(t, s.Put(&rs[i]))
					}
				}
				s = reopen(t, s)
				got, err := s.Load()
				require.NoError(t, err)
				require.Len(t, got, 1)
				assert.Equal(t, tc.want, put{got[0].Seq, got[0].DisplayName}, "PutAll: %v", bulk)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	s := openT(t, t.TempDir())
	a, b := typical(1), typical(2)
	require.NoError(t, s.Put(&a))
	require.NoError(t, s.Put(&b))
	require.NoError(t, s.Delete(a.ID))
	require.NoError(t, s.Delete(a.ID), "deleting an absent job is not an error")
	require.NoError(t, s.Delete(idOf(99)))
	s = reopen(t, s)
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, []job.Record{b}, got)
	n, err := s.Len()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestLoadOrder(t *testing.T) {
	at := func(n int, created time.Time) job.Record {
		r := job.Record{ID: idOf(n), Created: created}
		return r
	}
	t1, t2 := base, base.Add(time.Nanosecond)
	want := []job.Record{
		at(7, time.Time{}), // the zero time first
		at(2, time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC)),
		at(3, t1), at(5, t1), at(9, t1), // equal times by ID
		at(1, t2),
		at(4, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
	shuffled := slices.Clone(want)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	s := openT(t, t.TempDir())
	for i := range shuffled {
		require.NoError(t, s.Put(&shuffled[i]))
	}
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestPutAll(t *testing.T) {
	s := openT(t, t.TempDir())
	var rs []job.Record
	for i := range 500 {
		rs = append(rs, typical(i+1))
	}
	rand.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	require.NoError(t, s.PutAll(rs))
	require.NoError(t, s.PutAll(nil))
	s = reopen(t, s)
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, sorted(rs), got)

	t.Run("all or nothing", func(t *testing.T) {
		s := openT(t, t.TempDir())
		bad := []job.Record{typical(1), {}, typical(2)}
		err := s.PutAll(bad)
		require.ErrorIs(t, err, hresult.E_INVALIDARG)
		n, err := s.Len()
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestPutRefuses(t *testing.T) {
	badName := typical(1)
	badName.DisplayName = "caf\xe9"
	badFile := typical(2)
	badFile.Files[0].LocalName = "/tmp/\xff"
	for _, tc := range []struct {
		name string
		r    job.Record
		want string
	}{
		{"no id", job.Record{DisplayName: "x"}, "no job id"},
		{"display name not UTF-8", badName, "would not read back: DisplayName: invalid UTF-8"},
		{"local name not UTF-8", badFile, "would not read back: File.LocalName: invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, t.TempDir())
			err := s.Put(&tc.r)
			require.ErrorIs(t, err, hresult.E_INVALIDARG)
			require.NotErrorIs(t, err, store.ErrCorrupt)
			require.Contains(t, err.Error(), tc.want)
			n, err := s.Len()
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}

func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	first := openT(t, dir)
	start := time.Now()
	second, err := store.Open(dir, store.Options{Timeout: 50 * time.Millisecond})
	require.Nil(t, second)
	require.ErrorIs(t, err, store.ErrInUse)
	require.ErrorIs(t, err, hresult.ERROR_SHARING_VIOLATION)
	require.Contains(t, err.Error(), filepath.Join(dir, store.FileName))
	require.Less(t, time.Since(start), time.Second)

	require.NoError(t, first.Close())
	second, err = store.Open(dir, store.Options{Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, second.Close())
}

func TestOpenCorrupt(t *testing.T) {
	garbage := func(n int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			b := make([]byte, n)
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, store.FileName), b, 0o600))
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"garbage", garbage(64 << 10), "meta page 0: magic"},
		{"short garbage", garbage(10), "the file is 10 bytes, too short for its header"},
		{"text", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, store.FileName), bytes.Repeat([]byte("not a database\n"), 1000), 0o600))
		}, ": not a bbolt file"},
		{"another program's bbolt file", func(t *testing.T, dir string) {
			raw(t, dir, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, `not a job store (a bbolt file without a "meta" bucket)`},
		{"no schema version", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Delete([]byte("version")) })
		}, "no schema version"},
		{"unreadable schema version", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("version"), store.Seal([]byte("version"), []byte{0x80}))
			})
		}, "unreadable schema version 80"},
		{"damaged schema version", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error {
				v := store.Seal([]byte("version"), uv(store.SchemaVersion))
				v[0] ^= 4
				return tx.Bucket([]byte("meta")).Put([]byte("version"), v)
			})
		}, "checksum does not match"},
		{"damaged record count", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("count"), []byte{1, 0, 0, 0, 0}) })
		}, "record count 0100000000: checksum does not match"},
		{"record count wrong", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("count"), store.Seal([]byte("count"), uv(2)))
			})
		}, "0 records where the store counts 2"},
		{"unknown meta key", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("other"), []byte{1}) })
		}, `unknown key "other" in the "meta" bucket`},
		{"unknown bucket", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, `unknown bucket "other"`},
		{"empty file", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, store.FileName), nil, 0o600))
		}, "the file is empty"},
		{"a directory in place of the file", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, store.FileName), 0o700))
		}, "not a regular file"},
		{"no jobs bucket", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("jobs")) })
		}, `no "jobs" bucket`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			s, err := store.Open(dir, store.Options{})
			require.Nil(t, s)
			requireCorrupt(t, err, store.ErrCorrupt, tc.want, dir)
		})
	}
}

// TestOpenEmptyFile: an empty jobs.db is a store that lost its data, not a new store, and Open
// leaves it as it is.
func TestOpenEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	s, err := store.Open(dir, store.Options{})
	require.Nil(t, s)
	requireCorrupt(t, err, store.ErrCorrupt, "the file is empty", path)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, st.Size(), "Open wrote to the file")
}

// TestOpenOtherSchema: a store of another schema version, older, newer or unknown, fails with
// ErrVersion, which is ErrCorrupt too, and is left as it is.
func TestOpenOtherSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		val  []byte
		want string
	}{
		{"version 1, without checksums", uv(1), "schema version 1, without checksums, was written by an older bitsemu; this code reads version 2 only"},
		{"older", store.Seal([]byte("version"), uv(1)), "schema version 1 is older than this code's 2"},
		{"newer", store.Seal([]byte("version"), uv(99)), "schema version 99 is newer than this code's 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			openT(t, dir).Close()
			raw(t, dir, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("version"), tc.val) })
			before, err := os.ReadFile(filepath.Join(dir, store.FileName))
			require.NoError(t, err)
			s, err := store.Open(dir, store.Options{})
			require.Nil(t, s)
			requireCorrupt(t, err, store.ErrVersion, tc.want)
			require.ErrorIs(t, err, store.ErrCorrupt)
			after, err := os.ReadFile(filepath.Join(dir, store.FileName))
			require.NoError(t, err)
			require.Equal(t, before, after, "Open changed the file")
		})
	}
}

func TestLoadCorruptRecord(t *testing.T) {
	victim := idOf(2)
	// put stores val under key with a good checksum, so that the record decoder sees it.
	put := func(key []byte, val []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error { return jobs(tx).Put(key, store.Seal(key, val)) }
	}
	good := typical(2)
	enc := store.Encode(&good)
	newer := slices.Clone(enc)
	newer[0] = store.FormatVersion + 1
	for _, tc := range []struct {
		name     string
		damage   func(tx *bolt.Tx) error
		sentinel error
		want     []string
	}{
		{"garbage", put(victim[:], []byte("\x01garbage")), store.ErrCorrupt, []string{"{00000000-0000-4000-8000-000000000002}", "ID: truncated"}},
		{"garbage with an unknown format byte", put(victim[:], []byte("garbage")), store.ErrVersion, []string{"{00000000-0000-4000-8000-000000000002}", "unknown record format 103"}},
		{"truncated", put(victim[:], enc[:len(enc)-3]), store.ErrCorrupt, []string{"{00000000-0000-4000-8000-000000000002}", "truncated"}},
		{"empty value", put(victim[:], []byte{}), store.ErrCorrupt, []string{"{00000000-0000-4000-8000-000000000002}", "empty"}},
		{"newer format", put(victim[:], newer), store.ErrVersion, []string{"{00000000-0000-4000-8000-000000000002}", fmt.Sprintf("unknown record format %d (this code reads %d): written by a newer bitsemu, or damaged", store.FormatVersion+1, store.FormatVersion)}},
		{"stored under another key", func(tx *bolt.Tx) error {
			other := idOf(7)
			if err := jobs(tx).Delete(victim[:]); err != nil {
				return err
			}
			return jobs(tx).Put(other[:], store.Seal(other[:], enc))
		}, store.ErrCorrupt, []string{"Load {00000000-0000-4000-8000-000000000007}", "the record of job {00000000-0000-4000-8000-000000000002} is stored under key {00000000-0000-4000-8000-000000000007}"}},
		{"moved under another key", func(tx *bolt.Tx) error {
			other := idOf(7)
			v := slices.Clone(jobs(tx).Get(victim[:]))
			if err := jobs(tx).Delete(victim[:]); err != nil {
				return err
			}
			return jobs(tx).Put(other[:], v)
		}, store.ErrCorrupt, []string{"Load {00000000-0000-4000-8000-000000000007}", "the record's checksum does not match"}},
		{"one bit flipped", func(tx *bolt.Tx) error {
			v := slices.Clone(jobs(tx).Get(victim[:]))
			v[len(v)/2] ^= 0x10
			return jobs(tx).Put(victim[:], v)
		}, store.ErrCorrupt, []string{"Load {00000000-0000-4000-8000-000000000002}", "the record's checksum does not match"}},
		{"unsealed", func(tx *bolt.Tx) error { return jobs(tx).Put(victim[:], enc) }, store.ErrCorrupt,
			[]string{"Load {00000000-0000-4000-8000-000000000002}", "the record's checksum does not match"}},
		{"key not a GUID", func(tx *bolt.Tx) error {
			if err := jobs(tx).Delete(victim[:]); err != nil {
				return err
			}
			return put([]byte("short"), enc)(tx)
		}, store.ErrCorrupt, []string{"key 73686f7274 is not a job id"}},
		{"a record lost", func(tx *bolt.Tx) error { return jobs(tx).Delete(victim[:]) }, store.ErrCorrupt,
			[]string{"2 records where the store counts 3"}},
		{"a bucket in place of a record", func(tx *bolt.Tx) error {
			if err := jobs(tx).Delete(victim[:]); err != nil {
				return err
			}
			_, err := jobs(tx).CreateBucket(victim[:])
			return err
		}, store.ErrCorrupt, []string{"{00000000-0000-4000-8000-000000000002}", "a bucket, not a record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir)
			for _, n := range []int{1, 2, 3} {
				r := typical(n)
				require.NoError(t, s.Put(&r))
			}
			require.NoError(t, s.Close())
			raw(t, dir, tc.damage)
			got, err := openLoad(dir)
			require.Nil(t, got)
			requireCorrupt(t, err, tc.sentinel, tc.want...)
		})
	}
}

// TestPutRepairsDamagedRecord: a good record replaces a damaged one of the same job.
func TestPutRepairsDamagedRecord(t *testing.T) {
	dir := t.TempDir()
	r := typical(1)
	s := openT(t, dir)
	old := r
	old.Seq = r.Seq + 10 // the damaged record's Seq cannot be read: it does not hold the newer one off
	require.NoError(t, s.Put(&old))
	require.NoError(t, s.Close())
	raw(t, dir, func(tx *bolt.Tx) error { return jobs(tx).Put(r.ID[:], []byte{1, 2, 3}) })
	s = openT(t, dir)
	_, err := s.Load()
	requireCorrupt(t, err, store.ErrCorrupt)
	require.NoError(t, s.Put(&r))
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, []job.Record{r}, got)
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	openT(t, dir)
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, store.FileName), 0o600},
	} {
		st, err := os.Stat(tc.path)
		require.NoError(t, err)
		assert.Equal(t, tc.want, st.Mode().Perm(), tc.path)
	}
}

func TestClosed(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	require.NoError(t, err)
	require.Equal(t, dir, s.Dir())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice does nothing")
	r := typical(1)
	_, loadErr := s.Load()
	_, lenErr := s.Len()
	for name, err := range map[string]error{
		"Put": s.Put(&r), "PutAll": s.PutAll([]job.Record{r}), "Delete": s.Delete(r.ID),
		"Load": loadErr, "Len": lenErr,
	} {
		require.ErrorIs(t, err, store.ErrClosed, name)
		require.ErrorIs(t, err, hresult.E_UNEXPECTED, name)
	}
}

// TestConcurrentPuts: records of the same jobs arrive out of order from many goroutines, with
// deletes and loads beside them; each job ends with its newest record.
func TestConcurrentPuts(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	require.NoError(t, err)
	defer s.Close()
	const goroutines, puts, jobCount = 8, 40, 4
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for range puts {
				r := typical(1 + rng.IntN(jobCount))
				r.Seq = rng.Uint64N(1000)
				r.DisplayName = fmt.Sprint(r.Seq)
				assert.NoError(t, s.Put(&r))
			}
			assert.NoError(t, s.Delete(idOf(100+g)))
			_, err := s.Load()
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	// The newest record each goroutine generated, per job.
	want := map[uuid.UUID]uint64{}
	for g := range goroutines {
		rng := rand.New(rand.NewPCG(uint64(g), 0))
		for range puts {
			id := idOf(1 + rng.IntN(jobCount))
			want[id] = max(want[id], rng.Uint64N(1000))
		}
	}
	got, err := s.Load()
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for _, r := range got {
		assert.Equal(t, want[r.ID], r.Seq)
		assert.Equal(t, fmt.Sprint(r.Seq), r.DisplayName)
	}
}

// TestDamagedFile: a file cut short (a full disk, a bad copy) or overwritten in the middle gives
// ErrCorrupt, from Open or from Load, and does not crash the process: bbolt panics on damaged
// pages, and reading the map beyond the end of the file faults.
func TestDamagedFile(t *testing.T) {
	truncate := func(keep float64) func(f *os.File, size int64) error {
		return func(f *os.File, size int64) error { return f.Truncate(int64(float64(size) * keep)) }
	}
	overwrite := func(random bool) func(f *os.File, size int64) error {
		return func(f *os.File, size int64) error {
			b := make([]byte, size/4)
			if random {
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
			}
			_, err := f.WriteAt(b, size/4)
			return err
		}
	}
	// One store, copied for each case.
	tdir := t.TempDir()
	s, err := store.Open(tdir, store.Options{NoSync: true})
	require.NoError(t, err)
	var rs []job.Record
	for i := range 1500 {
		r := typical(i + 1)
		r.Files[0].ResponseHeaders = strings.Repeat("X-Padding: abcdefgh\r\n", i%300) // some values overflow a page
		rs = append(rs, r)
	}
	require.NoError(t, s.PutAll(rs))
	require.NoError(t, s.Close())
	// bbolt grows its file ahead of the data: damage the part that holds data.
	var size int64
	raw(t, tdir, func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	template, err := os.ReadFile(filepath.Join(tdir, store.FileName))
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		damage func(f *os.File, size int64) error
	}{
		{"cut to 99%", truncate(0.99)},
		{"cut to 90%", truncate(0.9)},
		{"cut to 50%", truncate(0.5)},
		{"cut to 10%", truncate(0.1)},
		{"garbage in the middle", overwrite(true)},
		{"zeros in the middle", overwrite(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, store.FileName), template, 0o600))
			f, err := os.OpenFile(filepath.Join(dir, store.FileName), os.O_RDWR, 0)
			require.NoError(t, err)
			require.NoError(t, tc.damage(f, size))
			require.NoError(t, f.Close())

			s, err := store.Open(dir, store.Options{})
			if err == nil {
				_, err = s.Load()
				require.NoError(t, s.Close())
			}
			t.Logf("%v", err)
			requireCorrupt(t, err, store.ErrCorrupt)

			// Nothing holds the lock: the directory can be opened again (and fails again).
			s, err = store.Open(dir, store.Options{})
			require.NotErrorIs(t, err, store.ErrInUse)
			if err == nil {
				require.NoError(t, s.Close())
			}
		})
	}
}
