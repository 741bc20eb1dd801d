package job_test

import (
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/job"
)

// SetNotifyInterface keeps one callback per job: the last writer wins, nil or a typed nil
// pointer removes it, and the callback stops being returned once the caller that set it closes
// (bits-api §4). No Observer or notification delivery is involved.
func TestNotifyInterfaceLastWriterWins(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)

	c1 := job.NewCaller(ownerID)
	c2 := job.NewCaller(ownerID) // a second application of the same user
	h1, h2 := engine.Of(j).As(c1), engine.Of(j).As(c2)
	cb1, cb2 := &nopCallback{name: "one"}, &nopCallback{name: "two"}

	require.NoError(t, h1.SetNotifyInterface(cb1))
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb1, got)

	require.NoError(t, h2.SetNotifyInterface(cb2))
	got, err = h1.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb2, got, "last writer wins")

	// The first caller closing does not affect the second's callback.
	c1.Close()
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb2, got)
	assert.Same(t, cb2, engine.Of(j).NotifyView().Callback)

	// The setter's caller closes: the callback is gone, not replaced by the older one.
	c2.Close()
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got)
	assert.Nil(t, engine.Of(j).NotifyView().Callback)

	// A new registration works again.
	cb3 := &nopCallback{name: "three"}
	require.NoError(t, j.SetNotifyInterface(cb3))
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb3, got)
}

func TestNotifyInterfaceNilClears(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	cb := &nopCallback{name: "x"}

	require.NoError(t, j.SetNotifyInterface(cb))
	require.NoError(t, j.SetNotifyInterface(nil))
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got, "nil removes it")

	require.NoError(t, j.SetNotifyInterface(cb))
	var typedNil *nopCallback
	require.NoError(t, j.SetNotifyInterface(typedNil))
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got, "a typed nil pointer removes it too")
	assert.True(t, got == nil, "and GetNotifyInterface returns an untyped nil")

	// Clearing when nothing is set is fine.
	require.NoError(t, j.SetNotifyInterface(nil))
}

// Another user's registration through an administrator: the admin's callback replaces the
// owner's, and disappears when the admin's caller closes.
func TestNotifyInterfaceAdmin(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 0)
	require.NoError(t, j.SetNotifyInterface(&nopCallback{name: "owner"}))
	ac := job.NewCaller(adminID)
	acb := &nopCallback{name: "admin"}
	require.NoError(t, engine.Of(j).As(ac).SetNotifyInterface(acb))
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, acb, got)
	ac.Close()
	got, err = j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Nil(t, got)
}

// NotifyGen changes with every call that can change what the notification engine reads of the
// job but its state, and stays put for the frequent calls that cannot, so that a JobModification
// after those is delivered without reading the job again (notify.Dispatcher).
func TestNotifyGenFollowsTheNotificationSettings(t *testing.T) {
	x := newFx(t)
	j := x.newJob(bits.Download, 1)
	eng := engine.Of(j)
	admin := eng.As(job.NewCaller(adminID))
	cb := &nopCallback{name: "one"}
	for _, c := range []struct {
		name    string
		call    func() error
		changes bool
	}{
		{"SetDescription", func() error { return j.SetDescription("d") }, false},
		{"SetDisplayName", func() error { return j.SetDisplayName("n") }, false},
		{"SetPriority", func() error { return j.SetPriority(bits.High) }, false},
		{"Resume", j.Resume, false},
		{"Suspend", j.Suspend, false},
		{"AddFile", func() error { return j.AddFile(x.remote(), x.local()) }, false},
		{"SetNotifyInterface", func() error { return j.SetNotifyInterface(cb) }, true},
		{"SetNotifyFlags", func() error { return j.SetNotifyFlags(bits.NotifyJobModification) }, true},
		{"SetNotifyCmdLine", func() error { return j.SetNotifyCmdLine("/bin/true", "") }, true},
		{"SetMinimumRetryDelay", func() error { return j.SetMinimumRetryDelay(60) }, true},
		{"SetProperty(MinimumNotificationInterval)", func() error {
			return j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 5})
		}, true},
		{"TakeOwnership", admin.TakeOwnership, true},
		{"Cancel", func() error { _, err := admin.Cancel(); return err }, true},
	} {
		gen := eng.NotifyGen()
		require.NoError(t, c.call(), c.name)
		assert.Equal(t, c.changes, eng.NotifyGen() != gen, "%s: does it change NotifyGen", c.name)
	}
}
