package upload_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// layout makes, under a new directory, the upload directory "up" (with a directory "sub" and a
// file "file.txt") and a sibling "outside" that must stay empty.
func layout(t *testing.T) (up, outside string) {
	t.Helper()
	base := t.TempDir()
	up, outside = filepath.Join(base, "up"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(up, "sub"), 0o755))
	require.NoError(t, os.Mkdir(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(up, "file.txt"), []byte("keep"), 0o644))
	return up, outside
}

func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// assertEmptyDir checks that dir holds nothing.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "%s", dir)
}

// TestNamesThatEscapeAreRefused tries names that would leave the directory, alias another
// file, or reach the sessions: each Create-Session is refused, and nothing is created.
func TestNamesThatEscapeAreRefused(t *testing.T) {
	up, outside := layout(t)
	s := newSrvIn(t, up, upload.Options{AllowOverwrites: true})
	tests := []struct {
		path   string // as sent, escaped
		status int
		code   hresult.Code
	}{
		{"/..", 400, hresult.E_INVALIDARG},
		{"/../outside/x", 400, hresult.E_INVALIDARG},
		{"/sub/../../outside/x", 400, hresult.E_INVALIDARG},
		{"/sub/./x", 400, hresult.E_INVALIDARG},
		{"/%2e%2e/outside/x", 400, hresult.E_INVALIDARG},
		{"/sub%2f..%2f..%2foutside%2fx", 400, hresult.E_INVALIDARG},
		{"//etc/passwd", 400, hresult.E_INVALIDARG},
		{"/sub//x", 400, hresult.E_INVALIDARG},
		{"/C:/Windows/x", 400, hresult.E_INVALIDARG},
		{"/C:x", 400, hresult.E_INVALIDARG},
		{"/..%5Coutside%5Cx", 400, hresult.E_INVALIDARG},
		{"/%5C%5Cserver%5Cshare%5Cx", 400, hresult.E_INVALIDARG},
		{"/x%00.txt", 400, hresult.E_INVALIDARG},
		{"/x%0A", 400, hresult.E_INVALIDARG},
		{"/x.txt:stream", 400, hresult.E_INVALIDARG},
		{"/x%3F", 400, hresult.E_INVALIDARG},
		{"/CON", 400, hresult.E_INVALIDARG},
		{"/sub/nul.txt", 400, hresult.E_INVALIDARG},
		{"/com1", 400, hresult.E_INVALIDARG},
		{"/x.", 400, hresult.E_INVALIDARG},
		{"/x%20", 400, hresult.E_INVALIDARG},
		{"/%ff", 400, hresult.E_INVALIDARG},
		{"/", 400, hresult.E_INVALIDARG},
		{"/sub/", 400, hresult.E_INVALIDARG},
		{"/sub", 400, hresult.E_INVALIDARG}, // a directory
		{"/BITS-Sessions/x", 403, hresult.E_ACCESSDENIED},
		{"/bits-sessions/x", 403, hresult.E_ACCESSDENIED},
		{"/nodir/x", 404, hresult.ERROR_PATH_NOT_FOUND},
		{"/file.txt/x", 404, hresult.ERROR_PATH_NOT_FOUND},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := s.do(tt.path, bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
			assertFailure(t, r, tt.status, tt.code, bup.ContextRemoteFile)
			assert.Empty(t, r.Header.Get(bup.HeaderSessionID))
		})
	}
	assertEmptyDir(t, outside)
	assertEmptyDir(t, filepath.Join(up, "sub"))
	assert.Empty(t, s.h.Sessions())
	assert.Equal(t, []byte("keep"), fileContent(t, filepath.Join(up, "file.txt")))
}

// TestContentNameIsIgnored sends Content-Name values that try to rename or move the file: the
// file is stored under the URL's name only.
func TestContentNameIsIgnored(t *testing.T) {
	up, outside := layout(t)
	s := newSrvIn(t, up, upload.Options{})
	data := pattern(50, 6)
	id := s.create("/sub/safe.txt", bup.HeaderContentName, "../../outside/evil.txt")
	assertOK(t, s.do("/sub/safe.txt", bup.Fragment, data, bup.HeaderSessionID, id,
		bup.HeaderContentRange, "bytes 0-49/50", bup.HeaderContentName, "/etc/passwd"))
	assertOK(t, s.closeSession("/sub/safe.txt", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(up, "sub", "safe.txt")))
	assertEmptyDir(t, outside)
	entries, err := os.ReadDir(up)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"BITS-Sessions", "file.txt", "sub"}, names)
}

// TestURLQueryIsNotPartOfTheName stores "/q.txt?x=../../y" as q.txt.
func TestURLQueryIsNotPartOfTheName(t *testing.T) {
	up, outside := layout(t)
	s := newSrvIn(t, up, upload.Options{})
	id := s.create("/q.txt?x=../../outside/y")
	assertOK(t, s.do("/q.txt?x=../../outside/y", bup.Fragment, []byte("q"), bup.HeaderSessionID, id, bup.HeaderContentRange, "bytes 0-0/1"))
	assertOK(t, s.closeSession("/q.txt", id))
	assert.Equal(t, []byte("q"), fileContent(t, filepath.Join(up, "q.txt")))
	assertEmptyDir(t, outside)
}

// TestLinksAreNotFollowed refuses names through directory links, inside the directory or out
// of it, and replaces a file link itself rather than its target.
func TestLinksAreNotFollowed(t *testing.T) {
	up, outside := layout(t)
	symlinkOrSkip(t, outside, filepath.Join(up, "out"))
	symlinkOrSkip(t, filepath.Join(up, "sub"), filepath.Join(up, "in"))
	target := filepath.Join(t.TempDir(), "target.txt")
	require.NoError(t, os.WriteFile(target, []byte("secret"), 0o644))
	symlinkOrSkip(t, target, filepath.Join(up, "link.txt"))

	for _, overwrite := range []bool{false, true} {
		s := newSrvIn(t, up, upload.Options{AllowOverwrites: overwrite})
		for _, p := range []string{"/out/x", "/in/x", "/out/sub/x"} {
			r := s.do(p, bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
			assertFailure(t, r, http.StatusForbidden, hresult.E_ACCESSDENIED, bup.ContextRemoteFile)
		}
		if !overwrite {
			r := s.do("/link.txt", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
			assertFailure(t, r, http.StatusConflict, hresult.E_ACCESSDENIED, bup.ContextRemoteFile)
		} else {
			id := s.create("/link.txt")
			s.upload("/link.txt", id, []byte("new"), 10)
			assertOK(t, s.closeSession("/link.txt", id))
			fi, err := os.Lstat(filepath.Join(up, "link.txt"))
			require.NoError(t, err)
			assert.True(t, fi.Mode().IsRegular(), "the link itself is replaced")
			assert.Equal(t, []byte("new"), fileContent(t, filepath.Join(up, "link.txt")))
		}
		s.stop()
	}
	assertEmptyDir(t, outside)
	assertEmptyDir(t, filepath.Join(up, "sub"))
	assert.Equal(t, []byte("secret"), fileContent(t, target))
}

// TestLinkPlantedDuringTheSession swaps a directory of the name for a link to the outside
// between Create-Session and Close-Session: Close-Session refuses to publish through it.
func TestLinkPlantedDuringTheSession(t *testing.T) {
	up, outside := layout(t)
	s := newSrvIn(t, up, upload.Options{})
	id := s.create("/sub/x.txt")
	s.upload("/sub/x.txt", id, []byte("payload"), 4)
	require.NoError(t, os.Remove(filepath.Join(up, "sub")))
	symlinkOrSkip(t, outside, filepath.Join(up, "sub"))
	assertFailure(t, s.closeSession("/sub/x.txt", id), http.StatusForbidden, hresult.E_ACCESSDENIED, bup.ContextRemoteFile)
	assertEmptyDir(t, outside)
	// The session is kept: once the link is gone, the upload can be closed.
	require.NoError(t, os.Remove(filepath.Join(up, "sub")))
	require.NoError(t, os.Mkdir(filepath.Join(up, "sub"), 0o755))
	assertOK(t, s.closeSession("/sub/x.txt", id))
	assert.Equal(t, []byte("payload"), fileContent(t, filepath.Join(up, "sub", "x.txt")))
}

// TestMountedUnderAPrefix serves the handler under /bits/ with http.StripPrefix: names are
// relative to the prefix.
func TestMountedUnderAPrefix(t *testing.T) {
	dir := t.TempDir()
	h, err := upload.New(dir, upload.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	mux := http.NewServeMux()
	mux.Handle("/bits/", http.StripPrefix("/bits", h))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s := &srv{t: t, h: h, ts: ts, dir: dir}
	id := s.create("/bits/m.txt")
	s.upload("/bits/m.txt", id, []byte("mounted"), 3)
	assertOK(t, s.closeSession("/bits/m.txt", id))
	assert.Equal(t, []byte("mounted"), fileContent(t, filepath.Join(dir, "m.txt")))
}
