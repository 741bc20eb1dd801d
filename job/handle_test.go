package job_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// The BITS interface methods an application's handles may carry, by interface, as the job
// package spells them in Go (bits-api.md, "Inheritance chains and vtable order"). The lists are
// typed from the spec, not read from the code: a method that is on a handle and not here is one
// the service's side leaked onto the application's.
var (
	bitsJobMethods = map[string][]string{
		"IBackgroundCopyJob": {"AddFileSet", "AddFile", "EnumFiles", "Suspend", "Resume", "Cancel",
			"Complete", "GetId", "GetType", "GetProgress", "GetTimes", "GetState", "GetError",
			"GetOwner", "SetDisplayName", "GetDisplayName", "SetDescription", "GetDescription",
			"SetPriority", "GetPriority", "SetNotifyFlags", "GetNotifyFlags", "SetNotifyInterface",
			"GetNotifyInterface", "SetMinimumRetryDelay", "GetMinimumRetryDelay",
			"SetNoProgressTimeout", "GetNoProgressTimeout", "GetErrorCount", "SetProxySettings",
			"GetProxySettings", "TakeOwnership"},
		"IBackgroundCopyJob2": {"SetNotifyCmdLine", "GetNotifyCmdLine", "GetReplyProgress",
			"GetReplyData", "SetReplyFileName", "GetReplyFileName", "SetCredentials", "RemoveCredentials"},
		"IBackgroundCopyJob3": {"ReplaceRemotePrefix", "AddFileWithRanges", "SetFileACLFlags", "GetFileACLFlags"},
		"IBackgroundCopyJob4": {"SetPeerCachingFlags", "GetPeerCachingFlags", "GetOwnerIntegrityLevel",
			"GetOwnerElevationState", "SetMaximumDownloadTime", "GetMaximumDownloadTime"},
		"IBackgroundCopyJob5": {"SetProperty", "GetProperty"},
		"IBackgroundCopyJobHttpOptions": {"SetClientCertificateByID", "SetClientCertificateByName",
			"RemoveClientCertificate", "GetClientCertificate", "SetCustomHeaders", "GetCustomHeaders",
			"SetSecurityFlags", "GetSecurityFlags"},
		"IBackgroundCopyJobHttpOptions2": {"SetHttpMethod", "GetHttpMethod"},
		"IBackgroundCopyJobHttpOptions3": {"SetServerCertificateValidationInterface", "MakeCustomHeadersWriteOnly"},
	}
	bitsFileMethods = map[string][]string{
		"IBackgroundCopyFile":  {"GetRemoteName", "GetLocalName", "GetProgress"},
		"IBackgroundCopyFile2": {"GetFileRanges", "SetRemoteName"},
		"IBackgroundCopyFile3": {"GetTemporaryName", "SetValidationState", "GetValidationState", "IsDownloadedFromPeer"},
		"IBackgroundCopyFile4": {"GetPeerDownloadStats"},
		"IBackgroundCopyFile5": {"SetProperty", "GetProperty"},
	}
	bitsErrorMethods = map[string][]string{
		"IBackgroundCopyError": {"GetError", "GetFile", "GetErrorDescription", "GetErrorContextDescription", "GetProtocol"},
	}
)

// exportedMethods lists the exported methods of t's method set.
func exportedMethods(t reflect.Type) []reflect.Method {
	var out []reflect.Method
	for i := range t.NumMethod() {
		if m := t.Method(i); m.IsExported() {
			out = append(out, m)
		}
	}
	return out
}

// TestHandlesCarryBITSMethodsOnly: every exported method of the application's handles (*Job,
// *File, *ErrorInfo) is a method of the BITS interface it stands for. Whatever the service
// needs (events, progress, temporary files, records) lives on job.Engine, out of reach.
func TestHandlesCarryBITSMethodsOnly(t *testing.T) {
	for _, tc := range []struct {
		typ     reflect.Type
		allowed map[string][]string
		// least is how many methods the handle must at least carry, so that a handle emptied
		// by mistake (or a test over the wrong type) fails too.
		least int
	}{
		{reflect.TypeOf(&job.Job{}), bitsJobMethods, 59},
		{reflect.TypeOf((*job.File)(nil)), bitsFileMethods, 10},
		{reflect.TypeOf((*job.ErrorInfo)(nil)), bitsErrorMethods, 5},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			allowed := map[string]string{}
			for iface, names := range tc.allowed {
				for _, n := range names {
					allowed[n] = iface
				}
			}
			methods := exportedMethods(tc.typ)
			for _, m := range methods {
				_, ok := allowed[m.Name]
				assert.True(t, ok, "%s.%s is not a BITS method: the application's handle must not carry it", tc.typ, m.Name)
			}
			assert.GreaterOrEqual(t, len(methods), tc.least, "the handle lost its BITS methods")
		})
	}
}

// zeroArgs returns zero values for the arguments of method m (receiver excluded).
func zeroArgs(m reflect.Method) []reflect.Value {
	var in []reflect.Value
	for i := 1; i < m.Type.NumIn(); i++ {
		in = append(in, reflect.Zero(m.Type.In(i)))
	}
	return in
}

// lastError returns the error a method call returned as its last result, and whether the
// method returns one at all.
func lastError(out []reflect.Value) (error, bool) {
	if len(out) == 0 {
		return nil, false
	}
	last := out[len(out)-1]
	if last.Type() != reflect.TypeFor[error]() {
		return nil, false
	}
	if last.IsNil() {
		return nil, true
	}
	return last.Interface().(error), true
}

// TestOtherUserDeniedEveryMethod calls every exported method of bits.Job, found by reflection,
// with zero arguments through another ordinary user's handle: each returns E_ACCESSDENIED
// (access is checked before the arguments and the state), and the job is untouched. A method
// added to the handle later is covered without a new row.
func TestOtherUserDeniedEveryMethod(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	require.NoError(t, j.SetCustomHeaders("X-Owner: 1\r\n"))
	before, err := j.GetTimes()
	require.NoError(t, err)
	other := engine.Of(j).As(job.NewCaller(otherID))
	rv := reflect.ValueOf(other)
	called := 0
	for _, m := range exportedMethods(rv.Type()) {
		t.Run(m.Name, func(t *testing.T) {
			out := rv.Method(m.Index).Call(zeroArgs(m))
			err, ok := lastError(out)
			require.True(t, ok, "%s returns no error: it cannot refuse another user", m.Name)
			isCode(t, hresult.E_ACCESSDENIED, err, m.Name)
			called++
		})
	}
	require.GreaterOrEqual(t, called, 59, "every method was called")
	mustState(t, j, state.Suspended)
	after, err := j.GetTimes()
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing changed")
	h, code, err := j.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, "X-Owner: 1\r\n", h)
}

// The secrets of TestSecretsNeverReadBack: distinctive strings that no getter may return.
const (
	secretPassword = "pw-Zq7-never-shown"
	secretUser     = "user-Zq7-never-shown"
	secretHeader   = "hdr-Zq7-never-shown"
)

// readEverything calls every getter of h (every exported method named Get…, Is… or Enum…), every
// getter of every file it enumerates and, for GetProperty, every property ID, and returns all the
// results printed with their field names, so that a secret anywhere in them shows. calls counts
// the getters called.
func readEverything(t *testing.T, h bits.Job) (dump string, calls int) {
	t.Helper()
	var b strings.Builder
	isGetter := func(name string) bool {
		return strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "Is") || strings.HasPrefix(name, "Enum")
	}
	call := func(v reflect.Value) {
		for _, m := range exportedMethods(v.Type()) {
			if !isGetter(m.Name) {
				continue
			}
			var argSets [][]reflect.Value
			switch {
			case m.Name == "GetProperty" && m.Type.In(1) == reflect.TypeFor[bits.PropertyID]():
				for id := bits.PropertyID(0); id <= 16; id++ {
					argSets = append(argSets, []reflect.Value{reflect.ValueOf(id)})
				}
			case m.Name == "GetProperty":
				argSets = append(argSets, []reflect.Value{reflect.ValueOf(bits.FilePropertyHTTPResponseHeaders)})
			default:
				argSets = append(argSets, zeroArgs(m))
			}
			for _, args := range argSets {
				out := v.Method(m.Index).Call(args)
				calls++
				for _, o := range out {
					fmt.Fprintf(&b, "%s: %+v\n", m.Name, o.Interface())
					if e, ok := o.Interface().(*job.Enum[bits.File]); ok && e != nil {
						files, _ := bits.All(e)
						for _, f := range files {
							fv := reflect.ValueOf(f)
							for _, fm := range exportedMethods(fv.Type()) {
								if !isGetter(fm.Name) {
									continue
								}
								args := zeroArgs(fm)
								if fm.Name == "GetProperty" {
									args = []reflect.Value{reflect.ValueOf(bits.FilePropertyHTTPResponseHeaders)}
								}
								for _, fo := range fv.Method(fm.Index).Call(args) {
									fmt.Fprintf(&b, "File.%s: %+v\n", fm.Name, fo.Interface())
								}
								calls++
							}
						}
					}
				}
			}
		}
	}
	call(reflect.ValueOf(h))
	return b.String(), calls
}

// TestSecretsNeverReadBack: the password of SetCredentials is never returned by any getter, and
// custom headers made write-only cannot be read back: not by the owner, not by an administrator,
// not by an administrator who took ownership (IBackgroundCopyJob2::SetCredentials,
// IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly).
func TestSecretsNeverReadBack(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 2)
	for _, cr := range []bits.Credentials{
		{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: secretUser, Password: secretPassword},
		{Target: bits.TargetProxy, Scheme: bits.SchemeNTLM, UserName: secretUser, Password: secretPassword},
	} {
		require.NoError(t, j.SetCredentials(cr))
	}
	require.NoError(t, j.SetCustomHeaders("X-Token: "+secretHeader+"\r\n"))
	// Before they are write-only the owner reads the headers back: the probe sees them, so a
	// probe that missed them would be caught here.
	dump, _ := readEverything(t, j)
	require.Contains(t, dump, secretHeader, "the owner reads readable headers")
	require.NotContains(t, dump, secretPassword)
	require.NoError(t, j.MakeCustomHeadersWriteOnly())

	admin, err := x.admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	check := func(who string, h bits.Job, headersCode hresult.Code, reads bool) {
		t.Helper()
		_, _, err := h.GetCustomHeaders()
		isCode(t, headersCode, err, who+": GetCustomHeaders")
		dump, calls := readEverything(t, h)
		assert.GreaterOrEqual(t, calls, 40, who+": every getter was called")
		for _, s := range []string{secretPassword, secretHeader} {
			assert.NotContains(t, dump, s, "%s: a getter returned a secret", who)
		}
		assert.Equal(t, reads, slices.ContainsFunc(strings.Split(dump, "\n"), func(l string) bool {
			return strings.HasPrefix(l, "GetDisplayName: test job")
		}), "%s: the probe reads the job", who)
	}
	check("owner", j, hresult.E_ACCESSDENIED, true)
	check("admin", admin, hresult.E_ACCESSDENIED, true)
	require.NoError(t, admin.TakeOwnership())
	check("new owner", admin, hresult.E_ACCESSDENIED, true)
	// The former owner is now another user: denied as well.
	check("former owner", j, hresult.E_ACCESSDENIED, false)

	// Readable headers stay out of the administrator's reach without TakeOwnership.
	k := x.newJob(bits.Download, 1)
	require.NoError(t, k.SetCustomHeaders("X-Token: "+secretHeader+"\r\n"))
	require.NoError(t, k.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: secretUser, Password: secretPassword}))
	ka, err := x.admin.GetJob(engine.Of(k).ID())
	require.NoError(t, err)
	check("admin, readable headers", ka, hresult.E_ACCESSDENIED, true)
	// TakeOwnership removes them (IBackgroundCopyJobHttpOptions::SetCustomHeaders).
	require.NoError(t, ka.TakeOwnership())
	hdr, code, err := ka.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Empty(t, hdr)
	dump, _ = readEverything(t, ka)
	assert.NotContains(t, dump, secretHeader)
	assert.NotContains(t, dump, secretPassword)
}

// TestHandlesImplementTheClientSurface: the handles carry exactly the methods of package bits's
// interfaces, so code written against bits runs on bitsemu unchanged, and the interfaces hold
// only BITS methods.
func TestHandlesImplementTheClientSurface(t *testing.T) {
	for _, tc := range []struct {
		handle, iface reflect.Type
	}{
		{reflect.TypeOf(&job.Job{}), reflect.TypeOf((*bits.Job)(nil)).Elem()},
		{reflect.TypeOf((*job.File)(nil)), reflect.TypeOf((*bits.File)(nil)).Elem()},
		{reflect.TypeOf((*job.ErrorInfo)(nil)), reflect.TypeOf((*bits.Error)(nil)).Elem()},
	} {
		t.Run(tc.iface.String(), func(t *testing.T) {
			require.True(t, tc.handle.Implements(tc.iface))
			var want, got []string
			for i := range tc.iface.NumMethod() {
				want = append(want, tc.iface.Method(i).Name)
			}
			for _, m := range exportedMethods(tc.handle) {
				got = append(got, m.Name)
			}
			assert.Equal(t, want, got, "the handle's methods are the interface's")
		})
	}
}
