package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// TestModelFromStateTables runs random sequences of job methods and engine events against real
// jobs and against a model whose only knowledge of BITS is package state's tables (state.Check
// and state.Next), comparing every HRESULT and every resulting state. Where TestModel checks the
// tables against the documentation, this test checks that the jobs do exactly what the tables
// say.
func TestModelFromStateTables(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		m := manager.New(manager.WithManualTransfers(), manager.WithLimits(manager.Limits{}))
		defer m.Close()
		app, err := m.Connect(manager.Identity{SID: "S-1-5-21-3000"})
		require.NoError(rt, err)

		type tracked struct {
			j       bits.Job
			st      state.State
			done    []bool
			resumed bool
			hasErr  bool
		}
		var jobs []*tracked
		facts := func(x *tracked) state.Facts {
			f := state.Facts{Files: len(x.done), Resumed: x.resumed, HasErrorInfo: x.hasErr}
			for _, d := range x.done {
				if d {
					f.FilesDone++
				}
			}
			return f
		}
		check := func(x *tracked, what string, want hresult.Code, got hresult.Code, err error) {
			if err != nil {
				got = hresult.Of(err)
			}
			if got != want {
				rt.Fatalf("%s: got %s, the table says %s", what, got.Name(), want.Name())
			}
			st, gerr := x.j.GetState()
			require.NoError(rt, gerr)
			if st != x.st {
				rt.Fatalf("%s: job is %s, the table says %s", what, st, x.st)
			}
		}
		method := func(x *tracked, m state.Method, call func() (hresult.Code, error)) {
			out := state.Check(m, x.st, facts(x))
			code, err := call()
			if out.Code.Succeeded() {
				x.st = out.To
			}
			check(x, m.String(), out.Code, code, err)
		}
		event := func(x *tracked, ev state.Event, fire func() (state.State, error)) state.Transition {
			tr, ok := state.Next(ev, x.st, facts(x))
			_, err := fire()
			want := hresult.S_OK
			if !ok {
				want = hresult.BG_E_INVALID_STATE
			} else {
				x.st = tr.To
			}
			check(x, ev.String(), want, 0, err)
			return tr
		}
		noCode := func(err error) (hresult.Code, error) { return hresult.S_OK, err }

		rt.Repeat(map[string]func(*rapid.T){
			"create": func(rt *rapid.T) {
				if len(jobs) >= 4 {
					rt.Skip("enough jobs")
				}
				j, err := app.CreateJob("model", bits.Download)
				require.NoError(rt, err)
				jobs = append(jobs, &tracked{j: j, st: state.Suspended})
			},
			"method": func(rt *rapid.T) {
				if len(jobs) == 0 {
					rt.Skip("no job")
				}
				x := rapid.SampledFrom(jobs).Draw(rt, "job")
				switch rapid.IntRange(0, 8).Draw(rt, "method") {
				case 0:
					n := len(x.done)
					local := filepath.Join(dir, fmt.Sprintf("f%d", rapid.IntRange(0, 1<<20).Draw(rt, "name")))
					method(x, state.AddFile, func() (hresult.Code, error) { return noCode(x.j.AddFile("http://h/f", local)) })
					if len(x.done) == n && !x.st.Final() {
						x.done = append(x.done, false)
					}
				case 1:
					before := x.st
					method(x, state.Resume, func() (hresult.Code, error) { return noCode(x.j.Resume()) })
					if !before.Final() && len(x.done) > 0 {
						x.resumed = true
					}
				case 2:
					method(x, state.Suspend, func() (hresult.Code, error) { return noCode(x.j.Suspend()) })
				case 3:
					method(x, state.Cancel, x.j.Cancel)
				case 4:
					method(x, state.Complete, x.j.Complete)
				case 5:
					method(x, state.SetDescription, func() (hresult.Code, error) { return noCode(x.j.SetDescription("d")) })
				case 6:
					method(x, state.SetNotifyInterface, func() (hresult.Code, error) { return noCode(x.j.SetNotifyInterface(nil)) })
				case 7:
					method(x, state.SetFileACLFlags, func() (hresult.Code, error) { return noCode(x.j.SetFileACLFlags(bits.CopyFileDACL)) })
				case 8:
					method(x, state.GetError, func() (hresult.Code, error) { _, err := x.j.GetError(); return noCode(err) })
				}
			},
			"event": func(rt *rapid.T) {
				if len(jobs) == 0 {
					rt.Skip("no job")
				}
				x := rapid.SampledFrom(jobs).Draw(rt, "job")
				fail := job.Failure{Context: bits.ContextRemoteFile, Code: hresult.HTTP(503), File: -1, Protocol: "http"}
				switch rapid.IntRange(0, 8).Draw(rt, "event") {
				case 0:
					event(x, state.Pick, func() (state.State, error) { return engineFire(x.j, state.Pick) })
				case 1:
					if tr := event(x, state.Connect, func() (state.State, error) { return engineFire(x.j, state.Connect) }); tr.To == state.Transferring {
						x.hasErr = false
					}
				case 2:
					i := -1
					for k, d := range x.done {
						if !d {
							i = k
							break
						}
					}
					if i < 0 {
						rt.Skip("no unfinished file")
					}
					ev := state.FileDone
					if facts(x).FilesDone == len(x.done)-1 {
						ev = state.LastFileDone
					}
					if tr := event(x, ev, func() (state.State, error) { return engineFireFileDone(x.j, i) }); tr.Event != 0 {
						x.done[i] = true
					}
				case 3:
					if tr := event(x, state.TransientFailure, func() (state.State, error) { return engineFireError(x.j, state.TransientFailure, fail) }); tr.Event != 0 {
						x.hasErr = true
					}
				case 4:
					if tr := event(x, state.FatalFailure, func() (state.State, error) { return engineFireError(x.j, state.FatalFailure, fail) }); tr.Event != 0 {
						x.hasErr = true
					}
				case 5:
					event(x, state.RetryDelayElapsed, func() (state.State, error) { return engineFire(x.j, state.RetryDelayElapsed) })
				case 6:
					if tr := event(x, state.NetworkLost, func() (state.State, error) { return engineFire(x.j, state.NetworkLost) }); tr.Event != 0 {
						x.hasErr = true
					}
				case 7:
					event(x, state.NetworkRestored, func() (state.State, error) { return engineFire(x.j, state.NetworkRestored) })
				case 8:
					event(x, state.SliceEnd, func() (state.State, error) { return engineFire(x.j, state.SliceEnd) })
				}
			},
		})
	})
}
