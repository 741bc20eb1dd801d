package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// FormatVersion is the newest version of the record encoding: Encode writes it for the records
// of upload jobs with a session or a reply, and Decode reads it and every older one. It is the
// first byte of every record. Version 2 added the upload section (job.Record.Session and Reply)
// after the files; a record without one is still written as version 1, which older bitsemu reads.
const FormatVersion = 2

// formatV1 is the first record format: no upload section.
const formatV1 = 1

// The record flags (a uvarint after Seq).
const (
	fOwnerAdmin uint64 = 1 << iota
	fOwnerService
	fCallerAdmin
	fCallerService
	fHeadersWriteOnly
	fDynamicContent
	fHighPerformance
	fOnDemand
	fResumed
	fError
	fCLSID
	fCreated
	fModified
	fCompleted
	fNoProgressSince

	fAll = fNoProgressSince<<1 - 1
)

// The file flags.
const (
	ffCompleted uint64 = 1 << iota
	ffValidated
	ffValidationSet
	ffTempCreated
	ffKept
	ffTempID // TempDevice and TempInode follow the file's strings

	ffAll = ffTempID<<1 - 1
)

// The upload section's flags (format 2).
const (
	uCloseSent uint64 = 1 << iota
	uHostFailedSince
	uReply // the reply's file encoding follows

	uAll = uReply<<1 - 1
)

// The smallest encodings of a credential, a file and a range, which bound their counts by the
// bytes left.
const (
	minCredential = 4 // target, scheme, two empty strings
	minFile       = 9 // two strings, ranges, total, done, flags, three strings
	minRange      = 2
)

// Encode returns the encoding of r described in the package documentation, starting with its
// format version: FormatVersion when r has an upload session or a reply, 1 otherwise. Decode(Encode(r)) gives r back field for field (times equal with Equal, in UTC),
// provided the strings that must be text are valid UTF-8 (Put checks that).
func Encode(r *job.Record) []byte {
	return appendRecord(make([]byte, 0, encodedSizeHint(r)), r)
}

// encodedSizeHint is an upper bound of the encoding's size in most cases, so that Encode
// allocates once.
func encodedSizeHint(r *job.Record) int {
	const str = binary.MaxVarintLen32 // the length prefix of a string of any sensible size
	n := 1 + 16 + 16 + 20*binary.MaxVarintLen32 + 8*binary.MaxVarintLen64 + 12*str +
		len(r.Owner.SID) + len(r.DisplayName) + len(r.Description) + len(r.CmdProgram) +
		len(r.CmdParams) + len(r.CmdCaller.SID) + len(r.ProxyList) + len(r.ProxyBypass) +
		len(r.CustomHeaders) + len(r.HTTPMethod) + len(r.ReplyFileName)
	if r.Error != nil {
		n += len(r.Error.Protocol)
	}
	for i := range r.Credentials {
		c := &r.Credentials[i]
		n += 2*binary.MaxVarintLen32 + 2*str + len(c.UserName) + len(c.Password)
	}
	for i := range r.Files {
		f := &r.Files[i]
		n += fileSizeHint(f)
	}
	if hasUpload(r) {
		s := &r.Session
		n += 4*binary.MaxVarintLen64 + 3*str + len(s.ID) + len(s.HostID) + len(s.ReplyURL)
		if r.Reply != nil {
			n += fileSizeHint(r.Reply)
		}
	}
	return n
}

func fileSizeHint(f *job.FileRecord) int {
	const str = binary.MaxVarintLen32
	return 2*binary.MaxVarintLen64 + 2*binary.MaxVarintLen32 + 5*str + len(f.RemoteName) + len(f.LocalName) +
		len(f.TempName) + len(f.Validator) + len(f.ResponseHeaders) + 2*binary.MaxVarintLen64*(len(f.Ranges)+1)
}

// hasUpload reports whether r needs the upload section of format 2.
func hasUpload(r *job.Record) bool {
	return r.Session != (job.UploadSession{}) || r.Reply != nil
}

func appendRecord(b []byte, r *job.Record) []byte {
	var flags uint64
	set := func(f uint64, on bool) {
		if on {
			flags |= f
		}
	}
	set(fOwnerAdmin, r.Owner.Admin)
	set(fOwnerService, r.Owner.Service)
	set(fCallerAdmin, r.CmdCaller.Admin)
	set(fCallerService, r.CmdCaller.Service)
	set(fHeadersWriteOnly, r.CustomHeadersWriteOnly)
	set(fDynamicContent, r.DynamicContent)
	set(fHighPerformance, r.HighPerformance)
	set(fOnDemand, r.OnDemand)
	set(fResumed, r.Resumed)
	set(fError, r.Error != nil)
	set(fCLSID, r.NotificationCLSID != uuid.Nil)
	set(fCreated, !r.Created.IsZero())
	set(fModified, !r.Modified.IsZero())
	set(fCompleted, !r.Completed.IsZero())
	set(fNoProgressSince, !r.NoProgressSince.IsZero())

	upload := hasUpload(r)
	if upload {
		b = append(b, FormatVersion)
	} else {
		b = append(b, formatV1)
	}
	b = append(b, r.ID[:]...)
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, flags)
	b = appendTime(b, r.Created)

	for _, v := range [...]uint32{
		uint32(r.Type), uint32(r.State), uint32(r.Priority), r.NotifyFlags,
		r.MinimumRetryDelay, r.NoProgressTimeout, r.MaximumDownloadTime,
		uint32(r.ProxyUsage), r.SecurityFlags, r.FileACLFlags, r.PeerCachingFlags,
		r.CostFlags, uint32(r.UseStoredCredentials), r.MinNotificationIntervalMs, r.ErrorCount,
	} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendUvarint(b, r.MaxDownloadSize)
	if flags&fCLSID != 0 {
		b = append(b, r.NotificationCLSID[:]...)
	}
	b = appendTime(b, r.Modified)
	b = appendTime(b, r.Completed)
	b = appendTime(b, r.NoProgressSince)
	b = binary.AppendVarint(b, int64(r.DownloadTime))

	for _, s := range [...]string{
		r.Owner.SID, r.DisplayName, r.Description, r.CmdProgram, r.CmdParams, r.CmdCaller.SID,
		r.ProxyList, r.ProxyBypass, r.CustomHeaders, r.HTTPMethod, r.ReplyFileName,
	} {
		b = appendString(b, s)
	}

	if e := r.Error; e != nil {
		b = binary.AppendUvarint(b, uint64(e.Context))
		b = binary.AppendUvarint(b, uint64(e.Code))
		b = binary.AppendVarint(b, int64(e.File))
		b = appendString(b, e.Protocol)
	}

	b = appendCount(b, len(r.Credentials), r.Credentials == nil)
	for i := range r.Credentials {
		c := &r.Credentials[i]
		b = binary.AppendUvarint(b, uint64(c.Target))
		b = binary.AppendUvarint(b, uint64(c.Scheme))
		b = appendString(b, c.UserName)
		b = appendString(b, c.Password)
	}

	b = appendCount(b, len(r.Files), r.Files == nil)
	for i := range r.Files {
		b = appendFile(b, &r.Files[i])
	}
	if upload {
		b = appendUpload(b, r)
	}
	return b
}

// appendFile writes one file: its names, ranges, sizes, flags and strings.
func appendFile(b []byte, f *job.FileRecord) []byte {
	b = appendString(b, f.RemoteName)
	b = appendString(b, f.LocalName)
	b = appendCount(b, len(f.Ranges), f.Ranges == nil)
	for _, rg := range f.Ranges {
		b = binary.AppendUvarint(b, rg.InitialOffset)
		b = binary.AppendUvarint(b, rg.Length+1) // BG_LENGTH_TO_EOF takes one byte
	}
	b = binary.AppendUvarint(b, f.BytesTotal+1) // BG_SIZE_UNKNOWN takes one byte
	b = binary.AppendUvarint(b, f.BytesDone)
	var ff uint64
	if f.Completed {
		ff |= ffCompleted
	}
	if f.Validated {
		ff |= ffValidated
	}
	if f.ValidationSet {
		ff |= ffValidationSet
	}
	if f.TempCreated {
		ff |= ffTempCreated
	}
	if f.Kept {
		ff |= ffKept
	}
	if f.TempDevice != 0 || f.TempInode != 0 {
		ff |= ffTempID
	}
	b = binary.AppendUvarint(b, ff)
	b = appendString(b, f.TempName)
	b = appendString(b, f.Validator)
	b = appendString(b, f.ResponseHeaders)
	if ff&ffTempID != 0 {
		b = binary.AppendUvarint(b, f.TempDevice)
		b = binary.AppendUvarint(b, f.TempInode)
	}
	return b
}

// appendUpload writes the upload section of format 2: its flags, the session's strings and
// numbers, HostFailedSince when set, and the reply's file when there is one.
func appendUpload(b []byte, r *job.Record) []byte {
	s := &r.Session
	var uf uint64
	if s.CloseSent {
		uf |= uCloseSent
	}
	if !s.HostFailedSince.IsZero() {
		uf |= uHostFailedSince
	}
	if r.Reply != nil {
		uf |= uReply
	}
	b = binary.AppendUvarint(b, uf)
	b = appendString(b, s.ID)
	b = appendString(b, s.HostID)
	b = appendString(b, s.ReplyURL)
	b = binary.AppendVarint(b, int64(s.HostFallback))
	b = binary.AppendUvarint(b, s.FragmentLimit)
	b = appendTime(b, s.HostFailedSince)
	if r.Reply != nil {
		b = appendFile(b, r.Reply)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendCount writes a list length plus one, or 0 for a nil slice.
func appendCount(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

// appendTime writes a non-zero time as Unix seconds and nanoseconds; the zero time, whose flag is
// clear, is not written.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// Decode decodes a record written by Encode. It never panics. A record that is truncated, has
// bytes after its end, holds a length or count beyond the input, a number out of its field's
// range, an unknown flag or invalid UTF-8 in a text field gives an error matching ErrCorrupt and
// hresult.BG_E_DATABASE_CORRUPT, naming the field and the byte offset; a record of a format newer
// than FormatVersion gives ErrVersion (with BG_E_DATABASE_CORRUPT). Decode checks the structure
// only: whether the record describes a valid job is job.Restore's business.
//
// The record does not refer to b, which may be reused. Its strings share one allocation.
func Decode(b []byte) (job.Record, error) {
	var r job.Record
	if err := decodeInto(b, &r); err != nil {
		return job.Record{}, &hresult.Error{Op: "Decode", Code: hresult.BG_E_DATABASE_CORRUPT, Err: err}
	}
	return r, nil
}

// decodeInto decodes b into *r, which must be the zero Record; it returns a *decodeError.
func decodeInto(b []byte, r *job.Record) error {
	if len(b) == 0 {
		return &decodeError{sentinel: ErrCorrupt, reason: "empty"}
	}
	// One copy of the whole record as a string: every string field is a slice of it.
	return decodeString(string(b), r)
}

// decodeString is decodeInto from a string, which the record's strings are slices of.
func decodeString(b string, r *job.Record) error {
	if len(b) == 0 {
		return &decodeError{sentinel: ErrCorrupt, reason: "empty"}
	}
	v := b[0]
	switch {
	case v == 0:
		return &decodeError{sentinel: ErrCorrupt, field: "format version", reason: "0 is not a format version"}
	case v > FormatVersion:
		return &decodeError{sentinel: ErrVersion, field: "format version",
			reason: fmt.Sprintf("unknown record format %d (this code reads %d): written by a newer bitsemu, or damaged", v, FormatVersion)}
	}
	d := decoder{s: b, off: 1}
	d.uuid("ID", &r.ID)
	r.Seq = d.uvarint("Seq")
	flags := d.uvarint("flags")
	if flags&^fAll != 0 && d.err == nil {
		d.fail("flags", fmt.Sprintf("unknown flags %#x", flags&^fAll))
	}
	r.Owner.Admin = flags&fOwnerAdmin != 0
	r.Owner.Service = flags&fOwnerService != 0
	r.CmdCaller.Admin = flags&fCallerAdmin != 0
	r.CmdCaller.Service = flags&fCallerService != 0
	r.CustomHeadersWriteOnly = flags&fHeadersWriteOnly != 0
	r.DynamicContent = flags&fDynamicContent != 0
	r.HighPerformance = flags&fHighPerformance != 0
	r.OnDemand = flags&fOnDemand != 0
	r.Resumed = flags&fResumed != 0
	r.Created = d.time("Created", flags&fCreated != 0)

	r.Type = bits.JobType(d.u32("Type"))
	r.State = state.State(d.u32("State"))
	r.Priority = bits.Priority(d.u32("Priority"))
	r.NotifyFlags = d.u32("NotifyFlags")
	r.MinimumRetryDelay = d.u32("MinimumRetryDelay")
	r.NoProgressTimeout = d.u32("NoProgressTimeout")
	r.MaximumDownloadTime = d.u32("MaximumDownloadTime")
	r.ProxyUsage = bits.ProxyUsage(d.u32("ProxyUsage"))
	r.SecurityFlags = d.u32("SecurityFlags")
	r.FileACLFlags = d.u32("FileACLFlags")
	r.PeerCachingFlags = d.u32("PeerCachingFlags")
	r.CostFlags = d.u32("CostFlags")
	r.UseStoredCredentials = bits.AuthTarget(d.u32("UseStoredCredentials"))
	r.MinNotificationIntervalMs = d.u32("MinNotificationIntervalMs")
	r.ErrorCount = d.u32("ErrorCount")
	r.MaxDownloadSize = d.uvarint("MaxDownloadSize")
	if flags&fCLSID != 0 {
		d.uuid("NotificationCLSID", &r.NotificationCLSID)
	}
	r.Modified = d.time("Modified", flags&fModified != 0)
	r.Completed = d.time("Completed", flags&fCompleted != 0)
	r.NoProgressSince = d.time("NoProgressSince", flags&fNoProgressSince != 0)
	r.DownloadTime = time.Duration(d.varint("DownloadTime"))

	r.Owner.SID = d.bytes("Owner.SID")
	r.DisplayName = d.text("DisplayName")
	r.Description = d.text("Description")
	r.CmdProgram = d.text("CmdProgram")
	r.CmdParams = d.text("CmdParams")
	r.CmdCaller.SID = d.bytes("CmdCaller.SID")
	r.ProxyList = d.text("ProxyList")
	r.ProxyBypass = d.text("ProxyBypass")
	r.CustomHeaders = d.text("CustomHeaders")
	r.HTTPMethod = d.text("HTTPMethod")
	r.ReplyFileName = d.text("ReplyFileName")

	if flags&fError != 0 {
		e := &job.ErrorRecord{
			Context: bits.ErrorContext(d.u32("Error.Context")),
			Code:    hresult.Code(d.u32("Error.Code")),
		}
		file := d.varint("Error.File")
		if (file < math.MinInt || file > math.MaxInt) && d.err == nil {
			d.fail("Error.File", fmt.Sprintf("file index %d out of range", file))
		}
		e.File = int(file)
		e.Protocol = d.bytes("Error.Protocol")
		if d.err != nil {
			return d.err
		}
		r.Error = e
	}

	if n, isNil := d.count("Credentials", minCredential); !isNil && d.err == nil {
		r.Credentials = make([]bits.Credentials, n)
		for i := range r.Credentials {
			c := &r.Credentials[i]
			c.Target = bits.AuthTarget(d.u32("Credentials.Target"))
			c.Scheme = bits.AuthScheme(d.u32("Credentials.Scheme"))
			c.UserName = d.text("Credentials.UserName")
			c.Password = d.text("Credentials.Password")
		}
	}

	if n, isNil := d.count("Files", minFile); !isNil && d.err == nil {
		if cap(r.Files) >= n && r.Files != nil {
			r.Files = r.Files[:n] // a record Scan reuses: its files were cleared
		} else {
			r.Files = make([]job.FileRecord, n)
		}
		for i := range r.Files {
			if d.err != nil {
				break
			}
			d.decodeFile(&r.Files[i])
		}
	}
	if v >= 2 && d.err == nil {
		d.decodeUpload(r)
	}

	if d.err == nil && d.off != len(d.s) {
		d.fail("", fmt.Sprintf("%d bytes after the end of the record", len(d.s)-d.off))
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

func (d *decoder) decodeFile(f *job.FileRecord) {
	f.RemoteName = d.text("File.RemoteName")
	f.LocalName = d.text("File.LocalName")
	if n, isNil := d.count("File.Ranges", minRange); !isNil && d.err == nil {
		f.Ranges = make([]bits.FileRange, n)
		for j := range f.Ranges {
			f.Ranges[j].InitialOffset = d.uvarint("File.Ranges.InitialOffset")
			f.Ranges[j].Length = d.uvarint("File.Ranges.Length") - 1
		}
	}
	f.BytesTotal = d.uvarint("File.BytesTotal") - 1
	f.BytesDone = d.uvarint("File.BytesDone")
	ff := d.uvarint("File.flags")
	if ff&^ffAll != 0 && d.err == nil {
		d.fail("File.flags", fmt.Sprintf("unknown flags %#x", ff&^ffAll))
	}
	f.Completed = ff&ffCompleted != 0
	f.Validated = ff&ffValidated != 0
	f.ValidationSet = ff&ffValidationSet != 0
	f.TempCreated = ff&ffTempCreated != 0
	f.Kept = ff&ffKept != 0
	f.TempName = d.bytes("File.TempName")
	f.Validator = d.bytes("File.Validator")
	f.ResponseHeaders = d.bytes("File.ResponseHeaders")
	if ff&ffTempID != 0 {
		f.TempDevice = d.uvarint("File.TempDevice")
		f.TempInode = d.uvarint("File.TempInode")
	}
}

// decodeUpload reads the upload section of format 2. A section that says nothing (no session,
// no reply) is refused: Encode writes format 1 then, so such a record is not one Encode wrote.
func (d *decoder) decodeUpload(r *job.Record) {
	uf := d.uvarint("upload flags")
	if uf&^uAll != 0 && d.err == nil {
		d.fail("upload flags", fmt.Sprintf("unknown flags %#x", uf&^uAll))
	}
	s := &r.Session
	s.CloseSent = uf&uCloseSent != 0
	s.ID = d.bytes("Session.ID")
	s.HostID = d.bytes("Session.HostID")
	s.ReplyURL = d.bytes("Session.ReplyURL")
	s.HostFallback = time.Duration(d.varint("Session.HostFallback"))
	s.FragmentLimit = d.uvarint("Session.FragmentLimit")
	s.HostFailedSince = d.time("Session.HostFailedSince", uf&uHostFailedSince != 0)
	if uf&uReply != 0 && d.err == nil {
		r.Reply = &job.FileRecord{}
		d.decodeFile(r.Reply)
		if d.err != nil {
			r.Reply = nil
		}
	}
	if d.err == nil && !hasUpload(r) {
		d.fail("upload flags", "a format 2 record without an upload session or reply")
	}
}

// decoder reads a record. The first failure sticks: later reads return zero values, and the
// caller checks err before it allocates by a count and at the end.
type decoder struct {
	s   string
	off int
	err *decodeError
}

func (d *decoder) fail(field, reason string) {
	if d.err == nil {
		d.err = &decodeError{sentinel: ErrCorrupt, field: field, off: d.off, reason: reason}
	}
}

func (d *decoder) uvarint(field string) uint64 {
	// Fast path: one byte.
	if d.err == nil && d.off < len(d.s) && d.s[d.off] < 0x80 {
		v := d.s[d.off]
		d.off++
		return uint64(v)
	}
	return d.uvarintSlow(field)
}

func (d *decoder) uvarintSlow(field string) uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.fail(field, "truncated")
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail(field, "varint overflows 64 bits")
	return 0
}

func (d *decoder) varint(field string) int64 {
	u := d.uvarint(field)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) u32(field string) uint32 {
	v := d.uvarint(field)
	if v > math.MaxUint32 {
		d.fail(field, fmt.Sprintf("%d does not fit in 32 bits", v))
		return 0
	}
	return uint32(v)
}

func (d *decoder) uuid(field string, id *uuid.UUID) {
	if d.err != nil {
		return
	}
	if len(d.s)-d.off < len(id) {
		d.fail(field, "truncated")
		return
	}
	copy(id[:], d.s[d.off:])
	d.off += len(id)
}

// time reads a time whose flag is present; the zero time otherwise.
func (d *decoder) time(field string, present bool) time.Time {
	if !present {
		return time.Time{}
	}
	sec := d.varint(field)
	nsec := d.uvarint(field)
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail(field, fmt.Sprintf("%d nanoseconds", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// bytes reads a string kept byte for byte.
func (d *decoder) bytes(field string) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if left := uint64(len(d.s) - d.off); n > left {
		d.fail(field, fmt.Sprintf("length %d beyond the input (%d bytes left)", n, left))
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// text reads a string that must be valid UTF-8.
func (d *decoder) text(field string) string {
	start := d.off
	s := d.bytes(field)
	if !utf8.ValidString(s) {
		d.off = start
		d.fail(field, "invalid UTF-8")
		return ""
	}
	return s
}

// count reads a list length stored plus one (0 for a nil slice). It fails when the bytes left
// cannot hold that many items of at least min bytes each, so that allocations stay bounded by the
// size of the input.
func (d *decoder) count(field string, min int) (n int, isNil bool) {
	v := d.uvarint(field)
	if d.err != nil || v == 0 {
		return 0, true
	}
	v--
	if left := uint64(len(d.s) - d.off); v > left/uint64(min) {
		d.fail(field, fmt.Sprintf("count %d beyond the input (%d bytes left)", v, left))
		return 0, true
	}
	return int(v), false
}

// peek reads the start of a record, ID, Seq and Created, without decoding the rest; ok is false
// when the start is malformed or of another format version (decodeInto says why).
func peek(b []byte) (id uuid.UUID, seq uint64, created time.Time, ok bool) {
	if len(b) < 1+16 || b[0] == 0 || b[0] > FormatVersion {
		return id, 0, time.Time{}, false
	}
	copy(id[:], b[1:17])
	off := 17
	seq, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return id, 0, time.Time{}, false
	}
	off += n
	flags, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return id, 0, time.Time{}, false
	}
	off += n
	if flags&fCreated != 0 {
		sec, n := binary.Varint(b[off:])
		if n <= 0 {
			return id, 0, time.Time{}, false
		}
		off += n
		nsec, n := binary.Uvarint(b[off:])
		if n <= 0 || nsec >= 1e9 {
			return id, 0, time.Time{}, false
		}
		created = time.Unix(sec, int64(nsec)).UTC()
	}
	return id, seq, created, true
}
