package transfer_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// sourceFile writes content to a file named name in a fresh directory and returns its path.
func sourceFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, content, 0o600))
	return p
}

// fileURL returns the file URL of an absolute path, percent-escaped.
func fileURL(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

func TestFetchFile(t *testing.T) {
	content := pattern(100_000, 50)
	p := sourceFile(t, "a file%with spaces.bin", content)
	c := newClient(t, transfer.Config{ChunkSize: 16 << 10})

	for name, remote := range map[string]string{
		"path":      p,
		"file URL":  fileURL(p),
		"localhost": "file://localhost" + (&url.URL{Path: p}).EscapedPath(),
	} {
		t.Run(name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(remote), transfer.Options{}, nil)
			require.NoError(t, res.err)
			assert.Equal(t, content, contents(t, res.dst))
			assert.Equal(t, 1, res.obs.connects())
			reports := res.obs.all()
			checkMonotonic(t, reports)
			assert.Len(t, reports, 1+7, "the size, then one report per chunk")
			assert.Equal(t, uint64(len(content)), res.obs.last().Transferred)
			assert.Equal(t, uint64(len(content)), res.obs.last().Total)
			assert.NotEmpty(t, res.obs.last().Validator)
		})
	}
}

func TestFetchFileResumeAndRanges(t *testing.T) {
	content := pattern(10_000, 51)
	p := sourceFile(t, "f", content)
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	first := fetch(t, c, wholeSpec(p), transfer.Options{}, nil)
	require.NoError(t, first.err)
	validator := first.obs.last().Validator

	t.Run("resume", func(t *testing.T) {
		kept := make([]byte, 4321)
		spec := transfer.Spec{Remote: p, Offset: 4321, Total: 10_000, Validator: validator}
		res := fetch(t, c, spec, transfer.Options{}, kept)
		require.NoError(t, res.err)
		got := contents(t, res.dst)
		assert.Equal(t, kept, got[:4321])
		assert.Equal(t, content[4321:], got[4321:])
	})

	t.Run("dynamic content restarts", func(t *testing.T) {
		spec := transfer.Spec{Remote: p, Offset: 4321, Total: 10_000, Validator: validator}
		res := fetch(t, c, spec, transfer.Options{DynamicContent: true}, make([]byte, 4321))
		require.NoError(t, res.err)
		assert.Equal(t, content, contents(t, res.dst))
		assert.Equal(t, uint64(0), res.obs.all()[0].Transferred)
	})

	t.Run("ranges", func(t *testing.T) {
		spec := wholeSpec(fileURL(p))
		spec.Ranges = []bits.FileRange{{InitialOffset: 9000, Length: 5}, {InitialOffset: 100, Length: 2000}, {InitialOffset: 9998, Length: bits.LengthToEOF}}
		res := fetch(t, c, spec, transfer.Options{}, nil)
		require.NoError(t, res.err)
		want := append(append(append([]byte(nil), content[9000:9005]...), content[100:2100]...), content[9998:]...)
		assert.Equal(t, want, contents(t, res.dst))
		assert.Equal(t, uint64(len(want)), res.obs.last().Total)
	})

	t.Run("range outside the file", func(t *testing.T) {
		spec := wholeSpec(p)
		spec.Ranges = []bits.FileRange{{InitialOffset: 9999, Length: 2}}
		res := fetch(t, c, spec, transfer.Options{}, nil)
		requireError(t, res.err, hresult.BG_E_INVALID_RANGE, bits.ContextRemoteFile, false, "file")
	})

	t.Run("changed since the last attempt", func(t *testing.T) {
		q := sourceFile(t, "g", content)
		probe := fetch(t, c, wholeSpec(q), transfer.Options{}, nil)
		require.NoError(t, probe.err)
		v2 := pattern(7000, 52)
		require.NoError(t, os.WriteFile(q, v2, 0o600))
		require.NoError(t, os.Chtimes(q, time.Time{}, epoch))
		spec := transfer.Spec{Remote: q, Offset: 5000, Total: 10_000, Validator: probe.obs.last().Validator}
		res := fetch(t, c, spec, transfer.Options{}, content[:5000])
		require.NoError(t, res.err)
		assert.Equal(t, v2, contents(t, res.dst))
		assert.Equal(t, uint64(0), res.obs.all()[0].Transferred)
	})

	t.Run("limiter", func(t *testing.T) {
		lim := rate.NewLimiter(rate.Every(time.Hour), 1<<20)
		res := fetch(t, c, wholeSpec(p), transfer.Options{Limiter: lim}, nil)
		require.NoError(t, res.err)
		assert.InDelta(t, 1<<20-len(content), lim.Tokens(), 1)
	})
}

func TestFetchFileChangedDuringCopy(t *testing.T) {
	content := pattern(5000, 53)
	p := sourceFile(t, "f", content)
	c := newClient(t, transfer.Config{ChunkSize: 1000})
	grown := pattern(6000, 54)

	t.Run("restarts once", func(t *testing.T) {
		edited := false
		obs := &recorder{onProgress: func(pr transfer.Progress) error {
			if pr.Transferred == 2000 && !edited {
				edited = true
				require.NoError(t, os.WriteFile(p, grown, 0o600))
				require.NoError(t, os.Chtimes(p, time.Time{}, epoch))
			}
			return nil
		}}
		dst := tempFile(t, nil)
		require.NoError(t, c.Fetch(t.Context(), wholeSpec(p), transfer.Options{}, dst, obs))
		assert.Equal(t, grown, contents(t, dst))
		assert.Equal(t, uint64(len(grown)), obs.last().Total)
	})

	t.Run("twice is a transient error", func(t *testing.T) {
		n := 0
		obs := &recorder{onProgress: func(pr transfer.Progress) error {
			if pr.Transferred == 1000 {
				n++
				require.NoError(t, os.Chtimes(p, time.Time{}, epoch.Add(time.Duration(n)*time.Hour)))
			}
			return nil
		}}
		err := c.Fetch(t.Context(), wholeSpec(p), transfer.Options{}, tempFile(t, nil), obs)
		requireError(t, err, hresult.BG_E_REMOTE_FILE_CHANGED, bits.ContextRemoteFile, true, "file")
	})
}

func TestFetchFileErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := sourceFile(t, "plain", []byte("x"))
	type testCase struct {
		name, remote string
		code         hresult.Code
		protocol     string
	}
	tests := []testCase{
		{name: "missing file", remote: filepath.Join(dir, "nope"), code: hresult.ERROR_FILE_NOT_FOUND, protocol: "file"},
		{name: "missing file URL", remote: fileURL(filepath.Join(dir, "no pe")), code: hresult.ERROR_FILE_NOT_FOUND, protocol: "file"},
		{name: "missing directory", remote: filepath.Join(dir, "no", "f"), code: hresult.ERROR_PATH_NOT_FOUND, protocol: "file"},
		{name: "through a file", remote: filepath.Join(notDir, "f"), code: hresult.ERROR_PATH_NOT_FOUND, protocol: "file"},
		{name: "a directory", remote: dir, code: hresult.E_ACCESSDENIED, protocol: "file"},
		{name: "UNC name", remote: `\\server\share\f.bin`, code: hresult.ERROR_PATH_NOT_FOUND, protocol: "file"},
		{name: "file URL with a server", remote: "file://server/share/f.bin", code: hresult.ERROR_PATH_NOT_FOUND, protocol: "file"},
		{name: "relative path", remote: "dir/f.bin", code: hresult.E_INVALIDARG},
		{name: "other scheme", remote: "ftp://server/f.bin", code: hresult.E_INVALIDARG},
		{name: "http without host", remote: "http:///f.bin", code: hresult.E_INVALIDARG},
		{name: "relative file URL", remote: "file:f.bin", code: hresult.E_INVALIDARG},
	}
	if os.Geteuid() != 0 {
		locked := sourceFile(t, "locked", []byte("x"))
		require.NoError(t, os.Chmod(locked, 0))
		tests = append(tests, testCase{name: "permission denied", remote: locked, code: hresult.E_ACCESSDENIED, protocol: "file"})
	}
	c := newClient(t, transfer.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := fetch(t, c, wholeSpec(tt.remote), transfer.Options{}, nil)
			requireError(t, res.err, tt.code, bits.ContextRemoteFile, false, tt.protocol)
			assert.Equal(t, 0, res.obs.connects())
		})
	}
}

func TestFetchFileLocalWriteFailure(t *testing.T) {
	p := sourceFile(t, "f", pattern(100, 55))
	c := newClient(t, transfer.Config{})
	ro, err := os.Open(tempFile(t, nil).Name())
	require.NoError(t, err)
	defer ro.Close()
	err = c.Fetch(t.Context(), wholeSpec(p), transfer.Options{}, ro, &recorder{})
	requireError(t, err, hresult.E_ACCESSDENIED, bits.ContextLocalFile, false, "file")
}
