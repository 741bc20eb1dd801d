package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/store"
)

func TestZZReopen(t *testing.T) {
	n := 100_000
	dir := t.TempDir()
	tmpl := manager.New(manager.WithManualTransfers())
	c, _ := tmpl.Connect(manager.Identity{SID: benchSID})
	j, _ := c.CreateJob("a job among many", bits.Download)
	_ = j.AddFile("https://example.com/files/update.bin", filepath.Join(t.TempDir(), "update.bin"))
	_ = j.SetDescription("one of the jobs a store holds")
	r := engine.Of(j).Record()
	recs := make([]job.Record, n)
	for i := range recs {
		recs[i] = r
		recs[i].ID = uuid.New()
	}
	st, _ := store.Open(dir, store.Options{})
	_ = st.PutAll(recs)
	_ = st.Close()
	for range 3 {
		t0 := time.Now()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		got, _ := st.Load()
		t2 := time.Now()
		st.Close()
		t3 := time.Now()
		m, _ := manager.Open(dir)
		t4 := time.Now()
		m.Close()
		db, _ := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
		t5 := time.Now()
		var buf []byte
		_ = db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("jobs")).ForEach(func(k, v []byte) error { buf = append(buf, v...); return nil })
		})
		t6 := time.Now()
		db.Close()
		fmt.Printf("open=%v load=%v(%d) close=%v manager.Open=%v rawread=%v (%d B)\n", t1.Sub(t0), t2.Sub(t1), len(got), t3.Sub(t2), t4.Sub(t3), t6.Sub(t5), len(buf))
	}
}
