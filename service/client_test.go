package service_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// A job queued through the client transfers in the service; Complete through the client puts
// the file in place.
func TestDownloadThroughService(t *testing.T) {
	s := serve(t)
	c := s.connect(t)
	srv := bitstest.NewServer(map[string][]byte{"a": []byte("hello")})
	defer srv.Close()
	j, err := c.CreateJob("smoke", bits.Download)
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), "a")
	require.NoError(t, j.AddFile(srv.URLFor("a"), dst))
	require.NoError(t, j.Resume())
	waitFor(t, func() bool {
		st, err := j.GetState()
		require.NoError(t, err)
		return st == state.Transferred
	})
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
}

// Failures cross the connection as the service's *hresult.Error: errors.Is finds the HRESULT,
// and the operation, job and state come along.
func TestErrorsCrossIntact(t *testing.T) {
	s := serve(t, manager.WithManualTransfers())
	c := s.connect(t)
	j, err := c.CreateJob("errors", bits.Download)
	require.NoError(t, err)
	id, _ := j.GetId()
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	err = j.Resume()
	require.Error(t, err)
	assert.True(t, errors.Is(err, hresult.BG_E_INVALID_STATE))
	var he *hresult.Error
	require.True(t, errors.As(err, &he))
	assert.Equal(t, &hresult.Error{Op: "Resume", Job: job.GUIDString(id), State: "CANCELLED", Code: hresult.BG_E_INVALID_STATE}, he)

	_, err = c.EnumJobs(bits.EnumAllUsers | 0x100)
	assert.True(t, errors.Is(err, hresult.E_INVALIDARG))

	// The service goes away: every call fails with RPC_E_DISCONNECTED.
	s.srv.Stop()
	_, err = c.CreateJob("late", bits.Download)
	assert.True(t, errors.Is(err, hresult.RPC_E_DISCONNECTED), "%v", err)
	_, err = j.GetState()
	assert.True(t, errors.Is(err, hresult.RPC_E_DISCONNECTED), "%v", err)
}
