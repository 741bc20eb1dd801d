package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// FileName is the name of the database file in a store's directory.
const FileName = "jobs.db"

// SchemaVersion is the version of the store's layout (its buckets, keys and the framing of their
// values) that this code writes and the only one it opens. Version 1 had no checksums.
const SchemaVersion = 2

// DefaultTimeout is how long Open waits for the store to be free when Options.Timeout is 0.
const DefaultTimeout = 100 * time.Millisecond

var (
	bucketMeta = []byte("meta")
	bucketJobs = []byte("jobs")
	keyVersion = []byte("version")
	keyCount   = []byte("count")
)

// Options for Open.
type Options struct {
	// Timeout is how long Open waits for another process or manager holding the store to let
	// go; 0 means DefaultTimeout (100 ms), and a negative value means one try.
	Timeout time.Duration
	// NoSync turns fsync off: Put and Delete return before their data is on disk, and a crash
	// of the machine may lose or damage the store. For tests and benchmarks only; unsafe.
	NoSync bool
	// Holder says who holds the store, for the error of an Open that finds it in use (for
	// example "the bitsemu service, pid 42, socket /x/bitsemu.sock"). Open writes it to
	// HolderName beside the database once the store is locked, and Close removes it. An Open
	// without a Holder removes the file a holder that died left behind.
	Holder string
}

// HolderName is the file, beside the database, that says who holds the store (Options.Holder).
const HolderName = "holder"

// Store is an open job store. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	path string
	db   *bolt.DB

	// sem is held by the one goroutine that commits (or closes); the others wait for their
	// operation to be done or for their turn to commit what is pending.
	sem chan struct{}

	mu      sync.Mutex
	pending []*op
	closed  bool

	count  uint64   // the number of records, as the meta bucket says; used by the committer only
	opened int      // the number of records when the store was opened
	splits [][]byte // keys that split the records into ranges of about equal size (walked.splits)

	holder bool // Open wrote HolderName; Close removes it

	commits atomic.Uint64 // transactions committed by Put, PutAll and Delete
}

// op is one Put, PutAll or Delete waiting to be committed.
type op struct {
	name  string
	id    uuid.UUID // the job, for error messages; Nil for PutAll
	items []item
	done  chan struct{}
	err   error
}

// item is the write of one record (val != nil) or the removal of one (val == nil).
type item struct {
	id  uuid.UUID
	seq uint64
	val []byte
}

// Open opens the store in dir, creating dir (mode 0700) and dir/jobs.db (mode 0600) when they do
// not exist. The store stays locked until Close.
//
// Open never writes to an existing file. It checks the file's structure: both bbolt meta pages
// intact, the file as long as they say, every page in use once or free, the keys in order (what
// bbolt's own consistency check looks at), the schema version and the number of records, each
// under its checksum. A new file is
// built under a temporary name and linked into place once complete, so that jobs.db is never
// seen half made; an empty or short jobs.db is damage, never a new store.
//
// Errors, each an *hresult.Error: the store is held by another Store, of this process or another,
// for longer than opt.Timeout (ErrInUse, ERROR_SHARING_VIOLATION); the file is not a job store
// or is damaged (ErrCorrupt, BG_E_DATABASE_CORRUPT); its schema version is not SchemaVersion
// (ErrVersion and ErrCorrupt, BG_E_DATABASE_CORRUPT); the directory or file cannot be created or
// opened (E_ACCESSDENIED, ERROR_PATH_NOT_FOUND, ERROR_DISK_FULL, ... as job.DiskCode maps them).
func Open(dir string, opt Options) (*Store, error) {
	dir = filepath.Clean(dir)
	path := filepath.Join(dir, FileName)
	newDir := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, ioError("Open", uuid.Nil, err)
		}
		// MkdirAll is subject to the umask; the store's directory is owner-only, exactly.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, ioError("Open", uuid.Nil, err)
		}
		newDir = true
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	st, statErr := os.Lstat(path)
	found := walked{txid: noWalk}
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		if err := create(dir, path, opt.NoSync); err != nil {
			return nil, err
		}
		if newDir && !opt.NoSync {
			if err := syncDir(filepath.Dir(dir)); err != nil {
				return nil, ioError("Open", uuid.Nil, err)
			}
		}
	case statErr != nil:
		return nil, ioError("Open", uuid.Nil, statErr)
	case !st.Mode().IsRegular():
		return nil, corrupt("Open", uuid.Nil, fmt.Errorf("%s: %w: not a regular file (%v)", path, ErrCorrupt, st.Mode().Type()))
	default:
		// An empty file, which bbolt would make a new database, is a store that lost its data.
		var err error
		if found, err = precheck(path, timeout); err != nil {
			switch {
			case errors.Is(err, ErrInUse):
				return nil, &hresult.Error{Op: "Open", Code: hresult.ERROR_SHARING_VIOLATION, Err: fmt.Errorf("%s: %w%s", path, err, heldBy(dir))}
			case errors.Is(err, ErrCorrupt):
				return nil, corrupt("Open", uuid.Nil, fmt.Errorf("%s: %w", path, err))
			}
			return nil, ioError("Open", uuid.Nil, err)
		}
	}

	db, err := openBolt(path, &bolt.Options{Timeout: timeout, NoSync: opt.NoSync})
	if err != nil {
		if errors.Is(err, ErrInUse) {
			var he *hresult.Error
			if errors.As(err, &he) {
				he.Err = fmt.Errorf("%w%s", he.Err, heldBy(dir))
			}
		}
		return nil, err
	}
	s := &Store{dir: dir, path: path, db: db, sem: make(chan struct{}, 1), splits: found.splits}
	if err := s.schema(found); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.hold(opt.Holder); err != nil {
		db.Close()
		return nil, ioError("Open", uuid.Nil, err)
	}
	return s, nil
}

// hold writes the holder's description beside the database (or removes a stale one), under a
// temporary name renamed into place, so that a reader sees a whole description or none.
func (s *Store) hold(desc string) error {
	path := filepath.Join(s.dir, HolderName)
	if desc == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	f, err := os.CreateTemp(s.dir, HolderName+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(desc + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	s.holder = true
	return nil
}

// heldBy returns ", held by <description>" when the store's holder wrote one.
func heldBy(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, HolderName))
	desc := strings.TrimSpace(string(b))
	if err != nil || desc == "" || len(desc) > 4096 {
		return ""
	}
	return ", held by " + desc
}

// create makes a new, empty store at path: built under a temporary name in dir, synced, then
// linked to path, which is never overwritten (when another Open made it meanwhile, that one is
// kept). A crash leaves either no jobs.db or a complete one, and maybe a stray temporary file.
func create(dir, path string, noSync bool) (err error) {
	tmp, err := os.CreateTemp(dir, FileName+".new-*")
	if err != nil {
		return ioError("Open", uuid.Nil, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Close(); err != nil {
		return ioError("Open", uuid.Nil, err)
	}
	// bbolt makes an empty file a new database.
	db, err := bolt.Open(name, 0o600, &bolt.Options{NoSync: noSync, Timeout: time.Second})
	if err != nil {
		return ioError("Open", uuid.Nil, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyVersion, seal(keyVersion, binary.AppendUvarint(nil, SchemaVersion))); err != nil {
			return err
		}
		if err := meta.Put(keyCount, seal(keyCount, binary.AppendUvarint(nil, 0))); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketJobs)
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp's mode is 0600 already; the umask could only have narrowed it.
		err = os.Chmod(name, 0o600)
	}
	if err != nil {
		return ioError("Open", uuid.Nil, err)
	}
	if err := os.Link(name, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return ioError("Open", uuid.Nil, err)
	}
	if noSync {
		return nil
	}
	// The new name must be on disk too: a store whose jobs were written must not vanish with a
	// crash.
	if err := syncDir(dir); err != nil {
		return ioError("Open", uuid.Nil, err)
	}
	return nil
}

// syncDir flushes a directory's entries to disk. Windows cannot open a directory for that, and
// makes a file's name durable with the file.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openBolt opens the bbolt file and maps its failures to this package's errors. bbolt panics on
// some damaged files; the panic becomes ErrCorrupt, and the file (with its lock) is closed.
func openBolt(path string, bopt *bolt.Options) (db *bolt.DB, err error) {
	var file *os.File
	bopt.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				file.Close()
			}
			db, err = nil, corrupt("Open", uuid.Nil, fmt.Errorf("%s: %w: %v", path, ErrCorrupt, p))
		}
	}()
	db, err = bolt.Open(path, 0o600, bopt)
	if err == nil {
		return db, nil
	}
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &hresult.Error{Op: "Open", Code: hresult.ERROR_SHARING_VIOLATION,
			Err: fmt.Errorf("%s: %w (waited %v)", path, ErrInUse, bopt.Timeout)}
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, ioError("Open", uuid.Nil, err)
	}
	// ErrInvalid (not a bbolt file), ErrChecksum, ErrVersionMismatch, a file too small...
	return nil, corrupt("Open", uuid.Nil, fmt.Errorf("%s: %w: %v", path, ErrCorrupt, err))
}

// noWalk is walked.txid when precheck did not walk the file (a new store).
const noWalk = ^uint64(0)

// schema checks the file's contents: its buckets, the schema version and the record count. It
// sets s.count. found is what precheck's walk found, which covers everything bbolt's own
// consistency check (Tx.Check) looks at; when the file changed since (another store committed
// between the two, or this Open made the file), the records are counted again and bbolt's check
// runs on what bbolt sees.
func (s *Store) schema(found walked) error {
	err := s.view(func(tx *bolt.Tx) error {
		if err := s.checkSchema(tx); err != nil {
			return err
		}
		n, err := s.readCount(tx)
		if err != nil {
			return err
		}
		walked := uint64(tx.ID()) == found.txid
		got := uint64(found.jobs)
		if !walked {
			got = uint64(tx.Bucket(bucketJobs).Stats().KeyN)
		}
		if got != n {
			return fmt.Errorf("%s: %w: %d records where the store counts %d", s.path, ErrCorrupt, got, n)
		}
		if !walked {
			var first error
			for err := range tx.Check() { // read to the end: the check stops when its channel is drained
				if first == nil {
					first = fmt.Errorf("%s: %w: %v", s.path, ErrCorrupt, err)
				}
			}
			if first != nil {
				return first
			}
		}
		s.count, s.opened = n, int(n)
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCorrupt):
		return corrupt("Open", uuid.Nil, err)
	}
	return ioError("Open", uuid.Nil, err)
}

func (s *Store) checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%s: %w: not a job store (a bbolt file without a %q bucket)", s.path, ErrCorrupt, bucketMeta)
	}
	v := meta.Get(keyVersion)
	if v == nil {
		return fmt.Errorf("%s: %w: no schema version", s.path, ErrCorrupt)
	}
	payload, ok := unseal(keyVersion, v)
	if !ok {
		if ver, n := binary.Uvarint(v); n == len(v) && ver == 1 {
			return fmt.Errorf("%s: %w", s.path, errVersion("schema version 1, without checksums, was written by an older bitsemu; this code reads version %d only", SchemaVersion))
		}
		return fmt.Errorf("%s: %w: schema version %x: checksum does not match", s.path, ErrCorrupt, v)
	}
	ver, n := binary.Uvarint(payload)
	switch {
	case n != len(payload) || ver == 0:
		return fmt.Errorf("%s: %w: unreadable schema version %x", s.path, ErrCorrupt, payload)
	case ver > SchemaVersion:
		return fmt.Errorf("%s: %w", s.path, errVersion("schema version %d is newer than this code's %d", ver, SchemaVersion))
	case ver < SchemaVersion:
		return fmt.Errorf("%s: %w", s.path, errVersion("schema version %d is older than this code's %d", ver, SchemaVersion))
	}
	if err := meta.ForEach(func(k, _ []byte) error {
		if !bytes.Equal(k, keyVersion) && !bytes.Equal(k, keyCount) {
			return fmt.Errorf("%s: %w: unknown key %q in the %q bucket", s.path, ErrCorrupt, k, bucketMeta)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !bytes.Equal(name, bucketMeta) && !bytes.Equal(name, bucketJobs) {
			return fmt.Errorf("%s: %w: unknown bucket %q", s.path, ErrCorrupt, name)
		}
		return nil
	}); err != nil {
		return err
	}
	if tx.Bucket(bucketJobs) == nil {
		return fmt.Errorf("%s: %w: no %q bucket", s.path, ErrCorrupt, bucketJobs)
	}
	return nil
}

// readCount reads the number of records the meta bucket holds.
func (s *Store) readCount(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, fmt.Errorf("%s: %w: no %q bucket", s.path, ErrCorrupt, bucketMeta)
	}
	v := meta.Get(keyCount)
	if v == nil {
		return 0, fmt.Errorf("%s: %w: no record count", s.path, ErrCorrupt)
	}
	payload, ok := unseal(keyCount, v)
	if !ok {
		return 0, fmt.Errorf("%s: %w: record count %x: checksum does not match", s.path, ErrCorrupt, v)
	}
	n, k := binary.Uvarint(payload)
	if k != len(payload) {
		return 0, fmt.Errorf("%s: %w: unreadable record count %x", s.path, ErrCorrupt, payload)
	}
	return n, nil
}

// Close releases the store, after the commit under way if any. Operations waiting to be committed
// and any later call fail with ErrClosed. Closing twice does nothing.
func (s *Store) Close() error {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.holder {
		// Before the lock goes: the next holder writes its own.
		_ = os.Remove(filepath.Join(s.dir, HolderName))
	}
	if err := s.db.Close(); err != nil {
		return ioError("Close", uuid.Nil, fmt.Errorf("%s: %w", s.path, err))
	}
	return nil
}

// Commits returns the number of write transactions the store has committed: fewer than the
// Put, PutAll and Delete calls that changed something when calls that waited together were
// committed together.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// Dir returns the store's directory, as given to Open but cleaned.
func (s *Store) Dir() string { return s.dir }

// Put writes r, replacing the job's record unless that one is newer (its Seq greater than r.Seq):
// the records of one job may arrive out of order from different goroutines, and an older one is
// skipped without error, the newer already holding its change. When Put returns, the record is
// on disk (unless Options.NoSync).
//
// A stored record that cannot be read (damaged) is replaced.
//
// Put refuses (E_INVALIDARG) a record with no ID or one it could not read back: a text field
// that is not valid UTF-8 (see the package documentation). A failure of the disk gives the
// HRESULT job.DiskCode gives it.
func (s *Store) Put(r *job.Record) error {
	it, err := prepare("Put", r)
	if err != nil {
		return err
	}
	return s.submit(&op{name: "Put", id: r.ID, items: []item{it}})
}

// PutAll writes many records in one transaction, with Put's rules for each (an older record
// than the one stored, or than one before it in rs, is skipped). Either all are written or, on
// error, none.
func (s *Store) PutAll(rs []job.Record) error {
	if len(rs) == 0 {
		return nil
	}
	items := make([]item, len(rs))
	for i := range rs {
		it, err := prepare("PutAll", &rs[i])
		if err != nil {
			return err
		}
		items[i] = it
	}
	// bbolt inserts keys in order faster; equal keys keep their order, and with it Put's rules.
	slices.SortStableFunc(items, func(a, b item) int { return bytes.Compare(a.id[:], b.id[:]) })
	return s.submit(&op{name: "PutAll", items: items})
}

// prepare encodes r and checks that the encoding reads back.
func prepare(opName string, r *job.Record) (item, error) {
	if r.ID == uuid.Nil {
		return item{}, &hresult.Error{Op: opName, Code: hresult.E_INVALIDARG, Err: errors.New("store: record has no job id")}
	}
	b := Encode(r)
	var back job.Record
	if err := decodeInto(b, &back); err != nil {
		var de *decodeError
		errors.As(err, &de)
		return item{}, &hresult.Error{Op: opName, Job: guid(r.ID), Code: hresult.E_INVALIDARG,
			Err: fmt.Errorf("store: the record would not read back: %s: %s", de.field, de.reason)}
	}
	// The checksum covers the key too: a record moved under another key does not pass.
	b = binary.LittleEndian.AppendUint32(b, checksum(r.ID[:], b))
	return item{id: r.ID, seq: r.Seq, val: b}, nil
}

// Delete removes the job's record; when it returns, the removal is on disk (unless
// Options.NoSync). Deleting a job that is not there is not an error. The store keeps no trace of
// a deleted job: a Put of one of its records that arrives after Delete writes it again, so a
// caller whose Put and Delete of one job may race must order them.
func (s *Store) Delete(id uuid.UUID) error {
	return s.submit(&op{name: "Delete", id: id, items: []item{{id: id}}})
}

// submit queues o and waits until it is committed, by this goroutine or by one whose commit took
// it along.
func (s *Store) submit(o *op) error {
	o.done = make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return o.fail(ErrClosed)
	}
	s.pending = append(s.pending, o)
	s.mu.Unlock()

	select {
	case <-o.done:
		return o.err
	case s.sem <- struct{}{}:
	}
	select {
	case <-o.done: // the previous commit took it along
	default:
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		closed := s.closed
		s.mu.Unlock()
		if closed {
			for _, b := range batch {
				b.err = b.fail(ErrClosed)
				close(b.done)
			}
		} else {
			s.commit(batch)
		}
	}
	<-s.sem
	return o.err
}

func (o *op) fail(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return corrupt(o.name, o.id, err)
	}
	return ioError(o.name, o.id, err)
}

// errNoChange rolls back a transaction that changed nothing, so as not to pay for its commit.
var errNoChange = errors.New("no change")

// commit writes the operations of batch in one transaction.
func (s *Store) commit(batch []*op) {
	count := s.count
	err := s.update(func(tx *bolt.Tx) error {
		count = s.count // again, should bbolt run fn twice
		b := tx.Bucket(bucketJobs)
		if b == nil || tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("%s: %w: no %q or %q bucket", s.path, ErrCorrupt, bucketJobs, bucketMeta)
		}
		changed := false
		for _, o := range batch {
			for i := range o.items {
				it := &o.items[i]
				old := b.Get(it.id[:])
				if it.val == nil {
					if old != nil {
						if err := b.Delete(it.id[:]); err != nil {
							return err
						}
						count--
						changed = true
					}
					continue
				}
				if old == nil {
					count++
				} else if payload, ok := unseal(it.id[:], old); ok {
					// A stored record that cannot be read is replaced by the good one.
					if _, seq, _, ok := peek(payload); ok && seq > it.seq {
						continue
					}
				}
				if err := b.Put(it.id[:], it.val); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			return errNoChange
		}
		if count != s.count {
			return tx.Bucket(bucketMeta).Put(keyCount, seal(keyCount, binary.AppendUvarint(nil, count)))
		}
		return nil
	})
	if err == nil {
		s.count = count
		s.commits.Add(1)
	}
	if errors.Is(err, berrors.ErrIncompatibleValue) {
		err = fmt.Errorf("%s: %w: a bucket in place of a record: %v", s.path, ErrCorrupt, err)
	}
	if errors.Is(err, errNoChange) {
		err = nil
	}
	for _, o := range batch {
		if err != nil {
			o.err = o.fail(err)
		}
		close(o.done)
	}
}

// parallelLoadMin is the number of records per goroutine below which Load decodes on fewer.
const parallelLoadMin = 2048

// stringChunk is about how many bytes of records a decoding goroutine copies out of the file at
// once: the strings of the records in one copy share its allocation.
const stringChunk = 16 << 10

// Load returns every record, in creation order (Created, then ID). A record that cannot be
// decoded, or is stored under another job's key, fails the whole Load with an error naming the
// job (ErrCorrupt or ErrVersion, BG_E_DATABASE_CORRUPT): nothing is dropped silently.
func (s *Store) Load() ([]job.Record, error) {
	var recs []job.Record
	err := s.scan(false, func(n, _ int) { recs = make([]job.Record, n) }, func(_, i int, r *job.Record) error {
		recs[i] = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// Scan reads every record as Load does, without building the slice: it calls start with the
// number of records and the number of goroutines that decode them, then fn once for each
// record, with the decoding goroutine's number w (from 0 to workers-1) and the record's index i
// in creation order. The records are decoded in parallel, and fn is called on the decoding
// goroutines, concurrently (one call at a time for each w); r is valid only during the call (the
// record and its Files are reused; the rest of what it holds is not). The strings of records
// decoded one after the other by one goroutine share an allocation of some kilobytes, which any
// of them keeps in memory. Scan fails as Load does, and with fn's error (the first in creation
// order) when fn fails; fn is not called again once one call failed. fn must not write to the
// store: Scan reads in a transaction that a write may have to wait for.
func (s *Store) Scan(start func(n, workers int), fn func(w, i int, r *job.Record) error) error {
	return s.scan(true, start, fn)
}

// scan is Scan; with reuse, a goroutine's records share their Files.
func (s *Store) scan(reuse bool, start func(n, workers int), fn func(w, i int, r *job.Record) error) error {
	var bad uuid.UUID // the job whose record is damaged
	var fnErr error   // fn's failure, returned as it is
	// The first read of each page of the map costs a page fault: in a large store several
	// goroutines read the records, each a range of keys in a read transaction of its own. No
	// commit may come between their transactions, or wait for the first to end (to grow the
	// map) while the others start, which would wait for it: commits wait until the ranges are
	// read.
	bounds := s.bounds()
	held := len(bounds) > 0
	if held {
		s.sem <- struct{}{}
	}
	release := func() {
		if held {
			held = false
			<-s.sem
		}
	}
	defer release()
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b == nil {
			return fmt.Errorf("%s: %w: no %q bucket", s.path, ErrCorrupt, bucketJobs)
		}
		entries, id, err := s.collectAll(tx, bounds)
		release()
		if err != nil {
			bad = id
			return err
		}
		n, err := s.readCount(tx)
		if err != nil {
			return err
		}
		if uint64(len(entries)) != n {
			return fmt.Errorf("%s: %w: %d records where the store counts %d: records were lost or added", s.path, ErrCorrupt, len(entries), n)
		}
		// Decode in parallel: the values stay mapped until the transaction ends, and each
		// goroutine decodes its own share into a record of its own. The first failure in
		// Scan's order is reported.
		workers := min(runtime.GOMAXPROCS(0), len(entries)/parallelLoadMin+1)
		start(len(entries), workers)
		failed := make([]int, workers)
		errs := make([]error, workers)
		fnFailed := make([]bool, workers)
		var stop atomic.Bool // a failure: the others stop too
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := len(entries)*w/workers, len(entries)*(w+1)/workers
			wg.Go(func() {
				at := lo // the record being read
				// A value beyond the end of a truncated file faults: like view, make it ErrCorrupt.
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer func() {
					if p := recover(); p != nil {
						failed[w], errs[w] = at, fmt.Errorf("%w: %v", ErrCorrupt, p)
						stop.Store(true)
					}
				}()
				var r job.Record
				var files []job.FileRecord // the last record's, for the next
				// The bytes of records [copied-len(chunk)+used, copied), copied out of the map
				// together: each record's strings are slices of its part.
				var chunk string
				used, copied := 0, lo
				for i := lo; i < hi && !stop.Load(); i++ {
					if i == copied {
						size := 0
						for copied < hi && (copied == i || size+len(entries[copied].val) <= stringChunk) {
							size += len(entries[copied].val)
							copied++
						}
						var sb strings.Builder
						sb.Grow(size)
						for at = i; at < copied; at++ {
							sb.Write(entries[at].val)
						}
						chunk, used = sb.String(), 0
					}
					at = i
					v := chunk[used : used+len(entries[i].val)]
					used += len(v)
					r = job.Record{} // decoding leaves absent fields alone
					if reuse && cap(files) > 0 {
						clear(files[:cap(files)])
						r.Files = files[:0]
					}
					if err := decodeString(v, &r); err != nil {
						failed[w], errs[w] = i, err
						stop.Store(true)
						return
					}
					if err := fn(w, i, &r); err != nil {
						failed[w], errs[w], fnFailed[w] = i, err, true
						stop.Store(true)
						return
					}
					if cap(r.Files) > cap(files) {
						files = r.Files
					}
				}
			})
		}
		wg.Wait()
		first := -1
		for w, err := range errs {
			if err != nil && (first < 0 || failed[w] < failed[first]) {
				first = w
			}
		}
		if first < 0 {
			return nil
		}
		if fnFailed[first] {
			fnErr = errs[first]
			return fnErr
		}
		bad = entries[failed[first]].id
		return fmt.Errorf("%s: %w", s.path, errs[first])
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil && err == fnErr:
		return fnErr
	case errors.Is(err, ErrCorrupt):
		return corrupt("Load", bad, err)
	}
	return ioError("Load", uuid.Nil, err)
}

// scanEntry is a record as scan found it: its creation time, job and sealed value, in bbolt's
// map (valid during the transaction only).
type scanEntry struct {
	created time.Time
	id      uuid.UUID
	val     []byte
}

// compareEntries orders records as Load returns them: by creation time, then by job id.
func compareEntries(a, b scanEntry) int {
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// bounds returns the keys that split the jobs bucket into ranges read by one goroutine each,
// from the keys of its root page that Open's walk found, or nil to read it whole.
func (s *Store) bounds() [][]byte {
	parts := min(runtime.GOMAXPROCS(0), s.opened/parallelLoadMin)
	if parts < 2 || len(s.splits) < parts {
		return nil
	}
	bounds := make([][]byte, 0, parts-1)
	for k := 1; k < parts; k++ {
		key := s.splits[len(s.splits)*k/parts]
		if len(bounds) > 0 && bytes.Compare(bounds[len(bounds)-1], key) >= 0 {
			return nil
		}
		bounds = append(bounds, key)
	}
	return bounds
}

// collected is what collect found in a range of keys: the records, in Load's order, or the
// first damage in the order of the keys and the job it concerns.
type collected struct {
	entries []scanEntry
	bad     uuid.UUID
	err     error
}

// collectAll reads every record of the jobs bucket of tx, checking its checksum and its start,
// and returns them in Load's order; or the first damage in the order of the keys, with the job
// it concerns. With bounds, the ranges they split the keys into are read in parallel, each in a
// read transaction of its own (which must see what tx sees: the caller holds s.sem).
func (s *Store) collectAll(tx *bolt.Tx, bounds [][]byte) ([]scanEntry, uuid.UUID, error) {
	txs := []*bolt.Tx{tx}
	defer func() {
		for _, t := range txs[1:] {
			_ = t.Rollback()
		}
	}()
	for range bounds {
		t, err := s.db.Begin(false)
		if err != nil {
			return nil, uuid.Nil, err
		}
		txs = append(txs, t)
		if t.ID() != tx.ID() {
			bounds = nil // not what tx sees (it cannot happen while s.sem is held): one range
			break
		}
	}
	parts := make([]collected, len(bounds)+1)
	var wg sync.WaitGroup
	for k := range parts {
		var from, to []byte
		if k > 0 {
			from = bounds[k-1]
		}
		if k < len(bounds) {
			to = bounds[k]
		}
		wg.Go(func() {
			// bbolt panics on some damaged pages, and a page beyond the end of a truncated
			// file faults: like view, make it ErrCorrupt.
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if p := recover(); p != nil {
					parts[k] = collected{err: fmt.Errorf("%s: %w: %v", s.path, ErrCorrupt, p)}
				}
			}()
			// The first range gets room for every record: the others are merged into it.
			size := s.opened/len(parts) + s.opened/16
			if k == 0 {
				size = s.opened + s.opened/16
			}
			parts[k] = s.collect(txs[k], from, to, size)
		})
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return nil, p.bad, p.err
		}
	}
	all := parts[0].entries
	for _, p := range parts[1:] {
		all = mergeInto(all, p.entries)
	}
	return all, uuid.Nil, nil
}

// mergeInto merges b into a, each in Load's order, from their ends, in a's room when it has
// enough, and returns the result.
func mergeInto(a, b []scanEntry) []scanEntry {
	i, j := len(a)-1, len(b)-1
	a = slices.Grow(a, len(b))[:len(a)+len(b)]
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && compareEntries(a[i], b[j]) > 0 {
			a[k], i = a[i], i-1
		} else {
			a[k], j = b[j], j-1
		}
	}
	return a
}

// collect reads the records of the jobs bucket of tx whose keys lie in [from, to) (nil:
// unbounded) and returns them in Load's order, or the first damage; size is a capacity hint.
func (s *Store) collect(tx *bolt.Tx, from, to []byte, size int) collected {
	var found collected
	b := tx.Bucket(bucketJobs)
	if b == nil {
		found.err = fmt.Errorf("%s: %w: no %q bucket", s.path, ErrCorrupt, bucketJobs)
		return found
	}
	entries := make([]scanEntry, 0, size)
	c := b.Cursor()
	k, v := c.First()
	if from != nil {
		k, v = c.Seek(from)
	}
	for ; k != nil && (to == nil || bytes.Compare(k, to) < 0); k, v = c.Next() {
		if len(k) != len(uuid.UUID{}) {
			found.err = fmt.Errorf("%s: %w: key %x is not a job id", s.path, ErrCorrupt, k)
			return found
		}
		id := uuid.UUID(k)
		if v == nil {
			found.bad, found.err = id, fmt.Errorf("%s: %w: a bucket, not a record", s.path, ErrCorrupt)
			return found
		}
		v, ok := unseal(k, v)
		if !ok {
			found.bad, found.err = id, fmt.Errorf("%s: %w: the record's checksum does not match: damaged", s.path, ErrCorrupt)
			return found
		}
		rid, _, created, ok := peek(v)
		if !ok {
			found.bad = id
			var r job.Record
			if err := decodeInto(v, &r); err != nil {
				found.err = fmt.Errorf("%s: %w", s.path, err)
			} else {
				found.err = fmt.Errorf("%s: %w: record start unreadable", s.path, ErrCorrupt)
			}
			return found
		}
		if rid != id {
			found.bad, found.err = id, fmt.Errorf("%s: %w: the record of job %s is stored under key %s", s.path, ErrCorrupt, guid(rid), guid(id))
			return found
		}
		entries = append(entries, scanEntry{created: created, id: id, val: v})
	}
	slices.SortFunc(entries, compareEntries)
	found.entries = entries
	return found
}

// Len returns the number of records.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b == nil {
			return fmt.Errorf("%s: %w: no %q bucket", s.path, ErrCorrupt, bucketJobs)
		}
		n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return 0, corrupt("Len", uuid.Nil, err)
		}
		return 0, ioError("Len", uuid.Nil, err)
	}
	return n, nil
}

// view runs a read transaction; update a write transaction. bbolt panics on some damaged pages,
// and a damaged file can fault when it is read through the map: both become ErrCorrupt. A closed
// store gives ErrClosed.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard(&err)
	return closedErr(s.db.View(fn))
}

func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard(&err)
	return closedErr(s.db.Update(fn))
}

func (s *Store) guard(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%s: %w: %v", s.path, ErrCorrupt, p)
	}
}

func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
