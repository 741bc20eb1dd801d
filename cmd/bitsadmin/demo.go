package main

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service"
	"github.com/bitsemu/bitsemu/state"
)

// demoData is the file /DEMO downloads: 1 MiB of numbered text lines.
//
//go:embed testdata/demo/bitsemu-demo.txt
var demoData []byte

const (
	demoName = "bitsemu-demo.txt"
	// demoBandwidth paces the demo job (a background job, so the manager's bandwidth limit
	// applies), so that its progress can be seen.
	demoBandwidth = 1 << 20
	// demoOutage is how long, in virtual time, the server of the demo's second part answers 503.
	demoOutage = 24 * time.Hour
	// demoRetryDelay is the minimum retry delay of the second part's job.
	demoRetryDelay = 10 * time.Minute
)

// verbDemo is /DEMO. Part one: a real job downloads the embedded file from a loopback server
// (a bitstest.Server whose fault script cuts the first download), is resumed and completed, and
// the result is checked against the source by SHA-256. Part two: a second manager on a virtual
// clock (a bitstest.Harness) retries a job through a day of errors from the same server in a
// fraction of a second. Part three shows two notification rules on that clock. The demo's directory is removed at the end
// unless /KEEP asks to keep the downloaded file.
func verbDemo(c *cli, _ *session, a *args) (err error) {
	keep := a.flag("keep")
	out := c.stdout
	if c.json {
		out = io.Discard
	}
	dir, err := os.MkdirTemp("", "bitsemu-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || !keep {
			_ = os.RemoveAll(dir)
		}
	}()

	// One loopback server for the whole demo: its fault script cuts the first download at 40 %.
	cutAt := (int64(len(demoData))*2 + 4) / 5 // 40%, rounded up
	srv := bitstest.NewServer(map[string][]byte{demoName: demoData}, bitstest.DropAfter(cutAt).Times(1))
	defer srv.Close()
	got, err := demoDownload(c, out, dir, srv, cutAt)
	if err != nil {
		return err
	}
	day, err := demoVirtualDay(c, out, filepath.Join(dir, "virtual"), srv)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(struct {
			ID         string   `json:"id"`
			Local      string   `json:"local"`
			Kept       bool     `json:"kept"`
			Size       int      `json:"size"`
			SHA256     string   `json:"sha256"`
			Verified   bool     `json:"verified"`
			State      string   `json:"state"`
			Requests   []string `json:"requests"`
			VirtualDay dayDoc   `json:"virtualDay"`
		}{got.id, got.local, keep, got.size, got.sha256, true, got.state.String(), got.requests, day.json()})
	}
	fmt.Fprintln(out)
	if keep {
		fmt.Fprintf(out, "The file stays in %s; remove that directory when done.\n", dir)
	} else {
		fmt.Fprintf(out, "The demo removed its directory %s; bitsadmin /demo /keep keeps the file.\n", dir)
	}
	fmt.Fprintln(out, "Next: bitsadmin /help lists every verb; bitsadmin /transfer name URL /absolute/path downloads a file of yours.")
	return nil
}

// demoResult is what the demo's first part did.
type demoResult struct {
	id, local, sha256 string
	size              int
	state             state.State
	requests          []string
}

// demoDownload is the demo's first part: a job on a real clock, with a job store in dir, downloads
// demoData into dir from srv, which cuts the first GET after cutAt bytes.
func demoDownload(c *cli, out io.Writer, dir string, srv *bitstest.Server, cutAt int64) (*demoResult, error) {
	sum := sha256.Sum256(demoData)
	local := filepath.Join(dir, demoName)
	url := srv.URLFor(demoName)

	fmt.Fprintln(out, "bitsemu demo: one BITS download job, start to finish.")
	fmt.Fprintf(out, "Serving %s (%d bytes) at %s;\nthe server will cut the first download at %d bytes.\n\n",
		demoName, len(demoData), url, cutAt)

	storeDir := filepath.Join(dir, "store")
	m, err := manager.Open(storeDir, manager.WithBandwidth(demoBandwidth))
	if err != nil {
		return nil, failed("open a job store in "+storeDir, err)
	}
	defer func() {
		_ = m.Close()
		_ = os.RemoveAll(storeDir)
	}()
	client, err := m.Connect(demoIdentity())
	if err != nil {
		return nil, failed("connect to the service", err)
	}
	defer client.Close()

	j, err := client.CreateJob("bitsemu demo", bits.Download)
	if err != nil {
		return nil, failed("create the job", err)
	}
	fmt.Fprintf(out, "CreateJob:  %s 'bitsemu demo' (DOWNLOAD, NORMAL priority, SUSPENDED)\n", guid(j))
	if err := j.AddFile(url, local); err != nil {
		return nil, failed("add the file", err)
	}
	fmt.Fprintf(out, "AddFile:    %s -> %s\n", url, local)
	if err := j.Resume(); err != nil {
		return nil, failed("resume the job", err)
	}
	fmt.Fprintln(out, "Resume:     the job is QUEUED; the scheduler picks it at once")

	pv := c.progress(out)
	st, err := watchUntil(c.ctx, j, pv, nil, func(st state.State) bool { return st == state.TransientError || !active(st) })
	if err == nil && st == state.TransientError {
		pv.end()
		e, _ := readError(j)
		p, _ := j.GetProgress()
		if e != nil {
			fmt.Fprintf(out, "The connection was cut after %d bytes: %s (context %s).\n", p.BytesTransferred, e.code.Error(), e.context)
		}
		delay, _ := j.GetMinimumRetryDelay()
		fmt.Fprintf(out, "BITS would retry after the minimum retry delay (%d s); Resume retries now, as /RESUME does.\n", delay)
		if err := j.Resume(); err != nil {
			return nil, failed("resume the job", err)
		}
		fmt.Fprintf(out, "Resume:     the job continues from byte %d with a ranged GET\n", p.BytesTransferred)
		st, err = watch(c.ctx, j, pv)
	}
	pv.end()
	if err != nil {
		_, _ = j.Cancel()
		return nil, fmt.Errorf("demo interrupted (%v); job cancelled", err)
	}
	if st != state.Transferred {
		if e, _ := readError(j); e != nil {
			e.write(c.stderr)
		}
		_, _ = j.Cancel()
		return nil, fmt.Errorf("the demo job ended %s instead of TRANSFERRED; job cancelled", st)
	}
	code, err := j.Complete()
	if err != nil {
		return nil, failed("complete the job", err)
	}
	final, _ := j.GetState()
	fmt.Fprintf(out, "Complete:   %s; the temporary file was renamed to %s\n\n", code.Name(), demoName)

	if srv.Stats().Faults == 0 {
		return nil, errors.New("the server's cut did not happen: the demo would show no resume")
	}
	var requests []string
	for _, r := range srv.Requests() {
		entry := r.Method + " " + r.Path
		if r.Range != "" {
			entry += " Range: " + r.Range
		}
		if len(r.Faults) > 0 {
			entry += fmt.Sprintf(" (the server cuts it after %d bytes)", r.Sent)
		}
		requests = append(requests, entry)
	}
	fmt.Fprintln(out, "The server saw:")
	for _, r := range requests {
		fmt.Fprintf(out, "  %s\n", r)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return nil, err
	}
	gotSum := sha256.Sum256(data)
	if gotSum != sum {
		return nil, errors.New("the downloaded file differs from the source: sha256 " + hex.EncodeToString(gotSum[:]) +
			", want " + hex.EncodeToString(sum[:]))
	}
	fmt.Fprintf(out, "\nResult:\n")
	fmt.Fprintf(out, "  local:  %s\n", local)
	fmt.Fprintf(out, "  size:   %d bytes\n", len(data))
	fmt.Fprintf(out, "  sha256: %s (matches the source)\n", hex.EncodeToString(gotSum[:]))
	fmt.Fprintf(out, "  state:  %s\n", final)
	return &demoResult{id: guid(j), local: local, sha256: hex.EncodeToString(gotSum[:]), size: len(data),
		state: final, requests: requests}, nil
}

// dayResult is what the demo's second and third parts did.
type dayResult struct {
	virtual      time.Duration // virtual time from Resume to TRANSFERRED
	real         time.Duration // real time it took
	errors       uint32        // transient errors on the way
	requests     int           // requests the server answered
	lateAt       time.Duration // virtual time at which the callback set after TRANSFERRED ran
	lateCode     hresult.Code  // what Complete gave inside it
	first, later int           // calls of the replaced and of the replacing callback
}

// dayDoc is the demo's second and third parts in JSON.
type dayDoc struct {
	VirtualElapsed         string `json:"virtualElapsed"`
	RealMs                 int64  `json:"realMs"`
	TransientErrors        uint32 `json:"transientErrors"`
	Requests               int    `json:"requests"`
	LateCallbackAt         string `json:"lateCallbackAt"`
	LateCallbackComplete   string `json:"lateCallbackComplete"`
	ReplacedCallbackCalls  int    `json:"replacedCallbackCalls"`
	ReplacingCallbackCalls int    `json:"replacingCallbackCalls"`
}

func (d *dayResult) json() dayDoc {
	return dayDoc{d.virtual.String(), d.real.Milliseconds(), d.errors, d.requests,
		d.lateAt.String(), d.lateCode.Name(), d.first, d.later}
}

// demoVirtualDay is the demo's second and third parts, on a bitstest.Harness: a manager on a
// virtual clock, with its files in dir (removed at the end), downloading from srv, which
// answers 503 until the outage ends on that clock.
func demoVirtualDay(c *cli, out io.Writer, dir string, srv *bitstest.Server) (*dayResult, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv.ClearFaults()
	srv.AddFaults(bitstest.Status(503, 0))
	before := srv.Stats().Requests
	h := bitstest.NewHarness(nil)
	defer h.Close()
	// The server recovers after the outage: a timer on the harness's virtual clock.
	h.Clock.AfterFunc(demoOutage, srv.ClearFaults)
	since := func() time.Duration { return h.Clock.Now().Sub(bitstest.Epoch) }
	app := h.ConnectAs(demoIdentity())
	defer app.Close()

	fmt.Fprintf(out, "\nPart 2: a day of retries in virtual time.\n")
	fmt.Fprintf(out, "A second manager runs on a virtual clock (a bitstest.Harness). Its server answers 503 for\n"+
		"the first %d hours; the job's minimum retry delay is %d minutes.\n", int(demoOutage.Hours()), int(demoRetryDelay.Minutes()))
	j, err := app.CreateJob("a day of retries", bits.Download)
	if err != nil {
		return nil, failed("create the job", err)
	}
	if err := j.AddFile(srv.URLFor(demoName), filepath.Join(dir, demoName)); err != nil {
		return nil, failed("add the file", err)
	}
	if err := j.SetMinimumRetryDelay(uint32(demoRetryDelay / time.Second)); err != nil {
		return nil, failed("set the minimum retry delay", err)
	}
	began := time.Now()
	if err := j.Resume(); err != nil {
		return nil, failed("resume the job", err)
	}
	h.Settle()
	st, _ := j.GetState()
	what := ""
	if e, _ := readError(j); e != nil {
		what = ": " + e.code.Name()
	}
	fmt.Fprintf(out, "  +%-9s %s after the first attempt%s\n", since(), st, what)
	st, _ = h.WaitState(j, 2*demoOutage, state.Transferred, state.Error)
	d := &dayResult{real: time.Since(began), virtual: since(), requests: srv.Stats().Requests - before}
	d.errors, _ = j.GetErrorCount()
	if st != state.Transferred {
		_, _ = j.Cancel()
		return nil, fmt.Errorf("the retried job ended %s instead of TRANSFERRED; job cancelled", st)
	}
	fmt.Fprintf(out, "  +%-9s %s after %d transient errors (%d requests to the server)\n", d.virtual, st, d.errors, d.requests)
	fmt.Fprintf(out, "Virtual time elapsed: %s; real time taken: %d ms.\n", d.virtual, d.real.Milliseconds())

	fmt.Fprintf(out, "\nPart 3: notification rules, on the same clock.\n")
	var mu sync.Mutex
	var done error
	late := &bitstest.Callback{Transferred: func(j bits.Job) error {
		at := since()
		code, err := j.Complete()
		mu.Lock()
		defer mu.Unlock()
		d.lateAt, d.lateCode, done = at, code, err
		return err
	}}
	if err := j.SetNotifyInterface(late); err != nil {
		return nil, failed("set the callback", err)
	}
	h.Settle()
	mu.Lock()
	lateAt, lateCode, lateErr := d.lateAt, d.lateCode, done
	mu.Unlock()
	if lateErr != nil || lateCode != hresult.S_OK {
		return nil, failed("complete the job in its callback", lateErr)
	}
	data, err := os.ReadFile(filepath.Join(dir, demoName))
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(data) != sha256.Sum256(demoData) {
		return nil, errors.New("the retried download differs from the source")
	}
	fmt.Fprintf(out, "A callback set after the job became TRANSFERRED is called at once: JobTransferred ran at\n"+
		"+%s, and Complete inside it gave %s (the file arrived whole).\n", lateAt, lateCode.Name())

	j2, err := app.CreateJob("last registration wins", bits.Download)
	if err != nil {
		return nil, failed("create the job", err)
	}
	if err := j2.AddFile(srv.URLFor(demoName), filepath.Join(dir, "second-"+demoName)); err != nil {
		return nil, failed("add the file", err)
	}
	count := func(n *int, complete bool) *bitstest.Callback {
		return &bitstest.Callback{Transferred: func(j bits.Job) error {
			mu.Lock()
			*n++
			mu.Unlock()
			if complete {
				_, err := j.Complete()
				return err
			}
			return nil
		}}
	}
	var first, second int
	for _, cb := range []*bitstest.Callback{count(&first, false), count(&second, true)} {
		if err := j2.SetNotifyInterface(cb); err != nil {
			return nil, failed("set the callback", err)
		}
	}
	if err := j2.Resume(); err != nil {
		return nil, failed("resume the job", err)
	}
	st, _ = h.WaitState(j2, time.Hour, state.Acknowledged, state.Error)
	mu.Lock()
	d.first, d.later = first, second
	mu.Unlock()
	if st != state.Acknowledged {
		_, _ = j2.Cancel()
		return nil, fmt.Errorf("the second job ended %s instead of ACKNOWLEDGED; job cancelled", st)
	}
	fmt.Fprintf(out, "Two SetNotifyInterface calls on a new job: the last registration wins. JobTransferred\n"+
		"calls: first callback %d, second callback %d.\n", d.first, d.later)
	return d, nil
}

// demoIdentity is who the demo's jobs belong to: the user, as the service would name them (see
// package service), in managers of the demo's own.
func demoIdentity() manager.Identity {
	return manager.Identity{SID: fmt.Sprintf("S-1-5-21-0-0-0-%d", service.UserRIDBase+os.Getuid())}
}
