package bits_test

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/state"
)

// fetch downloads url to dest with BITS and returns the state the job ended in. It is written
// against bits.Manager only, so it runs unchanged on every backend: bitsemu's manager in tests,
// the system's BITS through package winbits on Windows.
func fetch(m bits.Manager, url, dest string) (state.State, error) {
	j, err := m.CreateJob("fetch", bits.Download)
	if err != nil {
		return 0, err
	}
	if err := j.AddFile(url, dest); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	if err := j.SetNotifyInterface(completeOnTransfer{done}); err != nil {
		return 0, err
	}
	if err := j.SetNotifyFlags(bits.NotifyJobTransferred | bits.NotifyJobError); err != nil {
		return 0, err
	}
	if err := j.Resume(); err != nil {
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, err
	}
	return j.GetState()
}

// completeOnTransfer completes the job as soon as BITS reports it transferred, and cancels it
// when it fails.
type completeOnTransfer struct{ done chan<- error }

func (c completeOnTransfer) JobTransferred(j bits.Job) error {
	_, err := j.Complete()
	c.done <- err
	return err
}

func (c completeOnTransfer) JobError(j bits.Job, e bits.Error) error {
	_, code, _ := e.GetError()
	_, _ = j.Cancel()
	c.done <- code
	return nil
}

func (completeOnTransfer) JobModification(bits.Job) error { return nil }

// One function, two backends: fetch takes a bits.Manager. openBackend gives bitsemu's manager
// here, and on Windows the system's BITS (winbits.New), where this example runs unchanged,
// under Wine too (.ci/wine).
func Example_backends() {
	data := bytes.Repeat([]byte("new version "), 10_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "update.bin", time.Unix(1700000000, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "bits-example")
	if err != nil {
		log.Fatal(err)
	}
	dest := filepath.Join(dir, "update.bin")
	defer os.Remove(dir)
	defer os.Remove(dest)

	m, err := openBackend()
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	st, err := fetch(m, srv.URL+"/update.bin", dest)
	if err != nil {
		log.Fatal(err)
	}
	got, _ := os.ReadFile(dest)
	fmt.Println(st, len(got), "bytes; identical:", bytes.Equal(got, data))
	// Output:
	// ACKNOWLEDGED 120000 bytes; identical: true
}
