package service_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
)

// transcript records calls and what they returned: values, success codes, and the HRESULT of
// failures. What differs by nature between two runs (GUIDs, times, directories) is recorded as
// its shape only.
type transcript struct {
	dir   string
	lines []string
}

func (tr *transcript) add(call string, v any, err error) {
	switch {
	case err != nil:
		tr.lines = append(tr.lines, fmt.Sprintf("%s: %s", call, hresult.Of(err).Name()))
	default:
		if s, ok := v.(string); ok && tr.dir != "" {
			if rel, err := filepath.Rel(tr.dir, s); err == nil && filepath.IsAbs(s) {
				v = "DIR/" + rel
			}
		}
		tr.lines = append(tr.lines, fmt.Sprintf("%s = %v", call, v))
	}
}

func rec1[T any](tr *transcript, call string, f func() (T, error)) T {
	v, err := f()
	tr.add(call, v, err)
	return v
}

func rec0(tr *transcript, call string, err error) { tr.add(call, nil, err) }

// exercise calls every method of the client surface through m, in states where they succeed and
// where they fail, and returns the transcript.
func exercise(t *testing.T, m bits.Manager, dir string) []string {
	tr := &transcript{dir: dir}
	src := filepath.Join(dir, "src")
	require.NoError(t, os.WriteFile(src, []byte("0123456789"), 0o644))

	_, err := m.CreateJob("bad type", bits.JobType(7))
	rec0(tr, "CreateJob(type 7)", err)
	_, err = m.GetJob(uuid.MustParse("00000000-0000-0000-0000-000000000001"))
	rec0(tr, "GetJob(unknown)", err)
	rec1(tr, "GetErrorDescription", func() (string, error) { return m.GetErrorDescription(hresult.BG_E_NOT_FOUND, 0x409) })
	rec1(tr, "GetErrorDescription(lang)", func() (string, error) { return m.GetErrorDescription(hresult.BG_E_NOT_FOUND, 0x40C) })
	_, err = m.EnumJobs(0x10)
	rec0(tr, "EnumJobs(0x10)", err)

	j, err := m.CreateJob("every method", bits.Download)
	require.NoError(t, err)
	id, err := j.GetId()
	tr.add("GetId non-nil", id != uuid.Nil, err)
	g, err := m.GetJob(id)
	require.NoError(t, err)
	gid, _ := g.GetId()
	tr.add("GetJob(id).GetId == id", gid == id, nil)

	rec0(tr, "Resume(empty)", j.Resume())
	rec0(tr, "AddFile(relative)", j.AddFile(src, "relative"))
	rec0(tr, "AddFile", j.AddFile(src, filepath.Join(dir, "one")))
	rec0(tr, "AddFileSet", j.AddFileSet([]bits.FileInfo{{RemoteName: src, LocalName: filepath.Join(dir, "two")}}))
	rec0(tr, "AddFileWithRanges(none)", j.AddFileWithRanges(src, filepath.Join(dir, "three"), nil))
	rec0(tr, "AddFileWithRanges", j.AddFileWithRanges(src, filepath.Join(dir, "three"),
		[]bits.FileRange{{InitialOffset: 2, Length: 3}, {InitialOffset: 7, Length: bits.LengthToEOF}}))
	rec1(tr, "GetType", j.GetType)
	rec1(tr, "GetProgress", j.GetProgress)
	rec1(tr, "GetTimes.Creation set", func() (bool, error) { tm, err := j.GetTimes(); return !tm.CreationTime.IsZero(), err })
	rec1(tr, "GetState", j.GetState)
	_, err = j.GetError()
	rec0(tr, "GetError", err)
	rec1(tr, "GetOwnerIntegrityLevel", j.GetOwnerIntegrityLevel)
	rec1(tr, "GetOwnerElevationState", j.GetOwnerElevationState)
	rec1(tr, "GetOwner == SID", func() (bool, error) {
		o, err := j.GetOwner()
		return o != "" && o[:7] == "S-1-5-2", err
	})
	for _, s := range []struct {
		name string
		set  func(string) error
		get  func() (string, error)
		v    string
	}{
		{"DisplayName", j.SetDisplayName, j.GetDisplayName, "renamed"},
		{"Description", j.SetDescription, j.GetDescription, "described"},
		{"ReplyFileName", j.SetReplyFileName, j.GetReplyFileName, filepath.Join(dir, "reply")},
		{"HttpMethod", j.SetHttpMethod, j.GetHttpMethod, "GET"},
	} {
		rec0(tr, "Set"+s.name, s.set(s.v))
		rec1(tr, "Get"+s.name, s.get)
	}
	rec0(tr, "SetDisplayName(long)", j.SetDisplayName(string(make([]byte, 300))))
	for _, s := range []struct {
		name string
		set  func(uint32) error
		get  func() (uint32, error)
		v    uint32
	}{
		{"NotifyFlags", j.SetNotifyFlags, j.GetNotifyFlags, bits.NotifyJobTransferred | bits.NotifyJobModification},
		{"NotifyFlags(bad)", j.SetNotifyFlags, j.GetNotifyFlags, 0x40},
		{"MinimumRetryDelay", j.SetMinimumRetryDelay, j.GetMinimumRetryDelay, 1},
		{"NoProgressTimeout", j.SetNoProgressTimeout, j.GetNoProgressTimeout, 3600},
		{"FileACLFlags", j.SetFileACLFlags, j.GetFileACLFlags, bits.CopyFileOwner},
		{"PeerCachingFlags", j.SetPeerCachingFlags, j.GetPeerCachingFlags, bits.EnablePeerCachingClient},
		{"MaximumDownloadTime", j.SetMaximumDownloadTime, j.GetMaximumDownloadTime, 7200},
		{"SecurityFlags", j.SetSecurityFlags, j.GetSecurityFlags, bits.SSLIgnoreUnknownCA | bits.RedirectPolicyAllowReport},
	} {
		rec0(tr, "Set"+s.name, s.set(s.v))
		rec1(tr, "Get"+s.name, s.get)
	}
	rec1(tr, "GetErrorCount", j.GetErrorCount)
	rec0(tr, "SetPriority", j.SetPriority(bits.High))
	rec1(tr, "GetPriority", j.GetPriority)
	rec0(tr, "SetPriority(9)", j.SetPriority(9))
	rec0(tr, "SetProxySettings", j.SetProxySettings(bits.ProxyOverride, "proxy:80", "<local>"))
	rec1(tr, "GetProxySettings", j.GetProxySettings)
	rec0(tr, "SetNotifyCmdLine", j.SetNotifyCmdLine("/bin/true", "true --flag"))
	rec1(tr, "GetNotifyCmdLine", j.GetNotifyCmdLine)
	rec1(tr, "GetReplyProgress", j.GetReplyProgress)
	_, err = j.GetReplyData()
	rec0(tr, "GetReplyData", err)
	rec0(tr, "SetCredentials", j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))
	rec1(tr, "RemoveCredentials", func() (hresult.Code, error) { return j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic) })
	rec1(tr, "RemoveCredentials(again)", func() (hresult.Code, error) { return j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic) })
	rec1(tr, "ReplaceRemotePrefix", func() (hresult.Code, error) { return j.ReplaceRemotePrefix("http://a/", "http://b/") })
	rec0(tr, "SetProperty", j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 1 << 20}))
	rec1(tr, "GetProperty", func() (bits.PropertyValue, error) { return j.GetProperty(bits.PropertyMaxDownloadSize) })
	rec0(tr, "SetProperty(CLSID)", j.SetProperty(bits.PropertyNotificationCLSID, bits.PropertyValue{ClsID: uuid.MustParse("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0")}))
	rec1(tr, "GetProperty(CLSID)", func() (bits.PropertyValue, error) { return j.GetProperty(bits.PropertyNotificationCLSID) })
	_, err = j.GetProperty(6)
	rec0(tr, "GetProperty(6)", err)
	rec1(tr, "GetCustomHeaders(none)", func() (string, error) { h, c, err := j.GetCustomHeaders(); return h + c.Name(), err })
	rec0(tr, "SetCustomHeaders", j.SetCustomHeaders("X-A: 1\r\n"))
	rec1(tr, "GetCustomHeaders", func() (string, error) { h, c, err := j.GetCustomHeaders(); return h + c.Name(), err })
	rec0(tr, "MakeCustomHeadersWriteOnly", j.MakeCustomHeadersWriteOnly())
	rec1(tr, "GetCustomHeaders(write-only)", func() (string, error) { h, c, err := j.GetCustomHeaders(); return h + c.Name(), err })
	rec1(tr, "GetNotifyInterface", func() (bool, error) { cb, err := j.GetNotifyInterface(); return cb == nil, err })

	fe, err := j.EnumFiles()
	rec0(tr, "EnumFiles", err)
	rec1(tr, "Files.GetCount", fe.GetCount)
	rec1(tr, "Files.Skip(1)", func() (hresult.Code, error) { return fe.Skip(1) })
	clone, err := fe.Clone()
	rec0(tr, "Files.Clone", err)
	files, code, err := fe.Next(5)
	tr.add("Files.Next(5)", fmt.Sprintf("%d %s", len(files), code.Name()), err)
	rest, _ := bits.All(clone)
	tr.add("Clone rest", len(rest), nil)
	rec1(tr, "Files.Skip(9)", func() (hresult.Code, error) { return fe.Skip(9) })
	rec0(tr, "Files.Reset", fe.Reset())
	files, _ = bits.All(fe)
	for i, f := range files {
		p := fmt.Sprintf("File%d.", i)
		rec1(tr, p+"GetRemoteName", f.GetRemoteName)
		rec1(tr, p+"GetLocalName", f.GetLocalName)
		rec1(tr, p+"GetProgress", f.GetProgress)
		rec1(tr, p+"GetFileRanges", func() (string, error) {
			rs, c, err := f.GetFileRanges()
			return fmt.Sprint(rs, c.Name()), err
		})
		rec1(tr, p+"GetTemporaryName set", func() (bool, error) { n, err := f.GetTemporaryName(); return n != "", err })
		rec0(tr, p+"SetValidationState", f.SetValidationState(true))
		rec1(tr, p+"GetValidationState", f.GetValidationState)
		rec1(tr, p+"IsDownloadedFromPeer", f.IsDownloadedFromPeer)
		_, err := f.GetProperty(bits.FilePropertyHTTPResponseHeaders)
		rec0(tr, p+"GetProperty", err)
		_, err = f.GetProperty(9)
		rec0(tr, p+"GetProperty(9)", err)
		rec0(tr, p+"SetRemoteName", f.SetRemoteName(src))
	}

	je, err := m.EnumJobs(0)
	rec0(tr, "EnumJobs", err)
	rec1(tr, "Jobs.GetCount", je.GetCount)
	jobs, _ := bits.All(je)
	for _, x := range jobs {
		rec1(tr, "Jobs[].GetDisplayName", x.GetDisplayName)
	}
	rec0(tr, "Suspend", j.Suspend())
	rec0(tr, "Resume", j.Resume())
	rec1(tr, "GetState(resumed)", j.GetState)
	rec0(tr, "Suspend(again)", j.Suspend())
	rec0(tr, "TakeOwnership", j.TakeOwnership())
	rec1(tr, "Cancel", j.Cancel)
	rec1(tr, "GetState(cancelled)", g.GetState)
	rec0(tr, "Resume(cancelled)", j.Resume())
	rec1(tr, "Complete(cancelled)", j.Complete)
	_, err = m.GetJob(id)
	rec0(tr, "GetJob(cancelled)", err)
	return tr.lines
}

// Every method gives through the service what it gives in process: values, success codes and
// failures alike.
func TestConformance(t *testing.T) {
	id := testMachine.Identity(os.Getuid())
	local := manager.New(manager.WithManualTransfers())
	defer local.Close()
	lc, err := local.Connect(id)
	require.NoError(t, err)
	want := exercise(t, lc, t.TempDir())

	s := serve(t, manager.WithManualTransfers())
	got := exercise(t, s.connect(t), t.TempDir())
	assert.Equal(t, want, got)
	assert.Greater(t, len(want), 100)
	t.Log(len(want), "calls")
}
