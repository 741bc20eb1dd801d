package job

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bitsemu/bitsemu/hresult"
)

// A directory that passed the check is trusted for dirTTL of wall time, then checked again.
func TestDirCheckIsCachedBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		local := filepath.Join(dir, "f")
		code, _ := checkLocal(local, time.Now(), "")
		assert.Equal(t, hresult.ERROR_PATH_NOT_FOUND, code, "missing directories are never cached")

		assert.NoError(t, os.Mkdir(dir, 0o700))
		code, _ = checkLocal(local, time.Now(), "")
		assert.Equal(t, hresult.S_OK, code)

		assert.NoError(t, os.Remove(dir))
		code, _ = checkLocal(local, time.Now(), "")
		assert.Equal(t, hresult.S_OK, code, "within dirTTL the earlier result stands")
		code, _ = checkLocal(local, time.Now(), "owner S-1-5-21-7")
		assert.Equal(t, hresult.ERROR_PATH_NOT_FOUND, code, "a result stands only for whose rights it was checked with")

		time.Sleep(dirTTL) // virtual time inside the bubble
		code, err := checkLocal(local, time.Now(), "")
		assert.Equal(t, hresult.ERROR_PATH_NOT_FOUND, code)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestCheckLocalNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	assert.NoError(t, os.WriteFile(file, nil, 0o600))
	code, _ := checkLocal(filepath.Join(file, "x"), time.Now(), "")
	assert.Equal(t, hresult.ERROR_PATH_NOT_FOUND, code)
}

func TestParseRemoteForms(t *testing.T) {
	good := []string{"http://h/a", "HTTPS://h:8443/a/b?q=1#f", "http://u:p@h/x", "http://[::1]:80/x", "http://h", "http://h/%41", "file:///tmp/x", `\\server\share\f`, "/abs/path"}
	bad := []string{"http:///x", "http://h:8x/", "http://[::1/x", "http://h/%4", "http://h/a b", "ftp://h/x", "rel/path", "file:///tmp/*", `\\server`, "http://[::1]x/"}
	for _, s := range good {
		_, ok := parseRemote(s)
		assert.True(t, ok, s)
	}
	for _, s := range bad {
		_, ok := parseRemote(s)
		assert.False(t, ok, s)
	}
}
