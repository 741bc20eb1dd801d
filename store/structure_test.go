package store_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

// boltPages reads the pages of a bbolt file as TestOpenStructure damages them: bbolt's layout,
// in the machine's byte order.
type boltPages struct {
	b  []byte
	ps uint64
}

var ne = binary.NativeEndian

func (f boltPages) page(id uint64) []byte { return f.b[id*f.ps : (id+1)*f.ps] }

// meta returns the root page, the freelist page and the high-water mark of the newer meta page.
func (f boltPages) meta() (root, freelist, hwm uint64) {
	newer := f.page(0)[16:]
	if m1 := f.page(1)[16:]; ne.Uint64(m1[48:]) > ne.Uint64(newer[48:]) {
		newer = m1
	}
	return ne.Uint64(newer[16:]), ne.Uint64(newer[32:]), ne.Uint64(newer[40:])
}

// count is the number of elements of page p.
func count(p []byte) int { return int(ne.Uint16(p[10:])) }

// isBranch reports whether p is a branch page.
func isBranch(p []byte) bool { return ne.Uint16(p[8:]) == 0x01 }

// leafKey returns the key of element i of leaf page p.
func leafKey(p []byte, i int) []byte {
	e := p[16+i*16:]
	at := 16 + i*16 + int(ne.Uint32(e[4:]))
	return p[at : at+int(ne.Uint32(e[8:]))]
}

// branchKey returns the key of element i of branch page p, and its child page.
func branchKey(p []byte, i int) ([]byte, uint64) {
	e := p[16+i*16:]
	at := 16 + i*16 + int(ne.Uint32(e))
	return p[at : at+int(ne.Uint32(e[4:]))], ne.Uint64(e[8:])
}

// jobsRoot returns the root page of the jobs bucket.
func (f boltPages) jobsRoot(t *testing.T) uint64 {
	root, _, _ := f.meta()
	p := f.page(root)
	for i := range count(p) {
		if string(leafKey(p, i)) == "jobs" {
			e := p[16+i*16:]
			at := 16 + i*16 + int(ne.Uint32(e[4:])) + int(ne.Uint32(e[8:]))
			return ne.Uint64(p[at:])
		}
	}
	t.Fatal("no jobs bucket in the root page")
	return 0
}

// freelist returns the freelist page and the ids it lists (a view of the page).
func (f boltPages) freelist(t *testing.T) ([]byte, []byte) {
	_, fl, _ := f.meta()
	p := f.page(fl)
	n := count(p)
	require.Less(t, n, 0xFFFF, "the test store's freelist has the short form")
	return p, p[16 : 16+8*n]
}

// TestOpenStructure: a file whose pages are all inside it and well formed, but whose keys are out
// of order or whose pages are listed free while in use, listed twice, or neither in use nor free,
// is damaged, and Open says so. Loading such a file could return every record intact (the
// checksums hold), but bbolt finds keys by their order and hands out the pages its freelist lists:
// a write would add a record a second time or overwrite one in use.
func TestOpenStructure(t *testing.T) {
	// A store with a branch page above its records' leaves, and free pages.
	tdir := t.TempDir()
	s, err := store.Open(tdir, store.Options{NoSync: true})
	require.NoError(t, err)
	var rs []job.Record
	for n := 1; n <= 200; n++ {
		rs = append(rs, typical(n))
	}
	require.NoError(t, s.PutAll(rs))
	for n := 1; n <= 200; n += 10 {
		require.NoError(t, s.Delete(rs[n-1].ID))
	}
	require.NoError(t, s.Close())
	template, err := os.ReadFile(filepath.Join(tdir, store.FileName))
	require.NoError(t, err)
	good := boltPages{b: template, ps: uint64(ne.Uint32(template[16+8:]))}
	jroot := good.page(good.jobsRoot(t))
	require.True(t, isBranch(jroot), "the records span several leaves")
	require.GreaterOrEqual(t, count(jroot), 2)
	_, ids := good.freelist(t)
	require.GreaterOrEqual(t, len(ids)/8, 2, "the store has free pages")

	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, f boltPages)
		want   string
	}{
		{"two keys of a leaf swapped", func(t *testing.T, f boltPages) {
			_, child := branchKey(f.page(f.jobsRoot(t)), 0)
			p := f.page(child)
			// Each element says where its key is relative to itself: swap what the first two
			// point at, so that both records keep their own key and value, in the wrong order.
			e0, e1 := p[16:32], p[32:48]
			at0, at1 := 16+ne.Uint32(e0[4:]), 32+ne.Uint32(e1[4:])
			k0, k1 := ne.Uint32(e0[8:]), ne.Uint32(e1[8:])
			v0, v1 := ne.Uint32(e0[12:]), ne.Uint32(e1[12:])
			ne.PutUint32(e0[4:], at1-16)
			ne.PutUint32(e0[8:], k1)
			ne.PutUint32(e0[12:], v1)
			ne.PutUint32(e1[4:], at0-32)
			ne.PutUint32(e1[8:], k0)
			ne.PutUint32(e1[12:], v0)
		}, "does not follow the key before it"},
		{"a branch key after its child's keys", func(t *testing.T, f boltPages) {
			key, _ := branchKey(f.page(f.jobsRoot(t)), 1)
			for i := range key {
				key[i] = 0xFF
			}
		}, "lies before its parent's key"},
		{"a branch key among the keys of the child before it", func(t *testing.T, f boltPages) {
			root := f.page(f.jobsRoot(t))
			_, child := branchKey(root, 0)
			key, _ := branchKey(root, 1)
			copy(key, leafKey(f.page(child), 1))
		}, "does not lie before the next key of its parent"},
		{"a free page listed twice", func(t *testing.T, f boltPages) {
			_, ids := f.freelist(t)
			copy(ids[8:16], ids[0:8])
		}, "twice"},
		{"the freelist's own page listed free", func(t *testing.T, f boltPages) {
			_, fl, _ := f.meta()
			_, ids := f.freelist(t)
			ne.PutUint64(ids, fl)
		}, "which holds the freelist"},
		{"a page in use listed free", func(t *testing.T, f boltPages) {
			_, ids := f.freelist(t)
			_, child := branchKey(f.page(f.jobsRoot(t)), 0)
			ne.PutUint64(ids, child)
		}, "is in use and listed free"},
		{"a page neither in use nor free", func(t *testing.T, f boltPages) {
			p, _ := f.freelist(t)
			ne.PutUint16(p[10:], uint16(count(p)-1))
		}, "is neither in use nor free"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := slices.Clone(template)
			tc.damage(t, boltPages{b: b, ps: good.ps})
			require.NotEqual(t, template, b)
			dir := t.TempDir()
			path := filepath.Join(dir, store.FileName)
			require.NoError(t, os.WriteFile(path, b, 0o600))
			s, err := store.Open(dir, store.Options{})
			require.Nil(t, s)
			requireCorrupt(t, err, store.ErrCorrupt, tc.want, path)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(b, after), "Open wrote to the file")
		})
	}
	// The damage above is the only thing wrong: the template opens and loads.
	got, err := openLoad(tdir)
	require.NoError(t, err)
	require.Len(t, got, 180)
}
