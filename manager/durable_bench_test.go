package manager_test

import (
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/benchmut"
	"github.com/bitsemu/bitsemu/manager"
)

// BenchmarkDurableSetDescription is a setter on a manager with a store: the job's new record is
// on disk when it returns (or the call fails and changes nothing). Compare with
// BenchmarkDurableCreateJobFloor, one synced bbolt transaction of a record's size.
func BenchmarkDurableSetDescription(b *testing.B) {
	m, err := manager.Open(b.TempDir(), manager.WithManualTransfers())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	j, err := c.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	descs := [2]string{"one description", "another description"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := j.SetDescription(descs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDurableMutations64 is 64 durable setter calls, each on a job of its own: made one
// after another ("serial"), or all at once by 64 goroutines ("concurrent"), where the store's
// group commit writes the calls that wait together in one synced transaction. One op is the 64
// calls.
func BenchmarkDurableMutations64(b *testing.B) {
	benchmut.Run64(b, func(b *testing.B) []bits.Job {
		m, err := manager.Open(b.TempDir(), manager.WithManualTransfers())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close() })
		c, err := m.Connect(manager.Identity{SID: benchSID, Admin: true})
		if err != nil {
			b.Fatal(err)
		}
		jobs := make([]bits.Job, 64)
		for i := range jobs {
			if jobs[i], err = c.CreateJob("bench", bits.Download); err != nil {
				b.Fatal(err)
			}
		}
		return jobs
	})
}
