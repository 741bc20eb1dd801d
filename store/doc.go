// Package store is the durable job database of bitsemu: the queue BITS keeps across service
// restarts (specification §12). It holds one job.Record per job, in a bbolt file, jobs.db, in a
// directory that only its owner may read (0700, the file 0600). Every Put and Delete is on disk
// (an fsync'd commit) when it returns, so a job a method has changed survives a crash the moment
// the method returns.
//
// A Store is used by one manager at a time: Open takes an exclusive lock on the file, and a
// second Open of the same directory, from this process or another, fails with ErrInUse
// (ERROR_SHARING_VIOLATION) once Options.Timeout has passed. Concurrent Put and Delete calls on
// one Store are safe; the calls that arrive while a commit is running are written together by
// the next commit (group commit), so many writers share the cost of each fsync.
//
// # Layout
//
// The bbolt file has two buckets. "meta" holds "version", the schema version (a uvarint, 2 at
// present), and "count", the number of records (a uvarint), each sealed by a checksum. "jobs"
// maps the 16 bytes of a job's GUID to the job's record, encoded by Encode and sealed: every
// stored value is followed by the CRC-32C (Castagnoli, little-endian) of its key and its bytes,
// so that a value damaged, or moved under another key, does not pass.
//
// A new file is built under a temporary name (jobs.db.new-*) and linked to jobs.db once its
// buckets are written and synced; jobs.db is never overwritten, so an empty or short jobs.db is
// damage, never a new store. A crash while a store is created may leave the temporary file
// behind; it is never used.
//
// # Damage
//
// Nothing is dropped or changed silently. Open never writes to an existing file. Before bbolt
// reads the file, Open checks its structure under a shared lock: both bbolt meta pages intact
// (bbolt would silently fall back to the older one, losing the last commit), the file as long as
// they say, the freelist within its page, and the tree of pages walked once, every page inside
// the file, of the right kind, referenced once, every key and value within its page (bbolt trusts
// its pages, and a damaged one can make it read outside the file, allocate without bound or loop
// for ever). The same walk does what bbolt's own consistency check (Tx.Check) would do in a
// second one: every page in use or free and none both, no page listed free twice, the keys of
// every page in order and within the range their parent gives them. Then, in bbolt, the buckets,
// the schema version and the record count under their checksums (and, should another process
// have committed between the walk and bbolt's open, bbolt's check of what it now holds).
// Load checks every record's checksum and decodes it, and compares the number of records with
// the count. Any failure is ErrCorrupt with BG_E_DATABASE_CORRUPT, naming the job when one is
// concerned; the file is left as it was. TestDamageEveryByte damages every byte of a small store
// in turn and checks that each damage is reported or harmless (the records load unchanged);
// FuzzOpenFile opens arbitrary files.
//
// A store of another schema version, older (version 1 had no checksums) or newer, gives
// ErrVersion, which matches ErrCorrupt too, with BG_E_DATABASE_CORRUPT: it is not read in the
// hope that it means the same.
//
// # Record encoding
//
// A record is a compact binary encoding, written and read by hand. It starts with its own format
// version byte (1, or 2 for an upload job with a session or a reply), then the GUID (16 bytes)
// and Seq (uvarint), so that Put can compare sequence numbers without decoding the rest. Then:
//
//   - a uvarint of flags: every bool of the record, and which optional parts follow (the error,
//     the notification CLSID, each non-zero time);
//   - Created, if set, early so that Load can sort without decoding whole records;
//   - the uint32 properties as uvarints, in a fixed order, and MaxDownloadSize;
//   - the CLSID (16 bytes), the other times, DownloadTime (a zigzag varint of nanoseconds);
//   - the strings, each a uvarint length and its bytes;
//   - the error (context, code, file index, protocol) when the flag says so;
//   - the credentials and the files, each list a uvarint of its length plus one, 0 meaning a nil
//     slice, so that nil and empty slices come back as they went in; a file holds its names,
//     ranges, sizes, a uvarint of flags and its temporary name, validator and response headers,
//     then, when its flag says so, the temporary file's device and inode (two uvarints);
//   - in format 2 only, the upload section: a uvarint of flags (CloseSent, HostFailedSince set, a
//     reply follows), the session's ID, HostID and ReplyURL as strings kept byte for byte,
//     HostFallback (a zigzag varint of nanoseconds), FragmentLimit, HostFailedSince when set,
//     and the reply, encoded as a file. Format 2 added it; a record without one is written in
//     format 1, exactly as before, so an older bitsemu reads every record but those.
//
// A time is a zigzag varint of Unix seconds and a uvarint of nanoseconds (below 10⁹), so every
// time.Time round-trips with Equal; it comes back in UTC, without a monotonic reading. The zero
// time is left out (its flag is clear) and comes back as time.Time{}. Byte counts that may be
// BG_SIZE_UNKNOWN (1<<64-1) and range lengths that may be BG_LENGTH_TO_EOF are stored plus one,
// wrapping, so that the unknown size takes one byte.
//
// Strings the BITS API accepts only as text (display name, description, names of files, proxy
// lists, credentials, custom headers, ...) must be valid UTF-8; Decode rejects them otherwise,
// and Put refuses a record it could not read back. Strings that come from elsewhere (owner SIDs,
// the temporary name, the validator and response headers a server sent, the error protocol) are
// kept byte for byte.
//
// Decode never panics on any input: every length and count is checked against the bytes left
// before anything is allocated, and a malformed record gives ErrCorrupt (BG_E_DATABASE_CORRUPT)
// with the field and byte offset where decoding stopped. A record of another format version
// gives ErrVersion (which matches ErrCorrupt too).
//
// # Why a hand-written encoding
//
// The encoding stays hand-written, framed by the store's own checksum, rather than a
// general-purpose one. What the store needs is a format that refuses what it does not fully
// understand, and the general ones are built to do the opposite: encoding/gob and encoding/json
// skip fields they do not know and leave missing ones at their zero value, and protocol buffers
// keep unknown fields aside and default missing ones, so a record of another version or a
// damaged one can decode "successfully" into a job that means something else. This decoder
// fails on any unknown flag, trailing byte, out-of-range number or invalid text, and the format
// byte and the schema version make every format change explicit. gob also writes its type
// description into every stream (a record stored on its own would carry it each time) and json
// neither keeps every byte of a string nor encodes as compactly; protocol buffers would add a code
// generator and a dependency for one struct. The cost of writing the codec by hand is carried by
// its tests: round trips of random and fully filled records (a field the encoding forgets shows
// up), a golden encoding, and FuzzDecode. Damage, which no encoding detects by itself, is the
// checksum's job.
package store
