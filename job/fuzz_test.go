package job_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// The fuzz targets of this file feed fuzzer-chosen arguments to every bits.Job and bits.File
// method that takes input and check, for each call:
//
//   - it returns nil or an *hresult.Error whose HRESULT is one the method documents (its doc
//     comment) or its state rule (state.RuleFor) can return, and errors.Is agrees with it;
//   - a failed call leaves the job's record exactly as it was;
//   - a successful call changes the record the way the method says, and nothing else, and the
//     getter, where there is one, returns what was set.

// fuzzOp is one input-taking method under test.
type fuzzOp int

const (
	opSetDisplayName fuzzOp = iota
	opSetDescription
	opAddFile
	opAddFileSet
	opAddFileWithRanges
	opSetNotifyCmdLine
	opSetCustomHeaders
	opSetHttpMethod
	opSetProxySettings
	opSetCredentials
	opRemoveCredentials
	opReplaceRemotePrefix
	opSetReplyFileName
	opSetProperty
	opSetPriority
	opSetNotifyFlags
	opSetMinimumRetryDelay
	opSetNoProgressTimeout
	opSetMaximumDownloadTime
	opSetSecurityFlags
	opSetFileACLFlags
	opSetPeerCachingFlags
	opFileSetRemoteName
	opFileSetValidationState
	opSetNotifyInterface
	opGetProperty
	opFileGetProperty
	opLifecycle // Resume, Suspend, Cancel, Complete, MakeCustomHeadersWriteOnly, TakeOwnership
	opEngine    // an engine event, to reach every state within one sequence
	opCount
)

var opNames = [...]string{"SetDisplayName", "SetDescription", "AddFile", "AddFileSet", "AddFileWithRanges",
	"SetNotifyCmdLine", "SetCustomHeaders", "SetHttpMethod", "SetProxySettings", "SetCredentials",
	"RemoveCredentials", "ReplaceRemotePrefix", "SetReplyFileName", "SetProperty", "SetPriority",
	"SetNotifyFlags", "SetMinimumRetryDelay", "SetNoProgressTimeout", "SetMaximumDownloadTime",
	"SetSecurityFlags", "SetFileACLFlags", "SetPeerCachingFlags", "File.SetRemoteName",
	"File.SetValidationState", "SetNotifyInterface", "GetProperty", "File.GetProperty", "lifecycle", "engine"}

// opNames names every op: the index is out of range, and the file does not compile, otherwise.
var _ = [1]struct{}{}[len(opNames)-int(opCount)]

// String returns the method's name.
func (op fuzzOp) String() string { return opNames[op] }

// documented lists, per method, the failure HRESULTs its doc comment names beyond those of its
// state rule (added by allowed) and E_ACCESSDENIED for a caller without access.
var documented = map[fuzzOp]struct {
	method    state.Method
	ownerOnly bool
	codes     []hresult.Code
}{
	opSetDisplayName: {state.SetDisplayName, false, []hresult.Code{hresult.BG_E_STRING_TOO_LONG, hresult.E_INVALIDARG}},
	opSetDescription: {state.SetDescription, false, []hresult.Code{hresult.BG_E_STRING_TOO_LONG, hresult.E_INVALIDARG}},
	opAddFile:        {state.AddFile, false, addFileCodes},
	opAddFileSet:     {state.AddFileSet, false, addFileCodes},
	opAddFileWithRanges: {state.AddFileWithRanges, false, append(slices.Clone(addFileCodes),
		hresult.E_NOTIMPL, hresult.BG_E_INVALID_RANGE, hresult.BG_E_OVERLAPPING_RANGES,
		hresult.BG_E_TOO_MANY_RANGES_IN_FILE, hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION)},
	opSetNotifyCmdLine: {state.SetNotifyCmdLine, false, []hresult.Code{hresult.E_INVALIDARG, hresult.BG_E_STRING_TOO_LONG}},
	opSetCustomHeaders: {state.SetCustomHeaders, true, []hresult.Code{hresult.BG_E_STRING_TOO_LONG, hresult.E_INVALIDARG}},
	opSetHttpMethod: {state.SetHttpMethod, false, []hresult.Code{hresult.E_INVALIDARG,
		hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD}},
	opSetProxySettings: {state.SetProxySettings, false, []hresult.Code{hresult.E_NOTIMPL, hresult.E_INVALIDARG,
		hresult.BG_E_PROXY_LIST_TOO_LARGE, hresult.BG_E_PROXY_BYPASS_LIST_TOO_LARGE}},
	opSetCredentials: {state.SetCredentials, true, []hresult.Code{hresult.BG_E_INVALID_AUTH_TARGET,
		hresult.BG_E_INVALID_AUTH_SCHEME, hresult.BG_E_USERNAME_TOO_LARGE, hresult.BG_E_PASSWORD_TOO_LARGE, hresult.E_INVALIDARG}},
	opRemoveCredentials:   {state.RemoveCredentials, true, []hresult.Code{hresult.BG_E_INVALID_AUTH_TARGET, hresult.BG_E_INVALID_AUTH_SCHEME}},
	opReplaceRemotePrefix: {state.ReplaceRemotePrefix, false, []hresult.Code{hresult.E_INVALIDARG, hresult.E_NOTIMPL}},
	opSetReplyFileName: {state.SetReplyFileName, false, []hresult.Code{hresult.E_NOTIMPL, hresult.E_INVALIDARG,
		hresult.ERROR_PATH_NOT_FOUND, hresult.E_ACCESSDENIED}},
	opSetProperty: {state.SetProperty, false, []hresult.Code{hresult.BG_E_UNKNOWN_PROPERTY_ID, hresult.E_INVALIDARG,
		hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED,
		hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
		hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD,
		hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION}},
	opSetPriority:            {state.SetPriority, false, []hresult.Code{hresult.E_NOTIMPL, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD}},
	opSetNotifyFlags:         {state.SetNotifyFlags, false, []hresult.Code{hresult.E_NOTIMPL}},
	opSetMinimumRetryDelay:   {state.SetMinimumRetryDelay, false, nil},
	opSetNoProgressTimeout:   {state.SetNoProgressTimeout, false, nil},
	opSetMaximumDownloadTime: {state.SetMaximumDownloadTime, false, nil},
	opSetSecurityFlags:       {state.SetSecurityFlags, false, []hresult.Code{hresult.E_NOTIMPL}},
	opSetFileACLFlags:        {state.SetFileACLFlags, false, []hresult.Code{hresult.E_INVALIDARG}},
	opSetPeerCachingFlags:    {state.SetPeerCachingFlags, false, []hresult.Code{hresult.E_INVALIDARG}},
	opFileSetRemoteName:      {state.FileSetRemoteName, false, []hresult.Code{hresult.E_INVALIDARG}},
	opFileSetValidationState: {state.FileSetValidationState, false, []hresult.Code{hresult.E_PENDING}},
	opSetNotifyInterface:     {state.SetNotifyInterface, false, nil},
	opGetProperty:            {state.GetProperty, false, []hresult.Code{hresult.BG_E_UNKNOWN_PROPERTY_ID}},
	opFileGetProperty:        {0, false, []hresult.Code{hresult.BG_E_UNKNOWN_PROPERTY_ID}},
}

var addFileCodes = []hresult.Code{hresult.E_INVALIDARG, hresult.ERROR_PATH_NOT_FOUND, hresult.E_ACCESSDENIED,
	hresult.BG_E_TOO_MANY_FILES, hresult.BG_E_TOO_MANY_FILES_IN_JOB}

// allowed reports whether code is a failure op may return to a caller: documented, from the
// method's state rule, or E_ACCESSDENIED where the job's owner (owner) refuses the caller id access.
func allowed(op fuzzOp, code hresult.Code, id, owner job.Identity) bool {
	if !id.Admin && id.SID != owner.SID {
		return code == hresult.E_ACCESSDENIED // access is checked before anything else
	}
	d := documented[op]
	if code == hresult.E_ACCESSDENIED && d.ownerOnly && id.SID != owner.SID {
		return true
	}
	if slices.Contains(d.codes, code) {
		return true
	}
	if rule, ok := state.RuleFor(d.method); ok && d.method != 0 {
		for _, c := range rule.Cases {
			if c.Code.Failed() && c.Code == code {
				return true
			}
		}
	}
	return false
}

// decoder turns fuzz bytes into arguments; when the bytes run out it returns zero values.
type decoder struct {
	b   []byte
	fx  *fx
	pad string // a long run of one character, sliced for strings at the limits
}

func (d *decoder) more() bool { return len(d.b) > 0 }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) raw(n int) []byte {
	n = min(n, len(d.b))
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

// interesting32 are flag and policy values the uint32 arguments are drawn from.
var interesting32 = []uint32{
	0, 1, 2, 3, 4, 5, 7, 0xF, 0x10, 0x1F, 0x20, 0x3F, 0x40, 0x100, 0x200, 0x300, 0x400, 0x700, 0x800,
	0x900, 0xA00, 0x1000, 500, 600, 1_209_600, 7_776_000, bits.TransferPolicyAlways, bits.TransferPolicyStandard,
	bits.CostOptionIgnoreCongestion, bits.CostStateReserved, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
}

func (d *decoder) u32() uint32 {
	s := d.byte()
	switch {
	case s < 0x40:
		return uint32(s)
	case s < 0x80:
		return 1 << (s & 31)
	case s < 0xE0:
		return interesting32[int(s)%len(interesting32)]
	}
	var b [4]byte
	copy(b[:], d.raw(4))
	return binary.LittleEndian.Uint32(b[:])
}

func (d *decoder) u64() uint64 {
	s := d.byte()
	switch {
	case s < 0x80:
		return uint64(s)
	case s < 0xA0:
		return bits.LengthToEOF
	case s < 0xE0:
		return 1 << (s & 63)
	}
	var b [8]byte
	copy(b[:], d.raw(8))
	return binary.LittleEndian.Uint64(b[:])
}

// limits are the string lengths at which the job package's checks change their answer.
var limits = []int{255, 256, 257, 259, 260, 261, 299, 300, 301, 1023, 1024, 1025, 2199, 2200, 2201,
	3999, 4000, 4001, 16382, 16383, 16384, 32766, 32767, 32768, 65535, 65536}

// str returns a string: one of a pool of valid and boundary values, fuzz bytes, or a prefix
// joined to fuzz bytes (so that the fuzzer reaches deep into URL and path parsing).
func (d *decoder) str() string {
	s := d.byte()
	dir := d.fx.dir
	raw := func() string { return string(d.raw(int(d.byte()))) }
	switch s % 24 {
	case 0:
		return ""
	case 1:
		return d.fx.remote()
	case 2:
		return d.fx.local()
	case 3:
		return "https://example.com:8443/a/b?x=1#f"
	case 4:
		return "http://example.com/" + raw()
	case 5:
		return filepath.Join(dir, raw())
	case 6:
		return filepath.Join(dir, "missing", "x.bin")
	case 7:
		return "relative/x.bin"
	case 8:
		return "http://" + raw()
	case 9:
		return "file://" + raw()
	case 10:
		return `\\server\share\` + raw()
	case 11:
		return "X-Name: value\r\n" + raw()
	case 12:
		return "a\x00b"
	case 13:
		return "\xff\xfe"
	case 14:
		return "é😀"
	case 15:
		n := limits[int(d.byte())%len(limits)]
		return d.pad[:n]
	case 16:
		n := limits[int(d.byte())%len(limits)]
		return "http://example.com/" + d.pad[:n]
	case 17:
		n := limits[int(d.byte())%len(limits)]
		return filepath.Join(dir, d.pad[:min(n, len(d.pad))])
	case 18:
		return "GET"
	case 19:
		return "BITS_POST"
	case 20:
		return "proxy.example:8080 other:3128"
	case 21:
		return "/usr/bin/true"
	case 22:
		return strings.Repeat("😀", int(d.byte())+1)
	}
	return raw()
}

func (d *decoder) bool() bool { return d.byte()&1 == 1 }

func (d *decoder) ranges() []bits.FileRange {
	n := int(d.byte() % 5)
	out := make([]bits.FileRange, n)
	for i := range out {
		out[i] = bits.FileRange{InitialOffset: d.u64(), Length: d.u64()}
	}
	return out
}

func (d *decoder) value() bits.PropertyValue {
	v := bits.PropertyValue{Dword: d.u32(), Enable: d.bool(), Uint64: d.u64(), Target: bits.AuthTarget(d.u32())}
	if d.bool() {
		v.ClsID = uuid.MustParse("4991d34b-80a1-4291-83b6-3328366b9097")
	}
	return v
}

// normal returns r without the fields every successful call moves (the change counter and the
// modification time), and with no difference between empty and nil lists, for comparing
// records.
func normal(r job.Record) job.Record {
	r.Seq = 0
	r.Modified = time.Time{}
	if len(r.Credentials) == 0 {
		r.Credentials = nil
	}
	if len(r.Files) == 0 {
		r.Files = nil
	}
	return r
}

// callbackA is a callback to set and read back.
var callbackA = &nopCallback{name: "a"}

// fuzzJob runs the call sequence data describes on a fresh job and checks every call.
func fuzzJob(t *testing.T, data []byte) {
	f := newFx(t)
	d := &decoder{b: data, fx: f, pad: strings.Repeat("a", 70000)}
	typ := bits.JobType(d.byte() % 3)
	nfiles := int(d.byte() % 3)
	if typ != bits.Download {
		nfiles = min(nfiles, 1)
	}
	j := f.newJob(typ, nfiles)
	if nfiles > 0 {
		driveTo(t, j, allStates[int(d.byte())%len(allStates)])
	}
	eng := engine.Of(j)
	callers := map[job.Identity]bits.Job{
		ownerID: j,
		adminID: eng.As(job.NewCaller(adminID)),
		otherID: eng.As(job.NewCaller(otherID)),
	}
	for steps := 0; d.more() && steps < 64; steps++ {
		b := d.byte()
		op := fuzzOp(int(b) % int(opCount))
		id := ownerID
		switch int(b) / int(opCount) {
		case 7:
			id = adminID
		case 8:
			id = otherID
		}
		gen, view := eng.NotifyGen(), eng.NotifyView()
		runOp(t, d, j, callers[id], id, op)
		if t.Failed() {
			return
		}
		checkNotifyGen(t, eng, gen, view, op)
	}
}

// checkNotifyGen checks Engine.NotifyGen's promise after a call: when the generation is what it
// was before, the view is the one read before, but for its State (whose finality did not change)
// and its file count.
func checkNotifyGen(t *testing.T, eng *job.Engine, gen uint32, before job.NotifyView, op fuzzOp) {
	t.Helper()
	if eng.NotifyGen() != gen {
		return
	}
	after := eng.NotifyView()
	assert.Equal(t, before.State.Final(), after.State.Final(), "%v: the job became final without a new NotifyGen", op)
	before.State, before.Files = after.State, after.Files
	assert.Equal(t, before, after, "%v changed the notification view without a new NotifyGen", op)
}

// file returns file i of the job (modulo its count) through h, or nil when it has none.
func fileOf(t *testing.T, h bits.Job, i int) bits.File {
	e, err := h.EnumFiles()
	if err != nil {
		return nil
	}
	n := enumCount(e)
	if n == 0 {
		return nil
	}
	_, _ = e.Skip(uint32(i % int(n)))
	fs, _, _ := e.Next(1)
	require.Len(t, fs, 1)
	return fs[0]
}

// runOp decodes one call of op, makes it through h (the handle of caller id) and checks it.
func runOp(t *testing.T, d *decoder, owner, h bits.Job, id job.Identity, op fuzzOp) {
	eng := engine.Of(owner)
	before := eng.Record()
	// rd reads the job back: the owner's handle, or an administrator's once another user
	// took ownership.
	rd := owner
	if before.Owner.SID != ownerID.SID {
		rd = eng.As(job.NewCaller(adminID))
	}
	var (
		err    error
		code   = hresult.S_OK
		expect func(r *job.Record) // the record change a success makes; nil: checked by after
		after  func()              // further checks after a success
		desc   string
	)
	switch op {
	case opSetDisplayName:
		s := d.str()
		desc = fmt.Sprintf("SetDisplayName(%.80q)", s)
		err = h.SetDisplayName(s)
		expect = func(r *job.Record) { r.DisplayName = s }
		after = func() { got, gerr := rd.GetDisplayName(); require.NoError(t, gerr); assert.Equal(t, s, got) }
	case opSetDescription:
		s := d.str()
		desc = fmt.Sprintf("SetDescription(%.80q)", s)
		err = h.SetDescription(s)
		expect = func(r *job.Record) { r.Description = s }
		after = func() { got, gerr := rd.GetDescription(); require.NoError(t, gerr); assert.Equal(t, s, got) }
	case opAddFile, opAddFileSet, opAddFileWithRanges:
		var infos []bits.FileInfo
		var ranges []bits.FileRange
		switch op {
		case opAddFile:
			infos = []bits.FileInfo{{RemoteName: d.str(), LocalName: d.str()}}
			err = h.AddFile(infos[0].RemoteName, infos[0].LocalName)
		case opAddFileSet:
			n := int(d.byte() % 4)
			for range n {
				infos = append(infos, bits.FileInfo{RemoteName: d.str(), LocalName: d.str()})
			}
			err = h.AddFileSet(infos)
		default:
			infos = []bits.FileInfo{{RemoteName: d.str(), LocalName: d.str()}}
			ranges = d.ranges()
			err = h.AddFileWithRanges(infos[0].RemoteName, infos[0].LocalName, ranges)
		}
		desc = fmt.Sprintf("%v(%.200q, %v)", op, infos, ranges)
		after = func() {
			now := eng.Record()
			require.Len(t, now.Files, len(before.Files)+len(infos), desc)
			assert.Equal(t, before.Files, now.Files[:len(before.Files)], desc)
			for k, fi := range infos {
				got := now.Files[len(before.Files)+k]
				assert.Equal(t, fi.RemoteName, got.RemoteName, desc)
				assert.Equal(t, fi.LocalName, got.LocalName, desc)
				if len(ranges) > 0 {
					assert.Equal(t, ranges, got.Ranges, desc)
				} else {
					assert.Empty(t, got.Ranges, desc)
				}
			}
			if len(ranges) > 0 {
				fr, rcode, gerr := fileOf(t, rd, len(now.Files)-1).GetFileRanges()
				require.NoError(t, gerr)
				assert.Equal(t, hresult.S_OK, rcode)
				assert.Equal(t, ranges, fr, desc)
			}
			now.Files, before.Files = nil, nil
			assert.Equal(t, normal(before), normal(now), desc)
		}
	case opSetNotifyCmdLine:
		p, a := d.str(), d.str()
		desc = fmt.Sprintf("SetNotifyCmdLine(%.80q, %.80q)", p, a)
		err = h.SetNotifyCmdLine(p, a)
		expect = func(r *job.Record) { r.CmdProgram, r.CmdParams, r.CmdCaller = p, a, id }
		after = func() {
			got, gerr := rd.GetNotifyCmdLine()
			require.NoError(t, gerr)
			assert.Equal(t, bits.NotifyCmdLine{Program: p, Parameters: a}, got, desc)
		}
	case opSetCustomHeaders:
		s := d.str()
		desc = fmt.Sprintf("SetCustomHeaders(%.80q)", s)
		err = h.SetCustomHeaders(s)
		expect = func(r *job.Record) { r.CustomHeaders = s }
		after = func() {
			got, gcode, gerr := rd.GetCustomHeaders()
			if before.CustomHeadersWriteOnly {
				isCode(t, hresult.E_ACCESSDENIED, gerr, desc)
				return
			}
			require.NoError(t, gerr)
			assert.Equal(t, s, got, desc)
			if s == "" {
				assert.Equal(t, hresult.S_FALSE, gcode, desc)
			}
		}
	case opSetHttpMethod:
		s := d.str()
		desc = fmt.Sprintf("SetHttpMethod(%.80q)", s)
		err = h.SetHttpMethod(s)
		def := map[bits.JobType]string{bits.Download: "GET", bits.Upload: "BITS_POST", bits.UploadReply: "BITS_POST"}[before.Type]
		expect = func(r *job.Record) {
			if s == def {
				r.HTTPMethod = "" // the default verb removes a custom one; the priority stays
			} else {
				r.HTTPMethod, r.Priority = s, bits.Foreground
			}
		}
		after = func() { got, gerr := rd.GetHttpMethod(); require.NoError(t, gerr); assert.Equal(t, s, got, desc) }
	case opSetProxySettings:
		u := bits.ProxyUsage(d.u32())
		p, b := d.str(), d.str()
		desc = fmt.Sprintf("SetProxySettings(%d, %.80q, %.80q)", u, p, b)
		err = h.SetProxySettings(u, p, b)
		expect = func(r *job.Record) { r.ProxyUsage, r.ProxyList, r.ProxyBypass = u, p, b }
		after = func() {
			got, gerr := rd.GetProxySettings()
			require.NoError(t, gerr)
			assert.Equal(t, bits.ProxySettings{Usage: u, ProxyList: p, BypassList: b}, got, desc)
		}
	case opSetCredentials:
		cr := bits.Credentials{Target: bits.AuthTarget(d.u32()), Scheme: bits.AuthScheme(d.u32()), UserName: d.str(), Password: d.str()}
		desc = fmt.Sprintf("SetCredentials(%d, %d, %.40q, %.40q)", cr.Target, cr.Scheme, cr.UserName, cr.Password)
		err = h.SetCredentials(cr)
		expect = func(r *job.Record) {
			creds := slices.Clone(r.Credentials)
			k := slices.IndexFunc(creds, func(c bits.Credentials) bool { return c.Target == cr.Target && c.Scheme == cr.Scheme })
			if k >= 0 {
				creds[k] = cr
			} else {
				creds = append(creds, cr)
			}
			r.Credentials = creds
		}
	case opRemoveCredentials:
		tg, sc := bits.AuthTarget(d.u32()), bits.AuthScheme(d.u32())
		desc = fmt.Sprintf("RemoveCredentials(%d, %d)", tg, sc)
		code, err = h.RemoveCredentials(tg, sc)
		had := slices.IndexFunc(before.Credentials, func(c bits.Credentials) bool { return c.Target == tg && c.Scheme == sc })
		expect = func(r *job.Record) {
			if had >= 0 {
				r.Credentials = slices.Delete(slices.Clone(r.Credentials), had, had+1)
			}
		}
		after = func() {
			if had >= 0 {
				assert.Equal(t, hresult.S_OK, code, desc)
			} else {
				assert.Equal(t, hresult.S_FALSE, code, desc)
			}
		}
	case opReplaceRemotePrefix:
		o, n := d.str(), d.str()
		desc = fmt.Sprintf("ReplaceRemotePrefix(%.80q, %.80q)", o, n)
		code, err = h.ReplaceRemotePrefix(o, n)
		changed := 0
		expect = func(r *job.Record) {
			files := slices.Clone(r.Files)
			for k := range files {
				if !files[k].Completed && strings.HasPrefix(files[k].RemoteName, o) {
					files[k].RemoteName = n + files[k].RemoteName[len(o):]
					changed++
				}
			}
			r.Files = files
		}
		after = func() {
			if changed > 0 {
				assert.Equal(t, hresult.S_OK, code, desc)
			} else {
				assert.Equal(t, hresult.S_FALSE, code, desc)
			}
		}
	case opSetReplyFileName:
		s := d.str()
		desc = fmt.Sprintf("SetReplyFileName(%.80q)", s)
		err = h.SetReplyFileName(s)
		expect = func(r *job.Record) { r.ReplyFileName = s }
		after = func() {
			got, gerr := rd.GetReplyFileName()
			require.NoError(t, gerr)
			if s != "" {
				assert.Equal(t, s, got, desc)
			}
		}
	case opSetProperty:
		pid := bits.PropertyID(d.u32())
		v := d.value()
		desc = fmt.Sprintf("SetProperty(%v, %+v)", pid, v)
		err = h.SetProperty(pid, v)
		expect = func(r *job.Record) {
			switch pid {
			case bits.PropertyCostFlags:
				r.CostFlags = v.Dword
			case bits.PropertyNotificationCLSID:
				r.NotificationCLSID = v.ClsID
			case bits.PropertyDynamicContent:
				r.DynamicContent = v.Enable
			case bits.PropertyHighPerformance:
				r.HighPerformance = v.Enable
			case bits.PropertyMaxDownloadSize:
				r.MaxDownloadSize = v.Uint64
			case bits.PropertyUseStoredCredentials:
				r.UseStoredCredentials = v.Target
			case bits.PropertyMinimumNotificationIntervalMs:
				r.MinNotificationIntervalMs = v.Dword
			case bits.PropertyOnDemandMode:
				r.OnDemand = v.Enable
			default:
				t.Errorf("%s succeeded for an unknown property", desc)
			}
		}
		after = func() {
			got, gerr := rd.GetProperty(pid)
			require.NoError(t, gerr)
			var want bits.PropertyValue
			switch pid {
			case bits.PropertyCostFlags, bits.PropertyMinimumNotificationIntervalMs:
				want.Dword = v.Dword
			case bits.PropertyNotificationCLSID:
				want.ClsID = v.ClsID
			case bits.PropertyDynamicContent, bits.PropertyHighPerformance, bits.PropertyOnDemandMode:
				want.Enable = v.Enable
			case bits.PropertyMaxDownloadSize:
				want.Uint64 = v.Uint64
			case bits.PropertyUseStoredCredentials:
				want.Target = v.Target
			}
			assert.Equal(t, want, got, desc)
		}
	case opSetPriority:
		p := bits.Priority(d.u32())
		desc = fmt.Sprintf("SetPriority(%d)", p)
		err = h.SetPriority(p)
		expect = func(r *job.Record) { r.Priority = p }
		after = func() { got, gerr := rd.GetPriority(); require.NoError(t, gerr); assert.Equal(t, p, got, desc) }
	case opSetNotifyFlags, opSetMinimumRetryDelay, opSetNoProgressTimeout, opSetMaximumDownloadTime,
		opSetSecurityFlags, opSetFileACLFlags, opSetPeerCachingFlags:
		v := d.u32()
		desc = fmt.Sprintf("%v(%#x)", op, v)
		var get func() (uint32, error)
		want := v
		switch op {
		case opSetNotifyFlags:
			err, get = h.SetNotifyFlags(v), rd.GetNotifyFlags
			expect = func(r *job.Record) { r.NotifyFlags = want }
		case opSetMinimumRetryDelay:
			want = max(v, job.MinimumRetryDelayFloor)
			err, get = h.SetMinimumRetryDelay(v), rd.GetMinimumRetryDelay
			expect = func(r *job.Record) { r.MinimumRetryDelay = want }
		case opSetNoProgressTimeout:
			err, get = h.SetNoProgressTimeout(v), rd.GetNoProgressTimeout
			expect = func(r *job.Record) { r.NoProgressTimeout = want }
		case opSetMaximumDownloadTime:
			err, get = h.SetMaximumDownloadTime(v), rd.GetMaximumDownloadTime
			expect = func(r *job.Record) { r.MaximumDownloadTime = want }
		case opSetSecurityFlags:
			err, get = h.SetSecurityFlags(v), rd.GetSecurityFlags
			expect = func(r *job.Record) { r.SecurityFlags = want }
		case opSetFileACLFlags:
			err, get = h.SetFileACLFlags(v), rd.GetFileACLFlags
			expect = func(r *job.Record) { r.FileACLFlags = want }
		case opSetPeerCachingFlags:
			err, get = h.SetPeerCachingFlags(v), rd.GetPeerCachingFlags
			expect = func(r *job.Record) { r.PeerCachingFlags = want }
		}
		after = func() { got, gerr := get(); require.NoError(t, gerr); assert.Equal(t, want, got, desc) }
	case opFileSetRemoteName:
		k := int(d.byte())
		s := d.str()
		desc = fmt.Sprintf("File(%d).SetRemoteName(%.120q)", k, s)
		fh, fid := fileCaller(rd, h, id, before.Owner)
		id = fid
		fl := fileOf(t, fh, k)
		if fl == nil {
			return
		}
		k %= len(before.Files)
		err = fl.SetRemoteName(s)
		expect = func(r *job.Record) {
			r.Files = slices.Clone(r.Files)
			r.Files[k].RemoteName = s
		}
		after = func() { got, gerr := fl.GetRemoteName(); require.NoError(t, gerr); assert.Equal(t, s, got, desc) }
	case opFileSetValidationState:
		k := int(d.byte())
		v := d.bool()
		desc = fmt.Sprintf("File(%d).SetValidationState(%v)", k, v)
		fh, fid := fileCaller(rd, h, id, before.Owner)
		id = fid
		fl := fileOf(t, fh, k)
		if fl == nil {
			return
		}
		err = fl.SetValidationState(v)
		after = func() {
			got, gerr := fl.GetValidationState()
			require.NoError(t, gerr)
			assert.Equal(t, v, got, desc)
			want := before.State
			if !v {
				want = state.Error
			}
			mustState(t, rd, want, desc)
		}
	case opSetNotifyInterface:
		var cb bits.Callback
		if d.bool() {
			cb = callbackA
		}
		desc = fmt.Sprintf("SetNotifyInterface(%v)", cb)
		err = h.SetNotifyInterface(cb)
		expect = func(*job.Record) {}
		after = func() { got, gerr := h.GetNotifyInterface(); require.NoError(t, gerr); assert.Equal(t, cb, got, desc) }
	case opGetProperty:
		pid := bits.PropertyID(d.u32())
		desc = fmt.Sprintf("GetProperty(%v)", pid)
		_, err = h.GetProperty(pid)
		expect = func(*job.Record) {}
		if err == nil {
			assert.NotEqual(t, fmt.Sprintf("BITS_JOB_PROPERTY_ID(%d)", uint32(pid)), pid.String(), "%s succeeded", desc)
		}
	case opFileGetProperty:
		pid := d.u32()
		desc = fmt.Sprintf("File.GetProperty(%d)", pid)
		fh, fid := fileCaller(rd, h, id, before.Owner)
		id = fid
		fl := fileOf(t, fh, 0)
		if fl == nil {
			return
		}
		_, err = fl.GetProperty(pid)
		expect = func(*job.Record) {}
		if err == nil {
			assert.Equal(t, bits.FilePropertyHTTPResponseHeaders, pid, desc)
		}
	case opLifecycle:
		runLifecycle(t, d, h)
		return
	case opEngine:
		runEngine(t, d, owner)
		return
	}
	now := eng.Record()
	if err != nil {
		var he *hresult.Error
		if !assert.Truef(t, errors.As(err, &he), "%s: error %T %v is not an *hresult.Error", desc, err, err) {
			return
		}
		assert.Truef(t, allowed(op, he.Code, id, before.Owner), "%s as %s: undocumented %v (%v)", desc, id.SID, he.Code, err)
		assert.Truef(t, errors.Is(err, he.Code), "%s: errors.Is(err, %v) is false", desc, he.Code)
		assert.Equal(t, before, now, "%s failed with %v but changed the job", desc, he.Code)
		return
	}
	if expect != nil {
		want := before
		expect(&want)
		assert.Equal(t, normal(want), normal(now), "%s: the record changed otherwise than set", desc)
	}
	if after != nil {
		after()
	}
}

// fileCaller returns h and its caller id, or rd and its caller when id has no access to the
// job (file handles are reached through EnumFiles, which such a caller may not call).
func fileCaller(rd, h bits.Job, id, owner job.Identity) (bits.Job, job.Identity) {
	if id.Admin || id.SID == owner.SID {
		return h, id
	}
	return rd, engine.CallerOf(rd).Identity()
}

// runLifecycle makes one call without arguments that moves the job, so that a sequence visits
// the states; its result is checked to be nil or an *hresult.Error.
func runLifecycle(t *testing.T, d *decoder, h bits.Job) {
	var err error
	switch d.byte() % 6 {
	case 0:
		err = h.Resume()
	case 1:
		err = h.Suspend()
	case 2:
		_, err = h.Cancel()
	case 3:
		_, err = h.Complete()
	case 4:
		err = h.MakeCustomHeadersWriteOnly()
	case 5:
		err = h.TakeOwnership()
	}
	if err != nil {
		var he *hresult.Error
		assert.Truef(t, errors.As(err, &he), "lifecycle call: %T %v is not an *hresult.Error", err, err)
	}
}

// runEngine applies one engine event, as the transfer engine would.
func runEngine(t *testing.T, d *decoder, j bits.Job) {
	eng := engine.Of(j)
	var err error
	switch d.byte() % 5 {
	case 0:
		_, err = eng.Fire(state.Pick)
	case 1:
		_, err = eng.Fire(state.Connect)
	case 2:
		_, err = eng.FireFileDone(int(d.byte()) % max(1, len(eng.Record().Files)))
	case 3:
		_, err = eng.FireError(state.TransientFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_503, File: -1, Protocol: "http"})
	case 4:
		_, err = eng.FireError(state.FatalFailure, job.Failure{Context: bits.ContextRemoteFile, Code: hresult.BG_E_HTTP_ERROR_404, File: -1, Protocol: "http"})
	}
	if err != nil {
		var he *hresult.Error
		assert.Truef(t, errors.As(err, &he), "engine event: %T %v is not an *hresult.Error", err, err)
	}
}

// seq builds a fuzz input: job type, file count, state index, then op bytes and their arguments.
func seq(typ bits.JobType, nfiles, st byte, rest ...byte) []byte {
	return append([]byte{byte(typ), nfiles, st}, rest...)
}

// FuzzJobCalls runs short sequences of calls of every input-taking job and file method, as the
// owner, an administrator or another user, from every state, and checks each call's result
// and its effect on the job's record.
func FuzzJobCalls(f *testing.F) {
	// One seed per method with a valid argument (pool entries) and one with a boundary value.
	for op := fuzzOp(0); op < opCount; op++ {
		for _, st := range []byte{0, 1, 3, 6, 8} {
			f.Add(seq(bits.Download, 1, st, byte(op), 1, 2, 1, 2, 1, 2))
			f.Add(seq(bits.Download, 2, st, byte(op), 15, 5, 15, 11, 16, 3))
			f.Add(seq(bits.UploadReply, 1, st, byte(op), 3, 2, 18, 21, 0, 0))
			f.Add(seq(bits.Download, 0, st, byte(op)+8*byte(opCount), 0, 0, 0))
		}
	}
	// Valid value sequences: display name, headers, command line, ranges, properties.
	f.Add(seq(bits.Download, 0, 0, byte(opSetDisplayName), 15, 1, byte(opSetDisplayName), 15, 2))
	f.Add(seq(bits.Download, 0, 0, byte(opAddFileWithRanges), 1, 2, 2, 0, 10, 5, 20, 0x98))
	f.Add(seq(bits.Download, 0, 0, byte(opSetProperty), 3, 0, 1, 0, 0, byte(opAddFileWithRanges), 1, 2, 1, 0, 10))
	f.Add(seq(bits.Download, 1, 0, byte(opSetCredentials), 2, 1, 1, 1, 1, 2, byte(opRemoveCredentials), 2, 1))
	f.Add(seq(bits.Download, 2, 0, byte(opReplaceRemotePrefix), 23, 19, 'h', 't', 't', 'p', ':', '/', '/', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', '/', 4, 0))
	f.Add(seq(bits.Download, 1, 6, byte(opFileSetValidationState), 0, 0, byte(opLifecycle), 0))
	f.Add(seq(bits.Download, 1, 0, byte(opSetHttpMethod), 23, 3, 'P', 'U', 'T', byte(opSetPriority), 2, byte(opSetProperty), 10, 0, 1))
	f.Fuzz(fuzzJob)
}

// checkCall asserts that err is nil or an *hresult.Error that op documents for the owner, and
// that a failure left rec as it was; it returns the error's code (S_OK for nil).
func checkCall(t *testing.T, j bits.Job, op fuzzOp, before job.Record, err error, desc string) hresult.Code {
	t.Helper()
	if err == nil {
		return hresult.S_OK
	}
	var he *hresult.Error
	require.Truef(t, errors.As(err, &he), "%s: %T %v is not an *hresult.Error", desc, err, err)
	assert.Truef(t, allowed(op, he.Code, ownerID, before.Owner), "%s: undocumented %v (%v)", desc, he.Code, err)
	assert.Equal(t, before, engine.Of(j).Record(), "%s failed but changed the job", desc)
	return he.Code
}

// FuzzAddFile fuzzes the remote and local names of AddFile and checks that the remote-name
// parsers agree: a remote name AddFile accepts is accepted by File.SetRemoteName and as a
// ReplaceRemotePrefix result, and one it refuses with E_INVALIDARG (for a good local name) is
// refused by both.
func FuzzAddFile(f *testing.F) {
	for _, r := range []string{
		"http://example.com/a.bin", "https://example.com:443/a/b?c=d#e", "HTTP://EXAMPLE.COM/x",
		"http://[::1]:80/x", "http://user:pw@host/x", "http://host:/x", "http://:80/x", "http://host:8a/x",
		"http://[::1/x", "http://h/%zz", "http://h/%4", "http://h/a b", "ftp://h/x", "file:///tmp/x",
		"file://server/share/x", `\\server\share\x`, `\\server`, "/abs/path", "relative", "", "http://",
		"http://h/" + strings.Repeat("a", 261), "http://h/" + strings.Repeat("a", 2200), "http://h\x00/x",
	} {
		f.Add(r, "x.bin", true)
	}
	for _, l := range []string{"", "x.bin", "missing/x.bin", "a*b", "a:b", ".", "..", strings.Repeat("b", 300)} {
		f.Add("http://example.com/a.bin", l, true)
	}
	f.Add("http://example.com/a.bin", "relative.bin", false)
	f.Fuzz(func(t *testing.T, remote, local string, inDir bool) {
		fx := newFx(t)
		if inDir {
			local = filepath.Join(fx.dir, local)
		}
		j := fx.newJob(bits.Download, 1)
		before := engine.Of(j).Record()
		desc := fmt.Sprintf("AddFile(%q, %q)", remote, local)
		code := checkCall(t, j, opAddFile, before, j.AddFile(remote, local), desc)
		if code == hresult.S_OK {
			files := engine.Of(j).Record().Files
			require.Len(t, files, 2)
			assert.Equal(t, remote, files[1].RemoteName)
			assert.Equal(t, local, files[1].LocalName)
		}
		// Whether the remote name alone is good: AddFile with a good local name, on another job.
		probe := fx.newJob(bits.Download, 0)
		pbefore := engine.Of(probe).Record()
		good := checkCall(t, probe, opAddFile, pbefore, probe.AddFile(remote, fx.local()), "probe "+desc) == hresult.S_OK
		if code == hresult.S_OK {
			assert.True(t, good, "%s succeeded but the remote name alone is refused", desc)
		}
		// The same remote name through File.SetRemoteName.
		fl := fileOf(t, j, 0)
		before = engine.Of(j).Record()
		serr := fl.SetRemoteName(remote)
		checkCall(t, j, opFileSetRemoteName, before, serr, fmt.Sprintf("SetRemoteName(%q)", remote))
		assert.Equal(t, good, serr == nil, "AddFile and SetRemoteName disagree on %q: %v", remote, serr)
		// And as the whole result of ReplaceRemotePrefix.
		require.NoError(t, fl.SetRemoteName("http://example.com/a"))
		before = engine.Of(j).Record()
		rcode, rerr := j.ReplaceRemotePrefix("http://example.com/a", remote)
		checkCall(t, j, opReplaceRemotePrefix, before, rerr, fmt.Sprintf("ReplaceRemotePrefix(_, %q)", remote))
		assert.Equal(t, good, rerr == nil, "AddFile and ReplaceRemotePrefix disagree on %q: %v", remote, rerr)
		if rerr == nil {
			assert.Equal(t, hresult.S_OK, rcode)
			got, err := fl.GetRemoteName()
			require.NoError(t, err)
			assert.Equal(t, remote, got)
		}
	})
}

// FuzzSetCustomHeaders checks SetCustomHeaders: a documented result, and a block that is
// accepted reads back byte for byte and consists of "Name: value" lines whose names are HTTP
// tokens.
func FuzzSetCustomHeaders(f *testing.F) {
	for _, s := range []string{"", "A: b", "A: b\r\n", "A: b\r\nC: d\r\n", "A:b", ": b", "A b: c", "A: b\n",
		"A: b\r\nC", "A: b\r\n\r\n", "X-é: 1", "A: é", "A: \x01", strings.Repeat("A: b\r\n", 2731)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j := newFx(t).newJob(bits.Download, 0)
		before := engine.Of(j).Record()
		code := checkCall(t, j, opSetCustomHeaders, before, j.SetCustomHeaders(s), fmt.Sprintf("SetCustomHeaders(%q)", s))
		if code != hresult.S_OK {
			return
		}
		got, _, err := j.GetCustomHeaders()
		require.NoError(t, err)
		assert.Equal(t, s, got)
		for _, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
			if s == "" {
				break
			}
			name, _, ok := strings.Cut(line, ":")
			assert.True(t, ok && name != "" && !strings.ContainsAny(name, " \t\r\n:"), "accepted line %q", line)
			assert.NotContains(t, line, "\n")
		}
	})
}

// FuzzSetNotifyCmdLine checks SetNotifyCmdLine: a documented result; an accepted program is ""
// (with "" parameters) or an absolute path; the getter returns what was set.
func FuzzSetNotifyCmdLine(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"/usr/bin/true", ""}, {"/usr/bin/true", "true a b"}, {"", "x"},
		{"rel", ""}, {"/a\x00", ""}, {"/" + strings.Repeat("p", 259), ""}, {"/" + strings.Repeat("p", 260), ""},
		{"/x", strings.Repeat("q", 4000)}, {"/x", strings.Repeat("q", 4001)}, {"/x", "\xff"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, program, params string) {
		j := newFx(t).newJob(bits.Download, 0)
		before := engine.Of(j).Record()
		code := checkCall(t, j, opSetNotifyCmdLine, before, j.SetNotifyCmdLine(program, params),
			fmt.Sprintf("SetNotifyCmdLine(%q, %q)", program, params))
		if code != hresult.S_OK {
			return
		}
		assert.True(t, program == "" && params == "" || filepath.IsAbs(program), "accepted program %q", program)
		got, err := j.GetNotifyCmdLine()
		require.NoError(t, err)
		assert.Equal(t, bits.NotifyCmdLine{Program: program, Parameters: params}, got)
	})
}

// FuzzSetProxySettings checks SetProxySettings: a documented result; an accepted setting has a
// proxy list exactly for ProxyOverride and reads back unchanged.
func FuzzSetProxySettings(f *testing.F) {
	big := strings.Repeat("p", 32767)
	for _, s := range []struct {
		u    uint32
		p, b string
	}{{0, "", ""}, {1, "", ""}, {2, "proxy:80", ""}, {2, "proxy:80 p2:3128", "<local> *.example.com"}, {2, "", ""},
		{3, "", ""}, {4, "", ""}, {0, "proxy:80", ""}, {0, "", "x"}, {2, big, big}, {2, big + "p", ""},
		{2, "p", big + "b"}, {2, "p\x00", ""}, {0xFFFFFFFF, "", ""}} {
		f.Add(s.u, s.p, s.b)
	}
	f.Fuzz(func(t *testing.T, usage uint32, proxy, bypass string) {
		j := newFx(t).newJob(bits.Download, 0)
		before := engine.Of(j).Record()
		u := bits.ProxyUsage(usage)
		code := checkCall(t, j, opSetProxySettings, before, j.SetProxySettings(u, proxy, bypass),
			fmt.Sprintf("SetProxySettings(%d, %.80q, %.80q)", usage, proxy, bypass))
		if code != hresult.S_OK {
			return
		}
		assert.Equal(t, u == bits.ProxyOverride, proxy != "", "accepted usage %d with proxy list %q", usage, proxy)
		got, err := j.GetProxySettings()
		require.NoError(t, err)
		assert.Equal(t, bits.ProxySettings{Usage: u, ProxyList: proxy, BypassList: bypass}, got)
	})
}

// FuzzReplaceRemotePrefix checks ReplaceRemotePrefix on a job of three files, one finished: a
// documented result; on success exactly the unfinished files whose names start with the old
// prefix are rewritten, and every rewritten name is one AddFile accepts; on failure nothing
// changes.
func FuzzReplaceRemotePrefix(f *testing.F) {
	for _, s := range [][2]string{{"http://example.com/", "https://mirror.example/"}, {"http://", "https://"},
		{"http://example.com/dir/file001", "http://x/y"}, {"", "x"}, {"x", ""}, {"http://example.com/", "ftp://x/"},
		{"http://example.com/", "http://h/" + strings.Repeat("a", 2200)}, {"http", "HTTP"}, {"zzz", "http://a/"},
		{"http://example.com", "http://[::1]:8080"}, {"http://example.com/", "http://h/%z"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, oldPrefix, newPrefix string) {
		fx := newFx(t)
		j := fx.newJob(bits.Download, 3)
		driveTo(t, j, state.Transferring)
		_, err := engine.Of(j).FireFileDone(1)
		require.NoError(t, err)
		before := engine.Of(j).Record()
		code, err := j.ReplaceRemotePrefix(oldPrefix, newPrefix)
		if checkCall(t, j, opReplaceRemotePrefix, before, err, fmt.Sprintf("ReplaceRemotePrefix(%q, %q)", oldPrefix, newPrefix)) != hresult.S_OK {
			return
		}
		now := engine.Of(j).Record()
		changed := false
		for k, was := range before.Files {
			want := was.RemoteName
			if !was.Completed && strings.HasPrefix(was.RemoteName, oldPrefix) {
				want = newPrefix + was.RemoteName[len(oldPrefix):]
				changed = true
				probe := fx.newJob(bits.Download, 0)
				assert.NoError(t, probe.AddFile(want, fx.local()), "rewritten name %q refused by AddFile", want)
			}
			assert.Equal(t, want, now.Files[k].RemoteName)
		}
		if changed {
			assert.Equal(t, hresult.S_OK, code)
		} else {
			assert.Equal(t, hresult.S_FALSE, code)
		}
	})
}

// TestHttpMethodBackToDefault: setting the default verb after a custom one succeeds and takes
// effect (FuzzJobCalls found SetHttpMethod("GET") returning S_OK while GetHttpMethod kept the
// custom verb; the input is kept in testdata/fuzz/FuzzJobCalls). The priority stays FOREGROUND
// but is no longer pinned.
func TestHttpMethodBackToDefault(t *testing.T) {
	x := newFx(t)
	for _, tc := range []struct {
		typ          bits.JobType
		custom, back string
	}{{bits.Download, "BITS_POST", "GET"}, {bits.Download, "PUT", "GET"}, {bits.Upload, "PUT", "BITS_POST"}, {bits.UploadReply, "GET", "BITS_POST"}} {
		j := x.newJob(tc.typ, 0)
		require.NoError(t, j.SetHttpMethod(tc.custom))
		isCode(t, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, j.SetPriority(bits.Normal))
		require.NoError(t, j.SetHttpMethod(tc.back))
		m, err := j.GetHttpMethod()
		require.NoError(t, err)
		assert.Equal(t, tc.back, m, "%v job: %s then %s", tc.typ, tc.custom, tc.back)
		assert.Equal(t, "", engine.Of(j).Record().HTTPMethod, "the record holds the default verb")
		p, err := j.GetPriority()
		require.NoError(t, err)
		assert.Equal(t, bits.Foreground, p, "the priority stays")
		assert.NoError(t, j.SetPriority(bits.Normal), "and is no longer pinned")
	}
}
