package transfer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bitsemu/bitsemu/transfer"
)

// benchSize is the size of the benchmarks' file: 1 GiB, 64 MiB under -short, or
// BITSEMU_BENCH_SIZE bytes (a number with an optional KiB, MiB or GiB suffix).
func benchSize(b *testing.B) int64 {
	if s := os.Getenv("BITSEMU_BENCH_SIZE"); s != "" {
		mult := int64(1)
		for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
			if rest, ok := strings.CutSuffix(s, suffix); ok {
				s, mult = rest, m
			}
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("BITSEMU_BENCH_SIZE=%q: want a positive size", os.Getenv("BITSEMU_BENCH_SIZE"))
		}
		return n * mult
	}
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// benchServer serves a sparse file of size bytes (with a little data every MiB) from a loopback
// server, the way a static file server does (sendfile, from the page cache), and returns its
// URL.
func benchServer(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	for off := int64(0); off < size; off += 1 << 20 {
		if _, err := f.WriteAt(genTable[:min(4096, size-off)], off); err != nil {
			b.Fatal(err)
		}
	}
	// Bring the file into the page cache, so that the first timed run is not the one that
	// pays for it.
	if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, size)); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, p)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/big.bin"
}

// benchDst returns the name of the benchmarks' output file, already size bytes long. The timed
// runs write over it (open without truncating): they then measure the transfer into pages
// already in the page cache. On a virtual machine, a run that has to fault in fresh pages for
// the file costs up to twice as much, and how many it has to varies from one run to the next.
func benchDst(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "out.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, &genFile{size: size}, size); err != nil {
		b.Fatal(err)
	}
	return p
}

// openDst opens the output file for one timed run.
func openDst(b *testing.B, p string) *os.File {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

type nopObserver struct{}

func (nopObserver) Connected()                         {}
func (nopObserver) Progressed(transfer.Progress) error { return nil }

// BenchmarkFetch1GiB downloads the file with Fetch: HEAD, one ranged GET, 256 KiB chunks, a
// Progressed call per chunk.
func BenchmarkFetch1GiB(b *testing.B) {
	size := benchSize(b)
	remote := benchServer(b, size)
	out := benchDst(b, size)
	c := transfer.New(transfer.Config{})
	defer c.Close()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst := openDst(b, out)
		err := c.Fetch(context.Background(), wholeSpec(remote), transfer.Options{}, dst, nopObserver{})
		_ = dst.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch1GiBFloor is the floor Fetch is measured against: a plain GET and io.Copy into
// a file.
func BenchmarkFetch1GiBFloor(b *testing.B) {
	size := benchSize(b)
	remote := benchServer(b, size)
	out := benchDst(b, size)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst := openDst(b, out)
		resp, err := client.Get(remote)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(dst, resp.Body)
		_ = resp.Body.Close()
		_ = dst.Close()
		if err != nil || n != size {
			b.Fatalf("copied %d bytes: %v", n, err)
		}
	}
}

// BenchmarkActiveFetchMemory measures the heap each active fetch holds: 8 fetches of a 1 GiB
// (generated) file are held mid-way, and the heap's growth is reported per fetch. It counts the
// fetch's chunk buffer, its connection's buffers and the test server's side of the connection.
func BenchmarkActiveFetchMemory(b *testing.B) {
	const fetches, hold = 8, 1 << 20
	srv := httptest.NewServer(serveGenerated(1 << 30))
	defer srv.Close()
	c := transfer.New(transfer.Config{})
	defer c.Close()
	dir := b.TempDir()
	b.ReportAllocs()
	var perFetch float64
	for range b.N {
		var before, during runtime.MemStats
		runtime.GC()
		runtime.GC() // twice: empties the buffer pool, so each fetch's chunk buffer is counted
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		var held, done sync.WaitGroup
		held.Add(fetches)
		release := make(chan struct{})
		for i := range fetches {
			done.Add(1)
			go func() {
				defer done.Done()
				dst, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
				if err != nil {
					b.Error(err)
					held.Done()
					return
				}
				defer dst.Close()
				once := sync.Once{}
				obs := &recorder{onProgress: func(p transfer.Progress) error {
					if p.Transferred >= hold {
						once.Do(held.Done)
						<-release
					}
					return nil
				}}
				_ = c.Fetch(ctx, wholeSpec(srv.URL+"/big"), transfer.Options{}, dst, obs)
			}()
		}
		held.Wait()
		runtime.GC()
		runtime.ReadMemStats(&during)
		close(release)
		cancel()
		done.Wait()
		perFetch = float64(int64(during.HeapAlloc)-int64(before.HeapAlloc)) / fetches
	}
	b.ReportMetric(perFetch, "heap-B/fetch")
}
