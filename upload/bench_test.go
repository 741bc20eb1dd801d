package upload_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// BenchmarkUpload measures whole uploads through a loopback server: Create-Session, the
// fragments (each flushed to disk with its state), Close-Session. -short uploads 256 KiB in
// place of 4 MiB.
func BenchmarkUpload(b *testing.B) {
	size := 4 << 20
	if testing.Short() {
		size = 256 << 10
	}
	data := pattern(size, 1)
	for _, frag := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("fragment=%dKiB", frag>>10), func(b *testing.B) {
			h, err := upload.New(b.TempDir(), upload.Options{AllowOverwrites: true, ErrorLog: (&logBuffer{}).logger()})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			ts := httptest.NewServer(h)
			defer ts.Close()
			c := ts.Client()
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
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d %s", pt, resp.StatusCode, resp.Header.Get(bup.HeaderErrorCode))
				}
				return resp
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				id := post(bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol).Header.Get(bup.HeaderSessionID)
				for first := 0; first < size; first += frag {
					last := min(first+frag, size) - 1
					post(bup.Fragment, data[first:last+1], bup.HeaderSessionID, id,
						bup.HeaderContentRange, bup.Range{First: uint64(first), Last: uint64(last), Total: uint64(size)}.String())
				}
				post(bup.CloseSession, nil, bup.HeaderSessionID, id)
			}
		})
	}
}
