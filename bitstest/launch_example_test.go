package bitstest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/manager"
)

// Checking the notify command line the code under test sets, without running it: the recorder
// says the program failed once, and the manager runs it again after the minimum retry delay.
func ExampleLaunchRecorder() {
	srv := bitstest.NewServer(map[string][]byte{"update.bin": []byte("new version")})
	defer srv.Close()
	rec := bitstest.NewLaunchRecorder(nil) // notify.ExecLauncher{} would run the real program
	rec.Script(bitstest.ExitCode(1))       // the first run exits 1, later ones 0
	h := bitstest.NewHarness(nil, manager.WithLauncher(rec))
	defer h.Close()

	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)
	j, _ := h.Connect("S-1-5-21-1000").CreateJob("update", bits.Download)
	_ = j.AddFile(srv.URLFor("update.bin"), filepath.Join(dir, "update.bin"))
	_ = j.SetNotifyCmdLine(`/opt/updater/install`, `"/opt/updater/install" --from "Update Channel" --lang=日本語`)
	_ = j.Resume()

	h.Step(time.Hour)
	for _, l := range rec.Launches() {
		fmt.Printf("+%v %s %s %q: %v\n", l.Time.Sub(bitstest.Epoch), l.State, l.Program, l.Params, l.Err)
	}
	fmt.Printf("%q\n", rec.Launches()[0].Args())
	// Output:
	// +0s TRANSFERRED /opt/updater/install "\"/opt/updater/install\" --from \"Update Channel\" --lang=日本語": exit status 1
	// +10m0s TRANSFERRED /opt/updater/install "\"/opt/updater/install\" --from \"Update Channel\" --lang=日本語": <nil>
	// ["/opt/updater/install" "--from" "Update Channel" "--lang=日本語"]
}

// A test's callback implements only the notification it needs: here JobTransferred, which
// completes the job.
func ExampleCallback() {
	srv := bitstest.NewServer(map[string][]byte{"a.txt": []byte("hello")})
	defer srv.Close()
	h := bitstest.NewHarness(nil)
	defer h.Close()

	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)
	j, _ := h.Connect("S-1-5-21-1000").CreateJob("one file", bits.Download)
	_ = j.AddFile(srv.URLFor("a.txt"), filepath.Join(dir, "a.txt"))
	_ = j.SetNotifyInterface(&bitstest.Callback{
		Transferred: func(j bits.Job) error {
			code, err := j.Complete()
			fmt.Println("JobTransferred: Complete gave", code.Name())
			return err
		},
	})
	_ = j.Resume()

	h.Settle()
	st, _ := j.GetState()
	data, _ := os.ReadFile(filepath.Join(dir, "a.txt"))
	fmt.Println(st, string(data))
	// Output:
	// JobTransferred: Complete gave S_OK
	// ACKNOWLEDGED hello
}
