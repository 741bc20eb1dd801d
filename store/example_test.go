package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// A job written to a store is there when the store is opened again, as after a restart.
func Example() {
	tmp, err := os.MkdirTemp("", "bitsemu-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "queue")

	s, err := store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	r := job.Record{
		ID:          uuid.MustParse("6f2b8a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b"),
		Type:        bits.Download,
		State:       state.Suspended,
		Seq:         1,
		Owner:       job.Identity{SID: "S-1-5-21-1004"},
		DisplayName: "nightly backup",
		Priority:    bits.Normal,
		Created:     time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
	if err := s.Put(&r); err != nil {
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	s, err = store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	recs, err := s.Load()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.DisplayName, r.State)
	}
	// Output: nightly backup SUSPENDED
}
