package store_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/store"
)

func TestRoundTripRandom(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord(t)
		b := store.Encode(&r)
		got, err := store.Decode(b)
		require.NoError(t, err)
		require.Equal(t, r, got)
		require.Equal(t, b, store.Encode(&got), "the encoding is canonical")
	})
}

// TestRoundTripFilled catches a field of job.Record that the encoding leaves out: every field is
// set, at every depth.
func TestRoundTripFilled(t *testing.T) {
	r := filled(t)
	got, err := store.Decode(store.Encode(&r))
	require.NoError(t, err)
	require.Equal(t, r, got)
}

// upload2 is the upload section of format 2 for filled(): its flags (CloseSent, HostFailedSince,
// a reply), the session's ID, HostID and ReplyURL, HostFallback, FragmentLimit, HostFailedSince,
// then the reply's file.
const upload2 = "" +
	"07155265636f72642e53657373696f6e2e49442d313433195265636f72642e53657373696f6e2e486f737449442d3134" +
	"341b5265636f72642e53657373696f6e2e5265706c7955524c2d313439a20293018cafe2fd0ccccec4ff011b5265636f" +
	"72642e5265706c792e52656d6f74654e616d652d3135321a5265636f72642e5265706c792e4c6f63616c4e616d652d31" +
	"3533039c019e019f01a101a201a2013f195265636f72642e5265706c792e54656d704e616d652d3136361a5265636f72" +
	"642e5265706c792e56616c696461746f722d313639205265636f72642e5265706c792e526573706f6e73654865616465" +
	"72732d313730ab01ac01"

// TestEncodeGolden pins the format: records on disk must stay readable. If this test fails,
// the encoding changed: bump store.FormatVersion and keep decoding the old one, then update the
// constant.
func TestEncodeGolden(t *testing.T) {
	r := filled(t)
	// A record without an upload section is written in format 1, byte for byte as before
	// format 2 existed, so that an older bitsemu still reads it.
	r.Session, r.Reply = job.UploadSession{}, nil
	const golden = "" +
		"01030405060708090a0b0c0d0e0f10111215ffff01cc8fc7fd0ccccec4ff0113141c1d24252627373a3b3c515258503e" +
		"3f404142434445464748494a4b4c4decc7c7fd0ccccec4ff018c80c8fd0ccccec4ff01acfacbfd0ccccec4ff01c00113" +
		"5265636f72642e4f776e65722e5349442d3233155265636f72642e446973706c61794e616d652d3236155265636f7264" +
		"2e4465736372697074696f6e2d3237145265636f72642e436d6450726f6772616d2d3330135265636f72642e436d6450" +
		"6172616d732d3331175265636f72642e436d6443616c6c65722e5349442d3333135265636f72642e50726f78794c6973" +
		"742d3430155265636f72642e50726f78794279706173732d3431175265636f72642e437573746f6d486561646572732d" +
		"3533145265636f72642e485454504d6574686f642d3536175265636f72642e5265706c7946696c654e616d652d35375b" +
		"5cba01185265636f72642e4572726f722e50726f746f636f6c2d3934032c2d215265636f72642e43726564656e746961" +
		"6c735b305d2e557365724e616d652d3436215265636f72642e43726564656e7469616c735b305d2e50617373776f7264" +
		"2d34373132215265636f72642e43726564656e7469616c735b315d2e557365724e616d652d3531215265636f72642e43" +
		"726564656e7469616c735b315d2e50617373776f72642d3532031d5265636f72642e46696c65735b305d2e52656d6f74" +
		"654e616d652d39391d5265636f72642e46696c65735b305d2e4c6f63616c4e616d652d3130300367696a6c6d6d3f1c52" +
		"65636f72642e46696c65735b305d2e54656d704e616d652d3131331d5265636f72642e46696c65735b305d2e56616c69" +
		"6461746f722d313136235265636f72642e46696c65735b305d2e526573706f6e7365486561646572732d31313776771e" +
		"5265636f72642e46696c65735b315d2e52656d6f74654e616d652d3132311d5265636f72642e46696c65735b315d2e4c" +
		"6f63616c4e616d652d313232037d7f80018201830183013f1c5265636f72642e46696c65735b315d2e54656d704e616d" +
		"652d3133351d5265636f72642e46696c65735b315d2e56616c696461746f722d313338235265636f72642e46696c6573" +
		"5b315d2e526573706f6e7365486561646572732d3133398c018d01"
	got := hex.EncodeToString(store.Encode(&r))
	require.Equal(t, golden, got, "the record format changed")

	// Format 2: the same, followed by the upload section.
	r = filled(t)
	got = hex.EncodeToString(store.Encode(&r))
	golden2 := "02" + golden[2:] + upload2
	require.Equal(t, golden2, got, "the record format changed")
}

// TestDecodeRecordWithoutTemporaryFileIdentity reads a record written before files kept their
// temporary file's identity: it comes back with TempDevice and TempInode 0 (unknown).
func TestDecodeRecordWithoutTemporaryFileIdentity(t *testing.T) {
	const before = "" +
		"01030405060708090a0b0c0d0e0f10111215ffff01cc8fc7fd0ccccec4ff0113141c1d24252627373a3b3c515258503e" +
		"3f404142434445464748494a4b4c4decc7c7fd0ccccec4ff018c80c8fd0ccccec4ff01acfacbfd0ccccec4ff01c00113" +
		"5265636f72642e4f776e65722e5349442d3233155265636f72642e446973706c61794e616d652d3236155265636f7264" +
		"2e4465736372697074696f6e2d3237145265636f72642e436d6450726f6772616d2d3330135265636f72642e436d6450" +
		"6172616d732d3331175265636f72642e436d6443616c6c65722e5349442d3333135265636f72642e50726f78794c6973" +
		"742d3430155265636f72642e50726f78794279706173732d3431175265636f72642e437573746f6d486561646572732d" +
		"3533145265636f72642e485454504d6574686f642d3536175265636f72642e5265706c7946696c654e616d652d35375b" +
		"5cba01185265636f72642e4572726f722e50726f746f636f6c2d3934032c2d215265636f72642e43726564656e746961" +
		"6c735b305d2e557365724e616d652d3436215265636f72642e43726564656e7469616c735b305d2e50617373776f7264" +
		"2d34373132215265636f72642e43726564656e7469616c735b315d2e557365724e616d652d3531215265636f72642e43" +
		"726564656e7469616c735b315d2e50617373776f72642d3532031d5265636f72642e46696c65735b305d2e52656d6f74" +
		"654e616d652d39391d5265636f72642e46696c65735b305d2e4c6f63616c4e616d652d3130300367696a6c6d6d1f1c52" +
		"65636f72642e46696c65735b305d2e54656d704e616d652d3131331d5265636f72642e46696c65735b305d2e56616c69" +
		"6461746f722d313136235265636f72642e46696c65735b305d2e526573706f6e7365486561646572732d3131371e5265" +
		"636f72642e46696c65735b315d2e52656d6f74654e616d652d3131391d5265636f72642e46696c65735b315d2e4c6f63" +
		"616c4e616d652d313230037b7d7e8001810181011f1c5265636f72642e46696c65735b315d2e54656d704e616d652d31" +
		"33331d5265636f72642e46696c65735b315d2e56616c696461746f722d313336235265636f72642e46696c65735b315d" +
		"2e526573706f6e7365486561646572732d313337"
	b, err := hex.DecodeString(before)
	require.NoError(t, err)
	r, err := store.Decode(b)
	require.NoError(t, err)
	require.Len(t, r.Files, 2)
	for _, f := range r.Files {
		assert.Zero(t, f.TempDevice)
		assert.Zero(t, f.TempInode)
		assert.True(t, f.TempCreated)
	}
	assert.Equal(t, "Record.Files[1].ResponseHeaders-137", r.Files[1].ResponseHeaders)
}

func TestTimesRoundTrip(t *testing.T) {
	now := time.Now() // local, with a monotonic reading
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"zero", time.Time{}},
		{"Unix epoch", time.Unix(0, 0)},
		{"one nanosecond after zero", time.Time{}.Add(1)},
		{"before 1678", time.Date(1200, 1, 2, 3, 4, 5, 6, time.UTC)},
		{"after 2262", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"local with monotonic", now},
		{"other zone", time.Date(2025, 1, 1, 0, 0, 0, 1, time.FixedZone("UTC+5", 5*3600))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := job.Record{ID: idOf(1), Created: tc.t, Modified: tc.t, Completed: tc.t, NoProgressSince: tc.t}
			got, err := store.Decode(store.Encode(&r))
			require.NoError(t, err)
			for _, g := range []time.Time{got.Created, got.Modified, got.Completed, got.NoProgressSince} {
				if tc.t.IsZero() {
					assert.Equal(t, time.Time{}, g, "the zero time comes back exactly")
					continue
				}
				assert.True(t, g.Equal(tc.t), "%v != %v", g, tc.t)
				assert.Equal(t, time.UTC, g.Location())
				assert.Equal(t, g.Round(0), g, "no monotonic reading")
			}
		})
	}
}

func TestNilAndEmptySlices(t *testing.T) {
	for _, r := range []job.Record{
		{ID: idOf(1)},
		{ID: idOf(1), Credentials: []bits.Credentials{}, Files: []job.FileRecord{}},
		{ID: idOf(1), Files: []job.FileRecord{{}, {Ranges: []bits.FileRange{}}}},
		{ID: idOf(1), Files: []job.FileRecord{{BytesTotal: bits.SizeUnknown, Ranges: []bits.FileRange{{Length: 1<<64 - 1}}}}},
	} {
		got, err := store.Decode(store.Encode(&r))
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
}

// TestBytesFieldsKeepAnyByte: what a server sent or an owner's SID is kept byte for byte, valid
// UTF-8 or not.
func TestBytesFieldsKeepAnyByte(t *testing.T) {
	bad := "\xff\xfe\x00latin-1 \xe9t\xe9"
	r := job.Record{
		ID: idOf(1), Owner: job.Identity{SID: bad}, CmdCaller: job.Identity{SID: bad},
		Error: &job.ErrorRecord{File: -1, Protocol: bad},
		Files: []job.FileRecord{{TempName: bad, Validator: bad, ResponseHeaders: bad}},
	}
	got, err := store.Decode(store.Encode(&r))
	require.NoError(t, err)
	require.Equal(t, r, got)
}

func TestTypicalSize(t *testing.T) {
	r := typical(1)
	b := store.Encode(&r)
	t.Logf("typical record: %d bytes", len(b))
	assert.Less(t, len(b), 600)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { store.Encode(&r) }), "Encode allocates once")
}

// minimal is the encoding of a record with nothing but an ID: 49 bytes, at known offsets.
func minimal(t *testing.T) []byte {
	b := store.Encode(&job.Record{ID: idOf(1)})
	require.Len(t, b, 49)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func TestDecodeErrors(t *testing.T) {
	m := minimal(t)
	const (
		offFlags       = 18
		offType        = 19
		offDisplayName = 37
		offCreds       = 47
		offFiles       = 48
		fCreated       = 1 << 11
	)
	oneFile := cat(m[:offFiles], []byte{2, 0, 0, 0, 1, 0, 0, 0, 0, 0})
	// An upload job's session: format 2, ending with the upload section's seven bytes (flags, ID
	// "s", HostID, ReplyURL, HostFallback, FragmentLimit).
	sess := store.Encode(&job.Record{ID: idOf(1), Session: job.UploadSession{ID: "s"}})
	require.Equal(t, []byte{0, 1, 's', 0, 0, 0, 0}, sess[len(sess)-7:])
	require.Equal(t, byte(store.FormatVersion), sess[0])
	require.NotPanics(t, func() {
		_, err := store.Decode(oneFile)
		require.NoError(t, err)
	})
	set := func(b []byte, off int, v byte) []byte {
		b = append([]byte(nil), b...)
		b[off] = v
		return b
	}
	for _, tc := range []struct {
		name     string
		b        []byte
		sentinel error
		want     string
	}{
		{"empty", nil, store.ErrCorrupt, "empty"},
		{"format version 0", set(m, 0, 0), store.ErrCorrupt, "0 is not a format version"},
		{"newer format", set(m, 0, store.FormatVersion+1), store.ErrVersion, fmt.Sprintf("unknown record format %d (this code reads %d): written by a newer bitsemu, or damaged", store.FormatVersion+1, store.FormatVersion)},
		{"truncated id", m[:10], store.ErrCorrupt, "ID: truncated"},
		{"truncated", m[:len(m)-1], store.ErrCorrupt, "Files: truncated"},
		{"trailing bytes", cat(m, []byte{0}), store.ErrCorrupt, "1 bytes after the end of the record"},
		{"string beyond the input", set(m, offDisplayName, 100), store.ErrCorrupt, "DisplayName: length 100 beyond the input (11 bytes left)"},
		{"invalid UTF-8", store.Encode(&job.Record{ID: idOf(1), DisplayName: "a\xffb"}), store.ErrCorrupt, "DisplayName: invalid UTF-8"},
		{"absurd file count", cat(m[:offFiles], uv(1<<40)), store.ErrCorrupt, "Files: count 1099511627775 beyond the input (0 bytes left)"},
		{"absurd credential count", cat(m[:offCreds], uv(1e6), []byte{0}), store.ErrCorrupt, "Credentials: count 999999 beyond the input"},
		{"absurd range count", set(oneFile, offFiles+3, 0x7f), store.ErrCorrupt, "File.Ranges: count 126 beyond the input"},
		{"number beyond 32 bits", cat(m[:offType], uv(1<<32), m[offType+1:]), store.ErrCorrupt, "Type: 4294967296 does not fit in 32 bits"},
		{"unknown flags", cat(m[:offFlags], uv(1<<30), m[offFlags+1:]), store.ErrCorrupt, "flags: unknown flags 0x40000000"},
		{"unknown file flags", set(oneFile, offFiles+6, 0x40), store.ErrCorrupt, "File.flags: unknown flags 0x40"},
		{"varint overflow", cat(m[:17], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), store.ErrCorrupt, "Seq: varint overflows 64 bits"},
		{"nanoseconds", cat(m[:offFlags], uv(fCreated), uv(0), uv(1e9), m[offFlags+1:]), store.ErrCorrupt, "Created: 1000000000 nanoseconds"},
		{"unknown upload flags", set(sess, len(sess)-7, 0x40), store.ErrCorrupt, "upload flags: unknown flags 0x40"},
		{"empty upload section", cat(sess[:len(sess)-7], []byte{0, 0, 0, 0, 0, 0}), store.ErrCorrupt, "a format 2 record without an upload session or reply"},
		{"truncated upload section", sess[:len(sess)-1], store.ErrCorrupt, "Session.FragmentLimit: truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := store.Decode(tc.b)
			requireCorrupt(t, err, tc.sentinel, tc.want)
			assert.Equal(t, job.Record{}, r)
			// A format this code does not read is a store it cannot use: both sentinels.
			assert.ErrorIs(t, err, store.ErrCorrupt)
		})
	}
}

// TestDecodeTruncations: every strict prefix of an encoding fails cleanly.
func TestDecodeTruncations(t *testing.T) {
	for _, r := range []job.Record{typical(1), filled(t)} {
		b := store.Encode(&r)
		for n := range len(b) {
			_, err := store.Decode(b[:n])
			requireCorrupt(t, err, store.ErrCorrupt)
		}
	}
}

// TestDecodeDoesNotAlias: the record owns its memory; the input may be reused.
func TestDecodeDoesNotAlias(t *testing.T) {
	r := typical(1)
	b := store.Encode(&r)
	got, err := store.Decode(b)
	require.NoError(t, err)
	clear(b)
	require.Equal(t, r, got)
}
