package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math/bits"
	"os"
	"time"
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

// walked is what checkFile found: the records of the jobs bucket, in the state of transaction
// txid (the newer meta page's), and some of the first keys of the bucket's leaf pages, in order
// and evenly spread (copies; none when the bucket has no branch page), which split the records
// into ranges of about equal size.
type walked struct {
	jobs   int
	txid   uint64
	splits [][]byte
}

// boltMeta is what checkFile reads of a meta page.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64 // the freelist's page
	pgid     uint64 // the high-water mark: pages below it are in use or free
	txid     uint64
}

// checkFile checks the structure of an existing bbolt file before bbolt walks it: the file holds
// at least its two meta pages, both are intact (magic, version, checksum) and agree on the page
// size, and the file holds every page they speak of; then, from the newer meta page, the freelist
// and the tree of pages (see walker). size is the file's size. It returns what it found of the
// newer meta page's state. The error wraps ErrCorrupt.
func checkFile(f io.ReaderAt, size int64) (walked, error) {
	if size == 0 {
		return walked{}, fmt.Errorf("%w: the file is empty", ErrCorrupt)
	}
	var metas [2]boltMeta
	page := int64(0)
	for i := range metas {
		buf := make([]byte, boltPageHeader+boltMetaLen)
		if page+int64(len(buf)) > size {
			return walked{}, fmt.Errorf("%w: the file is %d bytes, too short for its header", ErrCorrupt, size)
		}
		if _, err := f.ReadAt(buf, page); err != nil {
			return walked{}, err
		}
		m, err := parseMeta(buf, uint64(i))
		if err != nil {
			return walked{}, fmt.Errorf("%w: meta page %d: %s", ErrCorrupt, i, err)
		}
		if i == 1 && m.pageSize != metas[0].pageSize {
			return walked{}, fmt.Errorf("%w: meta page 1: page size %d, meta page 0 says %d", ErrCorrupt, m.pageSize, metas[0].pageSize)
		}
		metas[i] = m
		page = int64(m.pageSize)
	}
	ps := int64(metas[0].pageSize)
	if size%ps != 0 {
		return walked{}, fmt.Errorf("%w: the file is %d bytes, not a whole number of %d-byte pages", ErrCorrupt, size, ps)
	}
	for i, m := range metas {
		if m.pgid > uint64(size/ps) || m.pgid < 4 {
			return walked{}, fmt.Errorf("%w: meta page %d speaks of %d pages, the file holds %d: cut short", ErrCorrupt, i, m.pgid, size/ps)
		}
	}
	m := metas[0]
	if metas[1].txid > m.txid {
		m = metas[1]
	}
	words := (m.pgid + 63) / 64
	w := &walker{f: f, ps: int(m.pageSize), hwm: m.pgid, seen: make([]uint64, words), free: make([]uint64, words)}
	if err := w.freelist(m.freelist); err != nil {
		return walked{}, err
	}
	if _, err := w.tree(m.root, 0, inRoot, nil, nil); err != nil {
		return walked{}, err
	}
	// Every page but the meta pages is in use or free: bbolt would never hand out a page that is
	// neither, and the file would grow for ever around it.
	for id := uint64(2); id < m.pgid; id++ {
		if (w.seen[id/64]|w.free[id/64])&(1<<(id%64)) == 0 {
			return walked{}, w.fail("page %d is neither in use nor free", id)
		}
	}
	var splits [][]byte
	for i, end := range w.splitEnds {
		start := 0
		if i > 0 {
			start = w.splitEnds[i-1]
		}
		splits = append(splits, w.splitKeys[start:end:end])
	}
	return walked{jobs: w.jobs, txid: m.txid, splits: splits}, nil
}

// The page flags and sizes of bbolt's format.
const (
	pageBranch     = 0x01
	pageLeaf       = 0x02
	pageFreelist   = 0x10
	pageElementLen = 16   // a branch or leaf element
	leafBucket     = 0x01 // a leaf element that is a bucket
	bucketHeader   = 16   // root page, sequence
	maxDepth       = 64   // far beyond any real tree
)

// walker checks the tree of pages of a bbolt file, as bbolt will read it, before bbolt does: bbolt
// trusts its pages, and a damaged one can send it out of the file, allocate without bound or walk
// in a circle for ever. Every page is inside the file, of the type expected, referenced once and
// not listed free, and every element's key and value lie within their page. The keys are in
// order, as bbolt's own consistency check (Tx.Check) wants them: strictly increasing in a page,
// and within the range their parent's branch keys give them (bbolt finds a key by those: a key
// out of place is not found, and a write of it adds it a second time).
type walker struct {
	f    io.ReaderAt
	ps   int
	hwm  uint64
	seen []uint64 // a bit per page: referenced already
	free []uint64 // a bit per page: listed by the freelist
	bufs [][]byte // a page buffer per depth of the walk
	jobs int      // the elements of the jobs bucket: its records

	// The keys of the jobs bucket's deepest branch pages seen so far, which are the first keys
	// of its leaf pages: one after the other in splitKeys, each ending where splitEnds says.
	splitDepth  int
	splitKeys   []byte
	splitEnds   []int
	splitStride int // every stride-th key of the deepest level is kept
	splitSeen   int // the keys of the deepest level seen

	// The file is read a window at a time: bbolt writes a tree's pages mostly in order, so a
	// window read for one page holds the next ones too, and the walk makes a system call per
	// window rather than per page.
	win    []byte
	winOff int64
}

// windowSize is how much of the file the walk reads at once.
const windowSize = 256 << 10

// readAt reads len(p) bytes of the file at off, from the window when it holds them.
func (w *walker) readAt(p []byte, off int64) error {
	if len(p) > windowSize {
		_, err := w.f.ReadAt(p, off)
		return err
	}
	if off < w.winOff || off+int64(len(p)) > w.winOff+int64(len(w.win)) {
		if cap(w.win) < windowSize {
			w.win = make([]byte, windowSize)
		}
		n, err := w.f.ReadAt(w.win[:windowSize], off)
		if n < len(p) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			w.win = w.win[:0]
			return err
		}
		w.win, w.winOff = w.win[:n], off
	}
	copy(p, w.win[off-w.winOff:])
	return nil
}

// Which bucket a page of the walk belongs to.
const (
	inRoot    = iota // the root bucket, whose keys name the buckets
	inJobs           // the jobs bucket
	inJobsSub        // a bucket in the jobs bucket (damage: its keys count as bbolt counts them)
	inOther          // any other
)

// maxSplits bounds the number of keys the walk keeps to split the records into ranges.
const maxSplits = 256

// split keeps key, of a branch page of the jobs bucket at depth, when no deeper branch page was
// seen: the deepest branch pages' keys are the first keys of the leaf pages. Every stride-th is
// kept, the stride doubling whenever 2*maxSplits are kept (every other one is dropped then).
func (w *walker) split(depth int, key []byte) {
	if depth > w.splitDepth {
		w.splitDepth, w.splitKeys, w.splitEnds = depth, w.splitKeys[:0], w.splitEnds[:0]
		w.splitStride, w.splitSeen = 1, 0
	}
	if depth != w.splitDepth {
		return
	}
	w.splitSeen++
	if (w.splitSeen-1)%w.splitStride != 0 {
		return
	}
	w.splitKeys = append(w.splitKeys, key...)
	w.splitEnds = append(w.splitEnds, len(w.splitKeys))
	if len(w.splitEnds) < 2*maxSplits {
		return
	}
	keys, ends := w.splitKeys[:0:0], w.splitEnds[:0]
	start := 0
	for i, end := range w.splitEnds {
		if i%2 == 0 {
			keys = append(keys, w.splitKeys[start:end]...)
			ends = append(ends, len(keys))
		}
		start = end
	}
	w.splitKeys, w.splitEnds, w.splitStride = keys, ends, 2*w.splitStride
}

func (w *walker) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// page reads page id with its overflow pages, checking its header, into the buffer of depth
// (valid until the next read at that depth).
func (w *walker) page(id uint64, what string, depth int) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, w.fail("%s page %d is outside the file's %d pages", what, id, w.hwm)
	}
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, make([]byte, w.ps))
	}
	head := w.bufs[depth][:w.ps]
	if err := w.readAt(head, int64(id)*int64(w.ps)); err != nil {
		return nil, err
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(head); got != id {
		return nil, w.fail("page %d says it is page %d", id, got)
	}
	overflow := uint64(ne.Uint32(head[12:]))
	if overflow >= w.hwm-id {
		return nil, w.fail("page %d runs %d pages past the end of the file", id, overflow)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p/64]&(1<<(p%64)) != 0 {
			return nil, w.fail("page %d is used twice", p)
		}
		if w.free[p/64]&(1<<(p%64)) != 0 {
			return nil, w.fail("page %d is in use and listed free", p)
		}
		w.seen[p/64] |= 1 << (p % 64)
	}
	if overflow == 0 {
		return head, nil
	}
	n := (overflow + 1) * uint64(w.ps)
	if uint64(cap(w.bufs[depth])) < n {
		w.bufs[depth] = make([]byte, n)
	}
	buf := w.bufs[depth][:n]
	if err := w.readAt(buf, int64(id)*int64(w.ps)); err != nil {
		return nil, err
	}
	return buf, nil
}

// freelist checks the freelist page: its size and the pages it lists.
func (w *walker) freelist(id uint64) error {
	p, err := w.page(id, "freelist", 0)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	if flags := ne.Uint16(p[8:]); flags != pageFreelist {
		return w.fail("freelist page %d has flags %#x", id, flags)
	}
	start, count := boltPageHeader, uint64(ne.Uint16(p[10:]))
	if count == 0xFFFF {
		// The count did not fit: it is the first element.
		if len(p) < boltPageHeader+8 {
			return w.fail("freelist page %d is cut short", id)
		}
		count, start = ne.Uint64(p[boltPageHeader:]), boltPageHeader+8
	}
	if count > uint64(len(p)-start)/8 {
		return w.fail("freelist page %d lists %d pages, it has room for %d", id, count, (len(p)-start)/8)
	}
	for i := range count {
		free := ne.Uint64(p[start+int(i)*8:])
		switch bit := uint64(1) << (free % 64); {
		case free < 2 || free >= w.hwm:
			return w.fail("freelist page %d lists page %d, outside the file's %d pages", id, free, w.hwm)
		case w.free[free/64]&bit != 0:
			return w.fail("freelist page %d lists page %d twice", id, free)
		case w.seen[free/64]&bit != 0:
			return w.fail("freelist page %d lists page %d, which holds the freelist", id, free)
		default:
			w.free[free/64] |= bit
		}
	}
	return nil
}

// tree checks the branch or leaf page id, of bucket in, and the pages below it. Its keys must lie
// in [lo, hi) (nil: unbounded); it returns the greatest key below it, which lies in the walk's
// buffers and stays valid until the walk reads another page at depth or deeper.
func (w *walker) tree(id uint64, depth, in int, lo, hi []byte) ([]byte, error) {
	if depth > maxDepth {
		return nil, w.fail("the tree of pages is deeper than %d", maxDepth)
	}
	p, err := w.page(id, "tree", depth)
	if err != nil {
		return nil, err
	}
	return w.node(p, id, depth, in, lo, hi)
}

// node checks a branch or leaf page held in p (a page of the file, or a bucket's inline page) of
// bucket in, counting the records of the jobs bucket. Its keys must lie in [lo, hi), in order;
// it returns the greatest key below it, as tree does.
func (w *walker) node(p []byte, id uint64, depth, in int, lo, hi []byte) ([]byte, error) {
	ne := binary.NativeEndian
	if len(p) < boltPageHeader {
		return nil, w.fail("page %d is cut short", id)
	}
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if flags != pageBranch && flags != pageLeaf {
		return nil, w.fail("page %d has flags %#x where a branch or leaf page belongs", id, flags)
	}
	if count > (len(p)-boltPageHeader)/pageElementLen {
		return nil, w.fail("page %d holds %d elements, it has room for %d", id, count, (len(p)-boltPageHeader)/pageElementLen)
	}
	if flags == pageBranch && count == 0 {
		return nil, w.fail("branch page %d is empty", id)
	}
	// prev is the key the next one must follow: lo before the first, then the previous key of a
	// leaf, or the greatest key below the previous element of a branch.
	prev, last := lo, []byte(nil)
	for i := range count {
		at := boltPageHeader + i*pageElementLen
		if flags == pageBranch {
			key, child, err := w.branchElement(p, id, i)
			if err != nil {
				return nil, err
			}
			if err := w.order(id, i, key, prev, hi); err != nil {
				return nil, err
			}
			// The keys below this element lie before the next element's key.
			next := hi
			if i+1 < count {
				if next, _, err = w.branchElement(p, id, i+1); err != nil {
					return nil, err
				}
			}
			if in == inJobs && i > 0 {
				w.split(depth, key)
			}
			if last, err = w.tree(child, depth+1, in, key, next); err != nil {
				return nil, err
			}
			prev = last
			continue
		}
		e := p[at : at+pageElementLen]
		eflags, pos, ksize, vsize := ne.Uint32(e), uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		end := uint64(at) + pos + ksize + vsize
		if end > uint64(len(p)) {
			return nil, w.fail("page %d: element %d lies outside the page", id, i)
		}
		key := p[end-vsize-ksize : end-vsize]
		if err := w.order(id, i, key, prev, hi); err != nil {
			return nil, err
		}
		prev, last = key, key
		if in == inJobs || in == inJobsSub {
			w.jobs++ // a key of the jobs bucket, or of a bucket in it, as bbolt's statistics count
		}
		switch eflags {
		case 0:
		case leafBucket:
			v := p[end-vsize : end]
			if len(v) < bucketHeader {
				return nil, w.fail("page %d: bucket %d is cut short", id, i)
			}
			sub := inOther
			switch {
			case in == inJobs || in == inJobsSub:
				sub = inJobsSub
			case in == inRoot && string(key) == string(bucketJobs):
				sub = inJobs
			}
			// A bucket is a tree of its own, with keys of its own.
			var err error
			if root := ne.Uint64(v); root != 0 {
				_, err = w.tree(root, depth+1, sub, nil, nil)
			} else {
				_, err = w.node(v[bucketHeader:], id, depth+1, sub, nil, nil)
			}
			if err != nil {
				return nil, err
			}
		default:
			return nil, w.fail("page %d: element %d has flags %#x", id, i, eflags)
		}
	}
	return last, nil
}

// branchElement returns the key and the child page of element i of branch page p.
func (w *walker) branchElement(p []byte, id uint64, i int) (key []byte, child uint64, err error) {
	ne := binary.NativeEndian
	at := boltPageHeader + i*pageElementLen
	e := p[at : at+pageElementLen]
	pos, ksize := uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
	if uint64(at)+pos+ksize > uint64(len(p)) {
		return nil, 0, w.fail("page %d: key %d lies outside the page", id, i)
	}
	start := uint64(at) + pos
	return p[start : start+ksize], ne.Uint64(e[8:]), nil
}

// order checks key i of page id: the first at or after prev (the parent's key for it), the
// others after prev (the key before them), every one before hi.
func (w *walker) order(id uint64, i int, key, prev, hi []byte) error {
	switch {
	case i == 0 && prev != nil && bytes.Compare(prev, key) > 0:
		return w.fail("page %d: key %d (%x) lies before its parent's key (%x)", id, i, key, prev)
	case i > 0 && bytes.Compare(prev, key) >= 0:
		return w.fail("page %d: key %d (%x) does not follow the key before it (%x)", id, i, key, prev)
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return w.fail("page %d: key %d (%x) does not lie before the next key of its parent (%x)", id, i, key, hi)
	}
	return nil
}

// parseMeta reads meta page id from buf, its page header and meta fields, in the byte order of
// the machine (as bbolt writes them).
func parseMeta(buf []byte, id uint64) (boltMeta, error) {
	ne := binary.NativeEndian
	meta := buf[boltPageHeader:]
	if magic := ne.Uint32(meta[0:]); magic != boltMagic {
		return boltMeta{}, fmt.Errorf("magic %#x: not a bbolt file", magic)
	}
	if got := ne.Uint64(buf[0:]); got != id {
		return boltMeta{}, fmt.Errorf("page id %d", got)
	}
	if flags := ne.Uint16(buf[8:]); flags != boltMetaFlag {
		return boltMeta{}, fmt.Errorf("page flags %#x, not a meta page", flags)
	}
	if v := ne.Uint32(meta[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d (this code reads %d)", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(meta[:boltMetaSum])
	if sum := ne.Uint64(meta[boltMetaSum:]); sum != h.Sum64() {
		return boltMeta{}, fmt.Errorf("checksum %#x, the page sums to %#x", sum, h.Sum64())
	}
	m := boltMeta{pageSize: ne.Uint32(meta[8:]), root: ne.Uint64(meta[16:]), freelist: ne.Uint64(meta[32:]),
		pgid: ne.Uint64(meta[40:]), txid: ne.Uint64(meta[48:])}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || bits.OnesCount32(m.pageSize) != 1 {
		return boltMeta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// precheck checks the structure of the existing file at path (checkFile) before bbolt opens it:
// bbolt trusts what it reads, and a damaged file can make it panic with the file mapped and
// locked, or worse. The check runs under a shared lock, so that no commit of another Store runs
// meanwhile; when that one holds the file for longer than timeout, the error is ErrInUse. The
// error of a damaged file wraps ErrCorrupt. It returns what the walk found.
func precheck(path string, timeout time.Duration) (walked, error) {
	f, err := os.Open(path)
	if err != nil {
		return walked{}, err
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	for {
		busy, err := tryLockShared(f)
		if err != nil {
			return walked{}, err
		}
		if !busy {
			break
		}
		if timeout < 0 || time.Now().After(deadline) {
			return walked{}, fmt.Errorf("%w (waited %v)", ErrInUse, max(timeout, 0))
		}
		time.Sleep(lockRetry)
	}
	defer unlockShared(f)
	st, err := f.Stat()
	if err != nil {
		return walked{}, err
	}
	// A system call per page costs less than a map of the file: a fault per page costs more
	// than the call on a virtual machine, and a read of the whole file as much in new memory.
	return checkFile(f, st.Size())
}

// lockRetry is how often precheck tries the lock again, as bbolt does.
const lockRetry = 50 * time.Millisecond
