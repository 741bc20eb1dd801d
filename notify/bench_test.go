package notify_test

import (
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/manager"
)

// benchSignalCallback records, in JobModification, when it was called and hands the time over.
type benchSignalCallback struct{ at chan time.Time }

func (c benchSignalCallback) JobTransferred(bits.Job) error       { return nil }
func (c benchSignalCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c benchSignalCallback) JobModification(bits.Job) error {
	c.at <- time.Now()
	return nil
}

// benchCountCallback takes every notification and counts the JobModification calls.
type benchCountCallback struct{ mods *atomic.Int64 }

func (benchCountCallback) JobTransferred(bits.Job) error       { return nil }
func (benchCountCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c benchCountCallback) JobModification(bits.Job) error {
	c.mods.Add(1)
	return nil
}

// benchReportLatency reports the median and 90th percentile of lat.
func benchReportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "median-ns")
	b.ReportMetric(float64(lat[len(lat)*9/10]), "p90-ns")
}

// BenchmarkChangeToCallback measures the time from a property change (SetDescription) to the
// start of the JobModification call it causes, with no notification interval.
func BenchmarkChangeToCallback(b *testing.B) {
	m := manager.New(manager.WithManualTransfers())
	defer m.Close()
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-bench"})
	if err != nil {
		b.Fatal(err)
	}
	j, err := app.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	if err := j.AddFile("http://example.invalid/a", filepath.Join(b.TempDir(), "a")); err != nil {
		b.Fatal(err)
	}
	if err := j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}); err != nil {
		b.Fatal(err)
	}
	if err := j.SetNotifyFlags(bits.NotifyJobModification | bits.DefaultNotifyFlags); err != nil {
		b.Fatal(err)
	}
	cb := benchSignalCallback{at: make(chan time.Time, 1)}
	if err := j.SetNotifyInterface(cb); err != nil {
		b.Fatal(err)
	}
	// SetNotifyInterface itself is a change the callback now hears of.
	select {
	case <-cb.at:
	case <-time.After(5 * time.Second):
		b.Fatal("no JobModification for SetNotifyInterface")
	}
	descs := [2]string{"x0", "x1"}
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := j.SetDescription(descs[i&1]); err != nil {
			b.Fatal(err)
		}
		lat[i] = (<-cb.at).Sub(t0)
	}
	b.StopTimer()
	benchReportLatency(b, lat)
}

// BenchmarkChangeToCallbackFloor is the floor for BenchmarkChangeToCallback: one hop to a
// goroutine already waiting on a channel, measured the same way.
func BenchmarkChangeToCallbackFloor(b *testing.B) {
	in := make(chan time.Time)
	out := make(chan time.Time, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-in:
				out <- time.Now()
			case <-done:
				return
			}
		}
	}()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		in <- t0
		lat[i] = (<-out).Sub(t0)
	}
	b.StopTimer()
	benchReportLatency(b, lat)
}

// benchSettle waits until runtime.NumGoroutine has not changed for about 100 ms (at most about
// 3 s) and returns it. The window is long enough for a worker that lingers briefly to exit.
func benchSettle() int {
	const stableFor = 100 // polls of 1 ms
	n, same := runtime.NumGoroutine(), 0
	for range 3000 {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		now := runtime.NumGoroutine()
		if now == n {
			same++
			if same >= stableFor {
				break
			}
			continue
		}
		n, same = now, 0
	}
	return n
}

// benchIdleGoroutines creates jobs jobs, each with a callback that takes JobModification (so
// every SetNotifyInterface is delivered), lets the deliveries settle and returns how many more
// goroutines run than before the manager existed. Every JobModification must have been
// delivered by then. close is called once the count is taken.
func benchIdleGoroutines(tb testing.TB, jobs int) (extra int, close func()) {
	tb.Helper()
	before := benchSettle()
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{}))
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-bench", Admin: true})
	if err != nil {
		tb.Fatal(err)
	}
	var mods atomic.Int64
	var cb bits.Callback = benchCountCallback{mods: &mods}
	for i := range jobs {
		j, err := app.CreateJob("idle", bits.Download)
		if err != nil {
			tb.Fatalf("job %d: %v", i, err)
		}
		if err := j.SetNotifyFlags(bits.NotifyJobModification | bits.DefaultNotifyFlags); err != nil {
			tb.Fatal(err)
		}
		if err := j.SetNotifyInterface(cb); err != nil {
			tb.Fatal(err)
		}
	}
	after := benchSettle()
	if got := mods.Load(); got != int64(jobs) {
		tb.Fatalf("%d JobModification calls once settled, want %d", got, jobs)
	}
	return after - before, func() { _ = m.Close() }
}

// BenchmarkIdleGoroutines100k reports the goroutines left running once the notifications of
// many jobs with callbacks have been delivered. The target is a constant, independent of the
// number of jobs.
func BenchmarkIdleGoroutines100k(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run("jobs="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			extra := 0
			for i := 0; i < b.N; i++ {
				var closeM func()
				extra, closeM = benchIdleGoroutines(b, n)
				b.StopTimer()
				closeM()
				runtime.GC()
				b.StartTimer()
			}
			b.ReportMetric(float64(extra), "goroutines")
		})
	}
}

// TestIdleGoroutinesConstant checks that idle jobs with callbacks cost no goroutine: once the
// deliveries settle, 10,000 such jobs leave as many extra goroutines running as 100 do.
func TestIdleGoroutinesConstant(t *testing.T) {
	small, closeSmall := benchIdleGoroutines(t, 100)
	closeSmall()
	large, closeLarge := benchIdleGoroutines(t, 10_000)
	closeLarge()
	if small != large {
		t.Fatalf("extra goroutines after 100 jobs: %d, after 10,000 jobs: %d; want the same", small, large)
	}
	t.Logf("extra goroutines once settled: %d", large)
}
