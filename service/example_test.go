package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/service"
	"github.com/bitsemu/bitsemu/service/client"
)

// A service on a store, and an application that queues a job through it, disconnects, and
// finds the job again on a new connection. bitsadmin runs the service as a process of its own
// (bitsadmin /service /foreground) and starts it on demand; here it runs in the example's
// process.
func Example() {
	dir, _ := os.MkdirTemp("", "svc")
	defer os.RemoveAll(dir)
	store := filepath.Join(dir, "store")
	src := filepath.Join(dir, "src.txt")
	_ = os.WriteFile(src, []byte("hello"), 0o644)

	ready := make(chan struct{})
	stopped := make(chan error, 1)
	go func() {
		stopped <- service.Run(context.Background(), service.Config{Dir: store,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { close(ready) }})
	}()
	<-ready

	app, err := client.Connect(store, client.Options{}) // Options.Start would start the service
	if err != nil {
		fmt.Println(err)
		return
	}
	j, _ := app.CreateJob("example", bits.Download)
	id, _ := j.GetId()
	_ = j.AddFile(src, filepath.Join(dir, "dst.txt"))
	_ = j.Resume()
	_ = app.Close() // the job goes on without the application

	later, _ := client.Connect(store, client.Options{})
	j, _ = later.GetJob(id)
	for {
		if st, _ := j.GetState(); st.String() == "TRANSFERRED" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	code, _ := j.Complete()
	b, _ := os.ReadFile(filepath.Join(dir, "dst.txt"))
	fmt.Println(code.Name(), string(b))
	_ = later.Shutdown()
	fmt.Println(<-stopped)
	// Output:
	// S_OK hello
	// <nil>
}
