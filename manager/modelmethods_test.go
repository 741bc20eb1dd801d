package manager_test

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// The model's properties, file methods and reply methods: the rest of TestModel (model_test.go).

// modelCallback is a callback object; each SetNotifyInterface of the model gives a new one, so
// that GetNotifyInterface can be checked to return the last one set.
type modelCallback struct{ n int }

func (*modelCallback) JobTransferred(bits.Job) error                                     { return nil }
func (*modelCallback) JobError(bits.Job, bits.Error) error                               { return nil }
func (*modelCallback) JobModification(bits.Job) error                                    { return nil }
func (*modelCallback) FileTransferred(bits.Job, bits.File) error                         { return nil }
func (*modelCallback) String() string                                                    { return "callback" }
func (c *modelCallback) GoString() string                                                { return fmt.Sprintf("callback %d", c.n) }
func (*modelCallback) FileRangesTransferred(bits.Job, bits.File, []bits.FileRange) error { return nil }

// setOutcome is the outcome of a setter (README "Order of checks"): access (owner only for the
// methods whose page says so), the arguments, a final state (BG_E_INVALID_STATE), the method's
// own state rule, then the checks of the job type and the combination of properties.
func setOutcome(j *modelJob, u int, ownerOnly bool, arg, stateRule, apply hresult.Code) hresult.Code {
	switch {
	case !canAccess(j, u), ownerOnly && j.owner != u:
		return hresult.E_ACCESSDENIED
	case arg.Failed():
		return arg
	case j.final():
		return hresult.BG_E_INVALID_STATE
	case stateRule.Failed():
		return stateRule
	case apply.Failed():
		return apply
	}
	return hresult.S_OK
}

// okIf is S_OK when cond holds, else code.
func okIf(cond bool, code hresult.Code) hresult.Code {
	if cond {
		return hresult.S_OK
	}
	return code
}

// setter calls one of the job's setters, drawn, with arguments good and bad.
func (h *modelHarness) setter() {
	if j, u, hd := h.pickHandle(); j != nil {
		h.setterOn(j, u, hd)
	}
}

func (h *modelHarness) setterOn(j *modelJob, u int, hd bits.Job) {
	t := h.t
	ok := hresult.S_OK
	// do checks one call: its name, the predicted outcome, the call, and what it changes.
	do := func(what string, want hresult.Code, call func() error, change func()) {
		h.expect(fmt.Sprintf("%s by %d in %v", what, u, j.st), want, call())
		if want == hresult.S_OK {
			change()
			h.touch(j)
		}
	}
	switch rapid.IntRange(0, 19).Draw(t, "setter") {
	case 0: // IBackgroundCopyJob::SetDisplayName: BG_E_STRING_TOO_LONG over 256 (README "Names and limits")
		kind := rapid.SampledFrom([]string{"ok", "ok", "long", "nul"}).Draw(t, "nameKind")
		name, arg := fmt.Sprintf("renamed %d", h.seq), ok
		h.seq++
		switch kind {
		case "long":
			name, arg = strings.Repeat("x", 257), hresult.BG_E_STRING_TOO_LONG
		case "nul":
			name, arg = "a\x00b", hresult.E_INVALIDARG
		}
		do("SetDisplayName("+kind+")", setOutcome(j, u, false, arg, ok, ok), func() error { return hd.SetDisplayName(name) },
			func() { j.name = name })
	case 1: // IBackgroundCopyJob::SetDescription: 1,024 characters
		kind := rapid.SampledFrom([]string{"ok", "ok", "empty", "long", "max", "nul"}).Draw(t, "descKind")
		desc, arg := fmt.Sprintf("description %d", h.seq), ok
		h.seq++
		switch kind {
		case "empty":
			desc = ""
		case "long":
			desc, arg = strings.Repeat("d", 1025), hresult.BG_E_STRING_TOO_LONG
		case "max":
			desc = strings.Repeat("d", 1024)
		case "nul":
			desc, arg = "a\x00b", hresult.E_INVALIDARG
		}
		do("SetDescription("+kind+")", setOutcome(j, u, false, arg, ok, ok), func() error { return hd.SetDescription(desc) },
			func() { j.desc = desc })
	case 2: // IBackgroundCopyJob::SetPriority: E_NOTIMPL outside 0..3; a custom verb pins FOREGROUND
		p := bits.Priority(rapid.Uint32Range(0, 5).Draw(t, "priority"))
		apply := okIf(j.httpMethod == "" || p == bits.Foreground, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD)
		do(fmt.Sprintf("SetPriority(%d)", p), setOutcome(j, u, false, okIf(p <= bits.Low, hresult.E_NOTIMPL), ok, apply),
			func() error { return hd.SetPriority(p) }, func() { j.priority = p })
	case 3: // IBackgroundCopyJob::SetNotifyFlags: E_NOTIMPL for bits outside 0x3F
		f := rapid.Uint32Range(0, 0x7F).Draw(t, "flags")
		do(fmt.Sprintf("SetNotifyFlags(%#x)", f), setOutcome(j, u, false, okIf(f&^0x3F == 0, hresult.E_NOTIMPL), ok, ok),
			func() error { return hd.SetNotifyFlags(f) }, func() { j.notify = f })
	case 4: // IBackgroundCopyJob::SetNotifyInterface: last writer wins, nil removes
		var cb bits.Callback
		if rapid.IntRange(0, 2).Draw(t, "nil") > 0 {
			h.seq++
			cb = &modelCallback{n: h.seq}
		}
		do("SetNotifyInterface", setOutcome(j, u, false, ok, ok, ok), func() error { return hd.SetNotifyInterface(cb) },
			func() { j.callback = cb })
	case 5: // IBackgroundCopyJob::SetNoProgressTimeout
		v := rapid.SampledFrom([]uint32{0, 5, 30, 3600, 1_209_600}).Draw(t, "seconds")
		do(fmt.Sprintf("SetNoProgressTimeout(%d)", v), setOutcome(j, u, false, ok, ok, ok),
			func() error { return hd.SetNoProgressTimeout(v) }, func() { j.noProgress = v })
	case 6: // IBackgroundCopyJob::SetMinimumRetryDelay: values under 5 are raised to 5
		v := rapid.SampledFrom([]uint32{0, 1, 5, 60, 600, 3_000_000}).Draw(t, "seconds")
		do(fmt.Sprintf("SetMinimumRetryDelay(%d)", v), setOutcome(j, u, false, ok, ok, ok),
			func() error { return hd.SetMinimumRetryDelay(v) }, func() { j.retryDelay = max(v, 5) })
	case 7: // IBackgroundCopyJob4::SetMaximumDownloadTime; 0 removes the cap (README)
		v := rapid.SampledFrom([]uint32{0, 30, 3600, 7_776_000}).Draw(t, "seconds")
		do(fmt.Sprintf("SetMaximumDownloadTime(%d)", v), setOutcome(j, u, false, ok, ok, ok),
			func() error { return hd.SetMaximumDownloadTime(v) }, func() { j.maxDownload = v })
	case 8: // IBackgroundCopyJob::SetProxySettings
		usage := bits.ProxyUsage(rapid.SampledFrom([]uint32{0, 1, 2, 2, 3, 7}).Draw(t, "usage"))
		list := rapid.SampledFrom([]string{"", "proxy.example:8080", "long"}).Draw(t, "list")
		if list == "long" {
			list = strings.Repeat("p", 32_768)
		}
		bypass := rapid.SampledFrom([]string{"", "<local>"}).Draw(t, "bypass")
		arg := ok
		switch {
		case usage > bits.ProxyAutodetect:
			arg = hresult.E_NOTIMPL
		case usage == bits.ProxyOverride && list == "":
			arg = hresult.E_INVALIDARG
		case usage != bits.ProxyOverride && (list != "" || bypass != ""):
			arg = hresult.E_INVALIDARG // the lists must be NULL unless usage is OVERRIDE
		case len(list) > 32_767:
			arg = hresult.BG_E_PROXY_LIST_TOO_LARGE
		}
		do(fmt.Sprintf("SetProxySettings(%d, %d chars, %q)", usage, len(list), bypass), setOutcome(j, u, false, arg, ok, ok),
			func() error { return hd.SetProxySettings(usage, list, bypass) },
			func() { j.proxy = bits.ProxySettings{Usage: usage, ProxyList: list, BypassList: bypass} })
	case 9: // IBackgroundCopyJob2::SetNotifyCmdLine
		kind := rapid.SampledFrom([]string{"ok", "ok", "remove", "relative", "no-program", "long"}).Draw(t, "cmdKind")
		prog, params, arg := "/usr/bin/notify", fmt.Sprintf("notify %d", h.seq), ok
		h.seq++
		switch kind {
		case "remove":
			prog, params = "", ""
		case "relative":
			prog, arg = "bin/notify", hresult.E_INVALIDARG // no search path
		case "no-program":
			prog, arg = "", hresult.E_INVALIDARG
		case "long":
			prog, arg = "/"+strings.Repeat("p", 260), hresult.BG_E_STRING_TOO_LONG // MAX_PATH
		}
		do("SetNotifyCmdLine("+kind+")", setOutcome(j, u, false, arg, ok, ok), func() error { return hd.SetNotifyCmdLine(prog, params) },
			func() { j.cmd = bits.NotifyCmdLine{Program: prog, Parameters: params} })
	case 10: // IBackgroundCopyJob2::SetCredentials: the owner only
		cr := bits.Credentials{
			Target:   bits.AuthTarget(rapid.Uint32Range(1, 3).Draw(t, "target")),
			Scheme:   bits.AuthScheme(rapid.Uint32Range(0, 6).Draw(t, "scheme")),
			UserName: rapid.SampledFrom([]string{"", "user"}).Draw(t, "user"),
			Password: rapid.SampledFrom([]string{"", "secret"}).Draw(t, "password"),
		}
		arg := ok
		named := cr.Scheme == bits.SchemeBasic || cr.Scheme == bits.SchemeDigest || cr.Scheme == bits.SchemePassport
		switch {
		case cr.Target != bits.TargetServer && cr.Target != bits.TargetProxy:
			arg = hresult.BG_E_INVALID_AUTH_TARGET
		case cr.Scheme < bits.SchemeBasic || cr.Scheme > bits.SchemePassport:
			arg = hresult.BG_E_INVALID_AUTH_SCHEME
		case cr.UserName == "" && (cr.Password != "" || named):
			arg = hresult.E_INVALIDARG // README "Properties": credentials
		}
		do(fmt.Sprintf("SetCredentials(%d, %d)", cr.Target, cr.Scheme), setOutcome(j, u, true, arg, ok, ok),
			func() error { return hd.SetCredentials(cr) }, func() { j.creds[modelCreds{cr.Target, cr.Scheme}] = true })
	case 11: // IBackgroundCopyJob2::RemoveCredentials: S_FALSE when none were set
		target := bits.AuthTarget(rapid.Uint32Range(1, 3).Draw(t, "target"))
		scheme := bits.AuthScheme(rapid.Uint32Range(1, 6).Draw(t, "scheme"))
		arg := ok
		switch {
		case target != bits.TargetServer && target != bits.TargetProxy:
			arg = hresult.BG_E_INVALID_AUTH_TARGET
		case scheme > bits.SchemePassport:
			arg = hresult.BG_E_INVALID_AUTH_SCHEME
		}
		want := setOutcome(j, u, true, arg, ok, ok)
		key := modelCreds{target, scheme}
		if want == hresult.S_OK && !j.creds[key] {
			want = hresult.S_FALSE
		}
		code, err := hd.RemoveCredentials(target, scheme)
		h.expect(fmt.Sprintf("RemoveCredentials(%d, %d) by %d in %v", target, scheme, u, j.st), want, err, code)
		if want.Succeeded() {
			delete(j.creds, key)
			h.touch(j)
		}
	case 12:
		h.replaceRemotePrefix(j, u, hd)
	case 13: // IBackgroundCopyJob3::SetFileACLFlags: not once TRANSFERRED
		f := rapid.SampledFrom([]uint32{0, bits.CopyFileOwner, bits.CopyFileDACL | bits.CopyFileSACL, bits.CopyFileAll, 0x10}).Draw(t, "flags")
		do(fmt.Sprintf("SetFileACLFlags(%#x)", f),
			setOutcome(j, u, false, okIf(f&^bits.CopyFileAll == 0, hresult.E_INVALIDARG), okIf(j.st != state.Transferred, hresult.BG_E_INVALID_STATE), ok),
			func() error { return hd.SetFileACLFlags(f) }, func() { j.aclFlags = f })
	case 14: // IBackgroundCopyJob4::SetPeerCachingFlags
		f := rapid.SampledFrom([]uint32{0, 1, 2, 4, 7, 8}).Draw(t, "flags")
		do(fmt.Sprintf("SetPeerCachingFlags(%#x)", f), setOutcome(j, u, false, okIf(f&^7 == 0, hresult.E_INVALIDARG), ok, ok),
			func() error { return hd.SetPeerCachingFlags(f) }, func() { j.peerFlags = f })
	case 15: // IBackgroundCopyJobHttpOptions::SetCustomHeaders: the owner only, 16,384 characters with the NUL
		kind := rapid.SampledFrom([]string{"ok", "ok", "remove", "not-a-header", "long"}).Draw(t, "headersKind")
		hdrs, arg := fmt.Sprintf("X-Model: %d\r\nX-Other: a\r\n", h.seq), ok
		h.seq++
		switch kind {
		case "remove":
			hdrs = ""
		case "not-a-header":
			hdrs, arg = "no colon here\r\n", hresult.E_INVALIDARG
		case "long":
			hdrs, arg = "X-Long: "+strings.Repeat("h", 16_380)+"\r\n", hresult.BG_E_STRING_TOO_LONG
		}
		do("SetCustomHeaders("+kind+")", setOutcome(j, u, true, arg, ok, ok), func() error { return hd.SetCustomHeaders(hdrs) },
			func() { j.headers = hdrs })
	case 16: // IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly: always S_OK, irreversible
		want := access(j, u)
		h.expect(fmt.Sprintf("MakeCustomHeadersWriteOnly by %d in %v", u, j.st), want, hd.MakeCustomHeadersWriteOnly())
		if want == hresult.S_OK && !j.headersWriteOnly {
			j.headersWriteOnly = true
			h.touch(j)
		}
	case 17: // IBackgroundCopyJobHttpOptions::SetSecurityFlags: E_NOTIMPL for an unsupported flag
		f := rapid.SampledFrom([]uint32{0, bits.SSLEnableCRLCheck, bits.RedirectPolicyAllowReport, bits.RedirectPolicyDisallow,
			bits.RedirectPolicyDisallow | bits.RedirectPolicyAllowHTTPSToHTTP, 0x300, bits.RedirectPolicyAllowHTTPSToHTTP, 0x1000,
			0x1F | bits.RedirectPolicyAllowReport | bits.RedirectPolicyAllowHTTPSToHTTP}).Draw(t, "flags")
		policy := f & bits.RedirectPolicyMask
		arg := ok
		switch {
		case f&^(0x1F|bits.RedirectPolicyMask|bits.RedirectPolicyAllowHTTPSToHTTP) != 0,
			policy != bits.RedirectPolicyAllowSilent && policy != bits.RedirectPolicyAllowReport && policy != bits.RedirectPolicyDisallow,
			policy == bits.RedirectPolicyDisallow && f&bits.RedirectPolicyAllowHTTPSToHTTP != 0:
			arg = hresult.E_NOTIMPL
		}
		do(fmt.Sprintf("SetSecurityFlags(%#x)", f), setOutcome(j, u, false, arg, ok, ok),
			func() error { return hd.SetSecurityFlags(f) }, func() { j.security = f })
	case 18: // IBackgroundCopyJobHttpOptions2::SetHttpMethod: before the first Resume; pins FOREGROUND
		m := rapid.SampledFrom([]string{"FETCH", "PUT", "GET", "BITS_POST", "", "BAD VERB"}).Draw(t, "method")
		arg := okIf(m != "" && !strings.Contains(m, " "), hresult.E_INVALIDARG)
		def := m == "GET" && j.typ == bits.Download || m == "BITS_POST" && j.typ != bits.Download
		apply := okIf(def || !j.dynamic && !j.onDemand, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD)
		do(fmt.Sprintf("SetHttpMethod(%q)", m),
			setOutcome(j, u, false, arg, okIf(!j.resumed, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME), apply),
			func() error { return hd.SetHttpMethod(m) },
			func() {
				if def { // the default verb removes a custom one; the priority stays
					j.httpMethod = ""
				} else {
					j.httpMethod, j.priority = m, bits.Foreground
				}
			})
	case 19:
		h.setProperty(j, u, hd)
	}
}

// replaceRemotePrefix calls IBackgroundCopyJob3::ReplaceRemotePrefix: it rewrites the unfinished
// files whose remote name starts with the old prefix; S_FALSE when none does; E_INVALIDARG for
// an empty prefix or a rewritten name that is invalid (and then nothing changes); E_NOTIMPL for
// upload jobs.
func (h *modelHarness) replaceRemotePrefix(j *modelJob, u int, hd bits.Job) {
	t := h.t
	from := rapid.SampledFrom([]string{"http://example.com/", "http://mirror.example/", "file:///srv/", "", "zzz"}).Draw(t, "old")
	to := rapid.SampledFrom([]string{"http://mirror.example/", "http://example.com/", "file:///srv/", "ftp://x/", ""}).Draw(t, "new")
	arg := okIf(from != "" && to != "", hresult.E_INVALIDARG)
	apply, matched := hresult.S_OK, 0
	for _, f := range j.files {
		if f.done || !strings.HasPrefix(f.remote, from) {
			continue
		}
		matched++
		http := strings.HasPrefix(to, "http")
		if to == "ftp://x/" || (len(f.ranges) > 0 && !http) {
			apply = hresult.E_INVALIDARG // an unsupported scheme; ranges need HTTP
		}
	}
	want := setOutcome(j, u, false, arg, okIf(j.typ == bits.Download, hresult.E_NOTIMPL), apply)
	if want == hresult.S_OK && matched == 0 {
		want = hresult.S_FALSE
	}
	code, err := hd.ReplaceRemotePrefix(from, to)
	h.expect(fmt.Sprintf("ReplaceRemotePrefix(%q, %q) by %d in %v", from, to, u, j.st), want, err, code)
	if want.Succeeded() {
		for _, f := range j.files {
			if !f.done && strings.HasPrefix(f.remote, from) {
				f.remote = to + f.remote[len(from):]
			}
		}
		h.touch(j)
	}
}

// setProperty calls IBackgroundCopyJob5::SetProperty with an id and a value drawn (the
// BITS_JOB_PROPERTY_ID page, bits-api §1.6, README "Properties").
func (h *modelHarness) setProperty(j *modelJob, u int, hd bits.Job) {
	t := h.t
	id := bits.PropertyID(rapid.SampledFrom([]uint32{1, 2, 3, 4, 5, 6, 7, 9, 10, 11}).Draw(t, "property"))
	var v bits.PropertyValue
	arg, stateRule, apply := hresult.S_OK, hresult.S_OK, hresult.S_OK
	downloadOnly := func() hresult.Code {
		return okIf(j.typ == bits.Download, hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY)
	}
	beforeResume := func() hresult.Code {
		if c := downloadOnly(); c.Failed() {
			return c
		}
		return okIf(!j.resumed, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME)
	}
	var change func()
	switch id {
	case bits.PropertyCostFlags:
		v.Dword = rapid.SampledFrom([]uint32{bits.TransferPolicyAlways, bits.TransferPolicyStandard, bits.CostStateUnrestricted, 0x100}).Draw(t, "cost")
		arg = okIf(v.Dword&^(0xFF|bits.CostOptionIgnoreCongestion|bits.CostStateReserved) == 0, hresult.E_INVALIDARG)
		change = func() { j.cost = v.Dword }
	case bits.PropertyNotificationCLSID:
		v.ClsID = rapid.SampledFrom([]uuid.UUID{uuid.Nil, uuid.MustParse("4b3a2b1c-0000-4000-8000-000000000001")}).Draw(t, "clsid")
		change = func() { j.clsid = v.ClsID }
	case bits.PropertyDynamicContent:
		v.Enable = rapid.Bool().Draw(t, "enable")
		stateRule = beforeResume()
		switch {
		case !v.Enable:
		case j.httpMethod != "":
			apply = hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
		case j.onDemand || j.hasRanges():
			apply = hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION
		}
		change = func() { j.dynamic = v.Enable }
	case bits.PropertyHighPerformance:
		v.Enable = rapid.Bool().Draw(t, "enable")
		stateRule = downloadOnly()
		if stateRule == hresult.S_OK && len(j.files) > 0 {
			stateRule = hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE // set before any file is added
		}
		change = func() { j.highPerf = v.Enable }
	case bits.PropertyMaxDownloadSize:
		v.Uint64 = rapid.SampledFrom([]uint64{0, 1, 1 << 20}).Draw(t, "size")
		arg = okIf(v.Uint64 != 0, hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE)
		stateRule = beforeResume()
		change = func() { j.maxSize = v.Uint64 }
	case bits.PropertyUseStoredCredentials:
		v.Target = bits.AuthTarget(rapid.Uint32Range(0, 2).Draw(t, "target"))
		arg = okIf(v.Target == bits.TargetProxy, hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED)
		change = func() { j.storedCreds = v.Target }
	case bits.PropertyMinimumNotificationIntervalMs:
		v.Dword = rapid.SampledFrom([]uint32{0, 500, 2000}).Draw(t, "interval")
		change = func() { j.minInterval = v.Dword }
	case bits.PropertyOnDemandMode:
		v.Enable = rapid.Bool().Draw(t, "enable")
		stateRule = beforeResume()
		switch {
		case !v.Enable:
		case j.httpMethod != "":
			apply = hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
		case j.dynamic || j.hasRanges():
			apply = hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION
		}
		change = func() { j.onDemand = v.Enable }
	default:
		arg = hresult.BG_E_UNKNOWN_PROPERTY_ID
	}
	want := setOutcome(j, u, false, arg, stateRule, apply)
	h.expect(fmt.Sprintf("SetProperty(%v, %+v) by %d in %v", id, v, u, j.st), want, hd.SetProperty(id, v))
	if want == hresult.S_OK {
		change()
		h.touch(j)
	}
}

// propertyOf is the model's value of a job property, in the field it uses.
func (j *modelJob) propertyOf(id bits.PropertyID) (bits.PropertyValue, bool) {
	switch id {
	case bits.PropertyCostFlags:
		return bits.PropertyValue{Dword: j.cost}, true
	case bits.PropertyNotificationCLSID:
		return bits.PropertyValue{ClsID: j.clsid}, true
	case bits.PropertyDynamicContent:
		return bits.PropertyValue{Enable: j.dynamic}, true
	case bits.PropertyHighPerformance:
		return bits.PropertyValue{Enable: j.highPerf}, true
	case bits.PropertyMaxDownloadSize:
		return bits.PropertyValue{Uint64: j.maxSize}, true
	case bits.PropertyUseStoredCredentials:
		return bits.PropertyValue{Target: j.storedCreds}, true
	case bits.PropertyMinimumNotificationIntervalMs:
		return bits.PropertyValue{Dword: j.minInterval}, true
	case bits.PropertyOnDemandMode:
		return bits.PropertyValue{Enable: j.onDemand}, true
	}
	return bits.PropertyValue{}, false
}

// getter calls one of the job's property getters through a user's handle: access, then the
// value the model holds.
func (h *modelHarness) getter() {
	if j, u, hd := h.pickHandle(); j != nil {
		h.getterOn(j, u, hd)
	}
}

func (h *modelHarness) getterOn(j *modelJob, u int, hd bits.Job) {
	t := h.t
	want := access(j, u)
	what := func(name string) string { return fmt.Sprintf("%s by %d in %v", name, u, j.st) }
	switch k := rapid.IntRange(0, 3).Draw(t, "getter"); k {
	case 0:
		// GetCustomHeaders: the owner only, and nobody after MakeCustomHeadersWriteOnly; S_FALSE
		// when none are set.
		want := want
		switch {
		case want.Failed():
		case j.owner != u || j.headersWriteOnly:
			want = hresult.E_ACCESSDENIED
		case j.headers == "":
			want = hresult.S_FALSE
		}
		got, code, err := hd.GetCustomHeaders()
		h.expect(what("GetCustomHeaders"), want, err, code)
		if want.Succeeded() {
			require.Equal(t, j.headers, got)
		}
	case 1:
		id := bits.PropertyID(rapid.SampledFrom([]uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}).Draw(t, "property"))
		wantV, known := j.propertyOf(id)
		if want == hresult.S_OK && !known {
			want = hresult.BG_E_UNKNOWN_PROPERTY_ID
		}
		got, err := hd.GetProperty(id)
		h.expect(what(fmt.Sprintf("GetProperty(%v)", id)), want, err)
		if want == hresult.S_OK {
			require.Equal(t, wantV, got, id.String())
		}
	default:
		if want.Failed() {
			// Every getter checks access first.
			for name, call := range map[string]func() error{
				"GetDisplayName":         func() error { _, err := hd.GetDisplayName(); return err },
				"GetDescription":         func() error { _, err := hd.GetDescription(); return err },
				"GetPriority":            func() error { _, err := hd.GetPriority(); return err },
				"GetNotifyFlags":         func() error { _, err := hd.GetNotifyFlags(); return err },
				"GetNotifyInterface":     func() error { _, err := hd.GetNotifyInterface(); return err },
				"GetMinimumRetryDelay":   func() error { _, err := hd.GetMinimumRetryDelay(); return err },
				"GetNoProgressTimeout":   func() error { _, err := hd.GetNoProgressTimeout(); return err },
				"GetMaximumDownloadTime": func() error { _, err := hd.GetMaximumDownloadTime(); return err },
				"GetProxySettings":       func() error { _, err := hd.GetProxySettings(); return err },
				"GetNotifyCmdLine":       func() error { _, err := hd.GetNotifyCmdLine(); return err },
				"GetFileACLFlags":        func() error { _, err := hd.GetFileACLFlags(); return err },
				"GetPeerCachingFlags":    func() error { _, err := hd.GetPeerCachingFlags(); return err },
				"GetSecurityFlags":       func() error { _, err := hd.GetSecurityFlags(); return err },
				"GetHttpMethod":          func() error { _, err := hd.GetHttpMethod(); return err },
			} {
				h.expect(what(name), want, call())
			}
			return
		}
		h.checkProperties(j, hd)
	}
}

// checkProperties compares every property getter of handle hd with the model. hd is the
// watcher's handle or one of a user with access.
func (h *modelHarness) checkProperties(j *modelJob, hd bits.Job) {
	t := h.t
	what := fmt.Sprintf("job %d", j.created)
	get := func(name string, want, got any, err error) {
		t.Helper()
		h.expect(name, hresult.S_OK, err)
		require.Equal(t, want, got, "%s: %s", what, name)
	}
	name, err := hd.GetDisplayName()
	get("GetDisplayName", j.name, name, err)
	desc, err := hd.GetDescription()
	get("GetDescription", j.desc, desc, err)
	prio, err := hd.GetPriority()
	get("GetPriority", j.priority, prio, err)
	flags, err := hd.GetNotifyFlags()
	get("GetNotifyFlags", j.notify, flags, err)
	cb, err := hd.GetNotifyInterface()
	h.expect("GetNotifyInterface", hresult.S_OK, err)
	require.True(t, cb == j.callback, "%s: GetNotifyInterface gives %#v, the model %#v", what, cb, j.callback)
	retry, err := hd.GetMinimumRetryDelay()
	get("GetMinimumRetryDelay", j.retryDelay, retry, err)
	np, err := hd.GetNoProgressTimeout()
	get("GetNoProgressTimeout", j.noProgress, np, err)
	md, err := hd.GetMaximumDownloadTime()
	get("GetMaximumDownloadTime", j.maxDownload, md, err)
	proxy, err := hd.GetProxySettings()
	get("GetProxySettings", j.proxy, proxy, err)
	cmd, err := hd.GetNotifyCmdLine()
	get("GetNotifyCmdLine", j.cmd, cmd, err)
	acl, err := hd.GetFileACLFlags()
	get("GetFileACLFlags", j.aclFlags, acl, err)
	peer, err := hd.GetPeerCachingFlags()
	get("GetPeerCachingFlags", j.peerFlags, peer, err)
	sec, err := hd.GetSecurityFlags()
	get("GetSecurityFlags", j.security, sec, err)
	method, err := hd.GetHttpMethod()
	get("GetHttpMethod", j.method(), method, err)
	for _, id := range []bits.PropertyID{1, 2, 3, 4, 5, 7, 9, 10} {
		v, _ := j.propertyOf(id)
		got, err := hd.GetProperty(id)
		get("GetProperty("+id.String()+")", v, got, err)
	}
	if j.typ == bits.UploadReply {
		name, err := hd.GetReplyFileName()
		h.expect("GetReplyFileName", hresult.S_OK, err)
		switch {
		case j.replyFile != "":
			require.Equal(t, j.replyFile, name, what)
		case len(j.files) == 0:
			require.Empty(t, name, "%s: no reply file name before the upload file", what)
		default:
			// A name BITS chose, in the same directory as the local upload file.
			require.Equal(t, filepath.Dir(j.files[0].local), filepath.Dir(name), what)
		}
	}
}

// fileMethod calls one method of one of the job's files (IBackgroundCopyFile through
// IBackgroundCopyFile5), through the file handle a user's EnumFiles gives.
func (h *modelHarness) fileMethod() {
	if j, u, hd := h.pickHandle(); j != nil {
		h.fileMethodOn(j, u, hd)
	}
}

func (h *modelHarness) fileMethodOn(j *modelJob, u int, hd bits.Job) {
	t := h.t
	if len(j.files) == 0 || !canAccess(j, u) {
		return
	}
	i := rapid.IntRange(0, len(j.files)-1).Draw(t, "file")
	en, err := hd.EnumFiles()
	require.NoError(t, err)
	require.Equal(t, hresult.S_OK, enumSkip(en, uint32(i)))
	fs, code, _ := en.Next(1)
	require.Equal(t, hresult.S_OK, code)
	f, mf := fs[0], j.files[i]
	what := func(name string) string { return fmt.Sprintf("File.%s on file %d by %d in %v", name, i, u, j.st) }
	switch rapid.IntRange(0, 4).Draw(t, "file method") {
	case 0: // IBackgroundCopyFile2::SetRemoteName
		kind := rapid.SampledFrom([]string{"http", "http", "file", "bad-scheme", "empty"}).Draw(t, "nameKind")
		remote, arg := fmt.Sprintf("http://mirror.example/g%d", h.seq), hresult.S_OK
		h.seq++
		switch kind {
		case "file":
			remote = fmt.Sprintf("file:///srv/share/g%d", h.seq)
			if len(mf.ranges) > 0 {
				arg = hresult.E_INVALIDARG // ranges need HTTP
			}
		case "bad-scheme":
			remote, arg = "ftp://example.com/g", hresult.E_INVALIDARG
		case "empty":
			remote, arg = "", hresult.E_INVALIDARG
		}
		want := setOutcome(j, u, false, arg, okIf(j.typ == bits.Download, hresult.E_NOTIMPL), hresult.S_OK)
		h.expect(what("SetRemoteName("+kind+")"), want, f.SetRemoteName(remote))
		if want == hresult.S_OK {
			mf.remote = remote
			h.touch(j)
		}
	case 1: // IBackgroundCopyFile3::SetValidationState: E_PENDING until the file finished
		valid := rapid.Bool().Draw(t, "valid")
		want := setOutcome(j, u, false, hresult.S_OK, okIf(mf.done, hresult.E_PENDING), hresult.S_OK)
		h.expect(what(fmt.Sprintf("SetValidationState(%v)", valid)), want, f.SetValidationState(valid))
		if want != hresult.S_OK {
			return
		}
		mf.validated = valid
		h.touch(j)
		if !valid {
			// FALSE for content from the origin server: the job goes to ERROR with
			// BG_E_VALIDATION_FAILED and the file's progress resets to 0.
			mf.done, mf.transferred = false, 0
			proto := "file"
			if strings.HasPrefix(mf.remote, "http") {
				proto = "http"
			}
			j.err = &modelError{code: hresult.BG_E_VALIDATION_FAILED, ctx: bits.ContextRemoteFile, file: i, protocol: proto}
			j.errCount++ // README "Errors and progress": a failed validation counts
			h.move(j, state.Error)
		}
	case 2: // IBackgroundCopyFile5::GetProperty: only HTTP_RESPONSE_HEADERS
		id := rapid.Uint32Range(0, 2).Draw(t, "property")
		got, err := f.GetProperty(id)
		h.expect(what(fmt.Sprintf("GetProperty(%d)", id)), okIf(id == bits.FilePropertyHTTPResponseHeaders, hresult.BG_E_UNKNOWN_PROPERTY_ID), err)
		require.Empty(t, got, "no response yet: no transfer runs")
	default:
		h.checkFile(j, i, f)
	}
}

// checkFile compares the getters of file handle f, file i of j, with the model.
func (h *modelHarness) checkFile(j *modelJob, i int, f bits.File) {
	t := h.t
	mf := j.files[i]
	what := fmt.Sprintf("job %d file %d", j.created, i)
	remote, err := f.GetRemoteName()
	h.expect("File.GetRemoteName", hresult.S_OK, err)
	require.Equal(t, mf.remote, remote, what)
	local, err := f.GetLocalName()
	h.expect("File.GetLocalName", hresult.S_OK, err)
	require.Equal(t, mf.local, local, what)
	p, err := f.GetProgress()
	h.expect("File.GetProgress", hresult.S_OK, err)
	require.Equal(t, bits.FileProgress{BytesTotal: mf.total, BytesTransferred: mf.transferred, Completed: mf.done}, p, what)
	ranges, code, err := f.GetFileRanges()
	if len(mf.ranges) == 0 {
		h.expect("File.GetFileRanges", hresult.S_FALSE, err, code)
		require.Nil(t, ranges, what)
	} else {
		h.expect("File.GetFileRanges", hresult.S_OK, err, code)
		require.Equal(t, mf.ranges, ranges, what)
	}
	valid, err := f.GetValidationState()
	h.expect("File.GetValidationState", hresult.S_OK, err)
	require.Equal(t, mf.validated, valid, what)
	peer, err := f.IsDownloadedFromPeer()
	h.expect("File.IsDownloadedFromPeer", hresult.S_OK, err)
	require.False(t, peer, what)
	temp, err := f.GetTemporaryName()
	h.expect("File.GetTemporaryName", hresult.S_OK, err)
	require.Equal(t, filepath.Dir(mf.local), filepath.Dir(temp), "%s: the temporary file is beside the local file", what)
	require.NotEqual(t, mf.local, temp, what)
}

// checkFiles compares every file of j, through handle hd, with the model.
func (h *modelHarness) checkFiles(j *modelJob, hd bits.Job) {
	en, err := hd.EnumFiles()
	require.NoError(h.t, err)
	fs, _ := bits.All(en)
	require.Len(h.t, fs, len(j.files))
	for i, f := range fs {
		h.checkFile(j, i, f)
	}
}

// replyMethod calls one of the reply methods of IBackgroundCopyJob2: they apply to UPLOAD_REPLY
// jobs only (E_NOTIMPL for the others, in every state: README "States").
func (h *modelHarness) replyMethod() {
	if j, u, hd := h.pickHandle(); j != nil {
		h.replyMethodOn(j, u, hd)
	}
}

func (h *modelHarness) replyMethodOn(j *modelJob, u int, hd bits.Job) {
	t := h.t
	want := access(j, u)
	if want == hresult.S_OK && j.typ != bits.UploadReply {
		want = hresult.E_NOTIMPL
	}
	what := func(name string) string { return fmt.Sprintf("%s by %d in %v of a %v job", name, u, j.st, j.typ) }
	switch rapid.IntRange(0, 3).Draw(t, "reply method") {
	case 0:
		p, err := hd.GetReplyProgress()
		h.expect(what("GetReplyProgress"), want, err)
		if want == hresult.S_OK {
			require.Equal(t, bits.ReplyProgress{BytesTotal: bits.SizeUnknown}, p, "no reply has started")
		}
	case 1:
		// GetReplyData: TRANSFERRED, and after Complete (README "States").
		if want == hresult.S_OK && j.st != state.Transferred && j.st != state.Acknowledged {
			want = hresult.BG_E_INVALID_STATE
		}
		data, err := hd.GetReplyData()
		h.expect(what("GetReplyData"), want, err)
		require.Nil(t, data, "no reply")
	case 2:
		kind := rapid.SampledFrom([]string{"ok", "ok", "generated", "relative", "no-dir"}).Draw(t, "nameKind")
		name := filepath.Join(h.dir, fmt.Sprintf("reply%d", h.seq))
		h.seq++
		arg := hresult.S_OK
		switch kind {
		case "generated":
			name = "" // BITS chooses a name
		case "relative":
			name, arg = "reply", hresult.E_INVALIDARG
		case "no-dir":
			name, arg = filepath.Join(h.dir, "missing", "reply"), hresult.ERROR_PATH_NOT_FOUND
		}
		if want == hresult.S_OK {
			want = setOutcome(j, u, false, arg, hresult.S_OK, hresult.S_OK)
		}
		h.expect(what("SetReplyFileName("+kind+")"), want, hd.SetReplyFileName(name))
		if want == hresult.S_OK {
			j.replyFile = name
			h.touch(j)
		}
	case 3:
		_, err := hd.GetReplyFileName()
		h.expect(what("GetReplyFileName"), want, err)
	}
}
