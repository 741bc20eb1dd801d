// Package scenario holds differential scenarios: BITS client code written once against the bits
// interfaces and run on two backends, bitsemu (manager.Client) and a system's BITS reached
// through COM (winbits, for example Wine's qmgr under wine). Each scenario records what it
// observes (HRESULT names, states, property values, the order of callbacks, the SHA-256 of
// delivered files) as backend-independent strings, and states beside each observation the result
// Microsoft's documentation gives. Run executes the scenarios and returns a Report; on bitsemu
// the observations are checked against the documented results, and Compare sets a Report from
// one backend against one from the other, accepting only the differences listed in Departures.
package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Scenario is one differential scenario.
type Scenario struct {
	// Name is "group/what", unique among all scenarios.
	Name string
	// Docs names the Microsoft pages the expectations come from (the page's title or file
	// name), and "decision: ..." for a bitsemu semantics decision where the pages are silent.
	Docs []string
	// Run drives the backend through env and records what it observes.
	Run func(env *Env)
}

// Observation is one fact a scenario saw: Got, and Want, the result the scenario's documents
// give. Keys are unique within a scenario; a key recorded twice gets "#2", "#3", ... appended.
type Observation struct {
	Key  string `json:"key"`
	Got  string `json:"got"`
	Want string `json:"want"`
}

// Result is what one scenario observed on one backend.
type Result struct {
	Name         string        `json:"name"`
	Docs         []string      `json:"docs"`
	Observations []Observation `json:"observations"`
	// Millis is the scenario's real running time.
	Millis int64 `json:"ms"`
}

// Report is a run of scenarios on one backend.
type Report struct {
	Backend   string   `json:"backend"`
	Scenarios []Result `json:"scenarios"`
	// Millis is the whole run's real running time.
	Millis int64 `json:"ms"`
}

// Config describes the backend a run drives.
type Config struct {
	// Backend names the backend in the report ("bitsemu", "wine", "windows").
	Backend string
	// Dir is the directory under which each scenario gets a directory of its own, written as the
	// backend expects local names (under wine, a Linux directory seen through drive Z:). The
	// process running the scenarios uses the same names, so the form must work for both.
	Dir string
	// Admin says whether the manager's caller is an (elevated) administrator, which decides the
	// documented result of TakeOwnership.
	Admin bool
	// Wait bounds each wait for a state or a callback in real time; 0 means 5 s.
	Wait time.Duration
	// Only, when not empty, runs only the scenarios whose names it contains.
	Only []string
}

// Run executes the scenarios on m, one after another, each with a directory of its own under
// cfg.Dir and a loopback HTTP server shared by all, and reports what each observed. Every job a
// scenario created is cancelled when it ends, so that one scenario's jobs do not hold up the
// next's (backends may transfer one job at a time).
func Run(m bits.Manager, scenarios []Scenario, cfg Config) (*Report, error) {
	if cfg.Wait == 0 {
		cfg.Wait = 5 * time.Second
	}
	srv, err := newServer()
	if err != nil {
		return nil, err
	}
	defer srv.close()
	start := time.Now()
	rep := &Report{Backend: cfg.Backend}
	for i, sc := range scenarios {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, sc.Name) {
			continue
		}
		dir, err := os.MkdirTemp(cfg.Dir, fmt.Sprintf("s%03d-", i))
		if err != nil {
			return nil, err
		}
		env := &Env{M: m, cfg: cfg, dir: dir, srv: srv, prefix: fmt.Sprintf("/s%03d", i),
			marker: fmt.Sprintf("bitsemu-scenario-%d-%d", start.UnixNano(), i)}
		t0 := time.Now()
		env.run(sc.Run)
		env.cleanup()
		rep.Scenarios = append(rep.Scenarios, Result{Name: sc.Name, Docs: sc.Docs,
			Observations: env.obs, Millis: time.Since(t0).Milliseconds()})
		_ = os.RemoveAll(dir)
	}
	rep.Millis = time.Since(start).Milliseconds()
	return rep, nil
}

// Env is what a scenario works with: the manager, a loopback HTTP server, a directory, and
// the record of observations.
type Env struct {
	// M is the backend's manager.
	M bits.Manager

	cfg    Config
	dir    string
	srv    *server
	prefix string // the scenario's path prefix on the server
	marker string // a display name unique to this scenario in this run

	mu   sync.Mutex
	obs  []Observation
	seen map[string]int
	jobs []bits.Job
	stop []func()
}

// abort stops a scenario whose precondition failed.
type abort struct{}

func (e *Env) run(fn func(*Env)) {
	defer func() {
		switch r := recover().(type) {
		case nil, abort:
		default:
			e.record("panic", fmt.Sprintf("%v\n%s", r, debug.Stack()), "no panic")
		}
	}()
	fn(e)
}

func (e *Env) cleanup() {
	for _, f := range e.stop {
		f()
	}
	for _, j := range e.jobs {
		_, _ = j.Cancel()
	}
}

// Admin reports whether the caller is an administrator.
func (e *Env) Admin() bool { return e.cfg.Admin }

// Path returns the name of file name in the scenario's directory, in the form the backend and
// this process both use.
func (e *Env) Path(name string) string { return filepath.Join(e.dir, name) }

// Dir returns the scenario's directory.
func (e *Env) Dir() string { return e.dir }

// Marker returns a display name unique to the scenario within the run, to pick the scenario's
// own jobs out of an enumeration that may list others.
func (e *Env) Marker() string { return e.marker }

// record appends an observation.
func (e *Env) record(key, got, want string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen == nil {
		e.seen = map[string]int{}
	}
	e.seen[key]++
	if n := e.seen[key]; n > 1 {
		key = fmt.Sprintf("%s#%d", key, n)
	}
	e.obs = append(e.obs, Observation{Key: key, Got: got, Want: want})
}

// HR records the HRESULT of a call's error (S_OK for nil) against the documented one and
// reports whether the call succeeded.
func (e *Env) HR(key string, err error, want hresult.Code) bool {
	e.record(key, hresult.Of(err).Name(), want.Name())
	return err == nil
}

// Code records the HRESULT of a call that returns a success code beside its error: the error's
// code when it failed, the success code otherwise.
func (e *Env) Code(key string, c hresult.Code, err error, want hresult.Code) bool {
	if err != nil {
		c = hresult.Of(err)
	}
	e.record(key, c.Name(), want.Name())
	return err == nil
}

// Must records the HRESULT of a call that must succeed for the scenario to go on, and ends the
// scenario when it failed.
func (e *Env) Must(key string, err error) {
	if !e.HR(key, err, hresult.S_OK) {
		panic(abort{})
	}
}

// Eq records a value against the documented one; both are formatted with %v.
func (e *Env) Eq(key string, got, want any) bool {
	g, w := fmt.Sprint(got), fmt.Sprint(want)
	e.record(key, g, w)
	return g == w
}

// Hex records a number in hexadecimal against the documented one.
func (e *Env) Hex(key string, got, want uint64) bool {
	return e.Eq(key, fmt.Sprintf("%#x", got), fmt.Sprintf("%#x", want))
}

// True records a fact that the documents say holds.
func (e *Env) True(key string, got bool) bool { return e.Eq(key, got, true) }

// Size formats a byte count, naming BG_SIZE_UNKNOWN.
func Size(n uint64) string {
	if n == bits.SizeUnknown {
		return "BG_SIZE_UNKNOWN"
	}
	return fmt.Sprint(n)
}

// CreateJob creates a job that the scenario needs, ending the scenario when that fails; the
// job is cancelled when the scenario ends.
func (e *Env) CreateJob(name string, t bits.JobType) bits.Job {
	j, err := e.M.CreateJob(name, t)
	e.Must("CreateJob", err)
	e.Track(j)
	return j
}

// Track makes the job one the scenario cancels when it ends.
func (e *Env) Track(j bits.Job) { e.jobs = append(e.jobs, j) }

// Serve makes data available on the loopback server and returns its URL.
func (e *Env) Serve(name string, data []byte) string {
	p := e.prefix + "/f/" + name
	e.srv.put(p, data)
	return e.srv.base + p
}

// URL returns the server's URL for path, which is one of the server's special paths:
// "/status/404/x" answers 404, "/redirect/x?to=/path" redirects to /path.
func (e *Env) URL(path string) string { return e.srv.base + path }

// Base returns the loopback server's base URL ("http://127.0.0.1:port").
func (e *Env) Base() string { return e.srv.base }

// Stall makes data available on the loopback server at a URL whose GET sends the first half of
// the body (of the rest, for a ranged GET) and then waits until the client goes away or the
// scenario ends. After open, new requests get the whole answer; requests already waiting go on
// waiting. HEAD answers at once, with the size.
func (e *Env) Stall(name string, data []byte) (url string, open func()) {
	p := e.prefix + "/stall/" + name
	open, release := e.srv.putStall(p, data)
	e.stop = append(e.stop, release)
	return e.srv.base + p, open
}

// Cut makes data available on the loopback server at a URL whose every GET announces the
// whole length but sends only the first half of the body before closing the connection.
func (e *Env) Cut(name string, data []byte) string {
	p := e.prefix + "/cut/" + name
	e.srv.put(p, data)
	return e.srv.base + p
}

// Refused returns a URL on a loopback port where nothing listens.
func (e *Env) Refused() string { return e.srv.refused + "/x" }

// Requests returns the requests the server received for the scenario's paths.
func (e *Env) Requests() []Request { return e.srv.requests(e.prefix) }

// WaitState polls the job's state until it is one of states, or the run's wait bound passes,
// and returns the last state read (and the error of the last GetState).
func (e *Env) WaitState(j bits.Job, states ...state.State) (state.State, error) {
	deadline := time.Now().Add(e.cfg.Wait)
	for {
		st, err := j.GetState()
		if err != nil || slices.Contains(states, st) || time.Now().After(deadline) {
			return st, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Await records the state the job reaches against want, waiting for it (or for any of the other
// states given, which also end the wait) no longer than the run's wait bound. It reports whether
// the job reached want.
func (e *Env) Await(key string, j bits.Job, want state.State, orStates ...state.State) bool {
	st, err := e.WaitState(j, append([]state.State{want}, orStates...)...)
	if err != nil {
		return e.HR(key+": GetState", err, hresult.S_OK)
	}
	return e.Eq(key, st, want)
}

// WaitFor polls cond until it holds or the run's wait bound passes, and reports whether it held.
func (e *Env) WaitFor(cond func() bool) bool { return e.WaitForUpTo(e.cfg.Wait, cond) }

// WaitForUpTo is WaitFor with a bound of its own, for the few documented delays longer than the
// run's wait bound (a notification retried after the 5-second minimum retry delay).
func (e *Env) WaitForUpTo(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Hold waits for d: for the few negative facts ("no callback came") that only a bounded wait can
// show. Keep d short.
func (e *Env) Hold(d time.Duration) { time.Sleep(d) }

// Digest returns the SHA-256 of data in hexadecimal.
func Digest(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// FileDigest returns the SHA-256 of the file's contents, or a description of why it cannot be
// read ("absent" when it does not exist).
func FileDigest(path string) string {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		return "unreadable"
	}
	return Digest(b)
}

// Entries returns the names in the scenario's directory, sorted, or a description of the error.
func (e *Env) Entries() string {
	des, err := os.ReadDir(e.dir)
	if err != nil {
		return "unreadable"
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	if len(names) == 0 {
		return "(empty)"
	}
	return strings.Join(names, ",")
}

// All returns every scenario, in the order they run.
func All() []Scenario {
	return slices.Concat(createScenarios(), fileScenarios(), stateScenarios(), defaultsScenarios(),
		setterScenarios(), propertyScenarios(), enumScenarios(), errorScenarios(), notifyScenarios(),
		transferScenarios(), uploadScenarios())
}
