package upload_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// benchSize is the size of one benchmark upload: 4 MiB, or 256 KiB under -short.
func benchSize() int {
	if testing.Short() {
		return 256 << 10
	}
	return 4 << 20
}

// benchFragments are the fragment sizes the benchmarks use.
var benchFragments = []int{64 << 10, 1 << 20}

// BenchmarkUpload measures whole uploads through a loopback server: Create-Session, the
// fragments (each flushed to disk with its state before its Ack), Close-Session.
func BenchmarkUpload(b *testing.B) {
	for _, frag := range benchFragments {
		b.Run(fmt.Sprintf("fragment=%dKiB", frag>>10), func(b *testing.B) {
			h, err := upload.New(b.TempDir(), upload.Options{AllowOverwrites: true, ErrorLog: (&logBuffer{}).logger()})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			runUploads(b, h, frag, func(post poster, size int) {
				id := post(bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol).Header.Get(bup.HeaderSessionID)
				sendFragments(post, size, frag, func(first, last int) []string {
					return []string{bup.HeaderSessionID, id, bup.HeaderContentRange,
						bup.Range{First: uint64(first), Last: uint64(last), Total: uint64(size)}.String()}
				})
				post(bup.CloseSession, nil, bup.HeaderSessionID, id)
			})
		})
	}
}

// BenchmarkUploadFloor is the floor of BenchmarkUpload: the same fragments posted to a bare
// handler that writes each at its offset in a temporary file and flushes it, then renames the
// file into place after the last one.
func BenchmarkUploadFloor(b *testing.B) {
	for _, frag := range benchFragments {
		b.Run(fmt.Sprintf("fragment=%dKiB", frag>>10), func(b *testing.B) {
			dir := b.TempDir()
			floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				off, _ := strconv.ParseInt(r.Header.Get("X-Offset"), 10, 64)
				f, err := os.OpenFile(filepath.Join(dir, "part"), os.O_WRONLY|os.O_CREATE, 0o644)
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				_, err = io.Copy(io.NewOffsetWriter(f, off), r.Body)
				if err == nil {
					err = f.Sync()
				}
				f.Close()
				if err == nil && r.Header.Get("X-Last") != "" {
					err = os.Rename(filepath.Join(dir, "part"), filepath.Join(dir, "bench.bin"))
				}
				if err != nil {
					http.Error(w, err.Error(), 500)
				}
			})
			runUploads(b, floor, frag, func(post poster, size int) {
				sendFragments(post, size, frag, func(first, last int) []string {
					kv := []string{"X-Offset", strconv.Itoa(first)}
					if last == size-1 {
						kv = append(kv, "X-Last", "1")
					}
					return kv
				})
			})
		})
	}
}

// poster sends one packet of a benchmark upload and fails the benchmark unless it gets 200.
type poster func(pt bup.PacketType, body []byte, kv ...string) *http.Response

// runUploads serves h on loopback and runs one upload per iteration.
func runUploads(b *testing.B, h http.Handler, frag int, one func(post poster, size int)) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	c := ts.Client()
	size := benchSize()
	post := func(pt bup.PacketType, body []byte, kv ...string) *http.Response {
		req, _ := http.NewRequest(bup.Method, ts.URL+"/bench.bin", bytes.NewReader(body))
		req.Header.Set(bup.HeaderPacketType, string(pt))
		for i := 0; i < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", pt, resp.StatusCode, resp.Header.Get(bup.HeaderErrorCode))
		}
		return resp
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		one(post, size)
	}
}

var benchData = pattern(4<<20, 1)

// sendFragments posts the benchmark data in fragments of frag bytes, with the headers hdr
// gives for each.
func sendFragments(post poster, size, frag int, hdr func(first, last int) []string) {
	for first := 0; first < size; first += frag {
		last := min(first+frag, size) - 1
		post(bup.Fragment, benchData[first:last+1], hdr(first, last)...)
	}
}
