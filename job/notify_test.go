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
