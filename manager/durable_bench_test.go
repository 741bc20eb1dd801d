package manager_test

import (
	"testing"

	"github.com/bitsemu/bitsemu/bits"
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
