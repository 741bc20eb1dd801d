package manager_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
)

// announcer prints JobTransferred and completes the job.
type announcer struct{ done chan struct{} }

func (a announcer) JobTransferred(j bits.Job) error {
	name, _ := j.GetDisplayName()
	fmt.Println("JobTransferred:", name)
	_, err := j.Complete()
	close(a.done)
	return err
}
func (announcer) JobError(bits.Job, bits.Error) error { return nil }
func (announcer) JobModification(bits.Job) error      { return nil }

// Jobs outlive the manager that ran them; callbacks do not. An application that starts again
// finds its job, registers its callback again, and hears at once about the transfer that ended
// while nobody listened.
func Example_restart() {
	dir, err := os.MkdirTemp("", "bitsemu-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "source.txt")
	if err := os.WriteFile(src, []byte("hello"), 0o644); err != nil {
		log.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	user := manager.Identity{SID: "S-1-5-21-1000"}

	// First run: create the job, set a command line, let it transfer, stop.
	m, err := manager.Open(storeDir)
	if err != nil {
		log.Fatal(err)
	}
	app, _ := m.Connect(user)
	j, _ := app.CreateJob("survivor", bits.Download)
	_ = j.AddFile(src, filepath.Join(dir, "copy.txt"))
	_ = j.SetNotifyCmdLine("/bin/echo", "echo transferred")
	_ = j.Resume()
	m.WaitIdle(context.Background())
	id := engine.Of(j).ID()
	_ = m.Close()

	// Second run.
	m, err = manager.Open(storeDir)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	app, _ = m.Connect(user)
	j, err = app.GetJob(id)
	if err != nil {
		log.Fatal(err)
	}
	st, _ := j.GetState()
	cb, _ := j.GetNotifyInterface()
	cmd, _ := j.GetNotifyCmdLine()
	fmt.Println("state:", st, "| callback kept:", cb != nil, "| command line kept:", cmd.Program)

	done := make(chan struct{})
	_ = j.SetNotifyFlags(bits.NotifyJobTransferred)
	_ = j.SetNotifyInterface(announcer{done})
	<-done
	data, _ := os.ReadFile(filepath.Join(dir, "copy.txt"))
	fmt.Println("copy.txt:", string(data))
	// Output:
	// state: TRANSFERRED | callback kept: false | command line kept: /bin/echo
	// JobTransferred: survivor
	// copy.txt: hello
}
