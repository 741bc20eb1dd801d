package manager

import (
	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
)

// Client is one application's connection to the manager (its IBackgroundCopyManager pointer).
// Job handles it returns act as its identity. After Close, the client and every handle it gave
// out fail with RPC_E_DISCONNECTED, and callbacks it registered are no longer called.
type Client struct {
	m      *Manager
	caller *job.Caller
}

// Identity returns the identity the client connected with.
func (c *Client) Identity() Identity { return c.caller.Identity() }

// Close disconnects the application. Its jobs stay in the queue.
func (c *Client) Close() error {
	c.caller.Close()
	return nil
}

func (c *Client) closedErr(op string) error {
	if c.caller.Closed() {
		return &hresult.Error{Op: op, Code: hresult.RPC_E_DISCONNECTED}
	}
	return nil
}

// CreateJob creates a job in state SUSPENDED and returns its handle; the job's GUID comes from
// GetId or ID (IBackgroundCopyManager::CreateJob). Errors: E_INVALIDARG for a display name over
// 256 characters (or with a NUL or invalid UTF-8) or an undefined type;
// BG_E_TOO_MANY_JOBS_PER_USER and BG_E_TOO_MANY_JOBS_PER_MACHINE over the limits, which do not
// apply to administrators and service accounts; their jobs do not count toward the machine limit
// either. Display names need not be unique.
func (c *Client) CreateJob(displayName string, t bits.JobType) (bits.Job, error) {
	if err := c.closedErr("CreateJob"); err != nil {
		return nil, err
	}
	id := c.m.newID()
	// The manager's entry comes in the job's own allocation.
	j, e, err := job.NewWith[entry](&c.m.env, c.caller, id, displayName, t)
	if err != nil {
		return nil, err
	}
	m := c.m
	who := c.caller.Identity()
	m.mu.Lock()
	if !who.Exempt() {
		if lim := m.env.Limits.MaxJobsPerUser; lim > 0 && m.perUser[who.SID] >= lim {
			m.mu.Unlock()
			return nil, &hresult.Error{Op: "CreateJob", Code: hresult.BG_E_TOO_MANY_JOBS_PER_USER}
		}
		if lim := m.env.Limits.MaxJobsPerMachine; lim > 0 && m.counted >= lim {
			m.mu.Unlock()
			return nil, &hresult.Error{Op: "CreateJob", Code: hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE}
		}
	}
	eng := engine.Of(j)
	m.insertLocked(e, eng, t, who, c.caller)
	m.mu.Unlock()
	if err := m.storeNew(eng); err != nil {
		return nil, err
	}
	m.sched.armExpiry(e)
	return j, nil
}

// GetJob returns the job with the given GUID (IBackgroundCopyManager::GetJob). BG_E_NOT_FOUND when
// no job in the queue has it (final jobs have left the queue); E_ACCESSDENIED when the job belongs
// to another user and the caller is not an administrator.
func (c *Client) GetJob(id uuid.UUID) (bits.Job, error) {
	if err := c.closedErr("GetJob"); err != nil {
		return nil, err
	}
	m := c.m
	m.mu.Lock()
	e, ok := m.jobs[id]
	var owner string
	var creator *job.Caller
	if ok {
		owner, creator = e.owner, e.creator
	}
	m.mu.Unlock()
	if !ok {
		return nil, &hresult.Error{Op: "GetJob", Job: job.GUIDString(id), Code: hresult.BG_E_NOT_FOUND}
	}
	who := c.caller.Identity()
	if !who.Admin && owner != who.SID {
		return nil, &hresult.Error{Op: "GetJob", Job: job.GUIDString(id), Code: hresult.E_ACCESSDENIED}
	}
	return handleFor(e.job, creator, c.caller), nil
}

// EnumJobs returns an enumerator over a snapshot of the queue, in creation order
// (IBackgroundCopyManager::EnumJobs). flags 0 lists the caller's own jobs; bits.EnumAllUsers lists
// every user's, and needs an administrator (E_ACCESSDENIED otherwise). E_INVALIDARG for any other
// flag bit. Final jobs are never listed.
func (c *Client) EnumJobs(flags uint32) (bits.JobEnum, error) {
	if err := c.closedErr("EnumJobs"); err != nil {
		return nil, err
	}
	if flags&^bits.EnumAllUsers != 0 {
		return nil, &hresult.Error{Op: "EnumJobs", Code: hresult.E_INVALIDARG}
	}
	who := c.caller.Identity()
	all := flags&bits.EnumAllUsers != 0
	if all && !who.Admin {
		return nil, &hresult.Error{Op: "EnumJobs", Code: hresult.E_ACCESSDENIED}
	}
	key := who.SID
	if all {
		key = allUsers
	}
	m := c.m
	m.mu.Lock()
	snap := m.snaps[key]
	if snap == nil {
		snap = m.snapshotLocked(who.SID, all)
		if m.snaps == nil {
			m.snaps = make(map[string]*enumSnap)
		}
		m.snaps[key] = snap
	}
	m.mu.Unlock()
	return &jobEnum{jobs: snap.jobs, view: snap.view(c.caller), caller: c.caller}, nil
}

// GetErrorDescription returns the text of an HRESULT in the given language
// (IBackgroundCopyManager::GetErrorDescription). bitsemu has English text only: other languages
// give ERROR_RESOURCE_LANG_NOT_FOUND, and a code with no text ERROR_MR_MID_NOT_FOUND.
func (c *Client) GetErrorDescription(code hresult.Code, lang uint16) (string, error) {
	if err := c.closedErr("GetErrorDescription"); err != nil {
		return "", err
	}
	return hresult.Description(code, lang)
}

// A Client is the in-process implementation of the BITS client surface.
var _ bits.Manager = (*Client)(nil)
