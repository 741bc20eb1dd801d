//go:build windows

package winbits_test

import (
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/winbits"
)

// BenchmarkGetState measures one call through COM to BITS, the apartment entry around it
// included.
func BenchmarkGetState(b *testing.B) {
	m, err := winbits.New()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	j, err := m.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.GetState(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetJob measures looking a job up and releasing the handle.
func BenchmarkGetJob(b *testing.B) {
	m, err := winbits.New()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	j, err := m.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Cancel()
	id, err := j.GetId()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h, err := m.GetJob(id)
		if err != nil {
			b.Fatal(err)
		}
		h.(*winbits.Job).Release()
	}
}
