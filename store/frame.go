package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math/bits"
	"os"
)

// castagnoli is the CRC-32C table: the checksum of every stored value.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sumLen is the size of the checksum that ends every stored value.
const sumLen = 4

// seal returns payload followed by the CRC-32C of key and payload, so that a value that was
// damaged, or moved under another key, is told from a good one.
func seal(key, payload []byte) []byte {
	b := make([]byte, len(payload), len(payload)+sumLen)
	copy(b, payload)
	return binary.LittleEndian.AppendUint32(b, checksum(key, payload))
}

func checksum(key, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
}

// unseal returns the payload of a sealed value, or ok false when its checksum does not match.
func unseal(key, val []byte) (payload []byte, ok bool) {
	if len(val) < sumLen {
		return nil, false
	}
	payload, sum := val[:len(val)-sumLen], val[len(val)-sumLen:]
	return payload, binary.LittleEndian.Uint32(sum) == checksum(key, payload)
}

// The bbolt file's own header, checked before the file is trusted. bbolt keeps two meta pages,
// each with a checksum, and when the newer one is damaged it silently opens the state of the
// commit before: a job's last change would be lost without a word. The store checks both pages
// itself and calls the file damaged when either is.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16   // id, flags, count, overflow
	boltMetaFlag   = 0x04 // the page flag of a meta page
	boltMetaSum    = 56   // the meta fields the checksum covers
	boltMetaLen    = boltMetaSum + 8
	minPageSize    = 512
	maxPageSize    = 1 << 16
)

// boltMeta is what checkFile reads of a meta page.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // the high-water mark: pages below it are in use or free
	txid     uint64
}

// checkFile checks the header of an existing bbolt file: the file holds at least its two meta
// pages, both are intact (magic, version, checksum) and agree on the page size, and the file
// holds every page they speak of. size is the file's size. The error wraps ErrCorrupt.
func checkFile(f io.ReaderAt, size int64) error {
	if size == 0 {
		return fmt.Errorf("%w: the file is empty", ErrCorrupt)
	}
	var metas [2]boltMeta
	page := int64(0)
	for i := range metas {
		buf := make([]byte, boltPageHeader+boltMetaLen)
		if page+int64(len(buf)) > size {
			return fmt.Errorf("%w: the file is %d bytes, too short for its header", ErrCorrupt, size)
		}
		if _, err := f.ReadAt(buf, page); err != nil {
			return err
		}
		m, err := parseMeta(buf, uint64(i))
		if err != nil {
			return fmt.Errorf("%w: meta page %d: %s", ErrCorrupt, i, err)
		}
		if i == 1 && m.pageSize != metas[0].pageSize {
			return fmt.Errorf("%w: meta page 1: page size %d, meta page 0 says %d", ErrCorrupt, m.pageSize, metas[0].pageSize)
		}
		metas[i] = m
		page = int64(m.pageSize)
	}
	ps := int64(metas[0].pageSize)
	if size%ps != 0 {
		return fmt.Errorf("%w: the file is %d bytes, not a whole number of %d-byte pages", ErrCorrupt, size, ps)
	}
	for i, m := range metas {
		if m.pgid > uint64(size/ps) || m.pgid < 4 {
			return fmt.Errorf("%w: meta page %d speaks of %d pages, the file holds %d: cut short", ErrCorrupt, i, m.pgid, size/ps)
		}
	}
	return nil
}

// parseMeta reads meta page id from buf, its page header and meta fields, in the byte order of
// the machine (as bbolt writes them).
func parseMeta(buf []byte, id uint64) (boltMeta, error) {
	ne := binary.NativeEndian
	if got := ne.Uint64(buf[0:]); got != id {
		return boltMeta{}, fmt.Errorf("page id %d", got)
	}
	if flags := ne.Uint16(buf[8:]); flags != boltMetaFlag {
		return boltMeta{}, fmt.Errorf("page flags %#x, not a meta page", flags)
	}
	meta := buf[boltPageHeader:]
	if magic := ne.Uint32(meta[0:]); magic != boltMagic {
		return boltMeta{}, fmt.Errorf("magic %#x: not a bbolt file", magic)
	}
	if v := ne.Uint32(meta[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d (this code reads %d)", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(meta[:boltMetaSum])
	if sum := ne.Uint64(meta[boltMetaSum:]); sum != h.Sum64() {
		return boltMeta{}, fmt.Errorf("checksum %#x, the page sums to %#x", sum, h.Sum64())
	}
	m := boltMeta{pageSize: ne.Uint32(meta[8:]), pgid: ne.Uint64(meta[40:]), txid: ne.Uint64(meta[48:])}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || bits.OnesCount32(m.pageSize) != 1 {
		return boltMeta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// checkPath runs checkFile on the file at path.
func checkPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return checkFile(f, st.Size())
}
