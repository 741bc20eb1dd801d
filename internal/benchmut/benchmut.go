// Package benchmut is the benchmark of durable changes made serially and concurrently, shared by
// the in-process manager's benchmarks and the service's.
package benchmut

import (
	"sync"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
)

// Run64 runs two sub-benchmarks, "serial" and "concurrent", over the 64 jobs newJobs makes for
// each: one op is one SetDescription on every job, made one after another or all at once by 64
// goroutines.
func Run64(b *testing.B, newJobs func(b *testing.B) []bits.Job) {
	for _, concurrent := range []bool{false, true} {
		name := "serial"
		if concurrent {
			name = "concurrent"
		}
		b.Run(name, func(b *testing.B) {
			jobs := newJobs(b)
			descs := [2]string{"one description", "another description"}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				desc := descs[i%2]
				if !concurrent {
					for _, j := range jobs {
						if err := j.SetDescription(desc); err != nil {
							b.Fatal(err)
						}
					}
					continue
				}
				var wg sync.WaitGroup
				for _, j := range jobs {
					wg.Go(func() {
						if err := j.SetDescription(desc); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}
