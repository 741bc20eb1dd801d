package store_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// benchRoot holds the stores the benchmarks build once and share; TestMain removes it.
var benchRoot string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

// putJobs is how many jobs BenchmarkPut and BenchmarkPutFloor cycle through.
const putJobs = 64

// BenchmarkPut is a durable Put (fsync on) of a typical record replacing the job's previous one.
// Compare with BenchmarkPutFloor, the bare bbolt transaction it cannot do without.
func BenchmarkPut(b *testing.B) {
	s, err := store.Open(b.TempDir(), store.Options{})
	require.NoError(b, err)
	defer s.Close()
	recs := make([]job.Record, putJobs)
	for i := range recs {
		recs[i] = typical(i + 1)
	}
	b.SetBytes(int64(len(store.Encode(&recs[0]))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := &recs[i%putJobs]
		r.Seq++
		if err := s.Put(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutFloor is a bare bbolt transaction with fsync putting as many bytes as
// BenchmarkPut's record under a 16-byte key.
func BenchmarkPutFloor(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	require.NoError(b, err)
	defer db.Close()
	bucket := []byte("jobs")
	require.NoError(b, db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }))
	r := typical(1)
	val := store.Encode(&r)
	keys := make([][]byte, putJobs)
	for i := range keys {
		id := idOf(i + 1)
		keys[i] = id[:]
	}
	b.SetBytes(int64(len(val)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(keys[i%putJobs], val) })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParallel is durable Puts from many goroutines at once, which share commits.
func BenchmarkPutParallel(b *testing.B) {
	s, err := store.Open(b.TempDir(), store.Options{})
	require.NoError(b, err)
	defer s.Close()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := typical(int(next.Add(1)))
		for pb.Next() {
			r.Seq++
			if err := s.Put(&r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	r := typical(1)
	b.SetBytes(int64(len(store.Encode(&r))))
	b.ReportAllocs()
	for b.Loop() {
		store.Encode(&r)
	}
}

func BenchmarkDecode(b *testing.B) {
	r := typical(1)
	enc := store.Encode(&r)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	bigStoresMu sync.Mutex
	bigStores   = map[int]string{}
)

// bigStore returns the directory of a store of n typical jobs with random GUIDs, built once by
// PutAll.
func bigStore(b *testing.B, n int) string {
	bigStoresMu.Lock()
	defer bigStoresMu.Unlock()
	if dir, ok := bigStores[n]; ok {
		return dir
	}
	if benchRoot == "" {
		var err error
		benchRoot, err = os.MkdirTemp("", "store-bench")
		require.NoError(b, err)
	}
	dir := filepath.Join(benchRoot, fmt.Sprint(n))
	recs := typicalRandom(n, rand.New(rand.NewPCG(uint64(n), 1)))
	s, err := store.Open(dir, store.Options{})
	require.NoError(b, err)
	require.NoError(b, s.PutAll(recs))
	require.NoError(b, s.Close())
	bigStores[n] = dir
	return dir
}

func bigN() int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// BenchmarkLoad100k loads a store of 100,000 jobs (10,000 with -short).
func BenchmarkLoad100k(b *testing.B) {
	n := bigN()
	s, err := store.Open(bigStore(b, n), store.Options{})
	require.NoError(b, err)
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		recs, err := s.Load()
		if err != nil || len(recs) != n {
			b.Fatal(err, len(recs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkOpenLoad100k is a restart: Open, Load and Close a store of 100,000 jobs (10,000
// with -short).
func BenchmarkOpenLoad100k(b *testing.B) {
	n := bigN()
	dir := bigStore(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := store.Open(dir, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		recs, err := s.Load()
		if err != nil || len(recs) != n {
			b.Fatal(err, len(recs))
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
