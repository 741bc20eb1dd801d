package bitstest_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// calls counts calls by name, safely.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[name]++
}

func (c *calls) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// Each field is called for its notification only, and a callback with only some fields set
// gets only those: the others are acknowledged silently.
func TestCallbackGetsOnlyWhatItImplements(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{"a.bin": []byte("aaaa"), "b.bin": []byte("bbbbbb")})
	t.Cleanup(srv.Close)
	h := bitstest.NewHarness(t)
	app := h.Connect(userSID)
	allFlags := bits.NotifyJobTransferred | bits.NotifyJobError | bits.NotifyJobModification | bits.NotifyFileTransferred

	for _, tc := range []struct {
		name string
		set  func(c *calls) *bitstest.Callback
		want func(got map[string]int)
	}{
		{"transferred only", func(c *calls) *bitstest.Callback {
			return &bitstest.Callback{Transferred: func(bits.Job) error { c.add("transferred"); return nil }}
		}, func(got map[string]int) {
			assert.Equal(t, map[string]int{"transferred": 1}, got)
		}},
		{"files and modifications", func(c *calls) *bitstest.Callback {
			return &bitstest.Callback{
				FileDone: func(_ bits.Job, f bits.File) error {
					name, err := f.GetRemoteName()
					assert.NoError(t, err)
					c.add("file " + filepath.Base(name))
					return nil
				},
				Modified: func(bits.Job) error { c.add("modified"); return nil },
			}
		}, func(got map[string]int) {
			assert.Equal(t, 1, got["file a.bin"])
			assert.Equal(t, 1, got["file b.bin"])
			assert.Positive(t, got["modified"])
			assert.Zero(t, got["transferred"])
			assert.Len(t, got, 3)
		}},
		{"none", func(*calls) *bitstest.Callback { return &bitstest.Callback{} }, func(got map[string]int) {
			assert.Empty(t, got)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c calls
			j, err := app.CreateJob(tc.name, bits.Download)
			require.NoError(t, err)
			dir := t.TempDir()
			for _, name := range []string{"a.bin", "b.bin"} {
				require.NoError(t, j.AddFile(srv.URLFor(name), filepath.Join(dir, name)))
			}
			require.NoError(t, j.SetNotifyFlags(allFlags))
			require.NoError(t, j.SetNotifyInterface(tc.set(&c)))
			require.NoError(t, j.Resume())
			st, err := h.WaitState(j, time.Hour, state.Transferred, state.Error)
			require.NoError(t, err)
			require.Equal(t, state.Transferred, st)
			h.Step(time.Hour)
			tc.want(c.get())
		})
	}
}

// JobError gets the job's error; an error returned by a field is a failed notification that is
// delivered again after the retry delay, while a nil field acknowledges it, so that the notify
// command line does not run in its place.
func TestCallbackErrorAndRetry(t *testing.T) {
	srv := bitstest.NewServer(map[string][]byte{})
	t.Cleanup(srv.Close)
	rec := bitstest.NewLaunchRecorder(nil)
	h := bitstest.NewHarness(t, manager.WithLauncher(rec))
	app := h.Connect(userSID)

	var c calls
	var codes []hresult.Code
	var mu sync.Mutex
	failing := download(t, app, srv, "missing.bin")
	require.NoError(t, failing.SetMinimumRetryDelay(60))
	require.NoError(t, failing.SetNotifyInterface(&bitstest.Callback{Error: func(_ bits.Job, e bits.Error) error {
		_, code, _ := e.GetError()
		mu.Lock()
		codes = append(codes, code)
		n := len(codes)
		mu.Unlock()
		c.add("error")
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	}}))
	require.NoError(t, failing.Resume())
	h.Settle()
	assert.Equal(t, map[string]int{"error": 1}, c.get())
	h.Step(2 * time.Minute)
	assert.Equal(t, map[string]int{"error": 3}, c.get(), "called again every 60 s until it returns nil")
	h.Step(time.Hour)
	assert.Equal(t, map[string]int{"error": 3}, c.get())
	mu.Lock()
	assert.Equal(t, []hresult.Code{hresult.HTTP(404), hresult.HTTP(404), hresult.HTTP(404)}, codes)
	mu.Unlock()

	// Without an Error field the error is acknowledged: the command line does not run; with
	// one that fails, it does.
	silent := download(t, app, srv, "missing.bin")
	require.NoError(t, silent.SetNotifyCmdLine("/bin/notify", "silent"))
	require.NoError(t, silent.SetNotifyInterface(&bitstest.Callback{Transferred: func(bits.Job) error { return nil }}))
	require.NoError(t, silent.Resume())
	loud := download(t, app, srv, "missing.bin")
	require.NoError(t, loud.SetNotifyCmdLine("/bin/notify", "loud"))
	require.NoError(t, loud.SetNotifyInterface(&bitstest.Callback{Error: func(bits.Job, bits.Error) error { return hresult.E_FAIL }}))
	require.NoError(t, loud.Resume())
	h.Step(time.Hour)
	assert.Empty(t, rec.For(engine.Of(silent).ID()))
	got := rec.For(engine.Of(loud).ID())
	require.Len(t, got, 1)
	assert.Equal(t, state.Error, got[0].State)
}

// The zero Callback answers every method with nil; a set field gets the method's arguments
// and returns its result.
func TestCallbackMethods(t *testing.T) {
	var zero bitstest.Callback
	assert.NoError(t, zero.JobTransferred(nil))
	assert.NoError(t, zero.JobError(nil, nil))
	assert.NoError(t, zero.JobModification(nil))
	assert.NoError(t, zero.FileTransferred(nil, nil))
	assert.NoError(t, zero.FileRangesTransferred(nil, nil, nil))

	h := bitstest.NewHarness(t, manager.WithManualTransfers())
	j, err := h.Connect(userSID).CreateJob("methods", bits.Download)
	require.NoError(t, err)
	require.NoError(t, j.AddFile("http://h/f", filepath.Join(t.TempDir(), "f")))
	files, err := j.EnumFiles()
	require.NoError(t, err)
	fs, _, _ := files.Next(1)
	require.Len(t, fs, 1)
	f := fs[0]
	boom := errors.New("boom")
	ranges := []bits.FileRange{{InitialOffset: 0, Length: 10}}
	var got []string
	cb := &bitstest.Callback{
		Transferred: func(x bits.Job) error { assert.Same(t, j, x); got = append(got, "t"); return boom },
		Error:       func(x bits.Job, _ bits.Error) error { assert.Same(t, j, x); got = append(got, "e"); return boom },
		Modified:    func(x bits.Job) error { assert.Same(t, j, x); got = append(got, "m"); return boom },
		FileDone:    func(x bits.Job, y bits.File) error { assert.Same(t, f, y); got = append(got, "f"); return boom },
		RangesDone: func(x bits.Job, y bits.File, r []bits.FileRange) error {
			assert.Same(t, f, y)
			assert.Equal(t, ranges, r)
			got = append(got, "r")
			return boom
		},
	}
	assert.ErrorIs(t, cb.JobTransferred(j), boom)
	assert.ErrorIs(t, cb.JobError(j, nil), boom)
	assert.ErrorIs(t, cb.JobModification(j), boom)
	assert.ErrorIs(t, cb.FileTransferred(j, f), boom)
	assert.ErrorIs(t, cb.FileRangesTransferred(j, f, ranges), boom)
	assert.Equal(t, []string{"t", "e", "m", "f", "r"}, got)
}
