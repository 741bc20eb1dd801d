package service_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

func TestSmoke(t *testing.T) {
	s := serve(t)
	c := s.connect(t)
	srv := bitstest.NewServer(map[string][]byte{"a": []byte("hello")})
	defer srv.Close()
	j, err := c.CreateJob("smoke", bits.Download)
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), "a")
	require.NoError(t, j.AddFile(srv.URLFor("a"), dst))
	require.NoError(t, j.Resume())
	for {
		st, err := j.GetState()
		require.NoError(t, err)
		if st == state.Transferred {
			break
		}
	}
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
}
