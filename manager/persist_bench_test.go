package manager_test

import (
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

// BenchmarkReopen100k opens a store holding 100,000 jobs of one file each (10,000 under
// -short): every record is read, decoded and rebuilt into a job, and gets its timers.
func BenchmarkReopen100k(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	dir := b.TempDir()
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
