package manager_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
)

// notifier completes the job when it is transferred, the usual BITS pattern, and reports the
// outcome on done.
type notifier struct{ done chan string }

func (n notifier) JobTransferred(j bits.Job) error {
	code, err := j.Complete()
	if err != nil {
		return err // BITS calls JobTransferred again later
	}
	n.done <- "completed: " + code.Name()
	return nil
}

func (n notifier) JobError(j bits.Job, e bits.Error) error {
	_, code, _ := e.GetError()
	n.done <- "failed: " + code.Name()
	_, err := j.Cancel()
	return err
}

func (notifier) JobModification(bits.Job) error { return nil }

// A real download: a loopback HTTP server, a job with one file, a callback that completes the
// job once it is transferred.
func Example_download() {
	data := bytes.Repeat([]byte("bitsemu "), 100_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeContent answers HEAD with the size and honours Range, as BITS needs.
		http.ServeContent(w, r, "update.bin", time.Unix(1700000000, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "bitsemu-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	m := manager.New()
	defer m.Close()
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	if err != nil {
		log.Fatal(err)
	}
	j, err := app.CreateJob("update", bits.Download)
	if err != nil {
		log.Fatal(err)
	}
	local := filepath.Join(dir, "update.bin")
	if err := j.AddFile(srv.URL+"/update.bin", local); err != nil {
		log.Fatal(err)
	}
	done := make(chan string, 1)
	if err := j.SetNotifyInterface(notifier{done}); err != nil {
		log.Fatal(err)
	}
	if err := j.SetNotifyFlags(bits.NotifyJobTransferred | bits.NotifyJobError); err != nil {
		log.Fatal(err)
	}
	if err := j.Resume(); err != nil {
		log.Fatal(err)
	}

	fmt.Println(<-done)
	st, _ := j.GetState()
	p, _ := j.GetProgress()
	got, _ := os.ReadFile(local)
	fmt.Println(st, p.BytesTransferred, "bytes,", p.FilesTransferred, "file; identical:", bytes.Equal(got, data))
	_, err = app.GetJob(engine.Of(j).ID())
	fmt.Println("still queued:", !errors.Is(err, hresult.BG_E_NOT_FOUND))
	// Output:
	// completed: S_OK
	// ACKNOWLEDGED 800000 bytes, 1 file; identical: true
	// still queued: false
}
