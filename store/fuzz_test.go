package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// FuzzDecode: Decode never panics; what it accepts encodes and decodes again to the same record;
// what it rejects is a damaged-store error.
func FuzzDecode(f *testing.F) {
	withError := typical(2)
	withError.Error = &job.ErrorRecord{Code: hresult.BG_E_HTTP_ERROR_404, File: 0, Protocol: "http"}
	withError.Credentials = []bits.Credentials{{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}}
	withError.Files[0].Ranges = []bits.FileRange{{InitialOffset: 10, Length: 20}, {InitialOffset: 100, Length: 1<<64 - 1}}
	upload := typical(3)
	upload.Type = bits.UploadReply
	upload.Session = job.UploadSession{ID: "{s}", HostID: "node2", HostFallback: time.Minute, FragmentLimit: 4096, ReplyURL: "http://h/r"}
	upload.Reply = &job.FileRecord{RemoteName: "http://h/r", LocalName: "/tmp/reply", BytesTotal: 10, BytesDone: 4, TempName: "/tmp/BITR.tmp"}
	seeds := [][]byte{
		store.Encode(&job.Record{ID: idOf(1)}),
		store.Encode(ptr(typical(1))),
		store.Encode(&withError),
		store.Encode(&upload),
	}
	for _, s := range seeds {
		f.Add(s)
		for _, n := range []int{0, 1, 17, len(s) / 2, len(s) - 1} {
			f.Add(s[:n])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := store.Decode(b)
		if err != nil {
			require.True(t, errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrVersion), "%v", err)
			require.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
			return
		}
		again, err := store.Decode(store.Encode(&r))
		require.NoError(t, err)
		require.Equal(t, r, again)
	})
}

func ptr[T any](v T) *T { return &v }

// FuzzOpenFile writes the fuzz input as a store's jobs.db and opens and loads it. Open and Load
// never panic and never write to the file; they fail with ErrCorrupt (and BG_E_DATABASE_CORRUPT),
// or every record they return is exactly what the file holds under the record's job id, sealed by
// its checksum, and they return every record the file holds.
func FuzzOpenFile(f *testing.F) {
	dir := f.TempDir()
	smallStore(f, dir)
	good, err := os.ReadFile(filepath.Join(dir, store.FileName))
	require.NoError(f, err)
	f.Add(good)
	for _, n := range []int{0, 10, 4096, 8192, len(good) / 2, len(good) - 4096} {
		f.Add(good[:n])
	}
	for _, off := range []int{16, 4096 + 16 + 40, 2*4096 + 20, 5*4096 + 100, 6*4096 + 300, 7*4096 + 9} {
		b := slices.Clone(good)
		b[off] ^= 0x5A
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkOpenFile(t, b) })
}

// TestOpenRandomDamage: FuzzOpenFile's check on copies of a small store damaged at random, a few
// bytes each, some also cut short: each is reported as damage or loads exactly what the file
// holds.
func TestOpenRandomDamage(t *testing.T) {
	dir := t.TempDir()
	smallStore(t, dir)
	good, err := os.ReadFile(filepath.Join(dir, store.FileName))
	require.NoError(t, err)
	n := 1000
	if testing.Short() {
		n = 200
	}
	rng := rand.New(rand.NewPCG(7, 11))
	reported := 0
	for i := range n {
		b := slices.Clone(good)
		for range 1 + rng.IntN(4) {
			switch off := rng.IntN(len(b)); rng.IntN(4) {
			case 0:
				b[off] = byte(rng.Uint32())
			case 1, 2:
				b[off] ^= 1 << rng.IntN(8)
			case 3:
				b = b[:off]
			}
			if len(b) == 0 {
				break
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if checkOpenFile(t, b) {
				reported++
			}
		})
	}
	t.Logf("%d damaged copies, %d reported", n, reported)
	require.Positive(t, reported)
}

// checkOpenFile writes b as a store's jobs.db, opens and loads it, and checks that Open and Load
// did not write to the file and either failed with ErrCorrupt and BG_E_DATABASE_CORRUPT
// (reported) or returned every record the file holds, each exactly the bytes the file holds
// under its job id, sealed by its checksum.
func checkOpenFile(t *testing.T, b []byte) (reported bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	var recs []job.Record
	s, err := store.Open(dir, store.Options{Timeout: -1})
	if err == nil {
		recs, err = s.Load()
		require.NoError(t, s.Close())
	}
	after, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	require.Equal(t, b, after, "Open or Load wrote to the file")
	if err != nil {
		require.ErrorIs(t, err, store.ErrCorrupt)
		require.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
		return true
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		b := jobs(tx)
		require.Equal(t, len(recs), b.Stats().KeyN, "Load returned every record")
		for i := range recs {
			r := &recs[i]
			require.Equal(t, store.Seal(r.ID[:], store.Encode(r)), b.Get(r.ID[:]), "record %d is what its checksum sealed", i)
		}
		return nil
	}))
	return false
}
