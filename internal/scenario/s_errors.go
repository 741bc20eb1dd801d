package scenario

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// StatusURL returns a URL on the loopback server that answers every request with the HTTP
// status code.
func (e *Env) StatusURL(code int, name string) string {
	return e.URL(fmt.Sprintf("%s/status/%d/%s", e.prefix, code, name))
}

// settled are the states a resumed job rests in until the application acts.
var settled = []state.State{state.Error, state.TransientError, state.Transferred}

// failing creates a download job of one file from remote, resumes it and records the state it
// settles in against want. It reports the job and whether it reached want.
func (e *Env) failing(remote string, want state.State, tune func(j bits.Job)) (bits.Job, bool) {
	j := e.CreateJob(e.Marker(), bits.Download)
	e.Must("AddFile", j.AddFile(remote, e.Path("out.bin")))
	if tune != nil {
		tune(j)
	}
	e.Must("Resume", j.Resume())
	return j, e.Await("state", j, want, settled...)
}

// jobError records the job's error object: its context and code against the documented ones,
// and the file it names.
func (e *Env) jobError(j bits.Job, ctx bits.ErrorContext, code hresult.Code, remote string) {
	je, err := j.GetError()
	if !e.HR("GetError", err, hresult.S_OK) {
		return
	}
	c, hr, err := je.GetError()
	if e.HR("error GetError", err, hresult.S_OK) {
		e.Eq("error context", c, ctx)
		if code != 0 {
			e.Eq("error code", hr.Name(), code.Name())
		} else {
			e.True("error code is a failure", hr.Failed())
		}
	}
	f, err := je.GetFile()
	if e.HR("error GetFile", err, hresult.S_OK) && f != nil {
		Same(e, "error file GetRemoteName", f.GetRemoteName, remote)
	}
}

func errorScenarios() []Scenario {
	return []Scenario{
		{
			Name: "error/http-404",
			Docs: []string{"BITS Return Values (BG_E_HTTP_ERROR_404)", "IBackgroundCopyJob::GetError", "IBackgroundCopyError::GetError", "IBackgroundCopyError::GetFile", "IBackgroundCopyError::GetProtocol", "BG_ERROR_CONTEXT (REMOTE_FILE: the server's answer)", "IBackgroundCopyJob::GetErrorCount"},
			Run: func(e *Env) {
				remote := e.StatusURL(404, "missing.bin")
				j, ok := e.failing(remote, state.Error, nil)
				if !ok {
					return
				}
				e.jobError(j, bits.ContextRemoteFile, hresult.HTTP(404), remote)
				if je, err := j.GetError(); err == nil {
					Get(e, "error GetProtocol", je.GetProtocol, "http")
					d, err := je.GetErrorDescription(0x409)
					if e.HR("error GetErrorDescription", err, hresult.S_OK) {
						e.True("error description is not empty", strings.TrimSpace(d) != "")
					}
					d, err = je.GetErrorContextDescription(0x409)
					if e.HR("error GetErrorContextDescription", err, hresult.S_OK) {
						e.True("context description is not empty", strings.TrimSpace(d) != "")
					}
				}
				Get(e, "GetErrorCount", j.GetErrorCount, uint32(1))
				e.Eq("local file", FileDigest(e.Path("out.bin")), "absent")
			},
		},
		{
			Name: "error/http-404-resume",
			Docs: []string{"IBackgroundCopyJob::Resume (retries a job in ERROR)", "IBackgroundCopyJob::GetErrorCount (counts every failed attempt)"},
			Run: func(e *Env) {
				j, ok := e.failing(e.StatusURL(404, "missing.bin"), state.Error, nil)
				if !ok {
					return
				}
				e.HR("Resume", j.Resume(), hresult.S_OK)
				st, err := e.WaitState(j, state.Error, state.Transferred)
				if e.HR("GetState", err, hresult.S_OK) {
					e.Eq("state after the retry", st, state.Error)
				}
				Get(e, "GetErrorCount", j.GetErrorCount, uint32(2))
			},
		},
		{
			Name: "error/http-403",
			Docs: []string{"BITS Return Values (BG_E_HTTP_ERROR_403)", "Handling Server Application Errors (4xx other than 408 and 409 are fatal)"},
			Run: func(e *Env) {
				remote := e.StatusURL(403, "forbidden.bin")
				if j, ok := e.failing(remote, state.Error, nil); ok {
					e.jobError(j, bits.ContextRemoteFile, hresult.HTTP(403), remote)
				}
			},
		},
		{
			Name: "error/http-503-transient",
			Docs: []string{"BITS Return Values (BG_E_HTTP_ERROR_503)", "Handling Server Application Errors (5xx other than 501 and 505 are transient)", "BG_JOB_STATE (TRANSIENT_ERROR: a recoverable error)"},
			Run: func(e *Env) {
				remote := e.StatusURL(503, "busy.bin")
				if j, ok := e.failing(remote, state.TransientError, nil); ok {
					e.jobError(j, bits.ContextRemoteFile, hresult.HTTP(503), remote)
					Get(e, "GetErrorCount", j.GetErrorCount, uint32(1))
				}
			},
		},
		{
			Name: "error/connection-refused",
			Docs: []string{"BG_JOB_STATE (TRANSIENT_ERROR: a recoverable error, such as no connection to the server)", "IBackgroundCopyJob::GetError", "BG_ERROR_CONTEXT (GENERAL_TRANSPORT)"},
			Run: func(e *Env) {
				remote := e.Refused()
				if j, ok := e.failing(remote, state.TransientError, nil); ok {
					e.jobError(j, bits.ContextGeneralTransport, 0, remote)
				}
			},
		},
		{
			Name: "error/no-progress-timeout-zero",
			Docs: []string{"IBackgroundCopyJob::SetNoProgressTimeout (0: a transient error puts the job in ERROR at once)"},
			Run: func(e *Env) {
				e.failing(e.Refused(), state.Error, func(j bits.Job) {
					e.Must("SetNoProgressTimeout(0)", j.SetNoProgressTimeout(0))
				})
			},
		},
		{
			Name: "error/retry-delay-over-no-progress-timeout",
			Docs: []string{"IBackgroundCopyJob::SetMinimumRetryDelay (a delay over the no-progress timeout: no retry, ERROR)"},
			Run: func(e *Env) {
				e.failing(e.Refused(), state.Error, func(j bits.Job) {
					e.Must("SetNoProgressTimeout(10)", j.SetNoProgressTimeout(10))
					e.Must("SetMinimumRetryDelay(60)", j.SetMinimumRetryDelay(60))
				})
			},
		},
		{
			Name: "error/second-file-404",
			Docs: []string{"Life Cycle of a BITS Job (files transfer in order; an error stops the job)", "BG_JOB_PROGRESS", "IBackgroundCopyJob::Complete (BG_S_PARTIAL_COMPLETE: only the files transferred are kept)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				good := []byte("the first file arrives")
				missing := e.StatusURL(404, "second.bin")
				e.Must("AddFileSet", j.AddFileSet([]bits.FileInfo{
					{RemoteName: e.Serve("first.bin", good), LocalName: e.Path("first.bin")},
					{RemoteName: missing, LocalName: e.Path("second.bin")},
				}))
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Error, settled...) {
					return
				}
				e.jobError(j, bits.ContextRemoteFile, hresult.HTTP(404), missing)
				if p, err := j.GetProgress(); e.HR("GetProgress", err, hresult.S_OK) {
					e.Eq("FilesTransferred", p.FilesTransferred, 1)
					e.Eq("FilesTotal", p.FilesTotal, 2)
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.BG_S_PARTIAL_COMPLETE)
				e.Eq("first file", FileDigest(e.Path("first.bin")), Digest(good))
				e.Eq("second file", FileDigest(e.Path("second.bin")), "absent")
			},
		},
		{
			Name: "error/local-directory-missing",
			Docs: []string{"BG_FILE_INFO (the local directory must exist)", "decision: AddFile refuses a missing directory with ERROR_PATH_NOT_FOUND (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				local := e.Path(filepath.Join("no-such-dir", "a.bin"))
				e.HR("AddFile", j.AddFile(e.Serve("a.bin", []byte("a")), local), hresult.ERROR_PATH_NOT_FOUND)
			},
		},
	}
}
