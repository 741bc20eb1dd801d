package job

import (
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Suspend stops the job: it moves to SUSPENDED and is not scheduled until Resume
// (IBackgroundCopyJob::Suspend). Suspending a SUSPENDED job does nothing and succeeds.
// BG_E_INVALID_STATE for a final job.
func (j *Job) Suspend() (err error) {
	var o op
	if err := j.beginChange(&o, state.Suspend, "Suspend"); err != nil {
		return err
	}
	defer o.commit(&err)
	out, err := o.check()
	if err != nil {
		return err
	}
	if out.To == j.c.st {
		j.c.modified = j.c.env.Clock.Now()
	}
	o.move(out.To, 0)
	return nil
}

// Resume starts or restarts the job (IBackgroundCopyJob::Resume): SUSPENDED, ERROR and
// TRANSIENT_ERROR go to QUEUED at once (ignoring any retry delay), a job already queued,
// connecting or transferring is left alone, and a TRANSFERRED job goes back to QUEUED only if
// files were added since. BG_E_EMPTY when the job has no files (it stays SUSPENDED),
// BG_E_INVALID_STATE for a final job.
func (j *Job) Resume() (err error) {
	var o op
	if err := j.beginChange(&o, state.Resume, "Resume"); err != nil {
		return err
	}
	defer o.commit(&err)
	out, err := o.check()
	if err != nil {
		return err
	}
	c := j.c
	c.resumed = true
	now := c.env.Clock.Now()
	// Resume restarts the maximum download time (IBackgroundCopyJob4::SetMaximumDownloadTime).
	c.runSpent = 0
	if state.Running.Has(c.st) {
		c.runSince = now
	}
	if out.To == c.st {
		c.modified = now
	}
	if c.st == state.Error {
		// The job had given up; the application starts it afresh.
		c.noProgressSince = time.Time{}
	}
	o.moveAt(out.To, 0, now)
	return nil
}

// Cancel removes the job from the queue for good: it moves to CANCELLED and its temporary files
// are deleted (IBackgroundCopyJob::Cancel). The code is S_OK, or BG_S_UNABLE_TO_DELETE_FILES when
// a temporary file could not be deleted, or something other than the job's own file has its
// name (it is left alone). BG_E_INVALID_STATE for a final job. When the job's changes are kept
// (Env.Keep) and its end cannot be, Cancel fails with that error and the job stays as it was,
// its temporary files with it.
func (j *Job) Cancel() (hresult.Code, error) {
	var o op
	if err := j.beginChange(&o, state.Cancel, "Cancel"); err != nil {
		return 0, err
	}
	out, err := o.check()
	if err != nil {
		o.commit(&err)
		return 0, err
	}
	o.doomed = j.c.temps()
	o.move(out.To, 0)
	code := out.Code
	if !o.commit(&err) {
		code = hresult.BG_S_UNABLE_TO_DELETE_FILES
	}
	if err != nil {
		// The store could not forget the job: it stays as it was, its files with it.
		return 0, err
	}
	return code, nil
}

// Complete ends the job and makes the files that finished transferring available under their
// local names (IBackgroundCopyJob::Complete): each one's temporary file is renamed over its local
// name, and the job moves to ACKNOWLEDGED. For a download job it may be called in any live
// state: the code is S_OK when every file had finished, and BG_S_PARTIAL_COMPLETE when some had
// not (their temporary files are removed and their local files not created);
// BG_S_UNABLE_TO_DELETE_FILES when a temporary file could not be removed. When a rename fails,
// Complete returns its error and the job stays in the queue, TRANSFERRED: the files renamed so
// far stay available, and a later Complete renames the rest. Before renaming anything, Complete
// checks that every finished file's temporary file is still the job's own file, of the size
// transferred: otherwise it returns BG_E_LOCAL_FILE_CHANGED (E_ACCESSDENIED when its directory
// can no longer be reached inside the local roots) and changes nothing. Upload jobs can be
// completed only when TRANSFERRED; Complete of an upload-reply job renames the reply's temporary
// file to the reply file name (GetReplyFileName), as it renames a download's files, and Complete
// of an upload needs no network: the server has the file and the session was closed before the
// job became TRANSFERRED. BG_E_INVALID_STATE for a final job, or for an upload job that is not
// TRANSFERRED. Complete also marks every kept file as validated. When the job's changes
// are kept (Env.Keep) and its end cannot be, Complete fails with that error and the job stays as
// it was, TRANSFERRED; files it renamed already stay available, and a later Complete finds them
// done.
func (j *Job) Complete() (hresult.Code, error) {
	var o op
	if err := j.beginChange(&o, state.Complete, "Complete"); err != nil {
		return 0, err
	}
	out, err := o.check()
	if err != nil {
		o.commit(&err)
		return 0, err
	}
	c := j.c
	// The files of a download, the reply of an upload-reply job (an upload's own file stays
	// where it is: the server has it).
	doomed, verified, ferr := c.completeFiles()
	if ferr != nil {
		if verified {
			// A rename failed: the job stays in the queue, TRANSFERRED; files already
			// renamed stay available (IBackgroundCopyJob::Complete).
			o.move(state.Transferred, 0)
		}
		err := o.failErr(fileCode(ferr), ferr)
		o.commit(&err)
		return 0, err
	}
	o.doomed = doomed
	for _, fc := range c.files {
		if fc.done {
			fc.validated, fc.validationSet = true, true
		}
	}
	o.move(out.To, 0)
	code := out.Code
	if !o.commit(&err) {
		code = hresult.BG_S_UNABLE_TO_DELETE_FILES
	}
	if err != nil {
		// The store could not forget the job: it stays as it was. The files renamed so far
		// stay available, and a later Complete finds them done (see completeFiles).
		return 0, err
	}
	return code, nil
}

// TakeOwnership makes the caller the job's owner (IBackgroundCopyJob::TakeOwnership). Only an
// administrator may: anyone else gets E_ACCESSDENIED. It removes the job's credentials, custom
// headers and notify command line, as BITS does. BG_E_INVALID_STATE for a final job.
func (j *Job) TakeOwnership() (err error) {
	var o op
	if err := j.beginChange(&o, state.TakeOwnership, "TakeOwnership"); err != nil {
		return err
	}
	defer o.commit(&err)
	if !j.caller.id.Admin {
		return o.fail(hresult.E_ACCESSDENIED)
	}
	if _, err := o.check(); err != nil {
		return err
	}
	c := j.c
	prev := c.owner.SID
	c.owner = j.caller.id
	x := c.own()
	x.creds = nil
	x.headers = ""
	x.cmdProgram, x.cmdParams = "", ""
	o.touch()
	o.emit(Change{Kind: OwnerChanged, PrevOwner: prev})
	return nil
}

// GetId returns the job's GUID (IBackgroundCopyJob::GetId).
func (j *Job) GetId() (uuid.UUID, error) { //nolint:revive // BITS spelling
	return get(j, state.GetId, "GetId", func(c *core) uuid.UUID { return c.id })
}

// GetType returns the job type (IBackgroundCopyJob::GetType).
func (j *Job) GetType() (bits.JobType, error) {
	return get(j, state.GetType, "GetType", func(c *core) bits.JobType { return c.typ })
}

// GetState returns the job state (IBackgroundCopyJob::GetState). It works in every state,
// including the final ones.
func (j *Job) GetState() (state.State, error) {
	return get(j, state.GetState, "GetState", func(c *core) state.State { return c.st })
}

// GetProgress returns the job's progress (IBackgroundCopyJob::GetProgress).
func (j *Job) GetProgress() (bits.Progress, error) {
	return get(j, state.GetProgress, "GetProgress", func(c *core) bits.Progress { return c.progress() })
}

func (c *core) progress() bits.Progress {
	p := bits.Progress{FilesTotal: uint32(len(c.files))}
	for _, fc := range c.files {
		if fc.done {
			p.FilesTransferred++
		}
		p.BytesTransferred += fc.transferred
		if fc.total == bits.SizeUnknown || p.BytesTotal == bits.SizeUnknown {
			p.BytesTotal = bits.SizeUnknown
		} else {
			p.BytesTotal += fc.total
		}
	}
	return p
}

// GetTimes returns the job's creation, modification and transfer-completion times
// (IBackgroundCopyJob::GetTimes).
func (j *Job) GetTimes() (bits.Times, error) {
	return get(j, state.GetTimes, "GetTimes", func(c *core) bits.Times {
		return bits.Times{CreationTime: c.created, ModificationTime: c.modified, TransferCompletionTime: c.completed}
	})
}

// GetOwner returns the SID of the job's owner (IBackgroundCopyJob::GetOwner).
func (j *Job) GetOwner() (string, error) {
	return get(j, state.GetOwner, "GetOwner", func(c *core) string { return c.owner.SID })
}

// GetErrorCount returns how many times a transfer attempt of the job failed
// (IBackgroundCopyJob::GetErrorCount). It is never reset; network loss does not count.
func (j *Job) GetErrorCount() (uint32, error) {
	return get(j, state.GetErrorCount, "GetErrorCount", func(c *core) uint32 { return c.errorCount })
}

// GetOwnerIntegrityLevel returns the integrity level of the owner's token
// (IBackgroundCopyJob4::GetOwnerIntegrityLevel): IntegritySystem for service accounts,
// IntegrityHigh for administrators, IntegrityMedium otherwise.
func (j *Job) GetOwnerIntegrityLevel() (uint32, error) {
	return get(j, state.GetOwnerIntegrityLevel, "GetOwnerIntegrityLevel", func(c *core) uint32 { return c.owner.IntegrityLevel() })
}

// GetOwnerElevationState reports whether the owner was elevated when it created or took the job
// (IBackgroundCopyJob4::GetOwnerElevationState).
func (j *Job) GetOwnerElevationState() (bool, error) {
	return get(j, state.GetOwnerElevationState, "GetOwnerElevationState", func(c *core) bool { return c.owner.Admin })
}
