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

// With its changes kept, a job's record claims for a file still transferring only the bytes the
// service reported on disk (FileSynced), however far the transfer got; the claim follows the
// file down when it restarts, and a finished file is claimed whole, and its job TRANSFERRED, only
// once synced.
func TestKeptRecordClaimsOnlySyncedBytes(t *testing.T) {
	k := &keeper{}
	env := &Env{Clock: clock.NewVirtual(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), Keep: k.keep}
	j, err := New(env, NewCaller(Identity{SID: "S-1-5-21-1"}), uuid.New(), "kept", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile("http://example.com/a", filepath.Join(t.TempDir(), "a")))
	require.NoError(t, j.Resume())
	e := &j.c.eng
	for _, ev := range []state.Event{state.Pick, state.Connect} {
		_, err = e.Fire(ev)
		require.NoError(t, err)
	}
	claimed := func() uint64 { return e.Record().Files[0].BytesDone }
	seq := func() uint64 { return e.Record().Seq }

	require.NoError(t, e.FileProgress(0, 1000, 600))
	assert.Zero(t, claimed(), "nothing synced yet")
	before := seq()
	e.FileSynced(0, 400)
	assert.Equal(t, uint64(400), claimed())
	assert.Greater(t, seq(), before, "a record that claims more is newer")
	before = seq()
	e.FileSynced(0, 300)
	assert.Equal(t, uint64(400), claimed(), "a smaller sync claims no less")
	assert.Equal(t, before, seq(), "nor makes the record newer")
	e.FileSynced(0, 900)
	assert.Equal(t, uint64(600), claimed(), "never more than transferred")

	require.NoError(t, e.FileProgress(0, 1000, 100)) // the file restarted
	assert.Equal(t, uint64(100), claimed())
	require.NoError(t, e.FileProgress(0, 1000, 700))
	assert.Equal(t, uint64(100), claimed(), "the bytes written after the restart are not synced")
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint64(700), p.BytesTransferred, "the job itself reports what arrived")

	st, err := e.FireFileDone(0)
	require.NoError(t, err)
	require.Equal(t, state.Transferred, st)
	r := e.Record()
	assert.Equal(t, uint64(100), r.Files[0].BytesDone, "a finished file is claimed only as far as synced")
	assert.False(t, r.Files[0].Completed, "nor recorded done")
	assert.Equal(t, state.Queued, r.State, "nor its job TRANSFERRED: after a crash it transfers again")
	before = seq()
	e.FileSynced(0, ^uint64(0))
	r = e.Record()
	assert.Equal(t, uint64(1000), r.Files[0].BytesDone, "a finished and synced file is claimed whole")
	assert.True(t, r.Files[0].Completed)
	assert.Equal(t, state.Transferred, r.State)
	assert.Greater(t, r.Seq, before, "a record that claims more is newer")

	// Without Keep (a job the service does not keep) the record is the job as it stands.
	j2, err := New(&Env{Clock: env.Clock}, NewCaller(Identity{SID: "S-1-5-21-1"}), uuid.New(), "memory", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j2.AddFile("http://example.com/b", filepath.Join(t.TempDir(), "b")))
	require.NoError(t, j2.c.eng.FileProgress(0, 1000, 600))
	assert.Equal(t, uint64(600), j2.c.eng.Record().Files[0].BytesDone)
}

// Jobs share the default ext until they change one of its settings: every setter of a setting
// kept there gives the job an ext of its own, and the shared default, and with it every other
// job, stays as it was.
func TestSettingsDoNotLeakThroughTheSharedDefault(t *testing.T) {
	pristine := defaultExt
	env := &Env{Clock: clock.NewVirtual(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))}
	owner := NewCaller(Identity{SID: "S-1-5-21-1"})
	other, err := New(env, owner, uuid.New(), "other", bits.Download)
	require.NoError(t, err)
	before := other.c.eng.Record()
	dir := t.TempDir()
	calls := map[string]func(j *Job) error{
		"SetCustomHeaders": func(j *Job) error { return j.SetCustomHeaders("X-A: 1\r\n") },
		"SetSecurityFlags": func(j *Job) error { return j.SetSecurityFlags(bits.SSLIgnoreCertCNInvalid) },
		"SetHttpMethod":    func(j *Job) error { return j.SetHttpMethod("PUT") },
		"SetProperty": func(j *Job) error {
			return j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 7})
		},
		"SetProxySettings": func(j *Job) error { return j.SetProxySettings(bits.ProxyOverride, "proxy:8080", "") },
		"SetNotifyCmdLine": func(j *Job) error {
			return j.SetNotifyCmdLine(filepath.Join(dir, "prog"), filepath.Join(dir, "prog")+" x")
		},
		"SetCredentials": func(j *Job) error {
			return j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"})
		},
		"SetFileACLFlags":     func(j *Job) error { return j.SetFileACLFlags(bits.CopyFileOwner) },
		"SetPeerCachingFlags": func(j *Job) error { return j.SetPeerCachingFlags(bits.EnablePeerCachingClient) },
	}
	for name, call := range calls {
		j, err := New(env, owner, uuid.New(), name, bits.Download)
		require.NoError(t, err)
		require.Same(t, &defaultExt, j.c.ext, "a new job shares the default")
		require.NoError(t, call(j), name)
		assert.NotSame(t, &defaultExt, j.c.ext, "%s: the job has its own", name)
		assert.NotEqual(t, before.ID, j.c.id)
	}
	// An upload-reply job's reply file name and session.
	up, err := New(env, owner, uuid.New(), "reply", bits.UploadReply)
	require.NoError(t, err)
	require.NoError(t, up.SetReplyFileName(filepath.Join(dir, "reply")))
	assert.NotSame(t, &defaultExt, up.c.ext)
	up2, err := New(env, owner, uuid.New(), "session", bits.Upload)
	require.NoError(t, err)
	require.NoError(t, up2.c.eng.SetUploadSession(UploadSession{ID: "{s}"}))
	assert.NotSame(t, &defaultExt, up2.c.ext)

	assert.Equal(t, pristine, defaultExt, "the shared default was not written")
	after := other.c.eng.Record()
	assert.Equal(t, before, after, "another job saw none of it")
}
