package bitstest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// Faking BITS in a test: a server that answers 503 twice, a manager on a virtual clock, and
// an hour of retries that take no time at all.
func ExampleHarness() {
	srv := bitstest.NewServer(map[string][]byte{"update.bin": []byte("new version")},
		bitstest.Status(503, 2))
	defer srv.Close()
	h := bitstest.NewHarness(nil) // in a test: bitstest.NewHarness(t), closed when the test ends
	defer h.Close()
	app := h.Connect("S-1-5-21-1000")

	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)
	j, _ := app.CreateJob("update", job.Download)
	_ = j.AddFile(srv.URLFor("update.bin"), filepath.Join(dir, "update.bin"))
	_ = j.SetMinimumRetryDelay(60)
	_ = j.Resume()

	h.Settle()
	st, _ := j.GetState()
	fmt.Println("after the first attempt:", st)

	st, _ = h.WaitState(j, time.Hour, state.Transferred, state.Error)
	n, _ := j.GetErrorCount()
	fmt.Println("after", h.Clock.Now().Sub(bitstest.Epoch), "of virtual time:", st, "after", n, "errors")

	code, _ := j.Complete()
	data, _ := os.ReadFile(filepath.Join(dir, "update.bin"))
	fmt.Println(code.Name(), string(data))
	// Output:
	// after the first attempt: TRANSIENT_ERROR
	// after 2m0s of virtual time: TRANSFERRED after 2 errors
	// S_OK new version
}
