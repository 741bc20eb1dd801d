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
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// benchCountCallback takes every notification and counts the JobModification calls.
type benchCountCallback struct{ mods *atomic.Int64 }

func (benchCountCallback) JobTransferred(bits.Job) error       { return nil }
func (benchCountCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c benchCountCallback) JobModification(bits.Job) error {
	c.mods.Add(1)
	return nil
}

// benchReportLatency reports the median and 99th percentile of lat.
func benchReportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "median-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
}

// benchLatencyCallback hands over, on at, when each JobModification or JobTransferred began.
type benchLatencyCallback struct{ at chan time.Time }

func (c benchLatencyCallback) JobTransferred(bits.Job) error {
	c.at <- time.Now()
	return nil
}
func (c benchLatencyCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c benchLatencyCallback) JobModification(bits.Job) error {
	c.at <- time.Now()
	return nil
}

// benchAwait returns the next time the callback hands over. A missing callback hangs the
// benchmark until go test's timeout; a timer here would be part of what is measured.
func benchAwait(at <-chan time.Time) time.Time { return <-at }

// benchJob returns a job of a new manager without a transfer engine, with one file, the given
// notify flags and a benchLatencyCallback, once the JobModification that setting the callback
// may cause has been delivered.
func benchJob(b *testing.B, flags uint32) (bits.Job, benchLatencyCallback) {
	b.Helper()
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{}))
	b.Cleanup(func() { _ = m.Close() })
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
	if err := j.SetNotifyFlags(flags); err != nil {
		b.Fatal(err)
	}
	cb := benchLatencyCallback{at: make(chan time.Time, 1)}
	if err := j.SetNotifyInterface(cb); err != nil {
		b.Fatal(err)
	}
	if flags&bits.NotifyJobModification != 0 {
		// SetNotifyInterface itself is a change the callback now hears of.
		benchAwait(cb.at)
	}
	return j, cb
}

// BenchmarkChangeToCallback measures the time from a change to the start of the callback it
// causes, with no notification interval, on the paths an application sees most:
//
//   - SetDescription: a property change, until JobModification begins;
//   - SuspendResume: Resume and Suspend in turn, state changes, until JobModification begins;
//   - Transferred: the engine's FileDone for a job's last file, until JobTransferred begins (a
//     new job each time, made ready outside the measured interval).
//
// It reports the median and the 99th percentile; ns/op includes the setup.
func BenchmarkChangeToCallback(b *testing.B) {
	b.Run("SetDescription", func(b *testing.B) {
		j, cb := benchJob(b, bits.NotifyJobModification|bits.DefaultNotifyFlags)
		descs := [2]string{"x0", "x1"}
		benchLatency(b, func(i int) time.Duration {
			t0 := time.Now()
			if err := j.SetDescription(descs[i&1]); err != nil {
				b.Fatal(err)
			}
			return benchAwait(cb.at).Sub(t0)
		})
	})
	b.Run("SuspendResume", func(b *testing.B) {
		j, cb := benchJob(b, bits.NotifyJobModification|bits.DefaultNotifyFlags)
		benchLatency(b, func(i int) time.Duration {
			t0 := time.Now()
			call := j.Resume
			if i&1 != 0 {
				call = j.Suspend
			}
			if err := call(); err != nil {
				b.Fatal(err)
			}
			return benchAwait(cb.at).Sub(t0)
		})
	})
	b.Run("Transferred", func(b *testing.B) {
		ready := benchTransferring(b)
		benchLatency(b, func(int) time.Duration {
			j, cb := ready()
			t0 := time.Now()
			if _, err := engine.Of(j).FireFileDone(0); err != nil {
				b.Fatal(err)
			}
			lat := benchAwait(cb.at).Sub(t0)
			if _, err := j.Cancel(); err != nil {
				b.Fatal(err)
			}
			return lat
		})
	})
}

// benchTransferring returns a function that makes a new job of one file TRANSFERRING, with a
// callback that takes JobTransferred, in a manager without a transfer engine.
func benchTransferring(b *testing.B) func() (bits.Job, benchLatencyCallback) {
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{}))
	b.Cleanup(func() { _ = m.Close() })
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-bench"})
	if err != nil {
		b.Fatal(err)
	}
	local := filepath.Join(b.TempDir(), "a")
	cb := benchLatencyCallback{at: make(chan time.Time, 1)}
	return func() (bits.Job, benchLatencyCallback) {
		j, err := app.CreateJob("bench", bits.Download)
		if err != nil {
			b.Fatal(err)
		}
		if err := j.AddFile("http://example.invalid/a", local); err != nil {
			b.Fatal(err)
		}
		if err := j.SetNotifyInterface(cb); err != nil {
			b.Fatal(err)
		}
		if err := j.Resume(); err != nil {
			b.Fatal(err)
		}
		for _, ev := range []state.Event{state.Pick, state.Connect} {
			if _, err := engine.Of(j).Fire(ev); err != nil {
				b.Fatal(err)
			}
		}
		return j, cb
	}
}

// benchLatency runs one measured call per iteration and reports the latencies' median and 99th
// percentile.
func benchLatency(b *testing.B, call func(i int) time.Duration) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range lat {
		lat[i] = call(i)
	}
	b.StopTimer()
	benchReportLatency(b, lat)
}

// BenchmarkChangeToCallbackFloor is the floor for BenchmarkChangeToCallback: one hop to a
// goroutine already waiting on a channel, measured the same way.
//
//   - Hop: hop after hop, the floor of SetDescription and SuspendResume;
//   - AfterJobSetup: each hop after the work BenchmarkChangeToCallback/Transferred does between
//     two measurements (a new job made TRANSFERRING, the last one cancelled), the floor of
//     Transferred. While that work runs the other processor goes idle and its thread sleeps, and
//     waking it (which every hand-off to another goroutine then does) costs the sender a system
//     call that is slow on a virtual machine: the tail of every hop spaced out so.
func BenchmarkChangeToCallbackFloor(b *testing.B) {
	hop := func(b *testing.B) func() time.Duration {
		in := make(chan time.Time)
		out := make(chan time.Time, 1)
		done := make(chan struct{})
		b.Cleanup(func() { close(done) })
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
		return func() time.Duration {
			t0 := time.Now()
			in <- t0
			return (<-out).Sub(t0)
		}
	}
	b.Run("Hop", func(b *testing.B) {
		h := hop(b)
		benchLatency(b, func(int) time.Duration { return h() })
	})
	b.Run("AfterJobSetup", func(b *testing.B) {
		h := hop(b)
		ready := benchTransferring(b)
		benchLatency(b, func(int) time.Duration {
			j, _ := ready()
			lat := h()
			if _, err := j.Cancel(); err != nil {
				b.Fatal(err)
			}
			return lat
		})
	})
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
