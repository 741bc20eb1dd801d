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
// The bbolt file has two buckets. "meta" holds "version", the schema version (a uvarint, 1 at
// present); Open refuses a newer one (ErrVersion). "jobs" maps the 16 bytes of a job's GUID to the
// job's record, encoded by Encode.
//
// # Record encoding
//
// A record is a compact binary encoding, written and read by hand. It starts with its own format
// version byte (1), then the GUID (16 bytes) and Seq (uvarint), so that Put can compare sequence
// numbers without decoding the rest. Then:
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
//     then, when its flag says so, the temporary file's device and inode (two uvarints).
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
// with the field and byte offset where decoding stopped. A record of a newer format version gives
// ErrVersion.
package store
