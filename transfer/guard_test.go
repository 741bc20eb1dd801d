package transfer_test

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// endless answers every GET with 200 and no Content-Length, and writes until the client goes
// away; it counts what it wrote.
type endless struct{ written chan int64 }

func (e *endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	block := pattern(32<<10, 9)
	var n int64
	defer func() { e.written <- n }()
	for r.Context().Err() == nil {
		m, err := w.Write(block)
		n += int64(m)
		if err != nil {
			return
		}
	}
}

func capped(max uint64) transfer.Options {
	return transfer.Options{LimitSize: true, MaxSize: max}
}

func TestMaxSizeKnownSizeOverTheCapFailsBeforeWriting(t *testing.T) {
	content := pattern(5000, 60)
	o := newOrigin(content)
	srv := serve(t, o)
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	for _, tc := range []struct {
		name, remote, proto string
		opt                 transfer.Options
	}{
		{"http", urlOf(srv, "f"), "http", capped(4999)},
		{"http dynamic content", urlOf(srv, "f"), "http", transfer.Options{DynamicContent: true, LimitSize: true, MaxSize: 4999}},
		{"file", sourceFile(t, "f", content), "file", capped(4999)},
		{"nothing left", sourceFile(t, "g", content), "file", capped(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(tc.remote), tc.opt, nil)
			requireError(t, res.err, hresult.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, bits.ContextRemoteFile, false, tc.proto)
			assert.Empty(t, contents(t, res.dst), "nothing is written")
			for _, p := range res.obs.all() {
				assert.Zero(t, p.Transferred)
			}
		})
	}
	for _, s := range o.log() {
		if s.Method != http.MethodHead {
			assert.Empty(t, s.Range, "no ranged GET is sent for a file over the cap")
		}
	}
}

func TestMaxSizeUnknownSizeStopsAtTheCap(t *testing.T) {
	const max = 1 << 20
	e := &endless{written: make(chan int64, 1)}
	srv := serve(t, e)
	c := newClient(t, transfer.Config{ChunkSize: 64 << 10})
	res := fetch(t, c, wholeSpec(urlOf(srv, "stream")), transfer.Options{DynamicContent: true, LimitSize: true, MaxSize: max}, nil)
	requireError(t, res.err, hresult.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, bits.ContextRemoteFile, false, "http")
	assert.Len(t, contents(t, res.dst), max, "the output is cut at the cap")
	assert.EqualValues(t, max, res.obs.last().Transferred)
	sent := <-e.written
	assert.Greater(t, sent, int64(max), "the server did send more than the cap")
}

func TestMaxSizeAtOrUnderTheCapSucceeds(t *testing.T) {
	content := pattern(5000, 61)
	o := newOrigin(content)
	srv := serve(t, o)
	plain := newOrigin(content)
	plain.chunked = true
	psrv := serve(t, plain)
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	for _, tc := range []struct {
		name, remote string
		opt          transfer.Options
	}{
		{"http at the cap", urlOf(srv, "f"), capped(5000)},
		{"http under the cap", urlOf(srv, "f"), capped(1 << 30)},
		{"unknown size at the cap", urlOf(psrv, "f"), transfer.Options{DynamicContent: true, LimitSize: true, MaxSize: 5000}},
		{"file at the cap", sourceFile(t, "f", content), capped(5000)},
		{"ranges under the cap", urlOf(srv, "f"), capped(100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := wholeSpec(tc.remote)
			want := content
			if tc.name == "ranges under the cap" {
				spec.Ranges = []bits.FileRange{{InitialOffset: 10, Length: 50}, {InitialOffset: 4000, Length: 50}}
				want = append(append([]byte(nil), content[10:60]...), content[4000:4050]...)
			}
			res := fetch(t, c, spec, tc.opt, nil)
			require.NoError(t, res.err)
			assert.Equal(t, want, contents(t, res.dst))
		})
	}
}

func TestNoReadRefusesTheFilesOfADirectoryByAnyName(t *testing.T) {
	store := t.TempDir()
	secret := filepath.Join(store, "jobs.db")
	require.NoError(t, os.WriteFile(secret, []byte("other users' credentials"), 0o600))
	other := t.TempDir()
	names := map[string]string{"the file": secret, "a file URL": fileURL(secret)}
	hard := filepath.Join(other, "hard")
	require.NoError(t, os.Link(secret, hard))
	names["a hard link"] = hard
	if runtime.GOOS != "windows" {
		soft := filepath.Join(other, "soft")
		require.NoError(t, os.Symlink(secret, soft))
		names["a symbolic link"] = soft
	}
	c := newClient(t, transfer.Config{})
	opt := transfer.Options{NoRead: []string{store}}
	for name, remote := range names {
		t.Run(name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(remote), opt, nil)
			requireError(t, res.err, hresult.E_ACCESSDENIED, bits.ContextRemoteFile, false, "file")
			assert.Empty(t, contents(t, res.dst), "nothing is copied")
		})
	}
	t.Run("another file", func(t *testing.T) {
		p := sourceFile(t, "fine", []byte("public"))
		res := fetch(t, c, wholeSpec(p), opt, nil)
		require.NoError(t, res.err)
		assert.Equal(t, "public", string(contents(t, res.dst)))
	})
}

func TestReadRootsConfineSources(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	outside := sourceFile(t, "secret", []byte("outside"))
	require.NoError(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sub", "in.bin"), []byte("inside"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "abs-link")))
	rel, err := filepath.Rel(root, outside)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(rel, filepath.Join(root, "rel-link")))
	require.NoError(t, os.Symlink(filepath.Join("sub", "in.bin"), filepath.Join(root, "inner-link")))
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(root, "dir-link")))
	c := newClient(t, transfer.Config{})
	opt := transfer.Options{ReadRoots: []string{root}}

	for name, remote := range map[string]string{
		"outside the roots":               outside,
		"an absolute link to outside":     filepath.Join(root, "abs-link"),
		"a relative link to outside":      filepath.Join(root, "rel-link"),
		"a directory linked to outside":   filepath.Join(root, "dir-link", "secret"),
		"a file URL of a link to outside": fileURL(filepath.Join(root, "rel-link")),
		"dot-dot out of the root by name": filepath.Join(root, "sub") + string(filepath.Separator) + ".." + string(filepath.Separator) + ".." + string(filepath.Separator) + rel,
	} {
		t.Run(name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(remote), opt, nil)
			requireError(t, res.err, hresult.E_ACCESSDENIED, bits.ContextRemoteFile, false, "file")
			assert.Empty(t, contents(t, res.dst), "nothing is copied")
		})
	}
	for name, remote := range map[string]string{
		"inside":            filepath.Join(root, "sub", "in.bin"),
		"a link inside":     filepath.Join(root, "inner-link"),
		"a file URL inside": fileURL(filepath.Join(root, "sub", "in.bin")),
	} {
		t.Run(name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(remote), opt, nil)
			require.NoError(t, res.err)
			assert.Equal(t, "inside", string(contents(t, res.dst)))
		})
	}
}
