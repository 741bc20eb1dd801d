package bitstest

import (
	"github.com/bitsemu/bitsemu/bits"
)

// Callback is a job callback made of functions, so that a test writes only the notifications it
// cares about:
//
//	err := j.SetNotifyInterface(&bitstest.Callback{
//		Transferred: func(j bits.Job) error { _, err := j.Complete(); return err },
//	})
//
// *Callback implements [bits.Callback], [bits.Callback2] and [bits.Callback3]
// (IBackgroundCopyCallback, 2 and 3). A nil field does nothing and returns nil, which the
// manager takes as S_OK: the notification counts as delivered, is not retried and does not fall
// back to the notify command line. Which notifications are delivered at all still depends on the
// job's notify flags (SetNotifyFlags): by default only JobTransferred and JobError.
//
// The functions are called on the manager's delivery goroutines, one at a time for a job but
// concurrently for different jobs, and may call back into the job or the manager. An error
// makes the manager call JobTransferred, JobError or FileTransferred again after the job's
// minimum retry delay; for the first two, a notify command line the job has runs in its place.
type Callback struct {
	// Transferred is JobTransferred: every file of the job has been transferred.
	Transferred func(j bits.Job) error
	// Error is JobError: the job entered ERROR; e describes the error.
	Error func(j bits.Job, e bits.Error) error
	// Modified is JobModification: the job's state, progress, files or properties changed
	// (with bits.NotifyJobModification set).
	Modified func(j bits.Job) error
	// FileDone is FileTransferred: the file f of the job has been transferred (with
	// bits.NotifyFileTransferred set).
	FileDone func(j bits.Job, f bits.File) error
	// RangesDone is FileRangesTransferred: ranges of f have been transferred (on-demand jobs,
	// with bits.NotifyFileRangesTransferred set).
	RangesDone func(j bits.Job, f bits.File, ranges []bits.FileRange) error
}

// JobTransferred calls c.Transferred, if set.
func (c *Callback) JobTransferred(j bits.Job) error {
	if c.Transferred == nil {
		return nil
	}
	return c.Transferred(j)
}

// JobError calls c.Error, if set.
func (c *Callback) JobError(j bits.Job, e bits.Error) error {
	if c.Error == nil {
		return nil
	}
	return c.Error(j, e)
}

// JobModification calls c.Modified, if set.
func (c *Callback) JobModification(j bits.Job) error {
	if c.Modified == nil {
		return nil
	}
	return c.Modified(j)
}

// FileTransferred calls c.FileDone, if set.
func (c *Callback) FileTransferred(j bits.Job, f bits.File) error {
	if c.FileDone == nil {
		return nil
	}
	return c.FileDone(j, f)
}

// FileRangesTransferred calls c.RangesDone, if set.
func (c *Callback) FileRangesTransferred(j bits.Job, f bits.File, ranges []bits.FileRange) error {
	if c.RangesDone == nil {
		return nil
	}
	return c.RangesDone(j, f, ranges)
}

var _ bits.Callback3 = (*Callback)(nil)
