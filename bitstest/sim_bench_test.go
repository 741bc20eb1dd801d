package bitstest_test

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSimulation runs jobs downloads over a 30%-flaky in-memory network for 30 virtual
// days on a Harness, seeded, and reports the wall time of one whole simulation, and fails when
// fewer than nine jobs in ten transferred. Under -short it runs 100 jobs only.
func BenchmarkSimulation(b *testing.B) {
	sizes := []int{1000, 10000}
	if testing.Short() {
		sizes = []int{100}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				log := simulate(b, 42, n, 30)
				// A simulation that broke (jobs failing for a reason of the machine's, say)
				// would be fast and measure nothing: at least nine jobs in ten get through.
				if done := strings.Count(log, "to=TRANSFERRED"); done < n*9/10 {
					b.Fatalf("only %d of %d jobs transferred in 30 virtual days", done, n)
				}
			}
		})
	}
}
