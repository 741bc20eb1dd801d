package workpool_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/internal/workpool"
)

// The hand-off benchmarks measure what handing a piece to a parked goroutine costs the goroutine
// that hands it over, with about a microsecond of other work between two pieces (as between two
// Resume calls of a busy application), so that the pool's goroutine has parked again each time.
// Each piece is taken back before a goroutine could take it, as Cancel takes back the run of a
// job it cancels right after Resume. The floor does the same work and takes the same locks
// without the pool.
//
//	go test -run '^$' -bench HandOff -count 5 ./internal/workpool/

// busy is about a microsecond of work that touches no memory.
func busy(n int) int {
	s := 0
	for i := range 850 {
		s += i*i ^ (s >> 3) ^ n
	}
	return s
}

var sink int

// BenchmarkHandOff hands a piece to the pool and takes it back, between two stretches of work.
func BenchmarkHandOff(b *testing.B) {
	var mu sync.Mutex
	p := workpool.New(&mu, time.Second, func(int) {})
	handOff(b, &mu, p.Go, func(i int) { p.Withdraw(i) })
	mu.Lock()
	p.Close()
	mu.Unlock()
	p.Wait()
}

// BenchmarkHandOffFloor is BenchmarkHandOff without the pool: the work and the locks.
func BenchmarkHandOffFloor(b *testing.B) {
	var mu sync.Mutex
	nothing := func(int) {}
	handOff(b, &mu, nothing, nothing)
}

// handOff runs the benchmark's loop: work, give(i) under mu, work, take(i) under mu.
func handOff(b *testing.B, mu *sync.Mutex, give, take func(int)) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		sink += busy(i)
		mu.Lock()
		give(i)
		mu.Unlock()
		sink += busy(-i)
		mu.Lock()
		take(i)
		mu.Unlock()
	}
	b.StopTimer()
}
