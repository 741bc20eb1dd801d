package job_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Completing a download job early keeps only the files that finished: Complete reports
// BG_S_PARTIAL_COMPLETE, a success code returned as a value.
func ExampleJob_Complete() {
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)

	m := manager.New(manager.WithManualTransfers())
	app, _ := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	j, _ := app.CreateJob("two files", bits.Download)
	_ = j.AddFile("https://example.com/a.bin", filepath.Join(dir, "a.bin"))
	_ = j.AddFile("https://example.com/b.bin", filepath.Join(dir, "b.bin"))
	_ = j.Resume()

	// What the transfer engine does: pick the job, connect, finish the first file.
	_, _ = engine.Of(j).Fire(state.Pick)
	_, _ = engine.Of(j).Fire(state.Connect)
	_, _ = engine.Of(j).FireFileDone(0)

	code, err := j.Complete()
	st, _ := j.GetState()
	fmt.Println(code.Name(), err, st)
	// Output: BG_S_PARTIAL_COMPLETE <nil> ACKNOWLEDGED
}

// A job that failed holds an error object until it next starts transferring.
func ExampleJob_GetError() {
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)

	m := manager.New(manager.WithManualTransfers())
	app, _ := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	j, _ := app.CreateJob("missing file", bits.Download)
	_ = j.AddFile("https://example.com/gone.bin", filepath.Join(dir, "gone.bin"))
	_ = j.Resume()
	_, _ = engine.Of(j).Fire(state.Pick)
	_, _ = engine.Of(j).Fire(state.Connect)
	_, _ = engine.Of(j).FireError(state.FatalFailure, job.Failure{
		Context: bits.ContextRemoteFile, Code: hresult.HTTP(404), File: 0, Protocol: "http",
	})

	e, err := j.GetError()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, code, _ := e.GetError()
	f, _ := e.GetFile()
	remote, _ := f.GetRemoteName()
	proto, _ := e.GetProtocol()
	st, _ := j.GetState()
	fmt.Println(st, ctx, code.Name(), proto, remote)
	// Output: ERROR REMOTE_FILE BG_E_HTTP_ERROR_404 http https://example.com/gone.bin
}
