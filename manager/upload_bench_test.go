package manager_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/internal/uptest"
	"github.com/bitsemu/bitsemu/state"
)

// Uploads through the whole service (job, scheduler, worker, the BITS upload protocol in 8 MiB
// fragments, Close-Session) beside the least a program could do: one HTTP request whose body is
// the file, copied with io.Copy. Both servers are on loopback and write what they receive into
// a file, the first as a BITS upload server (internal/uptest with a directory), the second with
// io.Copy from the request body; the files they write are in memory (/dev/shm) when the machine
// has it, so that the disk's write-back, the same for both, does not drown the difference.
//
//	go test -run '^$' -bench Upload -benchmem ./manager/
//
// The file is 1 GiB, 64 MiB under -short, or BITSEMU_BENCH_MIB mebibytes.

// BenchmarkUpload1GiB is one upload job of one big file, to TRANSFERRED, then Complete.
func BenchmarkUpload1GiB(b *testing.B) {
	size := bigSize(b)
	src := b.TempDir()
	bigFile(b, src, size)
	s := &uptest.Server{Dir: sinkDir(b)}
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	_, c := benchManager(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		j, err := c.CreateJob("bench", bits.Upload)
		if err != nil {
			b.Fatal(err)
		}
		if err := j.AddFile(srv.URL+"/big.bin", filepath.Join(src, "big.bin")); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{}, 1)
		signal := func(bits.Job) error {
			done <- struct{}{}
			return nil
		}
		if err := j.SetNotifyInterface(&bitstest.Callback{Transferred: signal,
			Error: func(j bits.Job, _ bits.Error) error { return signal(j) }}); err != nil {
			b.Fatal(err)
		}
		if err := j.Resume(); err != nil {
			b.Fatal(err)
		}
		<-done
		if st, _ := j.GetState(); st != state.Transferred {
			e, _ := j.GetError()
			b.Fatalf("job ended %v (%v)", st, e)
		}
		if _, err := j.Complete(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if fi, err := os.Stat(filepath.Join(s.Dir, "big.bin")); err != nil || fi.Size() != size {
			b.Fatalf("the server holds %v (%v)", fi, err)
		}
		_ = os.Remove(filepath.Join(s.Dir, "big.bin"))
		b.StartTimer()
	}
}

// BenchmarkUpload1GiBFloor streams the same file in one request with io.Copy (through a pipe, so
// that the request body is not the file itself), to a server that copies it into a file.
func BenchmarkUpload1GiBFloor(b *testing.B) {
	size := bigSize(b)
	src := b.TempDir()
	bigFile(b, src, size)
	dst := filepath.Join(sinkDir(b), "big.bin")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(dst)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, err = io.Copy(f, r.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	b.Cleanup(srv.Close)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(filepath.Join(src, "big.bin"))
		if err != nil {
			b.Fatal(err)
		}
		pr, pw := io.Pipe()
		go func() {
			_, err := io.Copy(pw, f)
			pw.CloseWithError(err)
		}()
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/big.bin", pr)
		if err != nil {
			b.Fatal(err)
		}
		req.ContentLength = size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		f.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("floor upload: %s", resp.Status)
		}
		b.StopTimer()
		_ = os.Remove(dst)
		b.StartTimer()
	}
}

// sinkDir is a directory for what the benchmark servers receive: in /dev/shm when there is one.
func sinkDir(b *testing.B) string {
	b.Helper()
	d, err := os.MkdirTemp("/dev/shm", "bitsemu-bench-")
	if err != nil {
		return b.TempDir()
	}
	b.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}
