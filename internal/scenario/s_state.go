package scenario

import (
	"bytes"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// active is the set of states a resumed job passes through on its way (the action states).
var active = []state.State{state.Queued, state.Connecting, state.Transferring}

// isActive reports whether st is one of the action states a resumed job is in before it ends.
func isActive(st state.State) bool {
	return st == state.Queued || st == state.Connecting || st == state.Transferring
}

// stalled creates a download job whose one file comes from a stalling URL and resumes it, so
// that the job stays in an action state until the scenario ends.
func (e *Env) stalled() (bits.Job, string) {
	j := e.CreateJob(e.Marker(), bits.Download)
	local := e.Path("stalled.bin")
	url, _ := e.Stall("stalled.bin", bytes.Repeat([]byte("s"), 1<<20))
	e.Must("AddFile", j.AddFile(url, local))
	e.Must("Resume", j.Resume())
	return j, local
}

func stateScenarios() []Scenario {
	return []Scenario{
		{
			Name: "resume/empty",
			Docs: []string{"IBackgroundCopyJob::Resume (BG_E_EMPTY: the job has no files)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("Resume", j.Resume(), hresult.BG_E_EMPTY)
				Get(e, "GetState", j.GetState, state.Suspended)
			},
		},
		{
			Name: "resume/queues",
			Docs: []string{"IBackgroundCopyJob::Resume", "Life Cycle of a BITS Job (Resume of an active job changes nothing)"},
			Run: func(e *Env) {
				j, _ := e.stalled()
				st, err := j.GetState()
				if e.HR("GetState", err, sOK) {
					e.True("state after Resume is an action state", isActive(st))
				}
				e.HR("Resume again", j.Resume(), sOK)
				st, err = j.GetState()
				if e.HR("GetState after the second Resume", err, sOK) {
					e.True("still an action state", isActive(st))
				}
			},
		},
		{
			Name: "suspend/new-job",
			Docs: []string{"IBackgroundCopyJob::Suspend", "Life Cycle of a BITS Job (Suspend of a suspended job)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("Suspend", j.Suspend(), sOK)
				Get(e, "GetState", j.GetState, state.Suspended)
			},
		},
		{
			Name: "suspend/transferring",
			Docs: []string{"IBackgroundCopyJob::Suspend (the transfer stops; the job is SUSPENDED until Resume)", "IBackgroundCopyJob::Resume"},
			Run: func(e *Env) {
				j, _ := e.stalled()
				e.Await("state while the server stalls", j, state.Transferring, state.Error, state.TransientError, state.Transferred)
				e.HR("Suspend", j.Suspend(), sOK)
				Get(e, "GetState after Suspend", j.GetState, state.Suspended)
				e.HR("Resume", j.Resume(), sOK)
				st, err := j.GetState()
				if e.HR("GetState after Resume", err, sOK) {
					e.True("an action state after Resume", isActive(st))
				}
			},
		},
		{
			Name: "cancel/twice",
			Docs: []string{"IBackgroundCopyJob::Cancel (BG_E_INVALID_STATE once CANCELLED)", "BG_JOB_STATE"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				code, err := j.Cancel()
				e.Code("Cancel", code, err, sOK)
				Get(e, "GetState", j.GetState, state.Cancelled)
				code, err = j.Cancel()
				e.Code("Cancel again", code, err, hresult.BG_E_INVALID_STATE)
			},
		},
		{
			Name: "cancel/final-job-refuses-changes",
			Docs: []string{"Life Cycle of a BITS Job (a final job takes no state-changing call)", "IBackgroundCopyJob::Resume", "IBackgroundCopyJob::Suspend", "IBackgroundCopyJob::SetDescription", "IBackgroundCopyJob::SetPriority", "IBackgroundCopyJob::SetNotifyFlags", "IBackgroundCopyJob3::AddFileWithRanges"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				remote := e.Serve("a.bin", []byte("a"))
				e.Must("AddFile", j.AddFile(remote, e.Path("a.bin")))
				code, err := j.Cancel()
				e.Code("Cancel", code, err, sOK)
				e.HR("Resume", j.Resume(), hresult.BG_E_INVALID_STATE)
				e.HR("Suspend", j.Suspend(), hresult.BG_E_INVALID_STATE)
				e.HR("SetDescription", j.SetDescription("x"), hresult.BG_E_INVALID_STATE)
				e.HR("SetPriority", j.SetPriority(bits.High), hresult.BG_E_INVALID_STATE)
				e.HR("SetNotifyFlags", j.SetNotifyFlags(bits.NotifyJobTransferred), hresult.BG_E_INVALID_STATE)
				e.HR("AddFileWithRanges", j.AddFileWithRanges(remote, e.Path("b.bin"), []bits.FileRange{{Length: 1}}), hresult.BG_E_INVALID_STATE)
				// Getters keep answering on a handle still held.
				Get(e, "GetState", j.GetState, state.Cancelled)
				Same(e, "GetDisplayName", j.GetDisplayName, e.Marker())
			},
		},
		{
			Name: "cancel/addfile-after",
			Docs: []string{"Adding Files to a Job (files may be added until the job is completed or cancelled)", "decision: BG_E_INVALID_STATE in a final state, as AddFileWithRanges (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				code, err := j.Cancel()
				e.Code("Cancel", code, err, sOK)
				e.HR("AddFile", j.AddFile(e.Serve("a.bin", []byte("a")), e.Path("a.bin")), hresult.BG_E_INVALID_STATE)
				e.progress("GetProgress", j, bits.Progress{})
			},
		},
		{
			Name: "cancel/getjob",
			Docs: []string{"IBackgroundCopyManager::GetJob (BG_E_NOT_FOUND: the job is not in the queue)", "Life Cycle of a BITS Job (a cancelled job leaves the queue)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				id, err := j.GetId()
				e.Must("GetId", err)
				code, err := j.Cancel()
				e.Code("Cancel", code, err, sOK)
				_, err = e.M.GetJob(id)
				e.HR("GetJob", err, hresult.BG_E_NOT_FOUND)
			},
		},
		{
			Name: "getjob/unknown",
			Docs: []string{"IBackgroundCopyManager::GetJob (BG_E_NOT_FOUND)"},
			Run: func(e *Env) {
				_, err := e.M.GetJob(uuid.New())
				e.HR("GetJob", err, hresult.BG_E_NOT_FOUND)
			},
		},
		{
			Name: "complete/empty-job",
			Docs: []string{"IBackgroundCopyJob::Complete", "decision: a job with no files completes with S_OK (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				code, err := j.Complete()
				e.Code("Complete", code, err, sOK)
				Get(e, "GetState", j.GetState, state.Acknowledged)
				code, err = j.Complete()
				e.Code("Complete again", code, err, hresult.BG_E_INVALID_STATE)
			},
		},
		{
			Name: "complete/download-before-transfer",
			Docs: []string{"IBackgroundCopyJob::Complete (a download may be completed at any time; files not transferred are dropped: BG_S_PARTIAL_COMPLETE)", "Completing and Canceling a Job"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("a.bin", []byte("a")), e.Path("a.bin")))
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.BG_S_PARTIAL_COMPLETE)
				Get(e, "GetState", j.GetState, state.Acknowledged)
				e.Eq("local file", FileDigest(e.Path("a.bin")), "absent")
			},
		},
		{
			Name: "complete/upload-before-transfer",
			Docs: []string{"IBackgroundCopyJob::Complete (BG_E_INVALID_STATE: an upload job that is not TRANSFERRED)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Upload)
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.BG_E_INVALID_STATE)
				Get(e, "GetState", j.GetState, state.Suspended)
			},
		},
		{
			Name: "complete/after-cancel",
			Docs: []string{"IBackgroundCopyJob::Complete (BG_E_INVALID_STATE once CANCELLED)", "Life Cycle of a BITS Job (a final job never leaves its state)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				code, err := j.Cancel()
				e.Code("Cancel", code, err, sOK)
				code, err = j.Complete()
				e.Code("Complete", code, err, hresult.BG_E_INVALID_STATE)
				Get(e, "GetState", j.GetState, state.Cancelled)
			},
		},
		{
			Name: "complete/getjob",
			Docs: []string{"IBackgroundCopyManager::GetJob (BG_E_NOT_FOUND)", "Life Cycle of a BITS Job (an acknowledged job leaves the queue)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				id, err := j.GetId()
				e.Must("GetId", err)
				code, err := j.Complete()
				e.Code("Complete", code, err, sOK)
				_, err = e.M.GetJob(id)
				e.HR("GetJob", err, hresult.BG_E_NOT_FOUND)
			},
		},
	}
}
