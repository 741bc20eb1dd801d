package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// smallStore writes a store of a few jobs to dir, with files, credentials and custom headers, a
// job deleted and records replaced by newer ones (so that the file holds free pages too), and
// returns the records it holds, in Load's order.
func smallStore(t testing.TB, dir string) []job.Record {
	t.Helper()
	s, err := store.Open(dir, store.Options{NoSync: true})
	require.NoError(t, err)
	defer s.Close()
	var want []job.Record
	for n := 1; n <= 4; n++ {
		r := typical(n)
		r.Credentials = []bits.Credentials{
			{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: fmt.Sprintf("user%d", n), Password: "pässwörd"},
			{Target: bits.TargetProxy, Scheme: bits.SchemeNTLM, UserName: "proxy", Password: ""},
		}
		r.CustomHeaders = fmt.Sprintf("X-Tenant: %d\r\nAuthorization: Bearer abc%d\r\n", n, n)
		r.Files = append(r.Files, job.FileRecord{
			RemoteName: fmt.Sprintf("https://mirror.example.net/extra/%d.bin", n),
			LocalName:  fmt.Sprintf("/srv/extra/%d.bin", n),
			Ranges:     []bits.FileRange{{InitialOffset: 0, Length: 100}, {InitialOffset: 4096, Length: 1<<64 - 1}},
			BytesTotal: 1<<64 - 1,
		})
		if n == 3 {
			r.Error = &job.ErrorRecord{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_404, File: 1, Protocol: "http"}
		}
		require.NoError(t, s.Put(&r))
		r.Seq += 5
		r.DisplayName += " (renamed)"
		require.NoError(t, s.Put(&r))
		want = append(want, r)
	}
	gone := typical(9)
	require.NoError(t, s.Put(&gone))
	require.NoError(t, s.Delete(gone.ID))
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, sorted(want), got)
	return got
}

// TestDamageEveryByte damages a small store one byte at a time and opens and loads each damaged
// copy. Every byte of the pages bbolt uses is damaged, each in one of nine ways in turn (all its
// bits flipped, or one of its eight bits), so that every bit position is hit across the bytes; the
// space bbolt allocated beyond them, which it never reads, is sampled. Under -short every seventh
// byte, under the race detector every third. Each damage must be reported (ErrCorrupt and BG_E_DATABASE_CORRUPT, from Open or Load)
// or provably harmless: the loaded records equal the originals, field by field. Open must never
// write to the damaged file. Both outcomes are counted, and reports must have happened.
func TestDamageEveryByte(t *testing.T) {
	dir := t.TempDir()
	want := smallStore(t, dir)
	path := filepath.Join(dir, store.FileName)
	template, err := os.ReadFile(path)
	require.NoError(t, err)
	// The pages in use: the high-water mark of the newer meta page.
	ne := binary.NativeEndian
	pageSize := int(ne.Uint32(template[16+8:]))
	used := max(ne.Uint64(template[16+40:]), ne.Uint64(template[pageSize+16+40:]))
	dataEnd := int(used) * pageSize
	require.Less(t, dataEnd, len(template)+1)
	step, tailStep := 1, 61
	switch {
	case testing.Short():
		step, tailStep = 7, 251
	case raceEnabled:
		step, tailStep = 3, 251
	}
	masks := []byte{0xFF, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80}
	start := time.Now()
	var reported, harmless int
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	after := make([]byte, len(template))
	trials := 0
	for off := 0; off < len(template); {
		mask := masks[trials%len(masks)]
		trials++
		_, err := f.WriteAt([]byte{template[off] ^ mask}, int64(off))
		require.NoError(t, err)
		got, err := openLoad(dir)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, hresult.BG_E_DATABASE_CORRUPT) {
				t.Fatalf("byte %d ^ %#x: not reported as damage: %v", off, mask, err)
			}
			reported++
		} else {
			if !equalRecords(want, got) {
				require.Equal(t, want, got, "byte %d ^ %#x: loaded without error but changed", off, mask)
			}
			harmless++
		}
		// Open never writes to an existing file: the damage is all that differs.
		_, err = f.ReadAt(after, 0)
		require.NoError(t, err)
		after[off] ^= mask
		if !bytes.Equal(template, after) {
			t.Fatalf("byte %d ^ %#x: Open or Load wrote to the damaged file", off, mask)
		}
		_, err = f.WriteAt(template[off:off+1], int64(off))
		require.NoError(t, err)
		if off < dataEnd {
			off += step
		} else {
			off += tailStep
		}
	}
	t.Logf("%d bytes (%d in use), %d damages: %d reported, %d harmless, in %v",
		len(template), dataEnd, trials, reported, harmless, time.Since(start))
	require.Positive(t, reported, "no damage was reported")
	require.Positive(t, harmless, "bbolt's free space should take some damage harmlessly")
	require.Equal(t, trials, reported+harmless)
	require.Greater(t, trials, dataEnd/step, "every byte in use was damaged")
}

// equalRecords compares records as require.Equal does, without its cost on the fast path.
func equalRecords(a, b []job.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(store.Encode(&a[i]), store.Encode(&b[i])) {
			return false
		}
	}
	return true
}
