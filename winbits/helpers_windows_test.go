//go:build windows

package winbits_test

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/wine"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/winbits"
)

// underWine reports whether the tests run under Wine, whose ntdll has wine_get_version.
var underWine = windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil

// departs reports whether the call recorded under id in package wine departs from the
// documentation here: only under Wine, and only for recorded calls.
func departs(t *testing.T, id string) bool {
	t.Helper()
	_, ok := wine.Lookup(id)
	require.True(t, ok, "no departure %q in internal/wine", id)
	return underWine
}

// want is the HRESULT a call should give: the documented one, or under Wine the one recorded
// under id.
func want(t *testing.T, id string, documented hresult.Code) hresult.Code {
	t.Helper()
	if departs(t, id) {
		d, _ := wine.Lookup(id)
		return d.Code
	}
	return documented
}

// requireCode checks that err is the outcome of an HRESULT c: nil for a success code, an
// *hresult.Error wrapping c for a failure.
func requireCode(t *testing.T, c hresult.Code, err error, msgAndArgs ...any) {
	t.Helper()
	if c.Succeeded() {
		require.NoError(t, err, msgAndArgs...)
		return
	}
	require.ErrorIs(t, err, c, msgAndArgs...)
	var he *hresult.Error
	require.ErrorAs(t, err, &he, msgAndArgs...)
}

// newManager connects to BITS for one test.
func newManager(t *testing.T) *winbits.Manager {
	t.Helper()
	m, err := winbits.New()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

// newJob creates a download job that the test's end cancels if it is still in the queue.
func newJob(t *testing.T, m bits.Manager, name string) bits.Job {
	t.Helper()
	j, err := m.CreateJob(name, bits.Download)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = j.Cancel() })
	return j
}

// server is a loopback HTTP server inside the test process that serves fixed bodies and counts
// the requests for each path. Paths it does not know get 404.
type server struct {
	*httptest.Server
	hits map[string]*atomic.Int32
}

func newServer(t *testing.T, files map[string][]byte) *server {
	t.Helper()
	s := &server{hits: make(map[string]*atomic.Int32)}
	for p := range files {
		s.hits[p] = new(atomic.Int32)
	}
	s.hits["404"] = new(atomic.Int32)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			s.hits["404"].Add(1)
			http.NotFound(w, r)
			return
		}
		s.hits[r.URL.Path].Add(1)
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// tempDir is t.TempDir for Wine: Go 1.26's os.RemoveAll fails there on files BITS wrote
// ("Invalid function"), while os.Remove, file by file, works.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "winbits")
	require.NoError(t, err)
	t.Cleanup(func() {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			paths = append(paths, p)
			return nil
		})
		slices.Reverse(paths) // children before their directory
		for _, p := range paths {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Logf("cleanup: %v", err)
			}
		}
	})
	return dir
}

// waitState polls the job until it is in one of states. BITS is another process: there is no
// clock to step, so the wait is real, bounded by limit.
func waitState(t *testing.T, j bits.Job, limit time.Duration, states ...state.State) state.State {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s, err := j.GetState()
		require.NoError(t, err)
		if slices.Contains(states, s) {
			return s
		}
		require.True(t, time.Now().Before(deadline), "job still %v after %v, want one of %v", s, limit, states)
		time.Sleep(20 * time.Millisecond)
	}
}

// receive waits for a value from ch, bounded by limit.
func receive[T any](t *testing.T, ch <-chan T, limit time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		require.FailNow(t, "timed out", "no %s within %v", what, limit)
		panic("unreachable")
	}
}
