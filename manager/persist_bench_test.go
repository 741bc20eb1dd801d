package manager_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/store"
)

// Persistence, beside the least a durable write can cost: one bbolt transaction, synced to
// disk, putting as many bytes as a job's record.
//
//	go test -run '^$' -bench 'Durable|Reopen' -benchmem ./manager/

// BenchmarkDurableCreateJob is CreateJob on a manager with a store: the job is on disk when it
// returns.
func BenchmarkDurableCreateJob(b *testing.B) {
	m, err := manager.Open(b.TempDir(), manager.WithLimits(job.Limits{}))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateJob("bench", bits.Download); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDurableCreateJobFloor is a bare bbolt transaction of the same size, synced.
func BenchmarkDurableCreateJobFloor(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m := manager.New(manager.WithManualTransfers())
	c, _ := m.Connect(manager.Identity{SID: benchSID})
	j, _ := c.CreateJob("bench", bits.Download)
	r := engine.Of(j).Record()
	value := store.Encode(&r)
	bucket := []byte("jobs")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		id := uuid.New()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(id[:], value) }); err != nil {
			b.Fatal(err)
		}
	}
}

// reopenN is the number of jobs of BenchmarkReopen100k: 100,000, 10,000 under -short.
func reopenN() int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// reopenStores holds the store each size of BenchmarkReopen100k and its floor read, made once.
var reopenStores = map[int]string{}

// reopenStore returns the directory of a store of n jobs of one file each, made once per
// process.
func reopenStore(b *testing.B, n int) string {
	if dir, ok := reopenStores[n]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "reopen")
	if err != nil {
		b.Fatal(err)
	}
	reopenStores[n] = dir
	fillStore(b, dir, n)
	return dir
}

// BenchmarkReopen100k opens a store holding 100,000 jobs of one file each (10,000 under
// -short): the store's structure is checked, every record read, decoded and rebuilt into a job,
// and every job gets its timers.
func BenchmarkReopen100k(b *testing.B) {
	n := reopenN()
	dir := reopenStore(b, n)
	b.ReportAllocs()
	for b.Loop() {
		m, err := manager.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if m.JobCount() != n {
			b.Fatalf("%d jobs, want %d", m.JobCount(), n)
		}
		b.StopTimer()
		_ = m.Close()
		b.StartTimer()
	}
}

// BenchmarkReopen100kFloor is the least a reopen could do: open the same bbolt file and read
// every record's bytes once (copied out of the map into one buffer, reused).
func BenchmarkReopen100kFloor(b *testing.B) {
	n := reopenN()
	path := filepath.Join(reopenStore(b, n), store.FileName)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		read := 0
		err = db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("jobs")).ForEach(func(k, v []byte) error {
				buf = append(buf[:0], v...)
				read++
				return nil
			})
		})
		if err != nil || read != n {
			b.Fatal(err, read)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// fillStore writes n jobs of one file each into a new store in dir.
func fillStore(b *testing.B, dir string, n int) {
	tmpl := manager.New(manager.WithManualTransfers())
	c, _ := tmpl.Connect(manager.Identity{SID: benchSID})
	j, _ := c.CreateJob("a job among many", bits.Download)
	if err := j.AddFile("https://example.com/files/update.bin", filepath.Join(b.TempDir(), "update.bin")); err != nil {
		b.Fatal(err)
	}
	if err := j.SetDescription("one of the jobs a store holds"); err != nil {
		b.Fatal(err)
	}
	r := engine.Of(j).Record()
	recs := make([]job.Record, n)
	for i := range recs {
		recs[i] = r
		recs[i].ID = uuid.New()
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.PutAll(recs); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
}
