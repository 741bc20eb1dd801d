package job_test

import (
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

type typedRows struct {
	typ    bits.JobType
	nfiles int
	rows   []methodRow
}

func allRowSets() []typedRows {
	return []typedRows{
		{bits.Download, 2, jobRows()},
		{bits.Upload, 1, uploadRows()},
		{bits.UploadReply, 1, replyRows()},
	}
}

// Another ordinary user's handle gets E_ACCESSDENIED from every job method, in every state, and
// nothing changes.
func TestOtherUserDeniedEverywhere(t *testing.T) {
	for _, set := range allRowSets() {
		for _, r := range set.rows {
			if r.file {
				continue // another user cannot obtain a File handle: EnumFiles is denied
			}
			t.Run(set.typ.String()+"/"+r.name, func(t *testing.T) {
				for _, st := range allStates {
					x := newFx(t)
					j := x.jobIn(set.typ, set.nfiles, st)
					before, err := j.GetTimes()
					require.NoError(t, err)
					other := engine.Of(j).As(job.NewCaller(otherID))
					_, err = r.call(x, other, nil)
					isCode(t, hresult.E_ACCESSDENIED, err, r.name+" in "+st.String())
					mustState(t, j, st)
					after, err := j.GetTimes()
					require.NoError(t, err)
					assert.Equal(t, before, after, "nothing changed")
				}
			})
		}
	}
}

// A handle whose Caller has closed gets RPC_E_DISCONNECTED from every method, File methods
// included, and the job is untouched.
func TestClosedCallerDisconnectedEverywhere(t *testing.T) {
	for _, set := range allRowSets() {
		for _, r := range set.rows {
			t.Run(set.typ.String()+"/"+r.name, func(t *testing.T) {
				for _, st := range []state.State{state.Suspended, state.Transferring, state.Transferred, state.Cancelled} {
					x := newFx(t)
					j := x.jobIn(set.typ, set.nfiles, st)
					c := job.NewCaller(ownerID)
					h := engine.Of(j).As(c)
					f := fileAt(t, h, 0)
					c.Close()
					_, err := r.call(x, h, f)
					isCode(t, hresult.RPC_E_DISCONNECTED, err, r.name+" in "+st.String())
					mustState(t, j, st)
				}
			})
		}
	}
}

func TestClientCloseDisconnectsHandles(t *testing.T) {
	x := newFx(t)
	c, err := x.m.Connect(ownerID)
	require.NoError(t, err)
	j, err := c.CreateJob("j", bits.Download)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = j.GetState()
	isCode(t, hresult.RPC_E_DISCONNECTED, err)
	isCode(t, hresult.RPC_E_DISCONNECTED, j.Resume())
	// Another connection of the same user still works.
	h, err := x.owner.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	mustState(t, h, state.Suspended)
}

func TestOtherUserCannotFindJob(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	other, err := x.m.Connect(otherID)
	require.NoError(t, err)
	_, err = other.GetJob(engine.Of(j).ID())
	isCode(t, hresult.E_ACCESSDENIED, err)
}

// An administrator may change another user's job without taking ownership, except for the
// owner-only methods (credentials and custom headers).
func TestAdminMayChangeProperties(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	require.NoError(t, j.SetCustomHeaders("X-Owner: 1\r\n"))
	a, err := x.admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)

	assert.NoError(t, a.SetDisplayName("by admin"))
	assert.NoError(t, a.SetPriority(bits.High))
	assert.NoError(t, a.SetDescription("admin desc"))
	assert.NoError(t, a.AddFile(x.remote(), x.local()))
	assert.NoError(t, a.SetNotifyCmdLine("/bin/a", ""))
	assert.NoError(t, a.SetSecurityFlags(bits.SSLEnableCRLCheck))
	assert.NoError(t, a.Resume())
	assert.NoError(t, a.Suspend())
	name, err := j.GetDisplayName()
	require.NoError(t, err)
	assert.Equal(t, "by admin", name, "the owner sees the admin's change")
	owner, err := a.GetOwner()
	require.NoError(t, err)
	assert.Equal(t, ownerID.SID, owner, "no ownership change")

	// Owner-only.
	isCode(t, hresult.E_ACCESSDENIED, a.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))
	_, err = a.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
	isCode(t, hresult.E_ACCESSDENIED, err)
	isCode(t, hresult.E_ACCESSDENIED, a.SetCustomHeaders("X-Admin: 1\r\n"))
	_, _, err = a.GetCustomHeaders()
	isCode(t, hresult.E_ACCESSDENIED, err)
	h, code, err := j.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	assert.Equal(t, "X-Owner: 1\r\n", h, "the refused call changed nothing")

	// The admin may cancel it.
	code, err = a.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	mustState(t, j, state.Cancelled)
}

func TestTakeOwnership(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	cb := &nopCallback{name: "owner's"}
	require.NoError(t, j.SetNotifyInterface(cb))
	require.NoError(t, j.SetCustomHeaders("X-Secret: 1\r\n"))
	require.NoError(t, j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}))
	require.NoError(t, j.SetNotifyCmdLine("/bin/notify", "/bin/notify x"))

	// Not an administrator: refused, even the owner.
	isCode(t, hresult.E_ACCESSDENIED, j.TakeOwnership())
	isCode(t, hresult.E_ACCESSDENIED, engine.Of(j).As(job.NewCaller(otherID)).TakeOwnership())
	isCode(t, hresult.E_ACCESSDENIED, engine.Of(j).As(job.NewCaller(manager.Identity{SID: "S-1-5-18", Service: true})).TakeOwnership(),
		"a service account is not an administrator")

	a, err := x.admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	require.NoError(t, a.TakeOwnership())

	owner, err := a.GetOwner()
	require.NoError(t, err)
	assert.Equal(t, adminID.SID, owner)
	elev, err := a.GetOwnerElevationState()
	require.NoError(t, err)
	assert.True(t, elev)
	il, err := a.GetOwnerIntegrityLevel()
	require.NoError(t, err)
	assert.Equal(t, uint32(0x3000), il)

	hdr, code, err := a.GetCustomHeaders()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code, "custom headers cleared")
	assert.Equal(t, "", hdr)
	code, err = a.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
	require.NoError(t, err)
	assert.Equal(t, hresult.S_FALSE, code, "credentials cleared")
	cmd, err := a.GetNotifyCmdLine()
	require.NoError(t, err)
	assert.Equal(t, bits.NotifyCmdLine{}, cmd, "command line cleared")
	got, err := a.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb, got, "the callback keeps running in its registrant's context")

	// The former owner is now just another user.
	_, err = j.GetState()
	isCode(t, hresult.E_ACCESSDENIED, err)
	_, err = x.owner.GetJob(engine.Of(j).ID())
	isCode(t, hresult.E_ACCESSDENIED, err)

	// The new owner may now use the owner-only methods.
	assert.NoError(t, a.SetCustomHeaders("X-Admin: 1\r\n"))
	assert.NoError(t, a.SetCredentials(bits.Credentials{Target: bits.TargetProxy, Scheme: bits.SchemeNTLM}))

	// TakeOwnership on a final job.
	fin := x.jobIn(bits.Download, 1, state.Cancelled)
	isCode(t, hresult.BG_E_INVALID_STATE, engine.Of(fin).As(job.NewCaller(adminID)).TakeOwnership())
}

func TestMakeCustomHeadersWriteOnly(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	require.NoError(t, j.SetCustomHeaders("X-Key: secret\r\n"))
	require.NoError(t, j.MakeCustomHeadersWriteOnly())
	_, _, err := j.GetCustomHeaders()
	isCode(t, hresult.E_ACCESSDENIED, err)
	// Still writable, still unreadable, and calling it again is fine.
	assert.NoError(t, j.SetCustomHeaders("X-Key: other\r\n"))
	assert.NoError(t, j.MakeCustomHeadersWriteOnly())
	_, _, err = j.GetCustomHeaders()
	isCode(t, hresult.E_ACCESSDENIED, err)
	assert.NoError(t, j.SetCustomHeaders(""))
	_, _, err = j.GetCustomHeaders()
	isCode(t, hresult.E_ACCESSDENIED, err, "irreversible, even with no headers")

	// Not even a new owner can read them again.
	a, err := x.admin.GetJob(engine.Of(j).ID())
	require.NoError(t, err)
	require.NoError(t, a.TakeOwnership())
	_, _, err = a.GetCustomHeaders()
	isCode(t, hresult.E_ACCESSDENIED, err, "TakeOwnership does not undo MakeCustomHeadersWriteOnly")
}

func TestServiceAccountIdentity(t *testing.T) {
	x := newFx(t, manager.WithLimits(manager.Limits{MaxFilesPerJob: 1}))
	svc, err := x.m.Connect(manager.Identity{SID: "S-1-5-18", Service: true})
	require.NoError(t, err)
	j, err := svc.CreateJob("svc", bits.Download)
	require.NoError(t, err)
	il, err := j.GetOwnerIntegrityLevel()
	require.NoError(t, err)
	assert.Equal(t, uint32(0x4000), il)
	require.NoError(t, j.AddFile(x.remote(), x.local()))
	assert.NoError(t, j.AddFile(x.remote(), x.local()), "service accounts are exempt from the file limit")
	// But a service account is not an administrator: another user's job is out of reach.
	uj := x.newJob(bits.Download, 0)
	_, err = engine.Of(j).As(job.NewCaller(manager.Identity{SID: "S-1-5-18", Service: true})).GetState()
	require.NoError(t, err)
	_, err = engine.Of(uj).As(job.NewCaller(manager.Identity{SID: "S-1-5-18", Service: true})).GetState()
	isCode(t, hresult.E_ACCESSDENIED, err)
}
