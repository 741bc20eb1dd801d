package manager_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Identities used across the tests.
var (
	idAlice   = manager.Identity{SID: "S-1-5-21-1001"}
	idBob     = manager.Identity{SID: "S-1-5-21-1002"}
	idAdmin   = manager.Identity{SID: "S-1-5-21-500", Admin: true}
	idService = manager.Identity{SID: "S-1-5-18", Service: true}
)

// connect connects id to m and fails the test on error.
func connect(t testing.TB, m *manager.Manager, id manager.Identity) *manager.Client {
	t.Helper()
	c, err := m.Connect(id)
	require.NoError(t, err)
	return c
}

// mustCreate creates a download job and fails the test on error.
func mustCreate(t testing.TB, c *manager.Client, name string) bits.Job {
	t.Helper()
	j, err := c.CreateJob(name, bits.Download)
	require.NoError(t, err)
	return j
}

// stateOf returns the job's state through the handle, failing the test on error.
func stateOf(t testing.TB, j bits.Job) state.State {
	t.Helper()
	st, err := j.GetState()
	require.NoError(t, err)
	return st
}

// enumIDs lists the GUIDs an EnumJobs call returns, in enumeration order.
func enumIDs(t testing.TB, c *manager.Client, flags uint32) []uuid.UUID {
	t.Helper()
	e, err := c.EnumJobs(flags)
	require.NoError(t, err)
	jobs, _ := bits.All(e)
	var ids []uuid.UUID // nil when there is none
	for _, j := range jobs {
		ids = append(ids, engine.Of(j).ID())
	}
	return ids
}

func TestConnect(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	_, err := m.Connect(manager.Identity{})
	assert.ErrorIs(t, err, hresult.E_INVALIDARG)
	_, err = m.Connect(manager.Identity{Admin: true})
	assert.ErrorIs(t, err, hresult.E_INVALIDARG, "an administrator still needs a SID")

	c, err := m.Connect(idAdmin)
	require.NoError(t, err)
	assert.Equal(t, idAdmin, c.Identity())
}

func TestDefaultLimits(t *testing.T) {
	want := manager.Limits{MaxJobsPerUser: 60, MaxJobsPerMachine: 300, MaxFilesPerJob: 200, MaxRangesPerFile: 500}
	assert.Equal(t, want, manager.DefaultLimits())
	assert.Equal(t, want, manager.New(manager.WithManualTransfers()).Limits())
	small := manager.Limits{MaxJobsPerUser: 1, MaxJobsPerMachine: 2, MaxFilesPerJob: 3, MaxRangesPerFile: 4}
	assert.Equal(t, small, manager.New(manager.WithManualTransfers(), manager.WithLimits(small)).Limits())
}

func TestDefaultPerUserLimitIs60(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	c := connect(t, m, idAlice)
	for i := range 60 {
		_, err := c.CreateJob("job", bits.Download)
		require.NoError(t, err, "job %d", i+1)
	}
	_, err := c.CreateJob("job 61", bits.Download)
	assert.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)
	assert.Equal(t, 60, m.JobCount())
}

func TestCreateJobArguments(t *testing.T) {
	tests := []struct {
		name    string
		display string
		typ     bits.JobType
		want    hresult.Code
	}{
		{"empty name", "", bits.Download, hresult.S_OK},
		{"plain", "nightly update", bits.Download, hresult.S_OK},
		{"upload", "up", bits.Upload, hresult.S_OK},
		{"upload reply", "up-reply", bits.UploadReply, hresult.S_OK},
		{"256 chars", strings.Repeat("a", 256), bits.Download, hresult.S_OK},
		{"257 chars", strings.Repeat("a", 257), bits.Download, hresult.E_INVALIDARG},
		{"256 non-ASCII chars", strings.Repeat("é", 256), bits.Download, hresult.S_OK},
		{"257 non-ASCII chars", strings.Repeat("é", 257), bits.Download, hresult.E_INVALIDARG},
		{"128 surrogate pairs are 256 UTF-16 units", strings.Repeat("😀", 128), bits.Download, hresult.S_OK},
		{"129 surrogate pairs are 258 UTF-16 units", strings.Repeat("😀", 129), bits.Download, hresult.E_INVALIDARG},
		{"NUL", "a\x00b", bits.Download, hresult.E_INVALIDARG},
		{"invalid UTF-8", "a\xffb", bits.Download, hresult.E_INVALIDARG},
		{"type 3", "x", bits.JobType(3), hresult.E_INVALIDARG},
		{"type max", "x", bits.JobType(^uint32(0)), hresult.E_INVALIDARG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			c := connect(t, m, idAlice)
			j, err := c.CreateJob(tt.display, tt.typ)
			assert.Equal(t, tt.want, hresult.Of(err), "err = %v", err)
			if tt.want.Failed() {
				assert.ErrorIs(t, err, tt.want)
				assert.Nil(t, j)
				assert.Equal(t, 0, m.JobCount(), "a refused job must not join the queue")
				assert.Empty(t, enumIDs(t, c, 0))
				return
			}
			require.NotNil(t, j)
			name, err := j.GetDisplayName()
			require.NoError(t, err)
			assert.Equal(t, tt.display, name)
			typ, err := j.GetType()
			require.NoError(t, err)
			assert.Equal(t, tt.typ, typ)
			assert.Equal(t, 1, m.JobCount())
		})
	}
}

func TestCreateJobNewJob(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	c := connect(t, m, idAlice)
	a := mustCreate(t, c, "same name")
	b := mustCreate(t, c, "same name")

	assert.NotEqual(t, uuid.Nil, engine.Of(a).ID())
	assert.NotEqual(t, engine.Of(a).ID(), engine.Of(b).ID(), "each job gets a fresh GUID")
	assert.False(t, engine.Of(a).Same(b))
	for _, j := range []bits.Job{a, b} {
		assert.Equal(t, state.Suspended, stateOf(t, j))
		id, err := j.GetId()
		require.NoError(t, err)
		assert.Equal(t, engine.Of(j).ID(), id)
		owner, err := j.GetOwner()
		require.NoError(t, err)
		assert.Equal(t, idAlice.SID, owner)
		p, err := j.GetProgress()
		require.NoError(t, err)
		assert.Equal(t, bits.Progress{}, p)
		name, err := j.GetDisplayName()
		require.NoError(t, err)
		assert.Equal(t, "same name", name, "duplicate display names are allowed")
	}
	assert.Equal(t, []uuid.UUID{engine.Of(a).ID(), engine.Of(b).ID()}, enumIDs(t, c, 0))
}

func TestJobLimits(t *testing.T) {
	type step struct {
		who  manager.Identity
		want hresult.Code
	}
	tests := []struct {
		name   string
		limits manager.Limits
		steps  []step
	}{
		{
			name:   "per user",
			limits: manager.Limits{MaxJobsPerUser: 2, MaxJobsPerMachine: 10},
			steps: []step{
				{idAlice, hresult.S_OK}, {idAlice, hresult.S_OK},
				{idAlice, hresult.BG_E_TOO_MANY_JOBS_PER_USER},
				{idBob, hresult.S_OK}, {idBob, hresult.S_OK},
				{idBob, hresult.BG_E_TOO_MANY_JOBS_PER_USER},
				{idAlice, hresult.BG_E_TOO_MANY_JOBS_PER_USER},
			},
		},
		{
			name:   "per machine",
			limits: manager.Limits{MaxJobsPerUser: 5, MaxJobsPerMachine: 3},
			steps: []step{
				{idAlice, hresult.S_OK}, {idAlice, hresult.S_OK}, {idBob, hresult.S_OK},
				{idBob, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE},
				{idAlice, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE},
			},
		},
		{
			name:   "per user is checked before per machine",
			limits: manager.Limits{MaxJobsPerUser: 1, MaxJobsPerMachine: 1},
			steps: []step{
				{idAlice, hresult.S_OK},
				{idAlice, hresult.BG_E_TOO_MANY_JOBS_PER_USER},
				{idBob, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE},
			},
		},
		{
			name:   "administrators are exempt",
			limits: manager.Limits{MaxJobsPerUser: 1, MaxJobsPerMachine: 1},
			steps: []step{
				{idAlice, hresult.S_OK},
				{idAdmin, hresult.S_OK}, {idAdmin, hresult.S_OK}, {idAdmin, hresult.S_OK},
				{idAlice, hresult.BG_E_TOO_MANY_JOBS_PER_USER},
			},
		},
		{
			name:   "service accounts are exempt",
			limits: manager.Limits{MaxJobsPerUser: 1, MaxJobsPerMachine: 1},
			steps: []step{
				{idService, hresult.S_OK}, {idService, hresult.S_OK},
				{idBob, hresult.S_OK},
				{idService, hresult.S_OK},
			},
		},
		{
			// Group policy "Limit the maximum number of BITS jobs for this computer": jobs
			// created by services and the local administrator account do not count toward it.
			name:   "exempt jobs do not count toward the machine limit",
			limits: manager.Limits{MaxJobsPerUser: 5, MaxJobsPerMachine: 2},
			steps: []step{
				{idAdmin, hresult.S_OK}, {idService, hresult.S_OK}, {idAdmin, hresult.S_OK},
				{idAlice, hresult.S_OK}, {idBob, hresult.S_OK},
				{idBob, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE},
			},
		},
		{
			name:   "zero means no limit",
			limits: manager.Limits{},
			steps: []step{
				{idAlice, hresult.S_OK}, {idAlice, hresult.S_OK}, {idAlice, hresult.S_OK},
				{idBob, hresult.S_OK}, {idBob, hresult.S_OK}, {idBob, hresult.S_OK},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers(), manager.WithLimits(tt.limits))
			clients := map[string]*manager.Client{}
			for i, s := range tt.steps {
				c := clients[s.who.SID]
				if c == nil {
					c = connect(t, m, s.who)
					clients[s.who.SID] = c
				}
				_, err := c.CreateJob("j", bits.Download)
				assert.Equal(t, s.want, hresult.Of(err), "step %d (%s): %v", i, s.who.SID, err)
			}
		})
	}
}

func TestJobLimitsFinalJobsFreeTheirSlot(t *testing.T) {
	dir := t.TempDir()
	for _, finish := range []struct {
		name string
		do   func(j bits.Job) (hresult.Code, error)
	}{
		{"cancel", (bits.Job).Cancel},
		{"complete", (bits.Job).Complete},
	} {
		t.Run(finish.name, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{MaxJobsPerUser: 2, MaxJobsPerMachine: 3}))
			alice := connect(t, m, idAlice)
			bob := connect(t, m, idBob)
			a1 := mustCreate(t, alice, "a1")
			mustCreate(t, alice, "a2")
			_, err := alice.CreateJob("a3", bits.Download)
			require.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)

			require.NoError(t, a1.AddFile("http://example.com/a", filepath.Join(dir, "a")))
			require.NoError(t, a1.Resume())
			_, err = finish.do(a1)
			require.NoError(t, err)
			mustCreate(t, alice, "a3")
			_, err = alice.CreateJob("a4", bits.Download)
			assert.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)

			b1 := mustCreate(t, bob, "b1")
			_, err = bob.CreateJob("b2", bits.Download)
			require.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE)
			_, err = finish.do(b1)
			require.NoError(t, err)
			mustCreate(t, bob, "b2")
			assert.Equal(t, 3, m.JobCount())
		})
	}
}

func TestJobLimitsTakeOwnershipMovesTheCount(t *testing.T) {
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{MaxJobsPerUser: 2, MaxJobsPerMachine: 10}))
	alice := connect(t, m, idAlice)
	admin := connect(t, m, idAdmin)
	a1 := mustCreate(t, alice, "a1")
	a2 := mustCreate(t, alice, "a2")
	_, err := alice.CreateJob("a3", bits.Download)
	require.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)

	// Alice herself may not take ownership.
	assert.ErrorIs(t, a1.TakeOwnership(), hresult.E_ACCESSDENIED)

	h, err := admin.GetJob(engine.Of(a1).ID())
	require.NoError(t, err)
	require.NoError(t, h.TakeOwnership())
	owner, err := h.GetOwner()
	require.NoError(t, err)
	assert.Equal(t, idAdmin.SID, owner)

	assert.Equal(t, []uuid.UUID{engine.Of(a2).ID()}, enumIDs(t, alice, 0))
	assert.Equal(t, []uuid.UUID{engine.Of(a1).ID()}, enumIDs(t, admin, 0))
	assert.Equal(t, []uuid.UUID{engine.Of(a1).ID(), engine.Of(a2).ID()}, enumIDs(t, admin, bits.EnumAllUsers))
	a3 := mustCreate(t, alice, "a3")
	_, err = alice.CreateJob("a4", bits.Download)
	assert.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)

	// Alice's old handle now refers to someone else's job.
	_, err = a1.GetState()
	assert.ErrorIs(t, err, hresult.E_ACCESSDENIED)
	_, err = alice.GetJob(engine.Of(a1).ID())
	assert.ErrorIs(t, err, hresult.E_ACCESSDENIED)

	// Taking a job twice changes nothing; cancelling it frees nothing of Alice's.
	require.NoError(t, h.TakeOwnership())
	_, err = h.Cancel()
	require.NoError(t, err)
	_, err = alice.CreateJob("a4", bits.Download)
	assert.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_USER)
	assert.Equal(t, []uuid.UUID{engine.Of(a2).ID(), engine.Of(a3).ID()}, enumIDs(t, alice, 0))
	assert.Empty(t, enumIDs(t, admin, 0))
}

func TestTakeOwnershipFreesTheMachineSlot(t *testing.T) {
	// A job owned by an administrator does not count toward the machine limit, whether the
	// administrator created it or took it over.
	m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{MaxJobsPerUser: 5, MaxJobsPerMachine: 2}))
	alice := connect(t, m, idAlice)
	bob := connect(t, m, idBob)
	admin := connect(t, m, idAdmin)
	a1 := mustCreate(t, alice, "a1")
	mustCreate(t, bob, "b1")
	_, err := bob.CreateJob("b2", bits.Download)
	require.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE)
	h, err := admin.GetJob(engine.Of(a1).ID())
	require.NoError(t, err)
	require.NoError(t, h.TakeOwnership())
	mustCreate(t, bob, "b2")
	_, err = bob.CreateJob("b3", bits.Download)
	assert.ErrorIs(t, err, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE)
}

func TestGetJob(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	bob := connect(t, m, idBob)
	admin := connect(t, m, idAdmin)
	service := connect(t, m, idService)
	aj := mustCreate(t, alice, "alice's")
	adminJob := mustCreate(t, admin, "admin's")

	tests := []struct {
		name string
		c    *manager.Client
		id   uuid.UUID
		want hresult.Code
	}{
		{"own job", alice, engine.Of(aj).ID(), hresult.S_OK},
		{"unknown GUID", alice, uuid.New(), hresult.BG_E_NOT_FOUND},
		{"nil GUID", alice, uuid.Nil, hresult.BG_E_NOT_FOUND},
		{"another user's job", bob, engine.Of(aj).ID(), hresult.E_ACCESSDENIED},
		{"a service account is no administrator", service, engine.Of(aj).ID(), hresult.E_ACCESSDENIED},
		{"an administrator's job", alice, engine.Of(adminJob).ID(), hresult.E_ACCESSDENIED},
		{"administrator gets any job", admin, engine.Of(aj).ID(), hresult.S_OK},
		{"administrator, unknown GUID", admin, uuid.New(), hresult.BG_E_NOT_FOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := tt.c.GetJob(tt.id)
			assert.Equal(t, tt.want, hresult.Of(err), "err = %v", err)
			if tt.want.Failed() {
				assert.ErrorIs(t, err, tt.want)
				assert.Nil(t, j)
				return
			}
			require.NotNil(t, j)
			assert.Equal(t, tt.id, engine.Of(j).ID())
			assert.Equal(t, tt.c.Identity(), engine.CallerOf(j).Identity(), "the handle acts as the caller that got it")
			assert.Equal(t, state.Suspended, stateOf(t, j))
		})
	}

	// A handle from GetJob is the same job as the creator's.
	h, err := admin.GetJob(engine.Of(aj).ID())
	require.NoError(t, err)
	assert.True(t, engine.Of(h).Same(aj))
	require.NoError(t, h.SetDisplayName("renamed by admin"))
	name, err := aj.GetDisplayName()
	require.NoError(t, err)
	assert.Equal(t, "renamed by admin", name)
}

// nopCallback is a bits.Callback that does nothing.
type nopCallback struct{}

func (nopCallback) JobTransferred(bits.Job) error       { return nil }
func (nopCallback) JobError(bits.Job, bits.Error) error { return nil }
func (nopCallback) JobModification(bits.Job) error      { return nil }

// mutators lists every job method that changes the job, called with valid arguments.
func mutators(dir string) map[string]func(j bits.Job) error {
	drop := func(_ hresult.Code, err error) error { return err }
	local := filepath.Join(dir, "more")
	return map[string]func(j bits.Job) error{
		"AddFile": func(j bits.Job) error { return j.AddFile("http://example.com/more", local) },
		"AddFileSet": func(j bits.Job) error {
			return j.AddFileSet([]bits.FileInfo{{RemoteName: "http://example.com/more", LocalName: local}})
		},
		"AddFileWithRanges": func(j bits.Job) error {
			return j.AddFileWithRanges("http://example.com/more", local, []bits.FileRange{{InitialOffset: 0, Length: 10}})
		},
		"Suspend":                 (bits.Job).Suspend,
		"Resume":                  (bits.Job).Resume,
		"Cancel":                  func(j bits.Job) error { return drop(j.Cancel()) },
		"Complete":                func(j bits.Job) error { return drop(j.Complete()) },
		"SetDisplayName":          func(j bits.Job) error { return j.SetDisplayName("new") },
		"SetDescription":          func(j bits.Job) error { return j.SetDescription("new") },
		"SetPriority":             func(j bits.Job) error { return j.SetPriority(bits.High) },
		"SetNotifyFlags":          func(j bits.Job) error { return j.SetNotifyFlags(bits.NotifyJobModification) },
		"SetNotifyInterface":      func(j bits.Job) error { return j.SetNotifyInterface(nopCallback{}) },
		"SetNotifyInterface(nil)": func(j bits.Job) error { return j.SetNotifyInterface(nil) },
		"SetMinimumRetryDelay":    func(j bits.Job) error { return j.SetMinimumRetryDelay(60) },
		"SetNoProgressTimeout":    func(j bits.Job) error { return j.SetNoProgressTimeout(60) },
		"SetMaximumDownloadTime": func(j bits.Job) error {
			return j.SetMaximumDownloadTime(60)
		},
		"SetProxySettings": func(j bits.Job) error { return j.SetProxySettings(bits.ProxyNoProxy, "", "") },
		"SetNotifyCmdLine": func(j bits.Job) error { return j.SetNotifyCmdLine("", "") },
		"SetCredentials": func(j bits.Job) error {
			return j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"})
		},
		"RemoveCredentials": func(j bits.Job) error {
			return drop(j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic))
		},
		"ReplaceRemotePrefix": func(j bits.Job) error {
			return drop(j.ReplaceRemotePrefix("http://example.com", "http://example.org"))
		},
		"SetFileACLFlags":     func(j bits.Job) error { return j.SetFileACLFlags(bits.CopyFileOwner) },
		"SetPeerCachingFlags": func(j bits.Job) error { return j.SetPeerCachingFlags(bits.EnablePeerCachingClient) },
		"SetCustomHeaders":    func(j bits.Job) error { return j.SetCustomHeaders("X-A: b\r\n") },
		"SetSecurityFlags":    func(j bits.Job) error { return j.SetSecurityFlags(bits.SSLEnableCRLCheck) },
		"SetHttpMethod":       func(j bits.Job) error { return j.SetHttpMethod("GET") },
		"TakeOwnership":       (bits.Job).TakeOwnership,
	}
}

// ownerOnly names the mutators only the owner may call, administrators included.
var ownerOnly = map[string]bool{"SetCredentials": true, "RemoveCredentials": true, "SetCustomHeaders": true}

func TestGetJobFinalJobs(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		finish func(j bits.Job) (hresult.Code, error)
		code   hresult.Code
		final  state.State
	}{
		{"cancelled", (bits.Job).Cancel, hresult.S_OK, state.Cancelled},
		{"acknowledged", (bits.Job).Complete, hresult.BG_S_PARTIAL_COMPLETE, state.Acknowledged},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := manager.New(manager.WithManualTransfers())
			alice := connect(t, m, idAlice)
			admin := connect(t, m, idAdmin)
			j := mustCreate(t, alice, "doomed")
			require.NoError(t, j.AddFile("http://example.com/a", filepath.Join(dir, "a")))
			adminHandle, err := admin.GetJob(engine.Of(j).ID())
			require.NoError(t, err)

			code, err := tt.finish(j)
			require.NoError(t, err)
			assert.Equal(t, tt.code, code)

			_, err = alice.GetJob(engine.Of(j).ID())
			assert.ErrorIs(t, err, hresult.BG_E_NOT_FOUND)
			_, err = admin.GetJob(engine.Of(j).ID())
			assert.ErrorIs(t, err, hresult.BG_E_NOT_FOUND)
			assert.Empty(t, enumIDs(t, alice, 0))
			assert.Empty(t, enumIDs(t, admin, bits.EnumAllUsers))
			assert.Equal(t, 0, m.JobCount())

			// Handles already held keep answering getters.
			for _, h := range []bits.Job{j, adminHandle} {
				assert.Equal(t, tt.final, stateOf(t, h))
				name, err := h.GetDisplayName()
				require.NoError(t, err)
				assert.Equal(t, "doomed", name)
				p, err := h.GetProgress()
				require.NoError(t, err)
				assert.Equal(t, uint32(1), p.FilesTotal)
				id, err := h.GetId()
				require.NoError(t, err)
				assert.Equal(t, engine.Of(j).ID(), id)
			}
			// Every mutator fails with BG_E_INVALID_STATE and changes nothing.
			for name, mut := range mutators(dir) {
				for _, h := range []bits.Job{j, adminHandle} {
					err := mut(h)
					if (name == "TakeOwnership" && h == j) || (ownerOnly[name] && h == adminHandle) {
						// Access comes before the state: TakeOwnership needs an administrator,
						// credentials and custom headers belong to the owner alone.
						assert.ErrorIs(t, err, hresult.E_ACCESSDENIED, "%s by %s", name, engine.CallerOf(h).Identity().SID)
						continue
					}
					assert.ErrorIs(t, err, hresult.BG_E_INVALID_STATE, "%s by %s", name, engine.CallerOf(h).Identity().SID)
					assert.Equal(t, hresult.BG_E_INVALID_STATE, hresult.Of(err), "%s", name)
				}
			}
			assert.Equal(t, tt.final, stateOf(t, j))
			name, err := j.GetDisplayName()
			require.NoError(t, err)
			assert.Equal(t, "doomed", name)
			p, err := j.GetProgress()
			require.NoError(t, err)
			assert.Equal(t, uint32(1), p.FilesTotal)
		})
	}
}

func TestEnumJobs(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	bob := connect(t, m, idBob)
	admin := connect(t, m, idAdmin)

	var aliceIDs, allIDs []uuid.UUID
	for i := range 5 {
		a := mustCreate(t, alice, "a")
		aliceIDs = append(aliceIDs, engine.Of(a).ID())
		allIDs = append(allIDs, engine.Of(a).ID())
		if i%2 == 0 {
			b := mustCreate(t, bob, "b")
			allIDs = append(allIDs, engine.Of(b).ID())
		}
	}
	adminJob := mustCreate(t, admin, "admin")
	allIDs = append(allIDs, engine.Of(adminJob).ID())

	assert.Equal(t, aliceIDs, enumIDs(t, alice, 0), "own jobs, in creation order")
	assert.Len(t, enumIDs(t, bob, 0), 3)
	assert.Equal(t, []uuid.UUID{engine.Of(adminJob).ID()}, enumIDs(t, admin, 0), "flags 0 lists only the admin's own jobs")
	assert.Equal(t, allIDs, enumIDs(t, admin, bits.EnumAllUsers), "every user's jobs, in creation order")

	for _, tt := range []struct {
		name  string
		c     *manager.Client
		flags uint32
		want  hresult.Code
	}{
		{"all users, not admin", alice, bits.EnumAllUsers, hresult.E_ACCESSDENIED},
		{"flag 0x2", alice, 0x2, hresult.E_INVALIDARG},
		{"flag 0x2, admin", admin, 0x2, hresult.E_INVALIDARG},
		{"flags 0x3, admin", admin, 0x3, hresult.E_INVALIDARG},
		{"flags 0x3, not admin", alice, 0x3, hresult.E_INVALIDARG},
		{"high bit", admin, 0x80000000, hresult.E_INVALIDARG},
		{"all users, service account", connect(t, m, idService), bits.EnumAllUsers, hresult.E_ACCESSDENIED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.c.EnumJobs(tt.flags)
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, tt.want, hresult.Of(err))
			assert.Nil(t, e)
		})
	}

	// Handles from the enumerator act as the caller that enumerated.
	e, err := admin.EnumJobs(bits.EnumAllUsers)
	require.NoError(t, err)
	jobs, code, _ := e.Next(100)
	assert.Equal(t, hresult.S_FALSE, code)
	require.Len(t, jobs, len(allIDs))
	for _, j := range jobs {
		assert.Equal(t, idAdmin, engine.CallerOf(j).Identity())
		assert.Equal(t, state.Suspended, stateOf(t, j))
	}
}

func TestEnumJobsSnapshot(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	j1 := mustCreate(t, alice, "1")
	j2 := mustCreate(t, alice, "2")
	j3 := mustCreate(t, alice, "3")
	_, err := j2.Cancel()
	require.NoError(t, err)

	e, err := alice.EnumJobs(0)
	require.NoError(t, err)
	require.Equal(t, uint32(2), enumCount(e), "final jobs are never listed")

	j4 := mustCreate(t, alice, "4")
	_, err = j3.Cancel()
	require.NoError(t, err)

	assert.Equal(t, uint32(2), enumCount(e), "the enumerator is a snapshot")
	got, code, _ := e.Next(10)
	assert.Equal(t, hresult.S_FALSE, code)
	require.Len(t, got, 2)
	assert.Equal(t, engine.Of(j1).ID(), engine.Of(got[0]).ID())
	assert.Equal(t, engine.Of(j3).ID(), engine.Of(got[1]).ID(), "a job cancelled after the snapshot is still in it")
	assert.Equal(t, state.Cancelled, stateOf(t, got[1]), "and its handle still works")
	assert.ErrorIs(t, got[1].Resume(), hresult.BG_E_INVALID_STATE)

	assert.Equal(t, []uuid.UUID{engine.Of(j1).ID(), engine.Of(j4).ID()}, enumIDs(t, alice, 0))
}

// EnumJobs lists the queue as it is at each call, whether or not the queue changed since the
// last list, and each enumerator's handles act as the caller that enumerated, also when two
// connections of one user list the same unchanged queue.
func TestEnumJobsFollowsEveryChange(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	alice2 := connect(t, m, idAlice)
	admin := connect(t, m, idAdmin)
	j1 := mustCreate(t, alice, "1")
	j2 := mustCreate(t, alice, "2")
	id1, id2 := engine.Of(j1).ID(), engine.Of(j2).ID()

	assert.Equal(t, []uuid.UUID{id1, id2}, enumIDs(t, alice, 0))
	assert.Equal(t, []uuid.UUID{id1, id2}, enumIDs(t, alice, 0), "unchanged")
	for _, c := range []*manager.Client{alice, alice2} {
		e, err := c.EnumJobs(0)
		require.NoError(t, err)
		jobs, _, _ := e.Next(10)
		require.Len(t, jobs, 2)
		for _, j := range jobs {
			assert.Equal(t, idAlice, engine.CallerOf(j).Identity())
		}
		// The handle acts as the connection that enumerated: alice's own handle is the one
		// CreateJob returned; alice2's is another.
		assert.Equal(t, c == alice, jobs[0] == bits.Job(j1), "creator's handle for its creator only")
	}

	j3 := mustCreate(t, alice, "3")
	id3 := engine.Of(j3).ID()
	assert.Equal(t, []uuid.UUID{id1, id2, id3}, enumIDs(t, alice, 0), "a job created since")
	assert.Equal(t, []uuid.UUID{id1, id2, id3}, enumIDs(t, admin, bits.EnumAllUsers))

	_, err := j1.Cancel()
	require.NoError(t, err)
	assert.Equal(t, []uuid.UUID{id2, id3}, enumIDs(t, alice, 0), "a job cancelled since")
	assert.Equal(t, []uuid.UUID{id2, id3}, enumIDs(t, admin, bits.EnumAllUsers))

	aj, err := admin.GetJob(id2)
	require.NoError(t, err)
	require.NoError(t, aj.TakeOwnership())
	assert.Equal(t, []uuid.UUID{id3}, enumIDs(t, alice, 0), "a job whose ownership was taken since")
	assert.Equal(t, []uuid.UUID{id2}, enumIDs(t, admin, 0))
	assert.Equal(t, []uuid.UUID{id2, id3}, enumIDs(t, admin, bits.EnumAllUsers))
}

// Each job the enumerating connection created comes out as the handle CreateJob returned, and
// each job another connection of the user created as a new handle acting as the enumerating
// one, whatever the page sizes and skips: for a connection that created most of the jobs and
// ones that created a few, for more connections than a snapshot keeps lists for, and again when
// the unchanged queue is listed a second time.
func TestEnumJobsMixedCreators(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	const conns = 6
	clients := make([]*manager.Client, conns)
	for k := range clients {
		clients[k] = connect(t, m, idAlice)
	}
	var created []bits.Job
	// Client k created job k; client 0 created most of the rest, and others some.
	var by []int
	for i := range 4 * conns {
		k := i
		if i >= conns {
			k = 0
			if i%4 == 0 {
				k = (i*i + i/3) % conns
			}
		}
		created = append(created, mustCreate(t, clients[k], "j"))
		by = append(by, k)
	}
	// check compares got, which should list the jobs from created[from] on, with what client k
	// should get.
	check := func(k, from int, got []bits.Job, what string) {
		t.Helper()
		for i, j := range got {
			n := from + i
			require.Less(t, n, len(created), what)
			assert.Equal(t, engine.Of(created[n]).ID(), engine.Of(j).ID(), "%s: job %d", what, n)
			assert.Equal(t, by[n] == k, j == created[n], "%s: job %d is the creator's handle", what, n)
			assert.Same(t, engine.CallerOf(created[k]), engine.CallerOf(j), "%s: job %d acts as the client", what, n)
		}
	}
	for round := range 2 {
		for k, c := range clients {
			for _, page := range []uint32{1, 2, 5, 24, 100} {
				what := fmt.Sprintf("round %d, client %d, pages of %d", round, k, page)
				e, err := c.EnumJobs(0)
				require.NoError(t, err)
				var got []bits.Job
				for {
					jobs, code, err := e.Next(page)
					require.NoError(t, err)
					got = append(got, jobs...)
					if code == hresult.S_FALSE {
						break
					}
				}
				require.Len(t, got, len(created), what)
				check(k, 0, got, what)

				e.Reset()
				require.Equal(t, hresult.S_OK, enumSkip(e, 3))
				jobs, code, err := e.Next(page)
				require.NoError(t, err)
				wantCode, wantLen := hresult.S_OK, int(page)
				if 3+wantLen > len(created) {
					wantCode, wantLen = hresult.S_FALSE, len(created)-3
				}
				require.Equal(t, wantCode, code, what)
				require.Len(t, jobs, wantLen, what)
				check(k, 3, jobs, what+", after a skip of 3")
			}
		}
	}
}

// The slice Next returns is the caller's own: writing into it changes no other list, whether
// the same enumerator's after Reset, its clone's, or a new enumerator's of the unchanged queue;
// for a caller that created every job listed, and one that created some.
func TestEnumJobsSliceIsTheCallers(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	alice2 := connect(t, m, idAlice)
	bob := connect(t, m, idBob)
	aliceJobs := []bits.Job{mustCreate(t, alice, "1"), mustCreate(t, alice2, "2"), mustCreate(t, alice, "3")}
	bobJobs := []bits.Job{mustCreate(t, bob, "1"), mustCreate(t, bob, "2")}
	for _, tt := range []struct {
		name    string
		c       *manager.Client
		created []bits.Job
		own     []bool // whether c created each
	}{
		{"all created by the caller", bob, bobJobs, []bool{true, true}},
		{"some created by another connection", alice, aliceJobs, []bool{true, false, true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.c.EnumJobs(0)
			require.NoError(t, err)
			clone, err := e.Clone()
			require.NoError(t, err)
			first, _, _ := e.Next(10)
			require.Len(t, first, len(tt.created))
			for i := range first {
				first[i] = nil
			}

			require.NoError(t, e.Reset())
			again, _, _ := e.Next(10)
			fromClone, _, _ := clone.Next(10)
			e2, err := tt.c.EnumJobs(0)
			require.NoError(t, err)
			fresh, _, _ := e2.Next(10)
			for name, got := range map[string][]bits.Job{"after Reset": again, "clone": fromClone, "new enumerator": fresh} {
				require.Len(t, got, len(tt.created), name)
				for i, j := range got {
					require.NotNil(t, j, "%s: job %d", name, i)
					assert.Equal(t, engine.Of(tt.created[i]).ID(), engine.Of(j).ID(), "%s: job %d", name, i)
					assert.Equal(t, tt.own[i], j == tt.created[i], "%s: job %d is the creator's handle", name, i)
				}
			}
		})
	}
}

func TestEnumeratorSemantics(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, engine.Of(mustCreate(t, alice, "j")).ID())
	}
	idsOf := func(jobs []bits.Job) []uuid.UUID {
		out := []uuid.UUID{}
		for _, j := range jobs {
			out = append(out, engine.Of(j).ID())
		}
		return out
	}

	e, err := alice.EnumJobs(0)
	require.NoError(t, err)
	assert.Equal(t, uint32(5), enumCount(e))

	got, code, _ := e.Next(0)
	assert.Equal(t, hresult.S_OK, code, "Next(0)")
	assert.Empty(t, got)

	got, code, _ = e.Next(2)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, ids[:2], idsOf(got))

	clone, _ := e.Clone()
	assert.Equal(t, uint32(5), enumCount(clone))

	assert.Equal(t, hresult.S_OK, enumSkip(e, 1))
	got, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, ids[3:4], idsOf(got))

	// The clone kept the position it was cloned at, independently.
	got, code, _ = clone.Next(1)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, ids[2:3], idsOf(got))

	got, code, _ = e.Next(3)
	assert.Equal(t, hresult.S_FALSE, code, "fewer than asked")
	assert.Equal(t, ids[4:], idsOf(got))
	got, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_FALSE, code, "at the end")
	assert.Empty(t, got)
	got, code, _ = e.Next(0)
	assert.Equal(t, hresult.S_OK, code, "Next(0) at the end")
	assert.Empty(t, got)
	assert.Equal(t, hresult.S_OK, enumSkip(e, 0))
	assert.Equal(t, hresult.S_FALSE, enumSkip(e, 1), "skip past the end")
	assert.Equal(t, uint32(5), enumCount(e), "GetCount ignores the position")

	e.Reset()
	assert.Equal(t, hresult.S_FALSE, enumSkip(e, 6), "skip past the end from the start")
	got, _, _ = e.Next(1)
	assert.Empty(t, got, "a skip past the end leaves the position at the end")
	e.Reset()
	assert.Equal(t, hresult.S_OK, enumSkip(e, 5), "skip exactly to the end")
	got, code, _ = e.Next(1)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Empty(t, got)

	e.Reset()
	got, code, _ = e.Next(5)
	assert.Equal(t, hresult.S_OK, code, "exactly n left")
	assert.Equal(t, ids, idsOf(got))

	// The clone still runs on its own.
	got, code, _ = clone.Next(^uint32(0))
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Equal(t, ids[3:], idsOf(got))

	// An empty enumerator.
	bob := connect(t, m, idBob)
	empty, err := bob.EnumJobs(0)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), enumCount(empty))
	got, code, _ = empty.Next(1)
	assert.Equal(t, hresult.S_FALSE, code)
	assert.Empty(t, got)
	got, code, _ = empty.Next(0)
	assert.Equal(t, hresult.S_OK, code)
	assert.Empty(t, got)
	assert.Equal(t, hresult.S_OK, enumSkip(empty, 0))
	assert.Equal(t, hresult.S_FALSE, enumSkip(empty, 1))
}

func TestGetErrorDescription(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	c := connect(t, m, idAlice)
	tests := []struct {
		name string
		code hresult.Code
		lang uint16
		want hresult.Code
	}{
		{"English (US)", hresult.BG_E_INVALID_STATE, 0x0409, hresult.S_OK},
		{"neutral", hresult.BG_E_INVALID_STATE, 0, hresult.S_OK},
		{"English (UK)", hresult.BG_E_NOT_FOUND, 0x0809, hresult.S_OK},
		{"HTTP status", hresult.HTTP(404), 0x0409, hresult.S_OK},
		{"success code", hresult.BG_S_PARTIAL_COMPLETE, 0x0409, hresult.S_OK},
		{"German", hresult.BG_E_INVALID_STATE, 0x0407, hresult.ERROR_RESOURCE_LANG_NOT_FOUND},
		{"French", hresult.BG_E_INVALID_STATE, 0x040C, hresult.ERROR_RESOURCE_LANG_NOT_FOUND},
		{"unknown code", hresult.Code(0x8020FFFF), 0x0409, hresult.ERROR_MR_MID_NOT_FOUND},
		{"unknown code, German: language checked first", hresult.Code(0x8020FFFF), 0x0407, hresult.ERROR_RESOURCE_LANG_NOT_FOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := c.GetErrorDescription(tt.code, tt.lang)
			assert.Equal(t, tt.want, hresult.Of(err), "err = %v", err)
			if tt.want.Failed() {
				assert.ErrorIs(t, err, tt.want)
				assert.Empty(t, text)
				return
			}
			assert.Equal(t, tt.code.Message(), text)
			assert.NotEmpty(t, text)
		})
	}
}

func TestClientClose(t *testing.T) {
	dir := t.TempDir()
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	admin := connect(t, m, idAdmin)
	j := mustCreate(t, alice, "survivor")
	require.NoError(t, j.AddFile("http://example.com/a", filepath.Join(dir, "a")))
	e, err := alice.EnumJobs(0)
	require.NoError(t, err)
	fromEnum, _, _ := e.Next(1)
	require.Len(t, fromEnum, 1)
	adminHandle, err := admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)

	require.NoError(t, alice.Close())
	require.NoError(t, alice.Close(), "closing twice is harmless")
	assert.Equal(t, idAlice, alice.Identity())

	disconnected := func(name string, err error) {
		t.Helper()
		assert.ErrorIs(t, err, hresult.RPC_E_DISCONNECTED, name)
		assert.Equal(t, hresult.RPC_E_DISCONNECTED, hresult.Of(err), name)
	}
	_, err = alice.CreateJob("x", bits.Download)
	disconnected("CreateJob", err)
	_, err = alice.GetJob(engine.Of(j).ID())
	disconnected("GetJob", err)
	_, err = alice.EnumJobs(0)
	disconnected("EnumJobs", err)
	_, err = alice.GetErrorDescription(hresult.BG_E_INVALID_STATE, 0x0409)
	disconnected("GetErrorDescription", err)
	for _, h := range []bits.Job{j, fromEnum[0]} {
		_, err = h.GetState()
		disconnected("GetState", err)
		_, err = h.GetDisplayName()
		disconnected("GetDisplayName", err)
		disconnected("Resume", h.Resume())
		_, err = h.Cancel()
		disconnected("Cancel", err)
	}
	// Mutators from a closed client come before the state check too.
	for name, mut := range mutators(dir) {
		disconnected(name, mut(j))
	}

	// The job stays in the queue, untouched, and other clients are unaffected.
	assert.Equal(t, 1, m.JobCount())
	assert.Equal(t, state.Suspended, stateOf(t, adminHandle))
	assert.Equal(t, []uuid.UUID{engine.Of(j).ID()}, enumIDs(t, admin, bits.EnumAllUsers))
	require.NoError(t, adminHandle.Resume())
	assert.Equal(t, state.Queued, stateOf(t, adminHandle))
	_, err = admin.CreateJob("admin's", bits.Download)
	assert.NoError(t, err)

	// The same user reconnects and finds the job again.
	again := connect(t, m, idAlice)
	h, err := again.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	assert.Equal(t, state.Queued, stateOf(t, h))
	assert.Equal(t, []uuid.UUID{engine.Of(j).ID()}, enumIDs(t, again, 0))
	code, err := h.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)

	// Closing the administrator's client leaves Alice's new client alone.
	require.NoError(t, admin.Close())
	_, err = again.CreateJob("y", bits.Download)
	assert.NoError(t, err)
}

func TestErrorsCarryTheHRESULT(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	c := connect(t, m, idAlice)
	_, err := c.GetJob(uuid.New())
	var he *hresult.Error
	require.True(t, errors.As(err, &he))
	assert.Equal(t, hresult.BG_E_NOT_FOUND, he.Code)
	assert.Equal(t, "GetJob", he.Op)
	assert.False(t, errors.Is(err, hresult.E_ACCESSDENIED))
}

// A job's handles act as the client that obtained them, whether it created the job or not: the
// creator's handle from EnumJobs or GetJob fails once the creator closes, while those another
// connection of the same user obtained go on working.
func TestHandlesActAsTheirClient(t *testing.T) {
	m := manager.New(manager.WithManualTransfers())
	alice := connect(t, m, idAlice)
	again := connect(t, m, idAlice)
	j := mustCreate(t, alice, "mine")
	id := engine.Of(j).ID()
	handles := map[string]bits.Job{}
	for name, c := range map[string]*manager.Client{"creator": alice, "other": again} {
		e, err := c.EnumJobs(0)
		require.NoError(t, err)
		got, code, err := e.Next(2)
		require.NoError(t, err)
		assert.Equal(t, hresult.S_FALSE, code)
		require.Len(t, got, 1)
		handles[name+" EnumJobs"] = got[0]
		h, err := c.GetJob(id)
		require.NoError(t, err)
		handles[name+" GetJob"] = h
	}
	require.NoError(t, alice.Close())
	for name, h := range handles {
		_, err := h.GetState()
		if strings.HasPrefix(name, "creator") {
			assert.ErrorIs(t, err, hresult.RPC_E_DISCONNECTED, name)
		} else {
			assert.NoError(t, err, name)
		}
	}
}
