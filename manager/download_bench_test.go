package manager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Downloads through the whole service (job, scheduler, worker, temporary file, Complete's
// rename) beside the least a program could do: http.Get and io.Copy into a new file.
//
//	go test -run '^$' -bench Download -benchmem ./manager/
//
// The big file is 1 GiB, 64 MiB under -short, or BITSEMU_BENCH_MIB mebibytes.

func bigSize(b *testing.B) int64 {
	if s := os.Getenv("BITSEMU_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BITSEMU_BENCH_MIB=%q: want a positive number", s)
		}
		return int64(n) << 20
	}
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// staticServer serves the files of a directory, as a static web server does.
func staticServer(b *testing.B, dir string) string {
	b.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	b.Cleanup(srv.Close)
	return srv.URL
}

// bigFile writes a sparse file of size bytes with some data in every MiB, and reads it once so
// that it is in the page cache.
func bigFile(b *testing.B, dir string, size int64) {
	b.Helper()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	stamp := content(1, 4096)
	for off := int64(0); off < size; off += 1 << 20 {
		if _, err := f.WriteAt(stamp, off); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, size)); err != nil {
		b.Fatal(err)
	}
}

// jobDownload runs one job of the given files to TRANSFERRED and completes it.
func jobDownload(b *testing.B, m *manager.Manager, c *manager.Client, files []bits.FileInfo) {
	j, err := c.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	if err := j.AddFileSet(files); err != nil {
		b.Fatal(err)
	}
	if err := j.Resume(); err != nil {
		b.Fatal(err)
	}
	m.WaitIdle(context.Background())
	if st, _ := j.GetState(); st != state.Transferred {
		e, _ := j.GetError()
		b.Fatalf("job ended %v (%v)", st, e)
	}
	if _, err := j.Complete(); err != nil {
		b.Fatal(err)
	}
}

// floorDownload is http.Get and io.Copy into a new file.
func floorDownload(b *testing.B, url, local string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(local)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func benchManager(b *testing.B) (*manager.Manager, *manager.Client) {
	b.Helper()
	m := manager.New(manager.WithLimits(job.Limits{}))
	b.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	return m, c
}

// BenchmarkDownload1GiB is one job of one big file: HEAD, a ranged GET, 256 KiB chunks into
// the temporary file with progress recorded after each, then Complete's rename.
func BenchmarkDownload1GiB(b *testing.B) {
	m, c := benchManager(b)
	benchDownloadBig(b, m, c)
}

// BenchmarkDownload1GiBKept is BenchmarkDownload1GiB with a manager that keeps its jobs on disk
// (manager.Open): progress checkpoints (the temporary file synced, then the record written) as
// the file arrives, and the file's last sync once it counts as transferred (on Linux after it,
// on the manager's final syncer; elsewhere before it).
func BenchmarkDownload1GiBKept(b *testing.B) {
	m, err := manager.Open(b.TempDir(), manager.WithLimits(job.Limits{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	c, err := m.Connect(manager.Identity{SID: benchSID})
	if err != nil {
		b.Fatal(err)
	}
	benchDownloadBig(b, m, c)
}

// benchDownloadBig downloads the big file through one job of c's, and completes it.
func benchDownloadBig(b *testing.B, m *manager.Manager, c *manager.Client) {
	size := bigSize(b)
	src := b.TempDir()
	bigFile(b, src, size)
	url := staticServer(b, src) + "/big.bin"
	local := filepath.Join(b.TempDir(), "big.bin")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		jobDownload(b, m, c, []bits.FileInfo{{RemoteName: url, LocalName: local}})
		b.StopTimer()
		_ = os.Remove(local)
		b.StartTimer()
	}
}

// BenchmarkDownload1GiBFloor is the same file with http.Get and io.Copy into a new file.
func BenchmarkDownload1GiBFloor(b *testing.B) {
	size := bigSize(b)
	src := b.TempDir()
	bigFile(b, src, size)
	url := staticServer(b, src) + "/big.bin"
	local := filepath.Join(b.TempDir(), "big.bin")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		floorDownload(b, url, local)
		b.StopTimer()
		_ = os.Remove(local)
		b.StartTimer()
	}
}

// smallFiles writes n files of 4 KiB and returns their names.
func smallFiles(b *testing.B, dir string, n int) []string {
	b.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("f%04d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, names[i]), content(i, 4096), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return names
}

// BenchmarkJob1000Files is one job of 1,000 files of 4 KiB, transferred one at a time, then
// completed (1,000 renames).
func BenchmarkJob1000Files(b *testing.B) {
	src := b.TempDir()
	names := smallFiles(b, src, 1000)
	url := staticServer(b, src)
	m, c := benchManager(b)
	out := b.TempDir()
	files := make([]bits.FileInfo, len(names))
	for i, n := range names {
		files[i] = bits.FileInfo{RemoteName: url + "/" + n, LocalName: filepath.Join(out, n)}
	}
	b.ReportAllocs()
	for b.Loop() {
		jobDownload(b, m, c, files)
		b.StopTimer()
		removeAll(b, out, names)
		b.StartTimer()
	}
}

// removeAll removes the downloaded files, so that every run creates them afresh.
func removeAll(b *testing.B, dir string, names []string) {
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJob1000FilesFloor is the same 1,000 files with http.Get and io.Copy, one after the
// other.
func BenchmarkJob1000FilesFloor(b *testing.B) {
	src := b.TempDir()
	names := smallFiles(b, src, 1000)
	url := staticServer(b, src)
	out := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range names {
			floorDownload(b, url+"/"+n, filepath.Join(out, n))
		}
		b.StopTimer()
		removeAll(b, out, names)
		b.StartTimer()
	}
}
