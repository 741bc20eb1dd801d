// Package engine gives bitsemu's service packages (manager, notify, bitstest) the service's
// side of a job: the events, progress, temporary files and records that BITS keeps away from
// applications. Code outside the module cannot import it.
package engine

import (
	"fmt"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/jobhook"
	"github.com/bitsemu/bitsemu/job"
)

// Of returns the service's side of the job j refers to. It checks no access: callers are the
// service itself and the test driver.
func Of(j bits.Job) *job.Engine {
	return jobhook.EngineOf.(func(*job.Job) *job.Engine)(Job(j))
}

// CallerOf returns the caller j acts as: the application that obtained the handle.
func CallerOf(j bits.Job) *job.Caller {
	return jobhook.CallerOf.(func(*job.Job) *job.Caller)(Job(j))
}

// Job returns the bitsemu job behind j. It panics when j comes from another backend: only
// bitsemu's own jobs have an engine.
func Job(j bits.Job) *job.Job {
	jj, ok := j.(*job.Job)
	if !ok {
		panic(fmt.Sprintf("engine: %T is not a bitsemu job", j))
	}
	return jj
}
