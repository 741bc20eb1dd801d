package manager

import (
	"errors"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// upload runs an upload or upload-reply job's turn (BITS Upload Protocol, through
// transfer.Client.Upload), under the same policy as a download's: the job moves to
// TRANSFERRING when the server first answers, failures are transient or fatal as the transfer
// classifies them, and the bandwidth limit, the stall timeout, time slices and pre-emption apply.
//
//   - An upload job becomes TRANSFERRED once the server acknowledged every byte and its
//     session is closed: MC-BUP 1.3.2 has the client send Close-Session after the Ack to the
//     last fragment, and IBackgroundCopyJob::Complete needs no network for an upload job.
//   - An upload-reply job then downloads its reply, from the URL the last fragment's Ack gave,
//     into a temporary file beside the reply file name, as any download (HEAD, ranged GETs,
//     resumed after a cut), closes the session (Close-Session: the reply must be downloaded
//     first) and becomes TRANSFERRED (life-cycle page: the reply is part of the transfer).
//
// The session and every acknowledged offset are written to the store as they happen, so a
// manager opened again goes on in the same session from the same byte.
func (s *sched) upload(r *run, v job.TransferView, opts transfer.Options, obs *fileObserver) {
	j := r.e.job
	if len(v.Files) == 0 {
		return
	}
	f := v.Files[0]
	if f.Done {
		obs.connect()
		_, _ = j.FireFileDone(0)
		return
	}
	obs.validator = f.Validator
	uo := &uploadObserver{fileObserver: obs}
	spec := transfer.UploadSpec{
		Remote: f.Remote, Local: f.Local, Offset: f.Transferred, Validator: f.Validator,
		Session: j.UploadSession(), Reply: v.Type == bits.UploadReply,
	}
	reply, started := j.ReplyView()
	if !started || spec.Session.ReplyURL == "" {
		if err := s.client.Upload(r.ctx, spec, opts, uo); err != nil {
			s.uploadFailed(r, obs, err)
			return
		}
		spec.Session = j.UploadSession()
	}
	if spec.Reply {
		if !reply.Done && !s.fetchReply(r, opts) {
			return
		}
		if err := s.client.CloseSession(r.ctx, spec, opts, uo); err != nil {
			s.uploadFailed(r, obs, err)
			return
		}
	}
	if r.ctx.Err() != nil || obs.stopped {
		return
	}
	obs.connect()
	_, _ = j.FireFileDone(0)
}

// fetchReply downloads an upload-reply job's reply into its temporary file. It reports whether
// the reply is all there.
func (s *sched) fetchReply(r *run, opts transfer.Options) bool {
	j := r.e.job
	dst, err := j.OpenReply()
	if err != nil {
		if r.ctx.Err() == nil && !errors.Is(err, hresult.BG_E_INVALID_STATE) {
			s.fail(j, 0, &transfer.Error{Code: hresult.Of(err), Context: bits.ContextLocalFile, Err: err}, false)
		}
		return false
	}
	reply, _ := j.ReplyView()
	ro := &fileObserver{s: s, j: j, dst: dst, connected: true, reply: true,
		saved: reply.Transferred, savedAt: s.clk.Now()}
	opts.Method = "" // the reply is an ordinary download (BITS Upload Protocol page)
	spec := transfer.Spec{Remote: reply.Remote, Offset: reply.Transferred, Total: reply.Total, Validator: reply.Validator}
	if !s.fetched(r, 0, ro, dst, s.client.Fetch(r.ctx, spec, opts, dst, ro), false) {
		return false
	}
	return j.ReplyDone() == nil
}

// uploadFailed records an upload's failure, unless the run was stopped.
func (s *sched) uploadFailed(r *run, obs *fileObserver, err error) {
	if r.ctx.Err() != nil || obs.stopped {
		return
	}
	s.fail(r.e.job, 0, asTransferError(err), false)
}

// uploadObserver carries an upload's events into the job: progress is what the server
// acknowledged, the validator the local file's version; the session is recorded before the
// upload relies on it.
type uploadObserver struct {
	*fileObserver
}

// Progressed records the acknowledged bytes and the local file's version, and writes them to
// the store at once: a restarted manager goes on from the byte the server holds.
func (o *uploadObserver) Progressed(p transfer.Progress) error {
	if p.Validator != o.validator {
		o.validator = p.Validator
		_ = o.j.SetFileValidator(0, p.Validator)
	}
	if err := o.j.FileProgress(0, p.Total, p.Transferred); err != nil {
		o.stopped = true
		return err
	}
	o.s.m.persist(o.j)
	return nil
}

// SessionChanged records the session; the change is written to the store with it.
func (o *uploadObserver) SessionChanged(sess job.UploadSession) error {
	if err := o.j.SetUploadSession(sess); err != nil {
		o.stopped = true
		return err
	}
	return nil
}

// cancelWindow is how long Cancel-Session is tried again after an upload job is cancelled:
// BITS keeps sending it for up to 24 hours, or the job's no-progress timeout when that is
// shorter (IBackgroundCopyJob::Cancel).
const cancelWindow = 24 * time.Hour

// cancelSession sends Cancel-Session for an upload job that was cancelled with a session open,
// after the call that cancelled it (at the next step on a virtual clock), and again after the
// job's retry delay while it fails, for the cancel window. It counts as a running transfer for
// WaitIdle and Close.
func (s *sched) cancelSession(j *job.Engine) {
	sess := j.UploadSession()
	v := j.TransferView()
	if sess.ID == "" || len(v.Files) == 0 {
		return
	}
	window := min(cancelWindow, v.NoProgressTimeout)
	opts := transfer.Options{
		Headers: v.Headers, Credentials: v.Credentials, ProxyUsage: v.ProxyUsage,
		ProxyList: v.ProxyList, ProxyBypass: v.ProxyBypass, SecurityFlags: v.SecurityFlags,
	}
	until := s.clk.Now().Add(window)
	retry := max(v.RetryDelay, time.Second)
	var try func()
	try = func() {
		prev, ok := s.startAside(j)
		if !ok {
			return
		}
		go func() {
			defer s.endAside()
			if prev != nil {
				// One packet of a session at a time: the job's transfer stops first.
				select {
				case <-s.finished(prev):
				case <-s.stop.Done():
					return
				}
			}
			err := s.client.CancelSession(s.stop, v.Files[0].Remote, sess, opts, asideWaiter{s})
			var te *transfer.Error
			if err == nil || !errors.As(err, &te) || !te.Transient || !s.clk.Now().Add(retry).Before(until) {
				return
			}
			s.clk.AfterFunc(retry, try)
		}()
	}
	if s.stepped {
		s.clk.AfterFunc(0, try)
		return
	}
	try()
}

// startAside counts a network exchange the scheduler runs for j beside the jobs' transfers (a
// Cancel-Session) as a running transfer, unless the scheduler is closed. It returns j's run
// whose worker has not returned, if any.
func (s *sched) startAside(j *job.Engine) (*run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	s.workers++
	if e := entryOf(j); e != nil {
		return e.live, true
	}
	return nil, true
}

// endAside ends what startAside counted.
func (s *sched) endAside() {
	s.mu.Lock()
	s.workers--
	if s.workers == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
	s.m.activity()
}

// asideWaiter counts the waits of an exchange startAside counted, for WaitIdle.
type asideWaiter struct{ s *sched }

func (w asideWaiter) Waiting(b bool)  { w.s.count(&w.s.waiting, b) }
func (w asideWaiter) Sleeping(b bool) { w.s.count(&w.s.sleeping, b) }

// uploadCancelled reports whether a change cancelled an upload job, whose session (if any) is
// then cancelled on the server too.
func uploadCancelled(j *job.Engine, ch *job.Change) bool {
	if ch.Kind != job.StateChanged || ch.To != state.Cancelled {
		return false
	}
	if e := entryOf(j); e != nil {
		return e.upload // no lock: set before the job was shared
	}
	t, _ := j.SchedInfo()
	return t != bits.Download
}
