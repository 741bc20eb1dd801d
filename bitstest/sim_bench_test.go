package bitstest_test

import (
	"fmt"
	"testing"
)

// BenchmarkSimulation runs jobs downloads over a 30%-flaky in-memory network for 30 virtual
// days on a Harness, seeded, and reports the wall time of one whole simulation. Under -short it
// runs 100 jobs only.
func BenchmarkSimulation(b *testing.B) {
	sizes := []int{1000, 10000}
	if testing.Short() {
		sizes = []int{100}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				simulate(b, 42, n, 30)
			}
		})
	}
}
