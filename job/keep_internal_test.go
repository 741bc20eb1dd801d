package job

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// keeper is an Env.Keep that keeps the last record, or fails as a full disk does.
type keeper struct {
	fail  bool
	calls int
	last  *Record
}

var errDiskFull = &hresult.Error{Op: "Put", Code: hresult.ERROR_DISK_FULL, Err: syscall.ENOSPC}

func (k *keeper) keep(r *Record) error {
	k.calls++
	if k.fail {
		return errDiskFull
	}
	k.last = r
	return nil
}

type changeCount struct{ n int }

func (c *changeCount) JobChanged(Change) { c.n++ }

type nopCallback struct{}

func (nopCallback) JobTransferred(bits.Job) error       { return nil }
func (nopCallback) JobError(bits.Job, bits.Error) error { return nil }
func (nopCallback) JobModification(bits.Job) error      { return nil }

// TestKeepFailureChangesNothing calls every method that changes a job with an Env.Keep that fails:
// each fails with Keep's HRESULT and cause, naming the call, and leaves the job's record exactly
// as it was (the change count included), reports nothing and removes no file. The same call with
// a Keep that works succeeds, and the record Keep got is the job's record.
func TestKeepFailureChangesNothing(t *testing.T) {
	owner := Identity{SID: "S-1-5-21-1000"}
	admin := Identity{SID: "S-1-5-32-544", Admin: true}
	type fixture struct {
		j     *Job
		dir   string
		temps []string
	}
	// setup makes a job with two files, credentials, headers and a command line; with done,
	// the files finished, their temporary files on disk, the job TRANSFERRED.
	setup := func(t *testing.T, env *Env, typ bits.JobType, done bool) fixture {
		dir := t.TempDir()
		j, err := New(env, NewCaller(owner), uuid.New(), "before", typ)
		require.NoError(t, err)
		nfiles := 2
		if typ != bits.Download {
			nfiles = 1
		}
		for i := range nfiles {
			require.NoError(t, j.AddFile("http://example.com/f"+string(rune('a'+i)), filepath.Join(dir, "out"+string(rune('a'+i)))))
		}
		require.NoError(t, j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "old"}))
		require.NoError(t, j.SetCredentials(bits.Credentials{Target: bits.TargetProxy, Scheme: bits.SchemeNTLM, UserName: "p", Password: "x"}))
		require.NoError(t, j.SetCustomHeaders("X-A: 1\r\n"))
		require.NoError(t, j.SetNotifyCmdLine("/bin/true", "before"))
		f := fixture{j: j, dir: dir}
		if done {
			c := j.c
			c.mu.Lock()
			for i, fc := range c.files {
				fc.tempName = filepath.Join(dir, "temp"+string(rune('a'+i)))
				require.NoError(t, os.WriteFile(fc.tempName, []byte("data"), 0o600))
				tf, err := os.Open(fc.tempName)
				require.NoError(t, err)
				st, err := statFile(tf) // the identity the job records when it creates the file
				require.NoError(t, err)
				require.NoError(t, tf.Close())
				fc.tempID = st.id
				fc.tempCreated, fc.done, fc.total, fc.transferred = true, true, 4, 4
				f.temps = append(f.temps, fc.tempName)
			}
			c.st = state.Transferred
			c.mu.Unlock()
		}
		return f
	}
	fileOf := func(j *Job) *File {
		e, err := j.EnumFiles()
		require.NoError(t, err)
		fs, _, _ := e.Next(1)
		return fs[0].(*File)
	}
	for _, tc := range []struct {
		name string
		typ  bits.JobType
		done bool
		call func(f fixture) error
	}{
		{"SetDisplayName", bits.Download, false, func(f fixture) error { return f.j.SetDisplayName("after") }},
		{"SetDescription", bits.Download, false, func(f fixture) error { return f.j.SetDescription("after") }},
		{"SetPriority", bits.Download, false, func(f fixture) error { return f.j.SetPriority(bits.Low) }},
		{"SetNotifyFlags", bits.Download, false, func(f fixture) error { return f.j.SetNotifyFlags(bits.NotifyJobModification) }},
		{"SetNotifyInterface", bits.Download, false, func(f fixture) error { return f.j.SetNotifyInterface(nopCallback{}) }},
		{"SetMinimumRetryDelay", bits.Download, false, func(f fixture) error { return f.j.SetMinimumRetryDelay(5) }},
		{"SetNoProgressTimeout", bits.Download, false, func(f fixture) error { return f.j.SetNoProgressTimeout(5) }},
		{"SetMaximumDownloadTime", bits.Download, false, func(f fixture) error { return f.j.SetMaximumDownloadTime(5) }},
		{"SetProxySettings", bits.Download, false, func(f fixture) error { return f.j.SetProxySettings(bits.ProxyOverride, "proxy:8080", "") }},
		{"SetNotifyCmdLine", bits.Download, false, func(f fixture) error { return f.j.SetNotifyCmdLine("/bin/false", "after") }},
		{"SetCredentials", bits.Download, false, func(f fixture) error {
			return f.j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "new"})
		}},
		{"RemoveCredentials", bits.Download, false, func(f fixture) error {
			_, err := f.j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
			return err
		}},
		{"ReplaceRemotePrefix", bits.Download, false, func(f fixture) error {
			_, err := f.j.ReplaceRemotePrefix("http://example.com/", "http://mirror.example.com/")
			return err
		}},
		{"SetFileACLFlags", bits.Download, false, func(f fixture) error { return f.j.SetFileACLFlags(bits.CopyFileOwner) }},
		{"SetPeerCachingFlags", bits.Download, false, func(f fixture) error { return f.j.SetPeerCachingFlags(1) }},
		{"SetCustomHeaders", bits.Download, false, func(f fixture) error { return f.j.SetCustomHeaders("X-B: 2\r\n") }},
		{"MakeCustomHeadersWriteOnly", bits.Download, false, func(f fixture) error { return f.j.MakeCustomHeadersWriteOnly() }},
		{"SetSecurityFlags", bits.Download, false, func(f fixture) error { return f.j.SetSecurityFlags(bits.SSLEnableCRLCheck) }},
		{"SetHttpMethod", bits.Download, false, func(f fixture) error { return f.j.SetHttpMethod("POST") }},
		{"SetProperty", bits.Download, false, func(f fixture) error {
			return f.j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true})
		}},
		{"AddFile", bits.Download, false, func(f fixture) error { return f.j.AddFile("http://example.com/z", filepath.Join(f.dir, "z")) }},
		{"AddFileSet", bits.Download, false, func(f fixture) error {
			return f.j.AddFileSet([]bits.FileInfo{{RemoteName: "http://example.com/y", LocalName: filepath.Join(f.dir, "y")}})
		}},
		{"AddFileWithRanges", bits.Download, false, func(f fixture) error {
			return f.j.AddFileWithRanges("http://example.com/x", filepath.Join(f.dir, "x"), []bits.FileRange{{InitialOffset: 0, Length: 10}})
		}},
		{"File.SetRemoteName", bits.Download, false, func(f fixture) error { return fileOf(f.j).SetRemoteName("http://example.com/moved") }},
		{"File.SetValidationState", bits.Download, true, func(f fixture) error { return fileOf(f.j).SetValidationState(false) }},
		{"Resume", bits.Download, false, func(f fixture) error { return f.j.Resume() }},
		{"Suspend", bits.Download, true, func(f fixture) error { return f.j.Suspend() }},
		{"Cancel", bits.Download, true, func(f fixture) error { _, err := f.j.Cancel(); return err }},
		{"Complete", bits.Download, true, func(f fixture) error { _, err := f.j.Complete(); return err }},
		{"TakeOwnership", bits.Download, false, func(f fixture) error { return eng(f.j).As(NewCaller(admin)).TakeOwnership() }},
		{"SetReplyFileName", bits.UploadReply, false, func(f fixture) error { return f.j.SetReplyFileName(filepath.Join(f.dir, "reply")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &keeper{}
			changes := &changeCount{}
			env := &Env{Clock: clock.NewVirtual(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), Keep: k.keep, Observer: changes}
			f := setup(t, env, tc.typ, tc.done)
			before := eng(f.j).Record()
			if !tc.done { // setup put the finished files in place by hand
				require.Equal(t, before, *k.last, "what Keep got is the job's record")
			}
			calls, seen := k.calls, changes.n
			cb, err := f.j.GetNotifyInterface()
			require.NoError(t, err)

			k.fail = true
			err = tc.call(f)
			require.Error(t, err)
			assert.ErrorIs(t, err, hresult.ERROR_DISK_FULL)
			assert.ErrorIs(t, err, syscall.ENOSPC)
			assert.ErrorContains(t, err, tc.name)
			assert.ErrorContains(t, err, GUIDString(eng(f.j).ID()))
			assert.Equal(t, calls+1, k.calls, "the change went to Keep")
			assert.Equal(t, before, eng(f.j).Record(), "the job is as it was")
			assert.Equal(t, seen, changes.n, "nothing was reported")
			after, err := f.j.GetNotifyInterface()
			require.NoError(t, err)
			assert.Equal(t, cb, after)
			for _, temp := range f.temps {
				if tc.name != "Complete" { // Complete renamed them; the next Complete finds them done
					assert.FileExists(t, temp)
				}
			}

			k.fail = false
			require.NoError(t, tc.call(f), "the same call once Keep works")
			assert.Greater(t, changes.n, seen, "the change was reported")
			r := eng(f.j).Record()
			if r.State.Final() {
				assert.Equal(t, r.State, k.last.State, "Keep was asked to forget the job")
			} else {
				assert.Equal(t, r, *k.last, "what Keep got is the job's record")
				assert.NotEqual(t, before, r)
			}
		})
	}
}

// eng is the service's side of j.
func eng(j *Job) *Engine { return &j.c.eng }
