package manager_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
)

func ExampleClient_CreateJob() {
	m := manager.New(manager.WithManualTransfers())
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	if err != nil {
		log.Fatal(err)
	}
	j, err := app.CreateJob("nightly update", bits.Download)
	if err != nil {
		log.Fatal(err)
	}
	st, _ := j.GetState()
	fmt.Println("new job:", st)

	local := filepath.Join(os.TempDir(), "bitsemu-example-update.bin")
	if err := j.AddFile("https://example.com/update.bin", local); err != nil {
		log.Fatal(err)
	}
	if err := j.Resume(); err != nil {
		log.Fatal(err)
	}
	st, _ = j.GetState()
	p, _ := j.GetProgress()
	fmt.Println("resumed:", st)
	fmt.Printf("files: %d of %d transferred\n", p.FilesTransferred, p.FilesTotal)

	code, err := j.Cancel()
	if err != nil {
		log.Fatal(err)
	}
	st, _ = j.GetState()
	fmt.Println("cancel:", code.Name(), "→", st)
	fmt.Println("jobs in the queue:", m.JobCount())
	// Output:
	// new job: SUSPENDED
	// resumed: QUEUED
	// files: 0 of 1 transferred
	// cancel: S_OK → CANCELLED
	// jobs in the queue: 0
}

func ExampleClient_EnumJobs() {
	m := manager.New(manager.WithManualTransfers())
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"fonts", "maps", "manuals"} {
		if _, err := app.CreateJob(name, bits.Download); err != nil {
			log.Fatal(err)
		}
	}
	// Another user's job is not listed: flags 0 means the caller's own jobs.
	other, _ := m.Connect(manager.Identity{SID: "S-1-5-21-2000"})
	if _, err := other.CreateJob("someone else's", bits.Download); err != nil {
		log.Fatal(err)
	}

	e, err := app.EnumJobs(0)
	if err != nil {
		log.Fatal(err)
	}
	n, _ := e.GetCount()
	fmt.Println(n, "jobs")
	for {
		jobs, _, _ := e.Next(1)
		if len(jobs) == 0 {
			break
		}
		name, _ := jobs[0].GetDisplayName()
		fmt.Println(name)
	}
	// Output:
	// 3 jobs
	// fonts
	// maps
	// manuals
}

// A cancelled job keeps answering its getters, but every call that would change it fails with
// BG_E_INVALID_STATE.
func Example_invalidState() {
	m := manager.New(manager.WithManualTransfers())
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	if err != nil {
		log.Fatal(err)
	}
	j, err := app.CreateJob("short-lived", bits.Download)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := j.Cancel(); err != nil {
		log.Fatal(err)
	}

	err = j.Resume()
	fmt.Println(errors.Is(err, hresult.BG_E_INVALID_STATE))
	fmt.Println(hresult.Of(err).Name())
	st, _ := j.GetState()
	fmt.Println(st)
	_, err = app.GetJob(engine.Of(j).ID())
	fmt.Println(hresult.Of(err).Name())
	// Output:
	// true
	// BG_E_INVALID_STATE
	// CANCELLED
	// BG_E_NOT_FOUND
}
