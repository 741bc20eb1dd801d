package manager

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// transfer transfers a picked job's files one at a time, in order (life-cycle page, AddFile),
// until the last is done, a file fails or the run ends. The run ends when the job leaves
// CONNECTING and TRANSFERRING for any other reason (Suspend, Cancel, Complete, a time slice, a
// timer, the network); its context is then cancelled. It runs on a worker of the scheduler's
// pool, once the worker of the job's previous run has returned (sched.start).
func (s *sched) transfer(r *run) {
	ctx := s.runContext(r)
	if ctx == nil {
		return
	}
	j := r.e.job
	v := j.TransferView()
	opts := transfer.Options{
		Headers:        v.Headers,
		Method:         v.Method,
		Credentials:    v.Credentials,
		ProxyUsage:     v.ProxyUsage,
		ProxyList:      v.ProxyList,
		ProxyBypass:    v.ProxyBypass,
		SecurityFlags:  v.SecurityFlags,
		DynamicContent: v.DynamicContent,
		Foreground:     r.fg.Load(),
	}
	if s.bg != nil {
		// The bandwidth policy applies to background jobs, and follows a change of priority
		// while the job transfers.
		opts.Limiter, opts.Limited, opts.LimitWake = s.bg, func() bool { return !r.fg.Load() }, r.limitWake
	}
	// What the job may read: below the local roots when there are some, never the store.
	opts.ReadRoots, opts.NoRead = s.m.env.LocalRoots, s.m.noRead
	if filesAs := s.m.env.FilesAs; filesAs != nil {
		owner := v.Owner
		opts.ReadAs = func(open func()) error { return filesAs(owner, open) }
	}
	obs := &fileObserver{s: s, j: j, connected: v.State == state.Transferring}
	if v.Type != bits.Download {
		s.upload(r, v, opts, obs)
		return
	}
	pending := false
	for from := 0; ; {
		for i := from; i < len(v.Files); i++ {
			if r.stopped.Load() {
				return
			}
			if v.Files[i].Done {
				continue
			}
			pending = true
			if v.MaxDownloadSize != 0 {
				// The files before this one have just been fetched: count them as they are now.
				opts.LimitSize, opts.MaxSize = sizeLeft(j.TransferView(), i)
			}
			if !s.fetchFile(ctx, r, i, opts, obs) {
				return
			}
		}
		// Files added while the job transferred are fetched in the same turn: the job stays
		// TRANSFERRING until its last file is done (AddFile).
		from = len(v.Files)
		if v = j.TransferView(); len(v.Files) == from || !state.Running.Has(v.State) || r.stopped.Load() {
			break
		}
	}
	if !pending && len(v.Files) > 0 && !r.stopped.Load() {
		// Every file was done already: nothing to fetch, the job is transferred.
		obs.connect()
		_, _ = j.FireFileDone(len(v.Files) - 1)
	}
}

// sizeLeft is what the job's maximum download size leaves for file i once the bytes of its
// other files are counted (finished ones at their size, others at what they hold); false when
// the job has no cap.
func sizeLeft(v job.TransferView, i int) (bool, uint64) {
	if v.MaxDownloadSize == 0 {
		return false, 0
	}
	var used uint64
	for k, f := range v.Files {
		if k == i {
			continue
		}
		n := f.Transferred
		if f.Done && f.Total != bits.SizeUnknown {
			n = f.Total
		}
		used += min(n, v.MaxDownloadSize-used) // never past the cap, never overflowing
	}
	return true, v.MaxDownloadSize - used
}

// fetchFile transfers file i and marks it done. It reports whether the job should go on with
// the next file.
func (s *sched) fetchFile(ctx context.Context, r *run, i int, opts transfer.Options, obs *fileObserver) bool {
	j := r.e.job
	dst, err := j.OpenTemp(i)
	if err != nil {
		if !r.stopped.Load() && !errors.Is(err, hresult.BG_E_INVALID_STATE) {
			s.fail(j, i, &transfer.Error{Code: hresult.Of(err), Context: bits.ContextLocalFile, Err: err}, false)
		}
		return false
	}
	// OpenTemp may have reconciled the recorded progress with the file: read it afterwards.
	f, _ := j.TransferFile(i)
	if opts.Method != "" && f.Transferred > 0 {
		// A job with a custom HTTP method restarts its transfer from the beginning
		// (IBackgroundCopyJobHttpOptions2::SetHttpMethod).
		if err := dst.Truncate(0); err == nil {
			_ = j.FileProgress(i, f.Total, 0)
			f.Transferred = 0
		}
	}
	obs.file, obs.validator, obs.dst = i, f.Validator, dst
	obs.saved, obs.savedAt, obs.cp = f.Transferred, s.clk.Now(), nil
	spec := transfer.Spec{Remote: f.Remote, Ranges: f.Ranges, Offset: f.Transferred, Total: f.Total, Validator: f.Validator}
	if !s.fetched(r, i, obs, dst, s.client.Fetch(ctx, spec, opts, dst, obs), opts.Method != "") {
		return false
	}
	obs.connect()
	_, err = j.FireFileDone(i)
	return err == nil
}

// fetched ends the fetch of file i (of the reply, for an upload-reply job, as file 0) into dst,
// whose error is err: what arrived is synced before the job's record says so, dst is closed,
// and a failure is recorded (see fail) unless the run was stopped. It reports whether the fetch
// succeeded.
func (s *sched) fetched(r *run, i int, obs *fileObserver, dst *os.File, err error, customMethod bool) bool {
	if s.m.store != nil {
		if err == nil && finalSyncLater && !s.stepped && !obs.reply && !r.stopped.Load() && !obs.stopped {
			// The file is complete: it counts as done now, and the finalSyncer syncs and
			// records it afterwards (finalsync.go), once a checkpoint under way has ended.
			s.m.finals.add(r.e.job, obs.index(), dst, obs.cp)
			return true
		}
		// Whatever happened, what arrived is on disk before the job's record says so.
		if obs.cp != nil {
			obs.cp.close()
		}
		serr := dataSync(dst)
		if serr == nil {
			r.e.job.FileSynced(obs.index(), ^uint64(0))
			if err != nil {
				s.m.persist(r.e.job)
			}
		} else if err == nil {
			err = &transfer.Error{Code: job.DiskCode(serr), Context: bits.ContextLocalFile, Transient: true, Err: serr}
		}
	}
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = &transfer.Error{Code: job.DiskCode(cerr), Context: bits.ContextLocalFile, Transient: true, Err: cerr}
	}
	if r.stopped.Load() || obs.stopped {
		return false
	}
	if err != nil {
		s.fail(r.e.job, i, asTransferError(err), customMethod)
		return false
	}
	return true
}

// asTransferError is err as a *transfer.Error: itself, or a transient E_FAIL of the transport.
func asTransferError(err error) *transfer.Error {
	var te *transfer.Error
	if !errors.As(err, &te) {
		te = &transfer.Error{Code: hresult.E_FAIL, Context: bits.ContextGeneralTransport, Transient: true, Err: err}
	}
	return te
}

// fail records a transfer failure of file i: TRANSIENT_ERROR or ERROR as the error says.
func (s *sched) fail(j *job.Engine, i int, te *transfer.Error, customMethod bool) {
	ev := state.FatalFailure
	if te.Transient && !customMethod {
		// With a custom HTTP method, errors that would be transient put the job in ERROR
		// (IBackgroundCopyJobHttpOptions2::SetHttpMethod).
		ev = state.TransientFailure
	}
	_, _ = j.FireError(ev, job.Failure{Context: te.Context, Code: te.Code, File: i, Protocol: te.Protocol})
}

// fileObserver carries a fetch's events into the job.
type fileObserver struct {
	s         *sched
	j         *job.Engine
	dst       *os.File
	file      int
	connected bool
	validator string
	stopped   bool // the job refused the progress: it is final

	saved   uint64        // progress as recorded when the fetch began
	savedAt time.Time     // when the fetch began
	cp      *checkpointer // the fetch's, once it wrote enough to need one (kept jobs only)

	reply bool // the file is an upload-reply job's reply
}

// replyFile is the file index job.Engine.FileSynced takes for an upload-reply job's reply.
const replyFile = -1

// index is the observed file's index for job.Engine.FileSynced.
func (o *fileObserver) index() int {
	if o.reply {
		return replyFile
	}
	return o.file
}

// Waiting counts the transfers that wait on their peer, for Manager.WaitIdle.
func (o *fileObserver) Waiting(w bool) { o.s.count(&o.s.waiting, w) }

// Sleeping counts the transfers that wait on the clock alone (the bandwidth limit), for
// Manager.WaitIdle.
func (o *fileObserver) Sleeping(w bool) { o.s.count(&o.s.sleeping, w) }

// count adds a transfer to n while a wait lasts; the wait's end is activity.
func (s *sched) count(n *atomic.Int64, w bool) {
	if w {
		n.Add(1)
		return
	}
	n.Add(-1)
	s.m.activity()
}

// Connected moves the job from CONNECTING to TRANSFERRING, once.
func (o *fileObserver) Connected() { o.connect() }

func (o *fileObserver) connect() {
	if !o.connected {
		o.connected = true
		_, _ = o.j.Fire(state.Connect)
	}
}

// Progressed records the file's progress, its remote version and a reported redirect.
func (o *fileObserver) Progressed(p transfer.Progress) error {
	if o.reply {
		// The reply keeps its URL: a redirect is followed, not reported.
		if err := o.j.ReplyProgress(p.Total, p.Transferred, p.Validator); err != nil {
			o.stopped = true
			return err
		}
		if o.s.m.store != nil {
			o.checkpoint(p.Transferred)
		}
		return nil
	}
	if p.Validator != o.validator {
		o.validator = p.Validator
		_ = o.j.SetFileValidator(o.file, p.Validator)
	}
	if p.URL != "" {
		_ = o.j.Redirected(o.file, p.URL)
	}
	if err := o.j.FileProgress(o.file, p.Total, p.Transferred); err != nil {
		o.stopped = true
		return err
	}
	if o.s.m.store != nil {
		o.checkpoint(p.Transferred)
	}
	return nil
}

// checkpoint hands the fetch's progress to its checkpointer (checkpoint.go), starting it with
// the fetch's first new bytes: a file whose fetch ends within CheckpointInterval and
// CheckpointBytes is synced once, when it ends. On a virtual clock the checkpoint is made here, on the transfer's
// goroutine, so that it happens at the same point of every run and nothing is written between
// two steps of the clock.
func (o *fileObserver) checkpoint(n uint64) {
	if o.s.stepped {
		now := o.s.clk.Now()
		if n >= o.saved && n-o.saved < CheckpointBytes && now.Sub(o.savedAt) < CheckpointInterval {
			return
		}
		if dataSync(o.dst) == nil {
			o.j.FileSynced(o.index(), n)
			o.s.m.persist(o.j)
			o.saved, o.savedAt = n, now
		}
		return
	}
	if o.cp == nil {
		if n == o.saved {
			return
		}
		o.cp = newCheckpointer(o.s, o.j, o.index(), o.dst, o.saved, o.savedAt)
	}
	o.cp.wrote(n)
}
