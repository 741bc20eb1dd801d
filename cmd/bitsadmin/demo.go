package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
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
)

// demoServer serves demoData as BITS needs it (HEAD, ranges, validators, through
// http.ServeContent) and cuts the first GET after cutAt bytes, to show a job resuming.
type demoServer struct {
	data    []byte
	etag    string
	modtime time.Time
	cutAt   int64
	cut     atomic.Bool

	mu  sync.Mutex
	log []string
}

func (d *demoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/"+demoName {
		http.NotFound(w, r)
		return
	}
	entry := r.Method + " /" + demoName
	if rg := r.Header.Get("Range"); rg != "" {
		entry += " Range: " + rg
	}
	cut := r.Method == http.MethodGet && d.cutAt > 0 && !d.cut.Swap(true)
	if cut {
		entry += fmt.Sprintf(" (the server cuts it after %d bytes)", d.cutAt)
		w = &cutWriter{ResponseWriter: w, left: d.cutAt}
	}
	d.mu.Lock()
	d.log = append(d.log, entry)
	d.mu.Unlock()
	w.Header().Set("ETag", d.etag)
	http.ServeContent(w, r, demoName, d.modtime, bytes.NewReader(d.data))
}

func (d *demoServer) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.log...)
}

// cutWriter passes left bytes of a response body, flushes them and drops the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ResponseWriter.Write(p)
	c.left -= int64(n)
	if c.left <= 0 || err != nil {
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body, without a log line
	}
	return n, nil
}

// verbDemo is /DEMO: a real job downloads the embedded file from a loopback server, survives a
// cut connection, is completed, and the result is checked against the source by SHA-256.
func verbDemo(c *cli, _ *session, _ *args) (err error) {
	out := c.stdout
	if c.json {
		out = io.Discard
	}
	sum := sha256.Sum256(demoData)
	dir, err := os.MkdirTemp("", "bitsemu-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	local := filepath.Join(dir, demoName)

	srv := &demoServer{
		data:    demoData,
		etag:    `"` + hex.EncodeToString(sum[:8]) + `"`,
		modtime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		cutAt:   (int64(len(demoData))*2 + 4) / 5, // 40%, rounded up
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/" + demoName

	fmt.Fprintln(out, "bitsemu demo: one BITS download job, start to finish.")
	fmt.Fprintf(out, "Serving %s (%d bytes) at %s;\nthe server will cut the first download at %d bytes.\n\n",
		demoName, len(demoData), url, srv.cutAt)

	storeDir := filepath.Join(dir, "store")
	m, err := manager.Open(storeDir, manager.WithBandwidth(demoBandwidth))
	if err != nil {
		return failed("open a job store in "+storeDir, err)
	}
	defer func() {
		_ = m.Close()
		_ = os.RemoveAll(storeDir)
	}()
	client, err := m.Connect(c.identity())
	if err != nil {
		return failed("connect to the service", err)
	}
	defer client.Close()

	j, err := client.CreateJob("bitsemu demo", job.Download)
	if err != nil {
		return failed("create the job", err)
	}
	fmt.Fprintf(out, "CreateJob:  %s 'bitsemu demo' (DOWNLOAD, NORMAL priority, SUSPENDED)\n", guid(j))
	if err := j.AddFile(url, local); err != nil {
		return failed("add the file", err)
	}
	fmt.Fprintf(out, "AddFile:    %s -> %s\n", url, local)
	if err := j.Resume(); err != nil {
		return failed("resume the job", err)
	}
	fmt.Fprintln(out, "Resume:     the job is QUEUED; the scheduler picks it at once")

	pv := newProgress(out, !c.json && c.isTerminal())
	st, err := watchUntil(c.ctx, j, pv, func(st state.State) bool { return st == state.TransientError || !active(st) })
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
			return failed("resume the job", err)
		}
		fmt.Fprintf(out, "Resume:     the job continues from byte %d with a ranged GET\n", p.BytesTransferred)
		st, err = watch(c.ctx, j, pv)
	}
	pv.end()
	if err != nil {
		_, _ = j.Cancel()
		return fmt.Errorf("demo interrupted (%v); job cancelled", err)
	}
	if st != state.Transferred {
		if e, _ := readError(j); e != nil {
			e.write(c.stderr)
		}
		_, _ = j.Cancel()
		return fmt.Errorf("the demo job ended %s instead of TRANSFERRED; job cancelled", st)
	}
	code, err := j.Complete()
	if err != nil {
		return failed("complete the job", err)
	}
	final, _ := j.GetState()
	fmt.Fprintf(out, "Complete:   %s; the temporary file was renamed to %s\n\n", code.Name(), demoName)

	fmt.Fprintln(out, "The server saw:")
	for _, r := range srv.requests() {
		fmt.Fprintf(out, "  %s\n", r)
	}
	got, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	gotSum := sha256.Sum256(got)
	if gotSum != sum {
		return errors.New("the downloaded file differs from the source: sha256 " + hex.EncodeToString(gotSum[:]) +
			", want " + hex.EncodeToString(sum[:]))
	}
	if c.json {
		return c.printJSON(obj{{"id", guid(j)}, {"local", local}, {"size", len(got)},
			{"sha256", hex.EncodeToString(gotSum[:])}, {"verified", true}, {"state", final.String()},
			{"requests", srv.requests()}})
	}
	fmt.Fprintf(out, "\nResult:\n")
	fmt.Fprintf(out, "  local:  %s\n", local)
	fmt.Fprintf(out, "  size:   %d bytes\n", len(got))
	fmt.Fprintf(out, "  sha256: %s (matches the source)\n", hex.EncodeToString(gotSum[:]))
	fmt.Fprintf(out, "  state:  %s\n", final)
	fmt.Fprintf(out, "\nThe file stays in %s; remove that directory when done.\n", dir)
	fmt.Fprintln(out, "Next: bitsadmin /help lists every verb; bitsadmin /transfer name URL /absolute/path downloads a file of yours.")
	return nil
}
