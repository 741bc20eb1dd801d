package scenario

import (
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// grace is how long a scenario waits to see that a notification does not come. It bounds a
// negative fact only; every positive one is waited for with the run's wait bound.
const grace = 500 * time.Millisecond

// complete completes the job from inside a callback and describes the result as an event.
func complete(j bits.Job) (string, error) {
	code, err := j.Complete()
	if err != nil {
		code = hresult.Of(err)
	}
	return "Complete:" + code.Name(), err
}

// completer returns a Recorder whose JobTransferred completes the job and records the result.
func completer() *Recorder { return &Recorder{OnTransferred: complete} }

func notifyScenarios() []Scenario {
	return []Scenario{
		{
			Name: "notify/transferred-complete-in-callback",
			Docs: []string{"IBackgroundCopyCallback::JobTransferred (the usual place to call Complete)", "IBackgroundCopyJob::SetNotifyInterface", "IBackgroundCopyJob::Complete"},
			Run: func(e *Env) {
				data := []byte("delivered through a callback")
				j := e.CreateJob(e.Marker(), bits.Download)
				local := e.Path("cb.bin")
				e.Must("AddFile", j.AddFile(e.Serve("cb.bin", data), local))
				rec := completer()
				e.HR("SetNotifyInterface", j.SetNotifyInterface(rec), hresult.S_OK)
				e.Must("Resume", j.Resume())
				e.True("JobTransferred and Complete arrived", e.WaitFor(func() bool { return rec.Has("Complete:") }))
				e.Eq("callbacks", rec.Events(), "JobTransferred,Complete:S_OK")
				Get(e, "GetState", j.GetState, state.Acknowledged)
				e.Eq("local file", FileDigest(local), Digest(data))
			},
		},
		{
			Name: "notify/error-callback",
			Docs: []string{"IBackgroundCopyCallback::JobError (called when the job enters ERROR)", "BITS Return Values (BG_E_HTTP_ERROR_404)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.StatusURL(404, "missing.bin"), e.Path("out.bin")))
				rec := &Recorder{}
				e.HR("SetNotifyInterface", j.SetNotifyInterface(rec), hresult.S_OK)
				e.Must("Resume", j.Resume())
				e.True("JobError arrived", e.WaitFor(func() bool { return rec.Has("JobError") }))
				e.Eq("callbacks", rec.Events(), "JobError:BG_E_HTTP_ERROR_404")
				Get(e, "GetState", j.GetState, state.Error)
			},
		},
		{
			Name: "notify/no-error-callback-for-transient",
			Docs: []string{"IBackgroundCopyCallback::JobError (not called for TRANSIENT_ERROR)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Refused(), e.Path("out.bin")))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.TransientError, settled...) {
					return
				}
				e.Hold(grace)
				e.Eq("callbacks", rec.Events(), "(none)")
			},
		},
		{
			Name: "notify/modification",
			Docs: []string{"IBackgroundCopyCallback::JobModification (called on changes when BG_NOTIFY_JOB_MODIFICATION is set)", "IBackgroundCopyJob::SetNotifyFlags"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("m.bin", make([]byte, 4096)), e.Path("m.bin")))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.HR("SetNotifyFlags(TRANSFERRED|ERROR|MODIFICATION)", j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyJobModification), hresult.S_OK)
				e.Must("Resume", j.Resume())
				e.True("JobTransferred arrived", e.WaitFor(func() bool { return rec.Has("JobTransferred") }))
				e.True("JobModification arrived", e.WaitFor(func() bool { return rec.Modifications() > 0 }))
			},
		},
		{
			Name: "notify/no-modification-without-flag",
			Docs: []string{"IBackgroundCopyJob::SetNotifyFlags (JobModification only with BG_NOTIFY_JOB_MODIFICATION)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("m.bin", make([]byte, 4096)), e.Path("m.bin")))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.Must("Resume", j.Resume())
				e.True("JobTransferred arrived", e.WaitFor(func() bool { return rec.Has("JobTransferred") }))
				e.Hold(grace)
				e.Eq("JobModification calls", rec.Modifications(), 0)
			},
		},
		{
			Name: "notify/disable",
			Docs: []string{"IBackgroundCopyJob::SetNotifyFlags (BG_NOTIFY_DISABLE: no notifications, the other flags are ignored)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("d.bin", []byte("d")), e.Path("d.bin")))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.HR("SetNotifyFlags(DISABLE|TRANSFERRED)", j.SetNotifyFlags(bits.NotifyDisable|bits.NotifyJobTransferred), hresult.S_OK)
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				e.Hold(grace)
				e.Eq("callbacks", rec.Events(), "(none)")
			},
		},
		{
			Name: "notify/flags-without-transferred",
			Docs: []string{"IBackgroundCopyJob::SetNotifyFlags (JobTransferred only with BG_NOTIFY_JOB_TRANSFERRED)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("d.bin", []byte("d")), e.Path("d.bin")))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.HR("SetNotifyFlags(ERROR)", j.SetNotifyFlags(bits.NotifyJobError), hresult.S_OK)
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				e.Hold(grace)
				e.Eq("callbacks", rec.Events(), "(none)")
			},
		},
		{
			Name: "notify/registered-after-transfer",
			Docs: []string{"IBackgroundCopyJob::SetNotifyInterface (BITS calls the callback even when the event happened before it was registered)", "Registering a COM Callback"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("late.bin", []byte("late")), e.Path("late.bin")))
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				rec := completer()
				e.HR("SetNotifyInterface", j.SetNotifyInterface(rec), hresult.S_OK)
				e.True("JobTransferred arrived", e.WaitFor(func() bool { return rec.Has("Complete:") }))
				e.Eq("callbacks", rec.Events(), "JobTransferred,Complete:S_OK")
			},
		},
		{
			Name: "notify/file-transferred",
			Docs: []string{"IBackgroundCopyCallback2::FileTransferred (one call per file, all before JobTransferred)", "IBackgroundCopyJob::SetNotifyFlags (BG_NOTIFY_FILE_TRANSFERRED)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFileSet", j.AddFileSet([]bits.FileInfo{
					{RemoteName: e.Serve("one.bin", []byte("1")), LocalName: e.Path("one.bin")},
					{RemoteName: e.Serve("two.bin", []byte("2")), LocalName: e.Path("two.bin")},
				}))
				rec := &Recorder{}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.HR("SetNotifyFlags(TRANSFERRED|ERROR|FILE_TRANSFERRED)", j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileTransferred), hresult.S_OK)
				e.Must("Resume", j.Resume())
				e.True("JobTransferred arrived", e.WaitFor(func() bool { return rec.Has("JobTransferred") }))
				e.Eq("callbacks", rec.Events(), "FileTransferred:one.bin,FileTransferred:two.bin,JobTransferred")
			},
		},
		{
			Name: "notify/transferred-retried-after-failure",
			Docs: []string{"IBackgroundCopyCallback::JobTransferred (BITS calls it again later when it does not return S_OK)", "IBackgroundCopyJob::SetMinimumRetryDelay (5 seconds at the least)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("r.bin", []byte("retry")), e.Path("r.bin")))
				e.Must("SetMinimumRetryDelay(5)", j.SetMinimumRetryDelay(5))
				var calls atomic.Int32
				rec := &Recorder{OnTransferred: func(j bits.Job) (string, error) {
					if calls.Add(1) == 1 {
						return "failed", hresult.E_FAIL
					}
					return complete(j)
				}}
				e.Must("SetNotifyInterface", j.SetNotifyInterface(rec))
				e.Must("Resume", j.Resume())
				e.True("JobTransferred called again and the job completed", e.WaitForUpTo(8*time.Second, func() bool { return rec.Has("Complete:") }))
				e.Eq("callbacks", rec.Events(), "JobTransferred,failed,JobTransferred,Complete:S_OK")
			},
		},
		{
			Name: "notify/get-interface",
			Docs: []string{"IBackgroundCopyJob::SetNotifyInterface (NULL removes the callback)", "IBackgroundCopyJob::GetNotifyInterface"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetNotifyInterface", j.SetNotifyInterface(&Recorder{}), hresult.S_OK)
				if cb, err := j.GetNotifyInterface(); e.HR("GetNotifyInterface", err, hresult.S_OK) {
					e.True("callback registered", cb != nil)
				}
				e.HR("SetNotifyInterface(NULL)", j.SetNotifyInterface(nil), hresult.S_OK)
				if cb, err := j.GetNotifyInterface(); e.HR("GetNotifyInterface after NULL", err, hresult.S_OK) {
					e.Eq("callback registered after NULL", cb != nil, false)
				}
			},
		},
		{
			Name: "notify/set-interface-final",
			Docs: []string{"IBackgroundCopyJob::SetNotifyInterface (BG_E_INVALID_STATE in a final state)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				code, err := j.Cancel()
				e.Code("Cancel", code, err, hresult.S_OK)
				e.HR("SetNotifyInterface", j.SetNotifyInterface(&Recorder{}), hresult.BG_E_INVALID_STATE)
			},
		},
	}
}
