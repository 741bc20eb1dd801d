package store_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
)

// base is the moment the test records are created around.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// idOf is a fixed, readable job id: 00000000-0000-4000-8000-00000000000n.
func idOf(n int) uuid.UUID {
	var id uuid.UUID
	id[6] = 0x40
	id[8] = 0x80
	binary.BigEndian.PutUint64(id[8:], uint64(n)|0x8000000000000000)
	return id
}

// typical is a record as a download job has it in the middle of its life: one file, partly
// transferred, a server's validator and response headers.
func typical(n int) job.Record {
	created := base.Add(time.Duration(n) * time.Second)
	return job.Record{
		ID:          idOf(n),
		Type:        bits.Download,
		State:       state.Transferring,
		Seq:         uint64(40 + n%7),
		Owner:       job.Identity{SID: "S-1-5-21-3623811015-3361044348-30300820-1013"},
		DisplayName: fmt.Sprintf("Windows Update package %d", n),
		Description: "Downloads the cumulative update for the operating system.",
		Priority:    bits.Normal,
		NotifyFlags: 3,

		MinimumRetryDelay:   600,
		NoProgressTimeout:   1209600,
		MaximumDownloadTime: 7776000,

		Created:      created,
		Modified:     created.Add(3 * time.Minute),
		DownloadTime: 3 * time.Minute,
		Resumed:      true,

		Files: []job.FileRecord{{
			RemoteName:      fmt.Sprintf("https://download.example.com/updates/kb%07d/package.cab", n),
			LocalName:       fmt.Sprintf("/var/lib/bitsemu/downloads/kb%07d.cab", n),
			BytesTotal:      734003200,
			BytesDone:       268435456,
			TempName:        fmt.Sprintf("/var/lib/bitsemu/downloads/BIT%04X.tmp", n&0xFFFF),
			TempCreated:     true,
			Validator:       `734003200 "5f3a9c1e-2bc40" Tue, 11 Mar 2025 08:00:00 GMT`,
			ResponseHeaders: "HTTP/1.1 206 Partial Content\r\nContent-Type: application/vnd.ms-cab-compressed\r\nETag: \"5f3a9c1e-2bc40\"\r\nLast-Modified: Tue, 11 Mar 2025 08:00:00 GMT\r\nAccept-Ranges: bytes\r\n",
		}},
	}
}

// typicalRandom returns n typical records, with GUIDs drawn from rng.
func typicalRandom(n int, rng *rand.Rand) []job.Record {
	recs := make([]job.Record, n)
	for i := range recs {
		recs[i] = typical(i + 1)
		binary.LittleEndian.PutUint64(recs[i].ID[:8], rng.Uint64())
		binary.LittleEndian.PutUint64(recs[i].ID[8:], rng.Uint64())
	}
	return recs
}

// genTime draws the zero time or any instant, in UTC without a monotonic reading, as Decode
// returns it.
func genTime(t *rapid.T, label string) time.Time {
	switch rapid.IntRange(0, 3).Draw(t, label+".kind") {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(rapid.Int64().Draw(t, label+".sec"), rapid.Int64Range(0, 999999999).Draw(t, label+".nsec")).UTC()
	}
	return base.Add(time.Duration(rapid.Int64Range(-1e17, 1e17).Draw(t, label+".offset")))
}

// genBytes draws a string of any bytes (for the fields kept byte for byte).
func genBytes(t *rapid.T, label string) string {
	return string(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, label))
}

func genText(t *rapid.T, label string) string {
	return rapid.StringN(0, 30, 120).Draw(t, label)
}

// genSlice draws a nil slice, an empty one or up to max elements.
func genSlice[E any](t *rapid.T, label string, max int, elem func(*rapid.T, string) E) []E {
	switch rapid.IntRange(0, 2).Draw(t, label+".kind") {
	case 0:
		return nil
	case 1:
		return []E{}
	}
	n := rapid.IntRange(1, max).Draw(t, label+".len")
	s := make([]E, n)
	for i := range s {
		s[i] = elem(t, fmt.Sprintf("%s[%d]", label, i))
	}
	return s
}

// genRecord draws any record the encoding must carry: every field, numbers over their whole
// range, text fields valid UTF-8, the others any bytes.
func genRecord(t *rapid.T) job.Record {
	u32 := func(label string) uint32 { return rapid.Uint32().Draw(t, label) }
	b := func(label string) bool { return rapid.Bool().Draw(t, label) }
	r := job.Record{
		ID:    uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "ID")),
		Type:  bits.JobType(u32("Type")),
		State: state.State(u32("State")),
		Seq:   rapid.Uint64().Draw(t, "Seq"),
		Owner: job.Identity{SID: genBytes(t, "Owner.SID"), Admin: b("Owner.Admin"), Service: b("Owner.Service")},

		DisplayName: genText(t, "DisplayName"),
		Description: genText(t, "Description"),
		Priority:    bits.Priority(u32("Priority")),
		NotifyFlags: u32("NotifyFlags"),
		CmdProgram:  genText(t, "CmdProgram"),
		CmdParams:   genText(t, "CmdParams"),
		CmdCaller:   job.Identity{SID: genBytes(t, "CmdCaller.SID"), Admin: b("CmdCaller.Admin"), Service: b("CmdCaller.Service")},

		MinimumRetryDelay:   u32("MinimumRetryDelay"),
		NoProgressTimeout:   u32("NoProgressTimeout"),
		MaximumDownloadTime: u32("MaximumDownloadTime"),

		ProxyUsage:  bits.ProxyUsage(u32("ProxyUsage")),
		ProxyList:   genText(t, "ProxyList"),
		ProxyBypass: genText(t, "ProxyBypass"),
		Credentials: genSlice(t, "Credentials", 3, func(t *rapid.T, l string) bits.Credentials {
			return bits.Credentials{
				Target: bits.AuthTarget(u32(l + ".Target")), Scheme: bits.AuthScheme(u32(l + ".Scheme")),
				UserName: genText(t, l+".UserName"), Password: genText(t, l+".Password"),
			}
		}),

		CustomHeaders:          genText(t, "CustomHeaders"),
		CustomHeadersWriteOnly: b("CustomHeadersWriteOnly"),
		SecurityFlags:          u32("SecurityFlags"),
		HTTPMethod:             genText(t, "HTTPMethod"),
		ReplyFileName:          genText(t, "ReplyFileName"),
		FileACLFlags:           u32("FileACLFlags"),
		PeerCachingFlags:       u32("PeerCachingFlags"),

		CostFlags:                 u32("CostFlags"),
		DynamicContent:            b("DynamicContent"),
		HighPerformance:           b("HighPerformance"),
		MaxDownloadSize:           rapid.Uint64().Draw(t, "MaxDownloadSize"),
		UseStoredCredentials:      bits.AuthTarget(u32("UseStoredCredentials")),
		MinNotificationIntervalMs: u32("MinNotificationIntervalMs"),
		OnDemand:                  b("OnDemand"),

		Created:         genTime(t, "Created"),
		Modified:        genTime(t, "Modified"),
		Completed:       genTime(t, "Completed"),
		Resumed:         b("Resumed"),
		ErrorCount:      u32("ErrorCount"),
		NoProgressSince: genTime(t, "NoProgressSince"),
		DownloadTime:    time.Duration(rapid.Int64().Draw(t, "DownloadTime")),

		Files: genSlice(t, "Files", 4, genFile),
	}
	if rapid.Bool().Draw(t, "hasSession") {
		r.Session = job.UploadSession{
			ID:              genBytes(t, "Session.ID"),
			HostID:          genBytes(t, "Session.HostID"),
			HostFallback:    time.Duration(rapid.Int64().Draw(t, "Session.HostFallback")),
			HostFailedSince: genTime(t, "Session.HostFailedSince"),
			FragmentLimit:   rapid.Uint64().Draw(t, "Session.FragmentLimit"),
			CloseSent:       b("Session.CloseSent"),
			ReplyURL:        genBytes(t, "Session.ReplyURL"),
		}
	}
	if rapid.Bool().Draw(t, "hasReply") {
		f := genFile(t, "Reply")
		r.Reply = &f
	}
	if rapid.Bool().Draw(t, "hasCLSID") {
		r.NotificationCLSID = uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "CLSID"))
	}
	if rapid.Bool().Draw(t, "hasError") {
		r.Error = &job.ErrorRecord{
			Context:  bits.ErrorContext(u32("Error.Context")),
			Code:     hresult.Code(u32("Error.Code")),
			File:     rapid.Int().Draw(t, "Error.File"),
			Protocol: genBytes(t, "Error.Protocol"),
		}
	}
	return r
}

// genFile draws any file record, labelled l.
func genFile(t *rapid.T, l string) job.FileRecord {
	b := func(label string) bool { return rapid.Bool().Draw(t, label) }
	return job.FileRecord{
		RemoteName: genText(t, l+".RemoteName"),
		LocalName:  genText(t, l+".LocalName"),
		Ranges: genSlice(t, l+".Ranges", 5, func(t *rapid.T, l string) bits.FileRange {
			return bits.FileRange{InitialOffset: rapid.Uint64().Draw(t, l+".Offset"), Length: rapid.Uint64().Draw(t, l+".Length")}
		}),
		BytesTotal:      rapid.Uint64().Draw(t, l+".BytesTotal"),
		BytesDone:       rapid.Uint64().Draw(t, l+".BytesDone"),
		Completed:       b(l + ".Completed"),
		Validated:       b(l + ".Validated"),
		ValidationSet:   b(l + ".ValidationSet"),
		TempName:        genBytes(t, l+".TempName"),
		TempCreated:     b(l + ".TempCreated"),
		Kept:            b(l + ".Kept"),
		Validator:       genBytes(t, l+".Validator"),
		ResponseHeaders: genBytes(t, l+".ResponseHeaders"),
		TempDevice:      rapid.OneOf(rapid.Just(uint64(0)), rapid.Uint64()).Draw(t, l+".TempDevice"),
		TempInode:       rapid.OneOf(rapid.Just(uint64(0)), rapid.Uint64()).Draw(t, l+".TempInode"),
	}
}

// filled returns a record whose every field, at every depth, is set to something other than its
// zero value, so that a field the encoding forgets shows up.
func filled(t *testing.T) job.Record {
	var r job.Record
	n := 0
	var fill func(v reflect.Value, path string)
	fill = func(v reflect.Value, path string) {
		n++
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				v.Set(reflect.ValueOf(base.Add(time.Duration(n) * time.Hour)))
				return
			}
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				require.True(t, f.IsExported(), "%s.%s is not exported", path, f.Name)
				fill(v.Field(i), path+"."+f.Name)
			}
		case reflect.String:
			v.SetString(fmt.Sprintf("%s-%d", path, n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(n))
		case reflect.Uint8, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(n))
		case reflect.Array:
			for i := 0; i < v.Len(); i++ {
				fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := 0; i < v.Len(); i++ {
				fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), path)
		default:
			t.Fatalf("%s: no filler for kind %v; teach filled and the encoding", path, v.Kind())
		}
	}
	fill(reflect.ValueOf(&r).Elem(), "Record")
	return r
}

// openT opens a store in dir, failing the test on error, and closes it at the end.
func openT(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// requireCorrupt checks that err is a damaged-store error, with both sentinels.
func requireCorrupt(t *testing.T, err error, sentinel error, contains ...string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel)
	require.ErrorIs(t, err, hresult.BG_E_DATABASE_CORRUPT)
	for _, c := range contains {
		require.Contains(t, err.Error(), c)
	}
}
