package bitstest_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/manager"
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
	j, _ := app.CreateJob("update", bits.Download)
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

// Nothing moves between steps: Resume queues the job, and only a step of the harness lets the
// scheduler pick it. A server that stalls is a silent peer: the step returns, and the stall
// timeout runs on the virtual clock.
func ExampleHarness_Settle() {
	srv := bitstest.NewServer(map[string][]byte{"big.bin": make([]byte, 64<<10)},
		bitstest.Stall(1000).Times(1))
	defer srv.Close()
	h := bitstest.NewHarness(nil)
	defer h.Close()
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)
	j, _ := h.Connect("S-1-5-21-1000").CreateJob("big", bits.Download)
	_ = j.AddFile(srv.URLFor("big.bin"), filepath.Join(dir, "big.bin"))
	_ = j.SetMinimumRetryDelay(60)
	_ = j.Resume()
	st, _ := j.GetState()
	fmt.Println("after Resume:", st)

	h.Settle() // the pick, the transfer's start and its stall
	st, _ = j.GetState()
	fmt.Println("after Settle:", st)

	h.Step(2 * time.Minute) // the stall timeout
	st, _ = j.GetState()
	fmt.Println("2 minutes later:", st)

	st, _ = h.WaitState(j, time.Hour, state.Transferred)
	fmt.Println("after the retry at", h.Clock.Now().Sub(bitstest.Epoch), st)
	// Output:
	// after Resume: QUEUED
	// after Settle: TRANSFERRING
	// 2 minutes later: TRANSIENT_ERROR
	// after the retry at 3m0s TRANSFERRED
}

// The event log is the run's trace in virtual time. With every peer on an in-memory network and
// the job GUIDs drawn from a seed, the same seed gives the same trace, byte for byte.
func ExampleOnNetwork() {
	n := bitstest.NewNetwork()
	defer n.Close()
	srv := bitstest.NewServerOn(n, "bits.test:80", map[string][]byte{"f.bin": []byte("data")},
		bitstest.Status(503, 1))
	defer srv.Close()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey || a.Key == slog.MessageKey {
				return slog.Attr{} // keep the example's output short
			}
			return a
		}}))
	h := bitstest.NewHarness(nil, bitstest.OnNetwork(n), manager.WithLogger(logger),
		manager.WithRandom(rand.NewChaCha8([32]byte{42})))
	defer h.Close()
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)
	j, _ := h.Connect("S-1-5-21-1000").CreateJob("f", bits.Download)
	_ = j.AddFile(srv.URLFor("f.bin"), filepath.Join(dir, "f.bin"))
	_ = j.SetMinimumRetryDelay(60)
	_ = j.Resume()
	_, _ = h.WaitState(j, time.Hour, state.Transferred)
	// Output:
	// time=2030-01-01T00:00:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=SUSPENDED to=QUEUED method=Resume
	// time=2030-01-01T00:00:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=QUEUED to=CONNECTING event="scheduler pick"
	// time=2030-01-01T00:00:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=CONNECTING to=TRANSIENT_ERROR event="transient error" error=BG_E_HTTP_ERROR_503
	// time=2030-01-01T00:01:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=TRANSIENT_ERROR to=QUEUED event="retry delay elapsed"
	// time=2030-01-01T00:01:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=QUEUED to=CONNECTING event="scheduler pick"
	// time=2030-01-01T00:01:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=CONNECTING to=TRANSFERRING event=connected
	// time=2030-01-01T00:01:00.000Z id={22301FB8-D829-48DA-B007-B05614969F34} from=TRANSFERRING to=TRANSFERRED event="last file done"
}
