package transfer_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// resident returns how many of f's pages are in the page cache, and how many it has.
func resident(t *testing.T, f *os.File) (in, pages int) {
	t.Helper()
	fi, err := f.Stat()
	require.NoError(t, err)
	if fi.Size() == 0 {
		return 0, 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(m)
	ps := os.Getpagesize()
	vec := make([]byte, (len(m)+ps-1)/ps)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(m))), uintptr(len(m)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	require.Zero(t, errno, "mincore")
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// directSize is a file large enough to be written directly by default: not a whole number of
// blocks, so that its last bytes go through the page cache.
const directSize = 20<<20 + 4321

// TestFetchDirectSkipsPageCache: a fetch of DirectIOMin bytes or more that extends its file
// leaves the page cache without the file (only the blocks where its chunks end are there), where
// one below it, one with direct writes turned off, or one that starts over bytes the file already
// holds, leaves all of it in the cache. The file is whole either way.
func TestFetchDirectSkipsPageCache(t *testing.T) {
	content := pattern(directSize, 9)
	srv := serve(t, newOrigin(content))
	for _, tt := range []struct {
		name   string
		cfg    transfer.Config
		direct bool
	}{
		{"default", transfer.Config{}, true},
		{"off", transfer.Config{DirectIOMin: -1}, false},
		{"below the minimum", transfer.Config{DirectIOMin: directSize + 1}, false},
		{"small chunks", transfer.Config{ChunkSize: 100_000, DirectIOMin: 1}, true},
		{"over bytes the file holds", transfer.Config{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.cfg)
			var prefix []byte
			if tt.name == "over bytes the file holds" {
				prefix = make([]byte, 1<<20) // a restart from byte 0 overwrites it
			}
			res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, prefix)
			require.NoError(t, res.err)
			in, pages := resident(t, res.dst) // before anything reads the file
			assert.True(t, bytes.Equal(content, contents(t, res.dst)), "the file differs from the source")
			assert.Equal(t, uint64(directSize), res.obs.last().Transferred)
			t.Logf("%d of %d pages in the page cache", in, pages)
			if tt.direct {
				// Only the pages where a chunk ends off a block boundary (where the source
				// paused, and the file's end) are written through the cache: the page of
				// that end, which the next chunk's start shares, or a chunk smaller than a
				// block, two pages at most. Every chunk is reported once written, so the
				// reports say where the chunks ended; how often the source pauses depends
				// on the machine's load.
				offBlock := 0
				for _, p := range res.obs.all() {
					if p.Transferred%4096 != 0 {
						offBlock++
					}
				}
				t.Logf("%d reports off a block boundary", offBlock)
				assert.LessOrEqual(t, in, 2*offBlock+2, "pages cached by a direct fetch")
			} else {
				assert.Equal(t, pages, in, "pages cached by a fetch through the cache")
			}
		})
	}
}

// TestFetchDirectReportsWrittenBytes: a direct fetch that resumes mid-block keeps the bytes
// before its offset, writes the rest exactly, and never reports a byte the file does not hold
// yet, though it reads the next chunk while it writes one.
func TestFetchDirectReportsWrittenBytes(t *testing.T) {
	content := pattern(directSize, 4)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{DirectIOMin: 1 << 20})
	probe := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, probe.err)
	const offset = 5000 // not on a block boundary
	kept := bytes.Repeat([]byte{'x'}, offset)
	dst := tempFile(t, kept)
	want := append(append([]byte(nil), kept...), content[offset:]...)
	var checked, behind int
	obs := &recorder{onProgress: func(p transfer.Progress) error {
		got, err := os.ReadFile(dst.Name())
		if err != nil {
			return err
		}
		checked++
		if uint64(len(got)) < p.Transferred || !bytes.Equal(want[:p.Transferred], got[:p.Transferred]) {
			behind++
		}
		return nil
	}}
	spec := transfer.Spec{Remote: urlOf(srv, "f"), Offset: offset, Total: directSize, Validator: probe.obs.last().Validator}
	require.NoError(t, c.Fetch(context.Background(), spec, transfer.Options{}, dst, obs))
	assert.True(t, bytes.Equal(want, contents(t, dst)), "the file differs")
	assert.Equal(t, "bytes=5000-"+strconv.Itoa(directSize-1), o.ranges()[1], "resumed from the offset")
	assert.Greater(t, checked, 5, "reports")
	assert.Zero(t, behind, "reports that claimed bytes the file did not hold")
	assert.Equal(t, uint64(offset), obs.all()[0].Transferred)
	assert.Equal(t, uint64(directSize), obs.last().Transferred)
	checkMonotonic(t, obs.all())
}

// TestFetchDirectRefused: where the file system refuses O_DIRECT, the fetch writes through the
// page cache, and nothing else changes.
func TestFetchDirectRefused(t *testing.T) {
	transfer.RefuseDirectIO(t)
	content := pattern(directSize, 5)
	srv := serve(t, newOrigin(content))
	res := fetch(t, newClient(t, transfer.Config{}), wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, res.err)
	in, pages := resident(t, res.dst)
	assert.Equal(t, pages, in, "written through the page cache")
	assert.True(t, bytes.Equal(content, contents(t, res.dst)))
}

// TestFetchDirectCut: a connection cut in the middle of a chunk loses nothing: the bytes that
// arrived are written and reported before the fetch fails, as through the page cache.
func TestFetchDirectCut(t *testing.T) {
	content := pattern(directSize, 6)
	const cut = 9<<20 + 777
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes")
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			return
		}
		w.Header().Set("Content-Range", "bytes 0-"+strconv.Itoa(len(content)-1)+"/"+strconv.Itoa(len(content)))
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(content[:cut])
		panic(http.ErrAbortHandler) // the connection is closed mid-body
	}))
	res := fetch(t, newClient(t, transfer.Config{}), wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	requireError(t, res.err, hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, true, "http")
	assert.Equal(t, uint64(cut), res.obs.last().Transferred, "the bytes that arrived are reported")
	got := contents(t, res.dst)
	require.GreaterOrEqual(t, len(got), cut)
	assert.True(t, bytes.Equal(content[:cut], got[:cut]), "and written")
}

// TestFetchDirectPause: when the source pauses in the middle of a direct chunk, the bytes that
// arrived before the pause are written and reported while it lasts, as a fetch through the page
// cache reports its chunks: the server waits for that report before it sends the rest.
func TestFetchDirectPause(t *testing.T) {
	content := pattern(directSize, 7)
	const pause = 6<<20 + 512<<10 // inside the second 4 MiB chunk, on a 256 KiB boundary
	seen := make(chan struct{})
	var once sync.Once
	var reportedDuringPause atomic.Bool
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		if r.Method == http.MethodHead {
			return
		}
		w.Header().Set("Content-Range", "bytes 0-"+strconv.Itoa(len(content)-1)+"/"+strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(content[:pause])
		http.NewResponseController(w).Flush()
		select {
		case <-seen:
			reportedDuringPause.Store(true)
		case <-r.Context().Done():
			return
		case <-time.After(time.Minute): // a guard against hanging: the assertion below fails
		}
		_, _ = w.Write(content[pause:])
	}))
	dst := tempFile(t, nil)
	obs := &recorder{onProgress: func(p transfer.Progress) error {
		if p.Transferred == pause {
			once.Do(func() { close(seen) })
		}
		return nil
	}}
	require.NoError(t, newClient(t, transfer.Config{}).Fetch(context.Background(), wholeSpec(urlOf(srv, "f")), transfer.Options{}, dst, obs))
	assert.True(t, reportedDuringPause.Load(), "the bytes before the pause were reported while it lasted")
	assert.True(t, bytes.Equal(content, contents(t, dst)))
	checkMonotonic(t, obs.all())
}
