// Package engine gives bitsemu's service packages (manager, notify, bitstest) the service's
// side of a job: the events, progress, temporary files and records that BITS keeps away from
// applications. Code outside the module cannot import it.
package engine

import (
	"github.com/bitsemu/bitsemu/internal/jobhook"
	"github.com/bitsemu/bitsemu/job"
)

// Of returns the service's side of the job j refers to. It checks no access: callers are the
// service itself and the test driver.
func Of(j *job.Job) *job.Engine {
	return jobhook.EngineOf.(func(*job.Job) *job.Engine)(j)
}

// CallerOf returns the caller j acts as: the application that obtained the handle.
func CallerOf(j *job.Job) *job.Caller {
	return jobhook.CallerOf.(func(*job.Job) *job.Caller)(j)
}
