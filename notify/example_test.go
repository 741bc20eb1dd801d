package notify_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// completeOnTransferred completes its job from inside JobTransferred, the usual pattern, and
// records what it saw.
type completeOnTransferred struct {
	once sync.Once
	done chan struct{} // closed after the first JobTransferred
	saw  state.State   // the state JobTransferred saw
	code hresult.Code  // what Complete returned
	err  error
}

func (c *completeOnTransferred) JobTransferred(j bits.Job) error {
	c.once.Do(func() {
		c.saw, _ = j.GetState()
		c.code, c.err = j.Complete()
		close(c.done)
	})
	return nil
}
func (c *completeOnTransferred) JobError(bits.Job, bits.Error) error { return nil }
func (c *completeOnTransferred) JobModification(bits.Job) error      { return nil }

// An application registers a callback that completes the job when it has been transferred.
func Example_completeOnTransferred() {
	m := manager.New(manager.WithManualTransfers())
	defer m.Close()
	app, _ := m.Connect(manager.Identity{SID: "S-1-5-21-1001"})
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)

	j, _ := app.CreateJob("update", bits.Download)
	_ = j.AddFile("http://example.com/update.bin", filepath.Join(dir, "update.bin"))
	cb := &completeOnTransferred{done: make(chan struct{})}
	_ = j.SetNotifyInterface(cb)
	_ = j.Resume()

	// The service transfers the job.
	_, _ = engine.Of(j).Fire(state.Pick)
	_, _ = engine.Of(j).Fire(state.Connect)
	_, _ = engine.Of(j).FireFileDone(0)

	<-cb.done
	st, _ := j.GetState()
	fmt.Println("JobTransferred saw:", cb.saw)
	fmt.Println("Complete returned:", cb.code.Name(), cb.err)
	fmt.Println("final state:", st)
	// Output:
	// JobTransferred saw: TRANSFERRED
	// Complete returned: S_OK <nil>
	// final state: ACKNOWLEDGED
}

// countingCallback counts its calls; it is the callback of an application that then exits.
type countingCallback struct {
	mu    sync.Mutex
	calls int
}

func (c *countingCallback) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}
func (c *countingCallback) called() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return nil
}
func (c *countingCallback) JobTransferred(bits.Job) error       { return c.called() }
func (c *countingCallback) JobError(bits.Job, bits.Error) error { return c.called() }
func (c *countingCallback) JobModification(bits.Job) error      { return c.called() }

// The callback pointer is not persisted: an application that restarts registers again, and
// gets at once the JobTransferred it missed while it was gone.
func Example_reregisterAfterRestart() {
	m := manager.New(manager.WithManualTransfers())
	defer m.Close()
	who := manager.Identity{SID: "S-1-5-21-1002"}
	dir, _ := os.MkdirTemp("", "bitsemu-example")
	defer os.RemoveAll(dir)

	// First run: create the job, register, start it, remember its GUID, exit.
	first, _ := m.Connect(who)
	j, _ := first.CreateJob("nightly", bits.Download)
	_ = j.AddFile("http://example.com/data.zip", filepath.Join(dir, "data.zip"))
	old := &countingCallback{}
	_ = j.SetNotifyInterface(old)
	_ = j.Resume()
	id := engine.Of(j).ID()
	_ = first.Close() // the callback is invalid from now on

	// Meanwhile the service transfers the job (engine-side calls need no live client).
	_, _ = engine.Of(j).Fire(state.Pick)
	_, _ = engine.Of(j).Fire(state.Connect)
	_, _ = engine.Of(j).FireFileDone(0)

	// Second run: find the job again and register a new callback.
	second, _ := m.Connect(who)
	j2, _ := second.GetJob(id)
	st, _ := j2.GetState()
	fmt.Println("state after restart:", st)
	cb := &completeOnTransferred{done: make(chan struct{})}
	_ = j2.SetNotifyInterface(cb)
	<-cb.done
	st, _ = j2.GetState()
	fmt.Println("new callback got JobTransferred in state", cb.saw)
	fmt.Println("old callback calls:", old.count())
	fmt.Println("final state:", st)
	// Output:
	// state after restart: TRANSFERRED
	// new callback got JobTransferred in state TRANSFERRED
	// old callback calls: 0
	// final state: ACKNOWLEDGED
}
