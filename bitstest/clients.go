package bitstest

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

// Well-known SIDs the harness connects with.
const (
	// AdminSID is the SID [Harness.Admin] connects with: an elevated administrator's.
	AdminSID = "S-1-5-21-1000-1000-1000-500"
	// LocalSystemSID is the SID [Harness.Service] connects with: LocalSystem, a service
	// account.
	LocalSystemSID = "S-1-5-18"
)

// ConnectAs connects an application running as id; the test fails if it cannot.
func (h *Harness) ConnectAs(id manager.Identity) *manager.Client {
	c, err := h.Manager.Connect(id)
	if err != nil {
		h.fatalf("bitstest: Connect(%+v): %v", id, err)
	}
	return c
}

// Admin connects an application running as an elevated administrator (AdminSID): it sees every
// user's jobs (EnumJobs with bits.EnumAllUsers), may change them and take ownership, and is exempt
// from the job limits.
func (h *Harness) Admin() *manager.Client {
	return h.ConnectAs(manager.Identity{SID: AdminSID, Admin: true})
}

// Service connects an application running as a service account (LocalSystemSID): exempt from
// the job limits, and its jobs never run a notify command line.
func (h *Harness) Service() *manager.Client {
	return h.ConnectAs(manager.Identity{SID: LocalSystemSID, Service: true})
}

// JobInfo describes one job in the manager's queue.
type JobInfo struct {
	ID    uuid.UUID
	Name  string // the display name
	Owner string // the owner's SID
	Type  bits.JobType
	State state.State
}

// AllJobs returns handles to every job in the queue, of every user, in creation order, acting as
// an administrator: what the code under test created, for the test to inspect or drive. Jobs in
// a final state (CANCELLED, ACKNOWLEDGED) have left the queue and are not listed.
func (h *Harness) AllJobs() []bits.Job {
	e, err := h.Admin().EnumJobs(bits.EnumAllUsers)
	if err != nil {
		h.fatalf("bitstest: EnumJobs: %v", err)
	}
	jobs, err := bits.All(e)
	if err != nil {
		h.fatalf("bitstest: EnumJobs: %v", err)
	}
	return jobs
}

// Jobs describes every job in the queue, of every user, in creation order (see AllJobs).
func (h *Harness) Jobs() []JobInfo {
	jobs := h.AllJobs()
	out := make([]JobInfo, 0, len(jobs))
	for _, j := range jobs {
		info := JobInfo{ID: engine.Of(j).ID()}
		var err error
		if info.Name, err = j.GetDisplayName(); err == nil {
			if info.Owner, err = j.GetOwner(); err == nil {
				if info.Type, err = j.GetType(); err == nil {
					info.State, err = j.GetState()
				}
			}
		}
		if err != nil {
			h.fatalf("bitstest: reading job %s: %v", job.GUIDString(engine.Of(j).ID()), err)
		}
		out = append(out, info)
	}
	return out
}
