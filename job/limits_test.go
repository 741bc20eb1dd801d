package job_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Length limits in characters (UTF-16 code units), from bits-api §5 and bits-behaviour §8 plus
// the README decisions (proxy lists 32,767, password 65,535).
func TestStringLimits(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)

	t.Run("display name 256", func(t *testing.T) {
		assert.NoError(t, j.SetDisplayName(strings.Repeat("n", 256)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetDisplayName(strings.Repeat("n", 257)))
		got, err := j.GetDisplayName()
		require.NoError(t, err)
		assert.Len(t, got, 256, "the failed call changed nothing")
		// Characters outside the BMP count twice (UTF-16).
		assert.NoError(t, j.SetDisplayName(strings.Repeat("😀", 128)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetDisplayName(strings.Repeat("😀", 128)+"x"))
		// Bad text.
		isCode(t, hresult.E_INVALIDARG, j.SetDisplayName("a\x00b"))
		isCode(t, hresult.E_INVALIDARG, j.SetDisplayName("\xff"))
	})
	t.Run("CreateJob display name", func(t *testing.T) {
		_, err := x.owner.CreateJob(strings.Repeat("n", 256), bits.Download)
		assert.NoError(t, err)
		_, err = x.owner.CreateJob(strings.Repeat("n", 257), bits.Download)
		isCode(t, hresult.E_INVALIDARG, err)
		_, err = x.owner.CreateJob("bad type", bits.JobType(3))
		isCode(t, hresult.E_INVALIDARG, err)
		_, err = x.owner.CreateJob("", bits.Download)
		assert.NoError(t, err, "an empty name is allowed")
	})
	t.Run("description 1024", func(t *testing.T) {
		assert.NoError(t, j.SetDescription(strings.Repeat("d", 1024)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetDescription(strings.Repeat("d", 1025)))
		assert.NoError(t, j.SetDescription(""))
	})
	t.Run("notify program 260", func(t *testing.T) {
		prog := "/" + strings.Repeat("p", 259)
		assert.NoError(t, j.SetNotifyCmdLine(prog, prog))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetNotifyCmdLine(prog+"p", ""))
	})
	t.Run("notify parameters 4000", func(t *testing.T) {
		assert.NoError(t, j.SetNotifyCmdLine("/bin/p", strings.Repeat("a", 4000)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetNotifyCmdLine("/bin/p", strings.Repeat("a", 4001)))
	})
	t.Run("notify command line rules", func(t *testing.T) {
		isCode(t, hresult.E_INVALIDARG, j.SetNotifyCmdLine("", "params"), "parameters without a program")
		isCode(t, hresult.E_INVALIDARG, j.SetNotifyCmdLine("bin/p", ""), "relative program (README decision)")
		assert.NoError(t, j.SetNotifyCmdLine("/bin/p", ""), "program without parameters")
		assert.NoError(t, j.SetNotifyCmdLine("", ""), "removes it")
	})
	t.Run("custom headers 16383", func(t *testing.T) {
		mk := func(n int) string { // one header line of exactly n characters, CR LF included
			return "X-Pad: " + strings.Repeat("v", n-len("X-Pad: \r\n")) + "\r\n"
		}
		require.Len(t, mk(16383), 16383)
		assert.NoError(t, j.SetCustomHeaders(mk(16383)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetCustomHeaders(mk(16384)))
		got, _, err := j.GetCustomHeaders()
		require.NoError(t, err)
		assert.Equal(t, mk(16383), got)
		isCode(t, hresult.E_INVALIDARG, j.SetCustomHeaders("no colon\r\n"))
	})
	t.Run("user name 300", func(t *testing.T) {
		cr := bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: strings.Repeat("u", 300), Password: "p"}
		assert.NoError(t, j.SetCredentials(cr))
		cr.UserName += "u"
		isCode(t, hresult.BG_E_USERNAME_TOO_LARGE, j.SetCredentials(cr))
	})
	t.Run("password 65535", func(t *testing.T) {
		cr := bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeDigest, UserName: "u", Password: strings.Repeat("p", 65535)}
		assert.NoError(t, j.SetCredentials(cr))
		cr.Password += "p"
		isCode(t, hresult.BG_E_PASSWORD_TOO_LARGE, j.SetCredentials(cr))
	})
	t.Run("proxy lists 32767", func(t *testing.T) {
		long := strings.Repeat("p", 32767)
		assert.NoError(t, j.SetProxySettings(bits.ProxyOverride, long, long))
		isCode(t, hresult.BG_E_PROXY_LIST_TOO_LARGE, j.SetProxySettings(bits.ProxyOverride, long+"p", "b"))
		isCode(t, hresult.BG_E_PROXY_BYPASS_LIST_TOO_LARGE, j.SetProxySettings(bits.ProxyOverride, "p", long+"b"))
		got, err := j.GetProxySettings()
		require.NoError(t, err)
		assert.Equal(t, long, got.ProxyList, "failed calls changed nothing")
	})
	t.Run("remote name 2200", func(t *testing.T) {
		// http://example.com/ + segments of 200 characters joined by '/', padded to n.
		mk := func(n int) string {
			s := "http://example.com"
			for len(s) < n {
				seg := min(200, n-len(s)-1)
				s += "/" + strings.Repeat("r", seg)
			}
			return s
		}
		require.Len(t, mk(2200), 2200)
		assert.NoError(t, j.AddFile(mk(2200), x.local()))
		isCode(t, hresult.E_INVALIDARG, j.AddFile(mk(2201), x.local()))
		// Each segment at most MAX_PATH.
		assert.NoError(t, j.AddFile("http://example.com/"+strings.Repeat("s", 260), x.local()))
		isCode(t, hresult.E_INVALIDARG, j.AddFile("http://example.com/"+strings.Repeat("s", 261), x.local()))
	})
	t.Run("local name 260", func(t *testing.T) {
		mk := func(n int) string {
			base := filepath.Join(x.dir, "L")
			return base + strings.Repeat("l", n-len(base))
		}
		require.Less(t, len(x.dir), 200, "temp dir too long for this test")
		require.Len(t, mk(260), 260)
		assert.NoError(t, j.AddFile(x.remote(), mk(260)))
		isCode(t, hresult.E_INVALIDARG, j.AddFile(x.remote(), mk(261)))
	})
}

func TestAddFileBadInput(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	cases := []struct {
		name          string
		remote, local string
		want          hresult.Code
	}{
		{"relative local", "http://example.com/a", "rel/a.bin", hresult.E_INVALIDARG},
		{"empty local", "http://example.com/a", "", hresult.E_INVALIDARG},
		{"missing local directory (README decision)", "http://example.com/a", filepath.Join(x.dir, "nope", "a.bin"), hresult.ERROR_PATH_NOT_FOUND},
		{"local wildcard", "http://example.com/a", filepath.Join(x.dir, "a*.bin"), hresult.E_INVALIDARG},
		{"local is a directory path", "http://example.com/a", x.dir + "/", hresult.E_INVALIDARG},
		{"ftp scheme", "ftp://example.com/a", x.local(), hresult.E_INVALIDARG},
		{"empty remote", "", x.local(), hresult.E_INVALIDARG},
		{"no host", "http:///a", x.local(), hresult.E_INVALIDARG},
		{"remote with a space", "http://example.com/a b", x.local(), hresult.E_INVALIDARG},
		{"relative remote", "a/b", x.local(), hresult.E_INVALIDARG},
		{"wildcard in UNC name", `\\server\share\*.bin`, x.local(), hresult.E_INVALIDARG},
	}
	for _, c := range cases {
		isCode(t, c.want, j.AddFile(c.remote, c.local), c.name)
	}
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), p.FilesTotal, "no failed AddFile added anything")

	// What is accepted.
	for _, r := range []string{"https://example.com/a", "file:///srv/a.bin", `\\server\share\a.bin`, "/srv/share/a.bin"} {
		assert.NoError(t, j.AddFile(r, x.local()), r)
	}
}

func TestAddFileSetAllOrNothing(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	err := j.AddFileSet([]bits.FileInfo{
		{RemoteName: x.remote(), LocalName: x.local()},
		{RemoteName: "ftp://bad/", LocalName: x.local()},
	})
	isCode(t, hresult.E_INVALIDARG, err)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), p.FilesTotal)
}

func TestUploadOneFile(t *testing.T) {
	x := newFx(t)
	t.Run("second AddFile", func(t *testing.T) {
		j := x.newJob(bits.Upload, 1)
		isCode(t, hresult.BG_E_TOO_MANY_FILES, j.AddFile(x.remote(), x.local()))
	})
	t.Run("AddFileSet of two, none added", func(t *testing.T) {
		j := x.newJob(bits.Upload, 0)
		err := j.AddFileSet([]bits.FileInfo{
			{RemoteName: x.remote(), LocalName: x.local()},
			{RemoteName: x.remote(), LocalName: x.local()},
		})
		isCode(t, hresult.BG_E_TOO_MANY_FILES, err)
		p, err := j.GetProgress()
		require.NoError(t, err)
		assert.Equal(t, uint32(0), p.FilesTotal, "none of the set is added")
	})
	t.Run("upload needs http", func(t *testing.T) {
		j := x.newJob(bits.UploadReply, 0)
		isCode(t, hresult.E_INVALIDARG, j.AddFile(`\\server\share\x`, x.local()))
		isCode(t, hresult.E_INVALIDARG, j.AddFile("file:///x", x.local()))
	})
}

func TestFilesPerJobLimit(t *testing.T) {
	x := newFx(t, manager.WithLimits(manager.Limits{MaxFilesPerJob: 2, MaxRangesPerFile: 2}))
	j := x.newJob(bits.Download, 0)
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	require.NoError(t, j.AddFile(x.remote(), x.local()), "the limit itself passes")
	isCode(t, hresult.BG_E_TOO_MANY_FILES_IN_JOB, j.AddFile(x.remote(), x.local()))

	j2 := x.newJob(bits.Download, 1)
	err := j2.AddFileSet([]bits.FileInfo{
		{RemoteName: x.remote(), LocalName: x.local()},
		{RemoteName: x.remote(), LocalName: x.local()},
	})
	isCode(t, hresult.BG_E_TOO_MANY_FILES_IN_JOB, err)
	p, err := j2.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint32(1), p.FilesTotal, "all or nothing")

	// Administrators are exempt, on their own job or the user's.
	aj, err := x.admin.CreateJob("admin", bits.Download)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, aj.AddFile(x.remote(), x.local()))
	}
	ah, err := x.admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	assert.NoError(t, ah.AddFile(x.remote(), x.local()))

	// Ranges.
	two := []bits.FileRange{{InitialOffset: 0, Length: 1}, {InitialOffset: 10, Length: 1}}
	three := append(two, bits.FileRange{InitialOffset: 20, Length: 1})
	j3 := x.newJob(bits.Download, 0)
	assert.NoError(t, j3.AddFileWithRanges(x.remote(), x.local(), two))
	isCode(t, hresult.BG_E_TOO_MANY_RANGES_IN_FILE, j3.AddFileWithRanges(x.remote(), x.local(), three))
	assert.NoError(t, aj.AddFileWithRanges(x.remote(), x.local(), three), "admin exempt")
}

func TestRanges(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	r := func(off, n uint64) bits.FileRange { return bits.FileRange{InitialOffset: off, Length: n} }
	cases := []struct {
		name   string
		ranges []bits.FileRange
		want   hresult.Code
	}{
		{"none", nil, hresult.E_INVALIDARG},
		{"empty slice", []bits.FileRange{}, hresult.E_INVALIDARG},
		{"zero length", []bits.FileRange{r(0, 0)}, hresult.BG_E_INVALID_RANGE},
		{"offset LengthToEOF", []bits.FileRange{r(bits.LengthToEOF, 1)}, hresult.BG_E_INVALID_RANGE},
		{"past 2^64", []bits.FileRange{r(10, 1<<64-5)}, hresult.BG_E_INVALID_RANGE},
		{"overlapping", []bits.FileRange{r(0, 10), r(5, 10)}, hresult.BG_E_OVERLAPPING_RANGES},
		{"overlapping out of order", []bits.FileRange{r(5, 10), r(0, 10)}, hresult.BG_E_OVERLAPPING_RANGES},
		{"duplicate", []bits.FileRange{r(0, 10), r(0, 10)}, hresult.BG_E_OVERLAPPING_RANGES},
		{"same offset, reverse length order", []bits.FileRange{r(0, 10), r(0, 5)}, hresult.BG_E_OVERLAPPING_RANGES},
		{"after a range to EOF", []bits.FileRange{r(0, bits.LengthToEOF), r(100, 1)}, hresult.BG_E_OVERLAPPING_RANGES},
		{"adjacent", []bits.FileRange{r(0, 10), r(10, 10)}, hresult.S_OK},
		{"to EOF", []bits.FileRange{r(100, bits.LengthToEOF)}, hresult.S_OK},
	}
	for _, c := range cases {
		checkResult(t, c.want, hresult.S_OK, j.AddFileWithRanges(x.remote(), x.local(), c.ranges), c.name)
	}
	isCode(t, hresult.E_INVALIDARG, j.AddFileWithRanges(`\\server\share\f`, x.local(), []bits.FileRange{r(0, 1)}), "no ranges over SMB")

	up := x.newJob(bits.Upload, 0)
	isCode(t, hresult.E_NOTIMPL, up.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{r(0, 1)}), "ranged upload")
}

func TestSetterArgumentCodes(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)

	t.Run("priority", func(t *testing.T) {
		for p := bits.Priority(0); p <= 3; p++ {
			assert.NoError(t, j.SetPriority(p))
		}
		isCode(t, hresult.E_NOTIMPL, j.SetPriority(4))
		got, err := j.GetPriority()
		require.NoError(t, err)
		assert.Equal(t, bits.Priority(3), got)
	})
	t.Run("notify flags", func(t *testing.T) {
		require.NoError(t, j.SetNotifyFlags(0x3F))
		isCode(t, hresult.E_NOTIMPL, j.SetNotifyFlags(0x40))
		isCode(t, hresult.E_NOTIMPL, j.SetNotifyFlags(0x80000001))
		got, err := j.GetNotifyFlags()
		require.NoError(t, err)
		assert.Equal(t, uint32(0x3F), got, "unchanged by the failed call")
		assert.NoError(t, j.SetNotifyFlags(0))
	})
	t.Run("retry delay floor", func(t *testing.T) {
		require.NoError(t, j.SetMinimumRetryDelay(1))
		got, err := j.GetMinimumRetryDelay()
		require.NoError(t, err)
		assert.Equal(t, uint32(5), got)
		require.NoError(t, j.SetMinimumRetryDelay(0))
		got, err = j.GetMinimumRetryDelay()
		require.NoError(t, err)
		assert.Equal(t, uint32(5), got)
		require.NoError(t, j.SetMinimumRetryDelay(6))
		got, err = j.GetMinimumRetryDelay()
		require.NoError(t, err)
		assert.Equal(t, uint32(6), got)
	})
	t.Run("proxy settings", func(t *testing.T) {
		isCode(t, hresult.E_NOTIMPL, j.SetProxySettings(4, "", ""), "undefined usage")
		isCode(t, hresult.E_INVALIDARG, j.SetProxySettings(bits.ProxyOverride, "", ""), "OVERRIDE needs a list")
		isCode(t, hresult.E_INVALIDARG, j.SetProxySettings(bits.ProxyOverride, "", "bypass"), "OVERRIDE needs a proxy list")
		isCode(t, hresult.E_INVALIDARG, j.SetProxySettings(bits.ProxyPreconfig, "p:80", ""), "a list without OVERRIDE")
		isCode(t, hresult.E_INVALIDARG, j.SetProxySettings(bits.ProxyNoProxy, "", "b"), "a bypass list without OVERRIDE")
		isCode(t, hresult.E_INVALIDARG, j.SetProxySettings(bits.ProxyAutodetect, "p", ""))
		assert.NoError(t, j.SetProxySettings(bits.ProxyAutodetect, "", ""))
		assert.NoError(t, j.SetProxySettings(bits.ProxyOverride, "p:80", ""))
		got, err := j.GetProxySettings()
		require.NoError(t, err)
		assert.Equal(t, bits.ProxySettings{Usage: bits.ProxyOverride, ProxyList: "p:80"}, got)
	})
	t.Run("credentials", func(t *testing.T) {
		cr := func(tg bits.AuthTarget, sc bits.AuthScheme, u, p string) bits.Credentials {
			return bits.Credentials{Target: tg, Scheme: sc, UserName: u, Password: p}
		}
		isCode(t, hresult.BG_E_INVALID_AUTH_TARGET, j.SetCredentials(cr(0, bits.SchemeBasic, "u", "p")))
		isCode(t, hresult.BG_E_INVALID_AUTH_TARGET, j.SetCredentials(cr(3, bits.SchemeBasic, "u", "p")))
		isCode(t, hresult.BG_E_INVALID_AUTH_SCHEME, j.SetCredentials(cr(bits.TargetServer, 0, "u", "p")))
		isCode(t, hresult.BG_E_INVALID_AUTH_SCHEME, j.SetCredentials(cr(bits.TargetServer, 6, "u", "p")))
		isCode(t, hresult.E_INVALIDARG, j.SetCredentials(cr(bits.TargetServer, bits.SchemeBasic, "", "")), "BASIC needs a user")
		isCode(t, hresult.E_INVALIDARG, j.SetCredentials(cr(bits.TargetServer, bits.SchemeDigest, "", "")), "DIGEST needs a user")
		isCode(t, hresult.E_INVALIDARG, j.SetCredentials(cr(bits.TargetServer, bits.SchemeNTLM, "", "pw")), "a password without a user")
		assert.NoError(t, j.SetCredentials(cr(bits.TargetServer, bits.SchemeNegotiate, "", "")))
		assert.NoError(t, j.SetCredentials(cr(bits.TargetProxy, bits.SchemeBasic, "u", "")), "empty password allowed")
		_, err := j.RemoveCredentials(0, bits.SchemeBasic)
		isCode(t, hresult.BG_E_INVALID_AUTH_TARGET, err)
		_, err = j.RemoveCredentials(bits.TargetServer, 9)
		isCode(t, hresult.BG_E_INVALID_AUTH_SCHEME, err)
	})
	t.Run("security flags", func(t *testing.T) {
		for _, good := range []uint32{0, 0x1F, 0x100, 0x200, 0x800, 0x900, 0x11F} {
			assert.NoError(t, j.SetSecurityFlags(good), "0x%X", good)
		}
		for _, bad := range []uint32{0x20, 0x300, 0x400, 0x700, 0xA00, 0x1000, 0x80000000} {
			isCode(t, hresult.E_NOTIMPL, j.SetSecurityFlags(bad), fmt.Sprintf("0x%X", bad))
		}
		got, err := j.GetSecurityFlags()
		require.NoError(t, err)
		assert.Equal(t, uint32(0x11F), got)
	})
	t.Run("ACL and peer flags", func(t *testing.T) {
		isCode(t, hresult.E_INVALIDARG, j.SetFileACLFlags(16))
		isCode(t, hresult.E_INVALIDARG, j.SetPeerCachingFlags(8))
	})
	t.Run("ReplaceRemotePrefix", func(t *testing.T) {
		jj := x.newJob(bits.Download, 1)
		_, err := jj.ReplaceRemotePrefix("", "http://x/")
		isCode(t, hresult.E_INVALIDARG, err)
		_, err = jj.ReplaceRemotePrefix("http://example.com/", "")
		isCode(t, hresult.E_INVALIDARG, err)
		_, err = jj.ReplaceRemotePrefix("http://example.com/", "ftp://example.com/")
		isCode(t, hresult.E_INVALIDARG, err, "result not a valid URL")
		_, err = jj.ReplaceRemotePrefix("http://example.com/", "http://example.com/"+strings.Repeat("a/", 1100))
		isCode(t, hresult.E_INVALIDARG, err, "result over 2,200 characters")
	})
	t.Run("File.SetRemoteName", func(t *testing.T) {
		jj := x.newJob(bits.Download, 1)
		f := fileAt(t, jj, 0)
		isCode(t, hresult.E_INVALIDARG, f.SetRemoteName("ftp://example.com/a"))
		isCode(t, hresult.E_INVALIDARG, f.SetRemoteName(""))
		assert.NoError(t, f.SetRemoteName("https://example.org/b"))
	})
	t.Run("SetHttpMethod", func(t *testing.T) {
		jj := x.newJob(bits.Download, 0)
		isCode(t, hresult.E_INVALIDARG, jj.SetHttpMethod(""))
		isCode(t, hresult.E_INVALIDARG, jj.SetHttpMethod("GET X"))
	})
}

func TestJob5SetPropertyRules(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	for _, id := range []bits.PropertyID{0, 6, 8, 11, 100} {
		isCode(t, hresult.BG_E_UNKNOWN_PROPERTY_ID, j.SetProperty(id, bits.PropertyValue{}), id)
	}
	isCode(t, hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 0}))
	assert.NoError(t, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 1<<64 - 1}))
	isCode(t, hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, j.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetServer}))
	isCode(t, hresult.E_INVALIDARG, j.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: 0x100}))

	// HIGH_PERFORMANCE before any file.
	assert.NoError(t, j.SetProperty(bits.PropertyHighPerformance, bits.PropertyValue{Enable: true}))
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	isCode(t, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE, j.SetProperty(bits.PropertyHighPerformance, bits.PropertyValue{Enable: false}))
	v, err := j.GetProperty(bits.PropertyHighPerformance)
	require.NoError(t, err)
	assert.True(t, v.Enable)

	// DYNAMIC_CONTENT before the first Resume; still read-only after a Suspend.
	assert.NoError(t, j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
	require.NoError(t, j.Resume())
	require.NoError(t, j.Suspend())
	isCode(t, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: false}))
	isCode(t, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 5}))
	// Properties that may change at any time.
	assert.NoError(t, j.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: bits.TransferPolicyUnrestricted}))
	assert.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 10}))

	// Upload jobs.
	up := x.newJob(bits.Upload, 0)
	for _, id := range []bits.PropertyID{bits.PropertyDynamicContent, bits.PropertyHighPerformance, bits.PropertyMaxDownloadSize, bits.PropertyOnDemandMode} {
		isCode(t, hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, up.SetProperty(id, bits.PropertyValue{Enable: true, Uint64: 1}), id)
	}
	assert.NoError(t, up.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetProxy}))

	// Dynamic content and ranges do not mix.
	dyn := x.newJob(bits.Download, 0)
	require.NoError(t, dyn.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
	isCode(t, hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION, dyn.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 0, Length: 1}}))
	isCode(t, hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION, dyn.SetProperty(bits.PropertyOnDemandMode, bits.PropertyValue{Enable: true}))
	ranged := x.newJob(bits.Download, 0)
	require.NoError(t, ranged.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 0, Length: 1}}))
	isCode(t, hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION, ranged.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
}

// SetHttpMethod pins the job at FOREGROUND; SetPriority then only accepts FOREGROUND.
func TestHttpMethodPinsForeground(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	require.NoError(t, j.SetHttpMethod("PUT"))
	m, err := j.GetHttpMethod()
	require.NoError(t, err)
	assert.Equal(t, "PUT", m)
	p, err := j.GetPriority()
	require.NoError(t, err)
	assert.Equal(t, bits.Foreground, p)
	isCode(t, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, j.SetPriority(bits.Normal))
	p, err = j.GetPriority()
	require.NoError(t, err)
	assert.Equal(t, bits.Foreground, p)
	assert.NoError(t, j.SetPriority(bits.Foreground))
	isCode(t, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
	isCode(t, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, j.SetProperty(bits.PropertyOnDemandMode, bits.PropertyValue{Enable: true}))

	// The default verb is a no-op: the priority stays free.
	j2 := x.newJob(bits.Download, 0)
	require.NoError(t, j2.SetHttpMethod("GET"))
	p, err = j2.GetPriority()
	require.NoError(t, err)
	assert.Equal(t, bits.Normal, p)
	assert.NoError(t, j2.SetPriority(bits.Low))

	// A custom verb with dynamic content is refused.
	j3 := x.newJob(bits.Download, 0)
	require.NoError(t, j3.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
	isCode(t, hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, j3.SetHttpMethod("PUT"))

	// After Resume: BG_E_READ_ONLY_PROPERTY_AFTER_RESUME (README decision).
	j4 := x.jobIn(bits.Download, 1, state.Queued)
	isCode(t, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, j4.SetHttpMethod("PUT"))
}

// When two things are wrong at once: access, then arguments, then state, then type, then limits.
func TestCheckOrder(t *testing.T) {
	x := newFx(t)

	t.Run("argument before state", func(t *testing.T) {
		j := x.jobIn(bits.Download, 1, state.Cancelled)
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetDisplayName(strings.Repeat("n", 257)))
		isCode(t, hresult.BG_E_STRING_TOO_LONG, j.SetDescription(strings.Repeat("d", 1025)))
		isCode(t, hresult.E_NOTIMPL, j.SetPriority(7))
		isCode(t, hresult.E_NOTIMPL, j.SetNotifyFlags(0x100))
		isCode(t, hresult.E_INVALIDARG, j.AddFile("ftp://x/y", x.local()))
		isCode(t, hresult.ERROR_PATH_NOT_FOUND, j.AddFile(x.remote(), filepath.Join(x.dir, "missing", "f")))
		isCode(t, hresult.E_INVALIDARG, j.AddFileWithRanges(x.remote(), x.local(), nil))
		isCode(t, hresult.BG_E_INVALID_RANGE, j.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 0, Length: 0}}))
		isCode(t, hresult.BG_E_UNKNOWN_PROPERTY_ID, j.SetProperty(6, bits.PropertyValue{}))
		isCode(t, hresult.BG_E_PROXY_LIST_TOO_LARGE, j.SetProxySettings(bits.ProxyOverride, strings.Repeat("p", 32768), ""))
		isCode(t, hresult.BG_E_USERNAME_TOO_LARGE, j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: strings.Repeat("u", 301)}))
		isCode(t, hresult.E_NOTIMPL, j.SetSecurityFlags(0x300))
		mustState(t, j, state.Cancelled)
	})
	t.Run("argument before type", func(t *testing.T) {
		up := x.newJob(bits.Upload, 1)
		isCode(t, hresult.E_INVALIDARG, up.AddFile("ftp://x/y", x.local()), "bad name beats BG_E_TOO_MANY_FILES")
		isCode(t, hresult.BG_E_OVERLAPPING_RANGES, up.AddFileWithRanges(x.remote(), x.local(),
			[]bits.FileRange{{InitialOffset: 0, Length: 5}, {InitialOffset: 0, Length: 5}}), "bad ranges beat E_NOTIMPL")
		isCode(t, hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, up.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetServer}))
	})
	t.Run("state before type", func(t *testing.T) {
		up := x.jobIn(bits.Upload, 1, state.Cancelled)
		isCode(t, hresult.BG_E_INVALID_STATE, up.AddFile(x.remote(), x.local()))
		isCode(t, hresult.BG_E_INVALID_STATE, up.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}))
		_, err := up.ReplaceRemotePrefix("http://", "https://")
		isCode(t, hresult.BG_E_INVALID_STATE, err)
	})
	t.Run("type before limits", func(t *testing.T) {
		y := newFx(t, manager.WithLimits(manager.Limits{MaxFilesPerJob: 1}))
		up := y.newJob(bits.Upload, 1)
		isCode(t, hresult.BG_E_TOO_MANY_FILES, up.AddFile(y.remote(), y.local()))
	})
	t.Run("access before everything", func(t *testing.T) {
		j := x.jobIn(bits.Download, 1, state.Cancelled)
		other := engine.Of(j).As(job.NewCaller(otherID))
		isCode(t, hresult.E_ACCESSDENIED, other.SetDisplayName(strings.Repeat("n", 257)))
		isCode(t, hresult.E_ACCESSDENIED, other.AddFileWithRanges(x.remote(), x.local(), nil))
		isCode(t, hresult.E_ACCESSDENIED, other.SetPriority(9))
		isCode(t, hresult.E_ACCESSDENIED, other.SetProperty(6, bits.PropertyValue{}))
		// Owner-only methods: an administrator who is not the owner is refused before its
		// arguments or the state are looked at.
		admin := engine.Of(j).As(job.NewCaller(adminID))
		isCode(t, hresult.E_ACCESSDENIED, admin.SetCustomHeaders(strings.Repeat("x", 20000)))
		isCode(t, hresult.E_ACCESSDENIED, admin.SetCredentials(bits.Credentials{}))
		_, err := admin.RemoveCredentials(0, 0)
		isCode(t, hresult.E_ACCESSDENIED, err)
		isCode(t, hresult.BG_E_INVALID_STATE, admin.SetDisplayName("ok"), "an admin may otherwise reach the state check")
		// A closed caller is disconnected whoever it is.
		c := job.NewCaller(otherID)
		h := engine.Of(j).As(c)
		c.Close()
		isCode(t, hresult.RPC_E_DISCONNECTED, h.SetDisplayName(strings.Repeat("n", 257)))
	})
}
