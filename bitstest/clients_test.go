package bitstest_test

import (
	"testing"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// The administrator sees and lists every user's jobs; the listing names their owners and
// states, and leaves final jobs out.
func TestHarnessAdminListsEveryJob(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"ok.bin": []byte("x")})
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	alice, bob := h.Connect("S-1-5-21-1001"), h.Connect("S-1-5-21-1002")
	admin, svc := h.Admin(), h.Service()
	assert.Equal(t, manager.Identity{SID: bitstest.AdminSID, Admin: true}, admin.Identity())
	assert.Equal(t, manager.Identity{SID: bitstest.LocalSystemSID, Service: true}, svc.Identity())

	ja := download(t, alice, srv, "ok.bin")
	require.NoError(t, ja.Resume())
	jb, err := bob.CreateJob("bob's", bits.Upload)
	require.NoError(t, err)
	js, err := svc.CreateJob("service's", bits.Download)
	require.NoError(t, err)
	gone, err := bob.CreateJob("cancelled", bits.Download)
	require.NoError(t, err)
	_, err = gone.Cancel()
	require.NoError(t, err)
	h.Settle()

	assert.Equal(t, []bitstest.JobInfo{
		{ID: engine.Of(ja).ID(), Name: "ok.bin", Owner: "S-1-5-21-1001", Type: bits.Download, State: state.Transferred},
		{ID: engine.Of(jb).ID(), Name: "bob's", Owner: "S-1-5-21-1002", Type: bits.Upload, State: state.Suspended},
		{ID: engine.Of(js).ID(), Name: "service's", Owner: bitstest.LocalSystemSID, Type: bits.Download, State: state.Suspended},
	}, h.Jobs())

	e, err := admin.EnumJobs(bits.EnumAllUsers)
	require.NoError(t, err)
	assert.EqualValues(t, 3, enumCount(e), "the administrator lists every user's jobs")
	_, err = alice.EnumJobs(bits.EnumAllUsers)
	assert.ErrorIs(t, err, hresult.E_ACCESSDENIED, "a user may not")

	// The handles act as an administrator: they can drive another user's job.
	all := h.AllJobs()
	require.Len(t, all, 3)
	_, err = all[1].Cancel()
	require.NoError(t, err)
	ids := []any{}
	for _, info := range h.Jobs() {
		ids = append(ids, info.ID)
	}
	assert.Equal(t, []any{engine.Of(ja).ID(), engine.Of(js).ID()}, ids)
}

// A service account's command line never runs; the same command line of a user's job does.
func TestHarnessServiceCommandLineNeverRuns(t *testing.T) {
	h, rec, srv := recorded(t, nil)
	svc := h.Service()
	user := h.Connect(userSID)
	js := download(t, svc, srv, "ok.bin")
	ju := download(t, user, srv, "ok.bin")
	for _, j := range []bits.Job{js, ju} {
		require.NoError(t, j.SetNotifyCmdLine("/bin/notify", "notify"))
		require.NoError(t, j.Resume())
	}
	h.Step(24 * time.Hour)
	st, err := h.WaitState(js, 0, state.Transferred)
	require.NoError(t, err)
	assert.Equal(t, state.Transferred, st)
	assert.Empty(t, rec.For(engine.Of(js).ID()), "never for a service account's job")
	assert.Len(t, rec.For(engine.Of(ju).ID()), 1)
	assert.Equal(t, 1, rec.Len())
}

// ConnectAs fails the test for an identity the manager refuses; without a test it panics.
func TestHarnessConnectAsWithoutSID(t *testing.T) {
	h := bitstest.NewHarness(nil)
	defer h.Close()
	assert.Panics(t, func() { h.ConnectAs(manager.Identity{Admin: true}) })
	c := h.ConnectAs(manager.Identity{SID: "S-1-5-19", Service: true})
	assert.True(t, c.Identity().Service)
}
