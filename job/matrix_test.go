package job_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// The expectation tables below are typed by hand from the spec (bits-api.md §1.0–§1.7,
// bits-behaviour.md §3.3 and §14 and the README's list of decisions). They deliberately do not
// read package state: a table derived from the code under test would test nothing.
//
// A row has nine cells, one per state in the column order of allStates:
//
//	SUSP QUEUED CONN XFER TERR ERR DONE(TRANSFERRED) ACK CANC
//
// A cell is CODE[>STATE][*N]: the HRESULT the call returns, the state the job is in afterwards
// when it moves (unchanged otherwise), and *N to repeat the cell N times.

var cellCodes = map[string]hresult.Code{
	"ok":         hresult.S_OK,
	"SFALSE":     hresult.S_FALSE,
	"PART":       hresult.BG_S_PARTIAL_COMPLETE,
	"INV":        hresult.BG_E_INVALID_STATE,
	"EMPTY":      hresult.BG_E_EMPTY,
	"NOINFO":     hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE,
	"NOTIMPL":    hresult.E_NOTIMPL,
	"PENDING":    hresult.E_PENDING,
	"RO_RESUME":  hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
	"RO_ADDFILE": hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
	"DLONLY":     hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY,
	"TOOMANY":    hresult.BG_E_TOO_MANY_FILES,
}

var cellStates = map[string]state.State{
	"SUSP": state.Suspended, "QUEUED": state.Queued, "CONN": state.Connecting, "XFER": state.Transferring,
	"TERR": state.TransientError, "ERR": state.Error, "DONE": state.Transferred,
	"ACK": state.Acknowledged, "CANC": state.Cancelled,
}

type cell struct {
	code  hresult.Code
	to    state.State
	moves bool
}

func parseCells(t *testing.T, spec string) []cell {
	t.Helper()
	var out []cell
	for _, tok := range strings.Fields(spec) {
		n := 1
		if base, rep, ok := strings.Cut(tok, "*"); ok {
			var err error
			n, err = strconv.Atoi(rep)
			require.NoError(t, err, tok)
			tok = base
		}
		var c cell
		codeTok, stTok, moves := strings.Cut(tok, ">")
		code, ok := cellCodes[codeTok]
		require.True(t, ok, "unknown code token %q", codeTok)
		c.code = code
		if moves {
			st, ok := cellStates[stTok]
			require.True(t, ok, "unknown state token %q", stTok)
			c.to, c.moves = st, true
		}
		for i := 0; i < n; i++ {
			out = append(out, c)
		}
	}
	require.Len(t, out, len(allStates), "row %q must have nine cells", spec)
	return out
}

// callFn makes one call through handle h; f is h's handle on the job's first file (nil when h
// cannot enumerate files). It returns the success code (S_OK for calls without one) or the error.
type callFn func(x *fx, h bits.Job, f bits.File) (hresult.Code, error)

type methodRow struct {
	name    string
	asAdmin bool // call through an administrator's handle (TakeOwnership)
	file    bool // a File method: needs f
	call    callFn
	want    string
}

// Shorthands for the most common rows, spelled out from the spec:
// setters work in every live state and fail with BG_E_INVALID_STATE in the final ones
// (bits-api §1.0 "All Set* ..."; bits-behaviour T31); getters work in every state (§3.1, §14.10).
const (
	live = "ok*7 INV*2"
	any9 = "ok*9"
)

func ok(err error) (hresult.Code, error) { return hresult.S_OK, err }

func ok1[T any](_ T, err error) (hresult.Code, error) { return hresult.S_OK, err }

func ok2[T any](_ T, code hresult.Code, err error) (hresult.Code, error) { return code, err }

// jobRows covers every job method and every File method of a DOWNLOAD job with two files.
func jobRows() []methodRow {
	cb := &nopCallback{name: "matrix"}
	return []methodRow{
		// IBackgroundCopyJob
		{name: "AddFile", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFile(x.remote(), x.local()))
		}},
		{name: "AddFileSet", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFileSet([]bits.FileInfo{
				{RemoteName: x.remote(), LocalName: x.local()},
				{RemoteName: x.remote(), LocalName: x.local()},
			}))
		}},
		{name: "AddFileSet(empty)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFileSet(nil))
		}},
		{name: "EnumFiles", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.EnumFiles())
		}},
		{name: "Suspend", want: "ok ok>SUSP*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.Suspend())
		}},
		// Resume: SUSPENDED/ERROR/TRANSIENT_ERROR → QUEUED, action states unchanged, TRANSFERRED with
		// nothing pending unchanged (§14.1).
		{name: "Resume", want: "ok>QUEUED ok ok ok ok>QUEUED ok>QUEUED ok INV INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.Resume())
		}},
		{name: "Cancel", want: "ok>CANC*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.Cancel()
		}},
		// Complete of a download: any live state; partial unless every file is done.
		{name: "Complete", want: "PART>ACK*6 ok>ACK INV INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.Complete()
		}},
		{name: "GetId", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetId())
		}},
		{name: "GetType", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetType())
		}},
		{name: "GetProgress", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetProgress())
		}},
		{name: "GetTimes", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetTimes())
		}},
		{name: "GetState", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetState())
		}},
		// GetError: only while an error is recorded (TRANSIENT_ERROR and ERROR here).
		{name: "GetError", want: "NOINFO*4 ok ok NOINFO*3", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetError())
		}},
		{name: "GetOwner", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetOwner())
		}},
		{name: "SetDisplayName", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetDisplayName("renamed"))
		}},
		{name: "GetDisplayName", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetDisplayName())
		}},
		{name: "SetDescription", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetDescription("described"))
		}},
		{name: "GetDescription", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetDescription())
		}},
		{name: "SetPriority", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetPriority(bits.High))
		}},
		{name: "GetPriority", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetPriority())
		}},
		{name: "SetNotifyFlags", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetNotifyFlags(bits.NotifyJobModification | bits.NotifyFileTransferred))
		}},
		{name: "GetNotifyFlags", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetNotifyFlags())
		}},
		{name: "SetNotifyInterface(cb)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetNotifyInterface(cb))
		}},
		{name: "SetNotifyInterface(nil)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetNotifyInterface(nil))
		}},
		{name: "GetNotifyInterface", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetNotifyInterface())
		}},
		{name: "SetMinimumRetryDelay", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetMinimumRetryDelay(60))
		}},
		{name: "GetMinimumRetryDelay", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetMinimumRetryDelay())
		}},
		{name: "SetNoProgressTimeout", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetNoProgressTimeout(3600))
		}},
		{name: "GetNoProgressTimeout", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetNoProgressTimeout())
		}},
		{name: "GetErrorCount", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetErrorCount())
		}},
		{name: "SetProxySettings", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProxySettings(bits.ProxyOverride, "proxy.example.com:8080", "<local>"))
		}},
		{name: "GetProxySettings", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetProxySettings())
		}},
		{name: "TakeOwnership(admin)", asAdmin: true, want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.TakeOwnership())
		}},
		// IBackgroundCopyJob2
		{name: "SetNotifyCmdLine", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetNotifyCmdLine("/usr/bin/notify", "/usr/bin/notify done"))
		}},
		{name: "GetNotifyCmdLine", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetNotifyCmdLine())
		}},
		// Reply methods on a DOWNLOAD job: E_NOTIMPL whatever the state.
		{name: "GetReplyProgress", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyProgress())
		}},
		{name: "GetReplyData", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyData())
		}},
		{name: "SetReplyFileName", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetReplyFileName(x.local()))
		}},
		{name: "GetReplyFileName", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyFileName())
		}},
		{name: "SetCredentials", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))
		}},
		// Nothing was set, so S_FALSE.
		{name: "RemoveCredentials", want: "SFALSE*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
		}},
		// IBackgroundCopyJob3. In TRANSFERRED every file is finished and finished files are left
		// alone, so nothing matches: S_FALSE.
		{name: "ReplaceRemotePrefix", want: "ok*6 SFALSE INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.ReplaceRemotePrefix("http://example.com/", "https://mirror.example.com/")
		}},
		{name: "AddFileWithRanges", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 0, Length: 100}, {InitialOffset: 200, Length: bits.LengthToEOF}}))
		}},
		{name: "SetFileACLFlags", want: "ok*6 INV*3", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetFileACLFlags(bits.CopyFileOwner | bits.CopyFileDACL))
		}},
		{name: "GetFileACLFlags", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetFileACLFlags())
		}},
		// IBackgroundCopyJob4
		{name: "SetPeerCachingFlags", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetPeerCachingFlags(bits.EnablePeerCachingClient))
		}},
		{name: "GetPeerCachingFlags", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetPeerCachingFlags())
		}},
		{name: "GetOwnerIntegrityLevel", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetOwnerIntegrityLevel())
		}},
		{name: "GetOwnerElevationState", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetOwnerElevationState())
		}},
		{name: "SetMaximumDownloadTime", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetMaximumDownloadTime(3600))
		}},
		{name: "GetMaximumDownloadTime", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetMaximumDownloadTime())
		}},
		// IBackgroundCopyJob5
		{name: "SetProperty(COST_FLAGS)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: bits.TransferPolicyStandard}))
		}},
		{name: "SetProperty(NOTIFICATION_CLSID)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyNotificationCLSID, bits.PropertyValue{ClsID: uuid.MustParse("4991d34b-80a1-4291-83b6-3328366b9097")}))
		}},
		// Before the first Resume only: every state but SUSPENDED (fresh) has been resumed.
		{name: "SetProperty(DYNAMIC_CONTENT)", want: "ok RO_RESUME*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
		}},
		// Before any file: the job has files in every state.
		{name: "SetProperty(HIGH_PERFORMANCE)", want: "RO_ADDFILE*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyHighPerformance, bits.PropertyValue{Enable: true}))
		}},
		{name: "SetProperty(MAX_DOWNLOAD_SIZE)", want: "ok RO_RESUME*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 1 << 20}))
		}},
		{name: "SetProperty(USE_STORED_CREDENTIALS)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetProxy}))
		}},
		{name: "SetProperty(MINIMUM_NOTIFICATION_INTERVAL_MS)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 1000}))
		}},
		{name: "SetProperty(ON_DEMAND_MODE)", want: "ok RO_RESUME*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyOnDemandMode, bits.PropertyValue{Enable: true}))
		}},
		{name: "GetProperty", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetProperty(bits.PropertyMinimumNotificationIntervalMs))
		}},
		// IBackgroundCopyJobHttpOptions 1–3
		{name: "SetCustomHeaders", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetCustomHeaders("X-Test: 1\r\n"))
		}},
		{name: "GetCustomHeaders", want: "SFALSE*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok2(h.GetCustomHeaders())
		}},
		{name: "SetSecurityFlags", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetSecurityFlags(bits.SSLEnableCRLCheck | bits.RedirectPolicyAllowReport))
		}},
		{name: "GetSecurityFlags", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetSecurityFlags())
		}},
		// Before the first Resume only (code is a README decision).
		{name: "SetHttpMethod", want: "ok RO_RESUME*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetHttpMethod("PUT"))
		}},
		{name: "GetHttpMethod", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetHttpMethod())
		}},
		// "always S_OK" (bits-api §1.10).
		{name: "MakeCustomHeadersWriteOnly", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.MakeCustomHeadersWriteOnly())
		}},
		// IBackgroundCopyFile 1–5
		{name: "File.GetRemoteName", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetRemoteName())
		}},
		{name: "File.GetLocalName", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetLocalName())
		}},
		{name: "File.GetProgress", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetProgress())
		}},
		{name: "File.GetFileRanges", file: true, want: "SFALSE*9", call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok2(f.GetFileRanges())
		}},
		{name: "File.SetRemoteName", file: true, want: live, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok(f.SetRemoteName("https://mirror.example.com/other.bin"))
		}},
		{name: "File.GetTemporaryName", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetTemporaryName())
		}},
		// E_PENDING until the file has finished; it has only in TRANSFERRED.
		{name: "File.SetValidationState", file: true, want: "PENDING*6 ok INV*2", call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok(f.SetValidationState(true))
		}},
		{name: "File.GetValidationState", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetValidationState())
		}},
		{name: "File.IsDownloadedFromPeer", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.IsDownloadedFromPeer())
		}},
		{name: "File.GetProperty", file: true, want: any9, call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok1(f.GetProperty(bits.FilePropertyHTTPResponseHeaders))
		}},
	}
}

// uploadRows are the rows whose outcome differs for an UPLOAD job (one file).
func uploadRows() []methodRow {
	return []methodRow{
		// Upload jobs hold exactly one file: the state is checked first, then the type.
		{name: "AddFile", want: "TOOMANY*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFile(x.remote(), x.local()))
		}},
		{name: "Suspend", want: "ok ok>SUSP*6 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.Suspend())
		}},
		{name: "Resume", want: "ok>QUEUED ok ok ok ok>QUEUED ok>QUEUED ok INV INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.Resume())
		}},
		{name: "Cancel", want: "ok>CANC*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.Cancel()
		}},
		// Upload jobs can be completed only when TRANSFERRED.
		{name: "Complete", want: "INV*6 ok>ACK INV INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.Complete()
		}},
		{name: "ReplaceRemotePrefix", want: "NOTIMPL*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.ReplaceRemotePrefix("http://example.com/", "https://mirror.example.com/")
		}},
		{name: "AddFileWithRanges", want: "NOTIMPL*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 0, Length: 10}}))
		}},
		{name: "File.SetRemoteName", file: true, want: "NOTIMPL*7 INV*2", call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok(f.SetRemoteName("https://mirror.example.com/up"))
		}},
		// Download-only properties: the type is checked before the resume rule.
		{name: "SetProperty(DYNAMIC_CONTENT)", want: "DLONLY*7 INV*2", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
		}},
		{name: "SetProperty(COST_FLAGS)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: bits.TransferPolicyAlways}))
		}},
		{name: "GetReplyProgress", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyProgress())
		}},
		{name: "GetReplyData", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyData())
		}},
		{name: "SetReplyFileName", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetReplyFileName(""))
		}},
		{name: "GetReplyFileName", want: "NOTIMPL*9", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyFileName())
		}},
		{name: "File.SetValidationState", file: true, want: "PENDING*6 ok INV*2", call: func(x *fx, h bits.Job, f bits.File) (hresult.Code, error) {
			return ok(f.SetValidationState(true))
		}},
	}
}

// replyRows are the reply methods of an UPLOAD_REPLY job.
func replyRows() []methodRow {
	return []methodRow{
		{name: "GetReplyProgress", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyProgress())
		}},
		// TRANSFERRED, and ACKNOWLEDGED by README decision.
		{name: "GetReplyData", want: "INV*6 ok ok INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyData())
		}},
		// Before the reply download begins (it never does here); not in a final state.
		{name: "SetReplyFileName(path)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetReplyFileName(x.local()))
		}},
		{name: "SetReplyFileName(empty)", want: live, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok(h.SetReplyFileName(""))
		}},
		{name: "GetReplyFileName", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetReplyFileName())
		}},
		{name: "Complete", want: "INV*6 ok>ACK INV INV", call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return h.Complete()
		}},
		{name: "GetHttpMethod", want: any9, call: func(x *fx, h bits.Job, _ bits.File) (hresult.Code, error) {
			return ok1(h.GetHttpMethod())
		}},
	}
}

func runMatrix(t *testing.T, typ bits.JobType, nfiles int, rows []methodRow) {
	for _, r := range rows {
		cells := parseCells(t, r.want)
		for i, st := range allStates {
			want := cells[i]
			t.Run(r.name+"/"+st.String(), func(t *testing.T) {
				x := newFx(t)
				j := x.jobIn(typ, nfiles, st)
				h := j
				if r.asAdmin {
					h = engine.Of(j).As(job.NewCaller(adminID))
				}
				var f bits.File
				if r.file {
					f = fileAt(t, h, 0)
				}
				got, err := r.call(x, h, f)
				checkResult(t, want.code, got, err, r.name+" in "+st.String())
				after := st
				if want.moves {
					after = want.to
				}
				mustState(t, h, after, r.name+" in "+st.String()+": state afterwards")
			})
		}
	}
}

// TestEveryMethodInEveryState: every job and file method of a download job in each of the nine
// states, against the hand-typed table.
func TestEveryMethodInEveryState(t *testing.T) {
	runMatrix(t, bits.Download, 2, jobRows())
}

func TestEveryMethodInEveryStateUpload(t *testing.T) {
	runMatrix(t, bits.Upload, 1, uploadRows())
}

func TestEveryMethodInEveryStateUploadReply(t *testing.T) {
	runMatrix(t, bits.UploadReply, 1, replyRows())
}

// TestStateHelper checks that the helper really reaches each state for every job type.
func TestStateHelper(t *testing.T) {
	for _, typ := range []bits.JobType{bits.Download, bits.Upload, bits.UploadReply} {
		for _, st := range allStates {
			t.Run(typ.String()+"/"+st.String(), func(t *testing.T) {
				x := newFx(t)
				n := 1
				if typ == bits.Download {
					n = 3
				}
				j := x.jobIn(typ, n, st)
				mustState(t, j, st)
				p, err := j.GetProgress()
				require.NoError(t, err)
				assert.Equal(t, uint32(n), p.FilesTotal)
				wantDone := uint32(0)
				if st == state.Transferred || st == state.Acknowledged {
					wantDone = uint32(n)
				}
				assert.Equal(t, wantDone, p.FilesTransferred)
			})
		}
	}
}

// Every mutator of a final job fails with BG_E_INVALID_STATE and changes nothing, including
// SetNotifyInterface(nil) (bits-behaviour T31).
func TestFinalJobsRefuseMutatorsAndKeepValues(t *testing.T) {
	for _, st := range []state.State{state.Acknowledged, state.Cancelled} {
		t.Run(st.String(), func(t *testing.T) {
			x := newFx(t)
			j := x.newJob(bits.Download, 1)
			cb := &nopCallback{name: "kept"}
			require.NoError(t, j.SetNotifyInterface(cb))
			require.NoError(t, j.SetDescription("before"))
			driveTo(t, j, st)

			isCode(t, hresult.BG_E_INVALID_STATE, j.SetNotifyInterface(nil))
			got, err := j.GetNotifyInterface()
			require.NoError(t, err)
			assert.Same(t, cb, got, "SetNotifyInterface(nil) on a final job must not clear the callback")

			isCode(t, hresult.BG_E_INVALID_STATE, j.SetDescription("after"))
			d, err := j.GetDescription()
			require.NoError(t, err)
			assert.Equal(t, "before", d)

			isCode(t, hresult.BG_E_INVALID_STATE, j.Resume())
			isCode(t, hresult.BG_E_INVALID_STATE, j.Suspend())
			_, err = j.Cancel()
			isCode(t, hresult.BG_E_INVALID_STATE, err)
			_, err = j.Complete()
			isCode(t, hresult.BG_E_INVALID_STATE, err)
			mustState(t, j, st)
		})
	}
}

func TestResumeEmptyJob(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	isCode(t, hresult.BG_E_EMPTY, j.Resume())
	mustState(t, j, state.Suspended)
	// A failed Resume does not count as "resumed": SetHttpMethod is still allowed.
	assert.NoError(t, j.SetHttpMethod("PUT"))

	// The final-state check comes first.
	j2 := x.newJob(bits.Download, 0)
	_, err := j2.Cancel()
	require.NoError(t, err)
	isCode(t, hresult.BG_E_INVALID_STATE, j2.Resume())
}

func TestCompleteCodes(t *testing.T) {
	t.Run("no files", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 0)
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.S_OK, code)
		mustState(t, j, state.Acknowledged)
	})
	t.Run("first of two done", func(t *testing.T) {
		x := newFx(t)
		j := x.jobIn(bits.Download, 2, state.Transferring)
		st, err := engine.Of(j).FireFileDone(0)
		require.NoError(t, err)
		require.Equal(t, state.Transferring, st)
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.BG_S_PARTIAL_COMPLETE, code)
		mustState(t, j, state.Acknowledged)
		// Complete marks the kept file validated; the unfinished one not.
		v0, err := fileAt(t, j, 0).GetValidationState()
		require.NoError(t, err)
		assert.True(t, v0)
		v1, err := fileAt(t, j, 1).GetValidationState()
		require.NoError(t, err)
		assert.False(t, v1)
	})
	t.Run("suspended untransferred", func(t *testing.T) {
		x := newFx(t)
		j := x.newJob(bits.Download, 1)
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.BG_S_PARTIAL_COMPLETE, code)
		mustState(t, j, state.Acknowledged)
	})
}

// AddFile on a TRANSFERRED job leaves it TRANSFERRED until Resume, which then queues it
// (bits-behaviour T6, §14.4).
func TestAddFileToTransferredJob(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 1, state.Transferred)
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	mustState(t, j, state.Transferred)
	require.NoError(t, j.Resume())
	mustState(t, j, state.Queued)
	// Complete now is partial: the new file has not arrived.
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.BG_S_PARTIAL_COMPLETE, code)
}

// SetValidationState(false) on a finished file puts the job in ERROR with BG_E_VALIDATION_FAILED
// and resets the file's progress (bits-api §1.7).
func TestSetValidationStateFalse(t *testing.T) {
	x := newFx(t)
	j := x.jobIn(bits.Download, 1, state.Transferred)
	f := fileAt(t, j, 0)
	require.NoError(t, f.SetValidationState(false))
	mustState(t, j, state.Error)
	fp, err := f.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint64(0), fp.BytesTransferred)
	assert.False(t, fp.Completed)
	e, err := j.GetError()
	require.NoError(t, err)
	ctx, code, _ := e.GetError()
	assert.Equal(t, hresult.BG_E_VALIDATION_FAILED, code)
	assert.Equal(t, bits.ContextRemoteFile, ctx)
	// Resume downloads it again.
	require.NoError(t, j.Resume())
	mustState(t, j, state.Queued)
}
