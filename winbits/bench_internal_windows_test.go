//go:build windows

package winbits

import (
	"testing"
)

// BenchmarkGetState measures one call through COM to BITS, the apartment entry around it
// included.
func BenchmarkGetState(b *testing.B) {
	_, j := bitsJob(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.GetState(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetStateFloor is BenchmarkGetState's floor: the same COM call through the vtable,
// without the package's locking, apartment entry and error mapping.
func BenchmarkGetStateFloor(b *testing.B) {
	_, j := bitsJob(b)
	b.ReportAllocs()
	p := primary(j)
	for b.Loop() {
		if _, c := getOut[uint32](p, jobGetState); c.Failed() {
			b.Fatal(c)
		}
	}
}

// BenchmarkGetJob measures looking a job up and releasing the handle.
func BenchmarkGetJob(b *testing.B) {
	m, j := bitsJob(b)
	b.ReportAllocs()
	id, err := j.GetId()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h, err := m.GetJob(id)
		if err != nil {
			b.Fatal(err)
		}
		h.(*Job).Release()
	}
}

// BenchmarkEnterLeave measures what each call adds to join its thread to the apartment and
// leave it.
func BenchmarkEnterLeave(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if c := enter(); c.Failed() {
			b.Fatal(c)
		}
		leave()
	}
}
