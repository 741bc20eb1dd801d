package job_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Defaults of a new job (bits-behaviour §2.1, bits-api §5), with the values typed from the spec.
func TestNewJobDefaults(t *testing.T) {
	x := newFx(t)
	j, err := x.owner.CreateJob("fresh", bits.Download)
	require.NoError(t, err)

	st, err := j.GetState()
	require.NoError(t, err)
	assert.Equal(t, state.Suspended, st)

	id, err := j.GetId()
	require.NoError(t, err)
	assert.Equal(t, engine.Of(j).ID(), id)
	assert.NotEqual(t, uuid.Nil, id)

	typ, err := j.GetType()
	require.NoError(t, err)
	assert.Equal(t, bits.Download, typ)

	name, err := j.GetDisplayName()
	require.NoError(t, err)
	assert.Equal(t, "fresh", name)

	desc, err := j.GetDescription()
	require.NoError(t, err)
	assert.Equal(t, "", desc)

	owner, err := j.GetOwner()
	require.NoError(t, err)
	assert.Equal(t, ownerID.SID, owner)

	prio, err := j.GetPriority()
	require.NoError(t, err)
	assert.Equal(t, bits.Priority(2), prio, "NORMAL")

	flags, err := j.GetNotifyFlags()
	require.NoError(t, err)
	assert.Equal(t, uint32(0x3), flags)

	cb, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, cb)

	delay, err := j.GetMinimumRetryDelay()
	require.NoError(t, err)
	assert.Equal(t, uint32(600), delay)

	np, err := j.GetNoProgressTimeout()
	require.NoError(t, err)
	assert.Equal(t, uint32(1209600), np)

	md, err := j.GetMaximumDownloadTime()
	require.NoError(t, err)
	assert.Equal(t, uint32(7776000), md)

	proxy, err := j.GetProxySettings()
	require.NoError(t, err)
	assert.Equal(t, bits.ProxySettings{Usage: bits.ProxyUsage(0), ProxyList: "", BypassList: ""}, proxy, "PRECONFIG, empty lists")

	hdr, code, err := j.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Equal(t, "", hdr)

	sec, err := j.GetSecurityFlags()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), sec)

	method, err := j.GetHttpMethod()
	require.NoError(t, err)
	assert.Equal(t, "GET", method)

	cmd, err := j.GetNotifyCmdLine()
	require.NoError(t, err)
	assert.Equal(t, bits.NotifyCmdLine{Program: "", Parameters: ""}, cmd)

	ec, err := j.GetErrorCount()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), ec)

	_, err = j.GetError()
	isCode(t, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, err)

	acl, err := j.GetFileACLFlags()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), acl)

	peer, err := j.GetPeerCachingFlags()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), peer)

	il, err := j.GetOwnerIntegrityLevel()
	require.NoError(t, err)
	assert.Equal(t, uint32(0x2000), il, "medium integrity for an ordinary user")

	elev, err := j.GetOwnerElevationState()
	require.NoError(t, err)
	assert.False(t, elev)

	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{}, p, "all zero with no files")

	times, err := j.GetTimes()
	require.NoError(t, err)
	assert.True(t, times.CreationTime.Equal(epoch), "creation time from the virtual clock")
	assert.True(t, times.ModificationTime.Equal(epoch))
	assert.True(t, times.TransferCompletionTime.IsZero())

	e, err := j.EnumFiles()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), enumCount(e))
	fs, code, _ := e.Next(1)
	assert.Empty(t, fs)
	assert.Equal(t, hresult.S_FALSE, code)
}

func TestUploadJobDefaults(t *testing.T) {
	x := newFx(t)
	for _, typ := range []bits.JobType{bits.Upload, bits.UploadReply} {
		j, err := x.owner.CreateJob("up", typ)
		require.NoError(t, err)
		m, err := j.GetHttpMethod()
		require.NoError(t, err)
		assert.Equal(t, "BITS_POST", m, typ.String())
	}
	j, err := x.owner.CreateJob("reply", bits.UploadReply)
	require.NoError(t, err)
	rp, err := j.GetReplyProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.SizeUnknown, rp.BytesTotal, "BytesTotal is BG_SIZE_UNKNOWN until the reply starts")
	name, err := j.GetReplyFileName()
	require.NoError(t, err)
	assert.Equal(t, "", name, "no reply name while the job has no file")
	require.NoError(t, j.AddFile("http://example.com/upload", filepath.Join(x.dir, "up.bin")))
	name, err = j.GetReplyFileName()
	require.NoError(t, err)
	assert.Equal(t, x.dir, filepath.Dir(name), "generated beside the upload file")
}

func TestJob5PropertyDefaults(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	want := map[bits.PropertyID]bits.PropertyValue{
		1:  {Dword: 0x800000FF}, // COST_FLAGS: TRANSFER_POLICY_ALWAYS
		2:  {ClsID: uuid.Nil},   // NOTIFICATION_CLSID: GUID_NULL
		3:  {Enable: false},     // DYNAMIC_CONTENT
		4:  {Enable: false},     // HIGH_PERFORMANCE
		5:  {Uint64: 0},         // MAX_DOWNLOAD_SIZE: no cap
		7:  {Target: 0},         // USE_STORED_CREDENTIALS: none
		9:  {Dword: 500},        // MINIMUM_NOTIFICATION_INTERVAL_MS
		10: {Enable: false},     // ON_DEMAND_MODE
	}
	for id, v := range want {
		got, err := j.GetProperty(id)
		require.NoError(t, err, id)
		assert.Equal(t, v, got, id.String())
	}
	for _, id := range []bits.PropertyID{0, 6, 8, 11} {
		_, err := j.GetProperty(id)
		isCode(t, hresult.BG_E_UNKNOWN_PROPERTY_ID, err, id)
	}
}

func TestNewFileDefaultsAndNames(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	remote := "HTTP://Example.COM/Some%20Dir/File.BIN?x=1&y=%41#frag"
	local := filepath.Join(x.dir, "Wéird name (1).bin")
	require.NoError(t, j.AddFile(remote, local))

	f := fileAt(t, j, 0)
	r, err := f.GetRemoteName()
	require.NoError(t, err)
	assert.Equal(t, remote, r, "remote name byte-exact")
	l, err := f.GetLocalName()
	require.NoError(t, err)
	assert.Equal(t, local, l, "local name byte-exact")

	fp, err := f.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.FileProgress{BytesTotal: bits.SizeUnknown, BytesTransferred: 0, Completed: false}, fp)

	ranges, code, err := f.GetFileRanges()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Nil(t, ranges)

	v, err := f.GetValidationState()
	require.NoError(t, err)
	assert.False(t, v)
	peer, err := f.IsDownloadedFromPeer()
	require.NoError(t, err)
	assert.False(t, peer)
	hdrs, err := f.GetProperty(1)
	require.NoError(t, err)
	assert.Equal(t, "", hdrs)
	_, err = f.GetProperty(2)
	isCode(t, hresult.BG_E_UNKNOWN_PROPERTY_ID, err)

	tmp, err := f.GetTemporaryName()
	require.NoError(t, err)
	assert.Equal(t, x.dir, filepath.Dir(tmp), "temporary file lives in the destination directory")
	assert.True(t, filepath.IsAbs(tmp))
	tmp2, err := f.GetTemporaryName()
	require.NoError(t, err)
	assert.Equal(t, tmp, tmp2, "temporary name is stable")

	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1}, p, "BytesTotal unknown once a file of unknown size is added")
}

// Ranged files: BytesTotal is the sum of the ranges; ranges come back in the order given.
func TestRangedFileProgress(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	given := []bits.FileRange{{InitialOffset: 500, Length: 10}, {InitialOffset: 0, Length: 90}}
	require.NoError(t, j.AddFileWithRanges(x.remote(), x.local(), given))
	f := fileAt(t, j, 0)
	got, code, err := f.GetFileRanges()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, given, got)
	fp, err := f.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint64(100), fp.BytesTotal)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint64(100), p.BytesTotal)

	require.NoError(t, j.AddFileWithRanges(x.remote(), x.local(), []bits.FileRange{{InitialOffset: 7, Length: bits.LengthToEOF}}))
	p, err = j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.SizeUnknown, p.BytesTotal, "a range to EOF makes the total unknown")
}

func TestEnumFilesSemantics(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	var remotes []string
	for i := 0; i < 3; i++ {
		r := x.remote()
		remotes = append(remotes, r)
		require.NoError(t, j.AddFile(r, x.local()))
	}
	nameOf := func(f bits.File) string {
		n, err := f.GetRemoteName()
		require.NoError(t, err)
		return n
	}
	e, err := j.EnumFiles()
	require.NoError(t, err)
	assert.Equal(t, uint32(3), enumCount(e))

	fs, code, _ := e.Next(0)
	assert.Equal(t, hresult.S_OK, code, "Next(0) is S_OK")
	assert.Empty(t, fs)

	fs, code, _ = e.Next(2)
	assert.Equal(t, hresult.S_OK, code)
	require.Len(t, fs, 2)
	assert.Equal(t, remotes[0], nameOf(fs[0]))
	assert.Equal(t, remotes[1], nameOf(fs[1]))

	clone, _ := e.Clone()

	fs, code, _ = e.Next(2)
	assert.Equal(t, hresult.S_FALSE, code, "fewer than asked")
	require.Len(t, fs, 1)
	assert.Equal(t, remotes[2], nameOf(fs[0]))

	fs, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Empty(t, fs)

	// The clone kept its own position.
	fs, code, _ = clone.Next(1)
	assert.Equal(t, hresult.S_OK, code)
	require.Len(t, fs, 1)
	assert.Equal(t, remotes[2], nameOf(fs[0]))

	e.Reset()
	assert.Equal(t, hresult.S_OK, enumSkip(e, 1))
	fs, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_OK, code)
	require.Len(t, fs, 1)
	assert.Equal(t, remotes[1], nameOf(fs[0]))
	assert.Equal(t, hresult.S_FALSE, enumSkip(e, 5), "skipping past the end")
	fs, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Empty(t, fs)
	assert.Equal(t, uint32(3), enumCount(e), "GetCount ignores the position")
	assert.Equal(t, hresult.S_OK, enumSkip(e, 0))

	// A snapshot: files added later are not in it, but the items stay live.
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	assert.Equal(t, uint32(3), enumCount(e))
	e.Reset()
	fs, _, _ = e.Next(1)
	require.NoError(t, fs[0].SetRemoteName("http://example.com/renamed"))
	e2, err := j.EnumFiles()
	require.NoError(t, err)
	assert.Equal(t, uint32(4), enumCount(e2))
	fs2, _, _ := e2.Next(1)
	assert.Equal(t, "http://example.com/renamed", nameOf(fs2[0]))
}

// Getters return what the setters stored.
func TestSettersReadBack(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)

	require.NoError(t, j.SetDisplayName("name ✓"))
	require.NoError(t, j.SetDescription("desc"))
	require.NoError(t, j.SetPriority(bits.Low))
	require.NoError(t, j.SetNotifyFlags(0x3F))
	require.NoError(t, j.SetMinimumRetryDelay(30))
	require.NoError(t, j.SetNoProgressTimeout(90))
	require.NoError(t, j.SetMaximumDownloadTime(0))
	require.NoError(t, j.SetProxySettings(bits.ProxyOverride, "http=p1:80 https=p2:443", "*.local <local>"))
	require.NoError(t, j.SetNotifyCmdLine("/opt/bin/done", `/opt/bin/done "x"`))
	require.NoError(t, j.SetFileACLFlags(bits.CopyFileAll))
	require.NoError(t, j.SetPeerCachingFlags(bits.EnablePeerCachingClient|bits.EnablePeerCachingServer|bits.DisableBranchCache))
	require.NoError(t, j.SetCustomHeaders("A: 1\r\nB: 2\r\n"))
	require.NoError(t, j.SetSecurityFlags(0x1F|bits.RedirectPolicyAllowReport|bits.RedirectPolicyAllowHTTPSToHTTP))

	get := func(v any, err error) any { require.NoError(t, err); return v }
	assert.Equal(t, "name ✓", get(j.GetDisplayName()))
	assert.Equal(t, "desc", get(j.GetDescription()))
	assert.Equal(t, bits.Low, get(j.GetPriority()))
	assert.Equal(t, uint32(0x3F), get(j.GetNotifyFlags()))
	assert.Equal(t, uint32(30), get(j.GetMinimumRetryDelay()))
	assert.Equal(t, uint32(90), get(j.GetNoProgressTimeout()))
	assert.Equal(t, uint32(0), get(j.GetMaximumDownloadTime()))
	assert.Equal(t, bits.ProxySettings{Usage: bits.ProxyOverride, ProxyList: "http=p1:80 https=p2:443", BypassList: "*.local <local>"}, get(j.GetProxySettings()))
	assert.Equal(t, bits.NotifyCmdLine{Program: "/opt/bin/done", Parameters: `/opt/bin/done "x"`}, get(j.GetNotifyCmdLine()))
	assert.Equal(t, uint32(15), get(j.GetFileACLFlags()))
	assert.Equal(t, uint32(7), get(j.GetPeerCachingFlags()))
	assert.Equal(t, uint32(0x91F), get(j.GetSecurityFlags()))
	h, code, err := j.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, "A: 1\r\nB: 2\r\n", h)

	// Clearing.
	require.NoError(t, j.SetCustomHeaders(""))
	h, code, err = j.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Equal(t, "", h)
	require.NoError(t, j.SetNotifyCmdLine("", ""))
	assert.Equal(t, bits.NotifyCmdLine{}, get(j.GetNotifyCmdLine()))
	require.NoError(t, j.SetProxySettings(bits.ProxyNoProxy, "", ""))
	assert.Equal(t, bits.ProxySettings{Usage: bits.ProxyNoProxy}, get(j.GetProxySettings()))

	// Credentials: replace, then remove once (S_OK) and again (S_FALSE).
	cr := bits.Credentials{Target: bits.TargetProxy, Scheme: bits.SchemeNTLM}
	require.NoError(t, j.SetCredentials(cr), "NTLM with empty user and password means the caller's logon")
	cr.UserName, cr.Password = `DOM\u`, "pw"
	require.NoError(t, j.SetCredentials(cr))
	code, err = j.RemoveCredentials(bits.TargetProxy, bits.SchemeNTLM)
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	code, err = j.RemoveCredentials(bits.TargetProxy, bits.SchemeNTLM)
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)

	// Job5 properties.
	clsid := uuid.MustParse("00000000-1111-2222-3333-444444444444")
	require.NoError(t, j.SetProperty(bits.PropertyNotificationCLSID, bits.PropertyValue{ClsID: clsid}))
	require.NoError(t, j.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: bits.TransferPolicyNotRoaming}))
	require.NoError(t, j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 1}))
	require.NoError(t, j.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetProxy}))
	require.NoError(t, j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 0}))
	assert.Equal(t, bits.PropertyValue{ClsID: clsid}, get(j.GetProperty(bits.PropertyNotificationCLSID)))
	assert.Equal(t, bits.PropertyValue{Dword: 0x8000007F}, get(j.GetProperty(bits.PropertyCostFlags)))
	assert.Equal(t, bits.PropertyValue{Uint64: 1}, get(j.GetProperty(bits.PropertyMaxDownloadSize)))
	assert.Equal(t, bits.PropertyValue{Target: bits.TargetProxy}, get(j.GetProperty(bits.PropertyUseStoredCredentials)))
	assert.Equal(t, bits.PropertyValue{Dword: 0}, get(j.GetProperty(bits.PropertyMinimumNotificationIntervalMs)))

	// ReplaceRemotePrefix is case-sensitive and prefix-only.
	f := fileAt(t, j, 0)
	before := get(f.GetRemoteName()).(string)
	code, err = j.ReplaceRemotePrefix("HTTP://EXAMPLE.COM/", "http://other/")
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code)
	code, err = j.ReplaceRemotePrefix("example.com", "x")
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code, "only prefixes match")
	code, err = j.ReplaceRemotePrefix("http://example.com/", "https://mirror.example.org/")
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, "https://mirror.example.org/"+before[len("http://example.com/"):], get(f.GetRemoteName()))
}

// ModificationTime moves on a setter; CreationTime does not (bits-api §3 BG_JOB_TIMES).
func TestModificationTimeOnSetter(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	x.clk.Advance(time.Minute)
	require.NoError(t, j.SetDescription("changed"))
	tm, err := j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.CreationTime.Equal(epoch))
	assert.True(t, tm.ModificationTime.Equal(epoch.Add(time.Minute)), "got %v", tm.ModificationTime)

	x.clk.Advance(time.Minute)
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	tm, err = j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.ModificationTime.Equal(epoch.Add(2*time.Minute)), "adding a file is a modification")

	x.clk.Advance(time.Minute)
	require.NoError(t, j.Resume())
	tm, err = j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.ModificationTime.Equal(epoch.Add(3*time.Minute)), "Resume is a modification")

	// A failed setter changes nothing.
	x.clk.Advance(time.Minute)
	isCode(t, hresult.E_NOTIMPL, j.SetPriority(9))
	tm, err = j.GetTimes()
	require.NoError(t, err)
	assert.True(t, tm.ModificationTime.Equal(epoch.Add(3*time.Minute)))
}
