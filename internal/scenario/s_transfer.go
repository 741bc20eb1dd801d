package scenario

import (
	"math/rand/v2"
	"os"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// payload returns n bytes that differ from run to run of the same size only by seed, so that
// a byte out of place shows in the digest.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// transfer downloads the files (name → content) in one job, waits for TRANSFERRED, completes
// the job and records the delivered files' digests. It returns the job, or nil when it did
// not reach TRANSFERRED.
func (e *Env) transfer(names []string, content map[string][]byte) bits.Job {
	j := e.CreateJob(e.Marker(), bits.Download)
	var set []bits.FileInfo
	for _, n := range names {
		set = append(set, bits.FileInfo{RemoteName: e.Serve(n, content[n]), LocalName: e.Path(n)})
	}
	e.Must("AddFileSet", j.AddFileSet(set))
	e.Must("Resume", j.Resume())
	if !e.Await("state", j, state.Transferred, settled...) {
		return nil
	}
	return j
}

func transferScenarios() []Scenario {
	return []Scenario{
		{
			Name: "transfer/one-file",
			Docs: []string{"IBackgroundCopyJob::Complete (the files appear under their local names)", "BG_JOB_PROGRESS", "BG_FILE_PROGRESS", "BG_JOB_TIMES", "IBackgroundCopyJob::GetError (BG_E_ERROR_INFORMATION_UNAVAILABLE after a transfer without errors)"},
			Run: func(e *Env) {
				data := payload(100_000, 1)
				j := e.transfer([]string{"one.bin"}, map[string][]byte{"one.bin": data})
				if j == nil {
					return
				}
				// The local file is created by Complete, not before (IBackgroundCopyJob::Complete).
				e.Eq("local file before Complete", FileDigest(e.Path("one.bin")), "absent")
				e.progress("GetProgress", j, bits.Progress{BytesTotal: 100_000, BytesTransferred: 100_000, FilesTotal: 1, FilesTransferred: 1})
				if t, err := j.GetTimes(); e.HR("GetTimes", err, hresult.S_OK) {
					e.True("TransferCompletionTime set", !t.TransferCompletionTime.IsZero())
					e.True("TransferCompletionTime >= CreationTime", !t.TransferCompletionTime.Before(t.CreationTime))
					e.True("ModificationTime >= CreationTime", !t.ModificationTime.Before(t.CreationTime))
				}
				_, err := j.GetError()
				e.HR("GetError", err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE)
				Get(e, "GetErrorCount", j.GetErrorCount, uint32(0))
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				Get(e, "GetState", j.GetState, state.Acknowledged)
				e.Eq("local file", FileDigest(e.Path("one.bin")), Digest(data))
				if fs := e.files(j); e.Eq("files", len(fs), 1) {
					e.fileProgress("file GetProgress", fs[0], bits.FileProgress{BytesTotal: 100_000, BytesTransferred: 100_000, Completed: true})
				}
			},
		},
		{
			Name: "transfer/three-files",
			Docs: []string{"IBackgroundCopyJob::AddFileSet", "BG_JOB_PROGRESS (sums over the files)", "IBackgroundCopyJob::Complete"},
			Run: func(e *Env) {
				content := map[string][]byte{"a.bin": payload(1000, 2), "b.bin": payload(20_000, 3), "c.bin": payload(5, 4)}
				names := []string{"a.bin", "b.bin", "c.bin"}
				j := e.transfer(names, content)
				if j == nil {
					return
				}
				e.progress("GetProgress", j, bits.Progress{BytesTotal: 21_005, BytesTransferred: 21_005, FilesTotal: 3, FilesTransferred: 3})
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				for _, n := range names {
					e.Eq("local file "+n, FileDigest(e.Path(n)), Digest(content[n]))
				}
			},
		},
		{
			Name: "transfer/zero-length",
			Docs: []string{"IBackgroundCopyJob::Complete", "BG_FILE_PROGRESS"},
			Run: func(e *Env) {
				j := e.transfer([]string{"empty.bin"}, map[string][]byte{"empty.bin": {}})
				if j == nil {
					return
				}
				e.progress("GetProgress", j, bits.Progress{FilesTotal: 1, FilesTransferred: 1})
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("empty.bin")), Digest(nil))
			},
		},
		{
			Name: "transfer/eight-mib",
			Docs: []string{"IBackgroundCopyJob::Complete", "BG_JOB_PROGRESS"},
			Run: func(e *Env) {
				data := payload(8<<20, 5)
				j := e.transfer([]string{"big.bin"}, map[string][]byte{"big.bin": data})
				if j == nil {
					return
				}
				e.progress("GetProgress", j, bits.Progress{BytesTotal: 8 << 20, BytesTransferred: 8 << 20, FilesTotal: 1, FilesTransferred: 1})
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("big.bin")), Digest(data))
			},
		},
		{
			Name: "transfer/local-source",
			Docs: []string{"BG_FILE_INFO (a remote name may be a local or SMB path)", "IBackgroundCopyJob::Complete"},
			Run: func(e *Env) {
				data := payload(3000, 6)
				src := e.Path("source.bin")
				if err := os.WriteFile(src, data, 0o644); err != nil {
					e.Eq("write source", err.Error(), "nil")
					return
				}
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("AddFile", j.AddFile(src, e.Path("copy.bin")), hresult.S_OK)
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("copy.bin")), Digest(data))
			},
		},
		{
			Name: "transfer/cancel-removes-temporary-file",
			Docs: []string{"IBackgroundCopyJob::Cancel (deletes the temporary files)", "IBackgroundCopyFile3::GetTemporaryName", "Completing and Canceling a Job"},
			Run: func(e *Env) {
				j, local := e.stalled()
				if !e.Await("state while the server stalls", j, state.Transferring, settled...) {
					return
				}
				fs := e.files(j)
				if !e.Eq("files", len(fs), 1) {
					return
				}
				tmp, err := fs[0].GetTemporaryName()
				if e.HR("GetTemporaryName", err, hresult.S_OK) {
					e.True("temporary file exists while transferring", e.WaitFor(func() bool { _, err := os.Stat(tmp); return err == nil }))
				}
				code, err := j.Cancel()
				e.Code("Cancel", code, err, hresult.S_OK)
				if tmp != "" {
					_, err := os.Stat(tmp)
					e.True("temporary file gone after Cancel", os.IsNotExist(err))
				}
				e.Eq("local file", FileDigest(local), "absent")
				e.Eq("directory after Cancel", e.Entries(), "(empty)")
			},
		},
		{
			Name: "transfer/ranges",
			Docs: []string{"IBackgroundCopyJob3::AddFileWithRanges (the ranges are written one after another in the order given)", "BG_FILE_RANGE"},
			Run: func(e *Env) {
				data := payload(1000, 7)
				j := e.CreateJob(e.Marker(), bits.Download)
				ranges := []bits.FileRange{{InitialOffset: 100, Length: 50}, {InitialOffset: 900, Length: bits.LengthToEOF}}
				e.Must("AddFileWithRanges", j.AddFileWithRanges(e.Serve("r.bin", data), e.Path("r.bin"), ranges))
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				want := append(append([]byte{}, data[100:150]...), data[900:]...)
				e.Eq("local file", FileDigest(e.Path("r.bin")), Digest(want))
			},
		},
		{
			Name: "transfer/custom-headers-sent",
			Docs: []string{"IBackgroundCopyJobHttpOptions::SetCustomHeaders (sent with every HTTP request)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("h.bin", []byte("headers")), e.Path("h.bin")))
				e.HR("SetCustomHeaders", j.SetCustomHeaders("X-Scenario: differential\r\n"), hresult.S_OK)
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				reqs := e.Requests()
				all := len(reqs) > 0
				for _, r := range reqs {
					all = all && r.Header.Get("X-Scenario") == "differential"
				}
				e.True("every request carried the header", all)
			},
		},
		{
			Name: "transfer/redirect-followed",
			Docs: []string{"IBackgroundCopyJobHttpOptions::SetSecurityFlags (BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT by default: redirects are followed)"},
			Run: func(e *Env) {
				data := payload(2000, 8)
				target := e.Serve("target.bin", data)
				j := e.CreateJob(e.Marker(), bits.Download)
				remote := e.URL(e.prefix + "/redirect/r.bin?to=" + strings.TrimPrefix(target, e.Base()))
				e.Must("AddFile", j.AddFile(remote, e.Path("r.bin")))
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("r.bin")), Digest(data))
			},
		},
		{
			Name: "transfer/redirect-disallowed",
			Docs: []string{"IBackgroundCopyJobHttpOptions::SetSecurityFlags (BG_HTTP_REDIRECT_POLICY_DISALLOW: a redirect puts the job in ERROR with HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT) for a 302)"},
			Run: func(e *Env) {
				target := e.Serve("target.bin", []byte("never"))
				remote := e.URL(e.prefix + "/redirect/r.bin?to=" + strings.TrimPrefix(target, e.Base()))
				j, ok := e.failing(remote, state.Error, func(j bits.Job) {
					e.HR("SetSecurityFlags(DISALLOW)", j.SetSecurityFlags(bits.RedirectPolicyDisallow), hresult.S_OK)
				})
				if ok {
					je, err := j.GetError()
					if e.HR("GetError", err, hresult.S_OK) {
						_, code, err := je.GetError()
						if e.HR("error GetError", err, hresult.S_OK) {
							e.Eq("error code", code.Name(), hresult.HTTP_STATUS_REDIRECT.Name())
						}
					}
				}
			},
		},
		{
			Name: "transfer/replace-remote-prefix",
			Docs: []string{"IBackgroundCopyJob3::ReplaceRemotePrefix (S_FALSE when no name matched)", "IBackgroundCopyFile::GetRemoteName"},
			Run: func(e *Env) {
				data := payload(500, 9)
				good := e.Serve("p.bin", data)
				wrong := strings.Replace(good, "/f/", "/wrong/", 1)
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(wrong, e.Path("p.bin")))
				oldPrefix := wrong[:strings.Index(wrong, "/wrong/")+len("/wrong/")]
				newPrefix := good[:strings.Index(good, "/f/")+len("/f/")]
				code, err := j.ReplaceRemotePrefix(oldPrefix, newPrefix)
				e.Code("ReplaceRemotePrefix", code, err, hresult.S_OK)
				code, err = j.ReplaceRemotePrefix("http://nowhere.example/", "http://elsewhere.example/")
				e.Code("ReplaceRemotePrefix(no match)", code, err, hresult.S_FALSE)
				if fs := e.files(j); e.Eq("files", len(fs), 1) {
					Same(e, "GetRemoteName", fs[0].GetRemoteName, good)
				}
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err = j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("p.bin")), Digest(data))
			},
		},
		{
			Name: "transfer/set-remote-name",
			Docs: []string{"IBackgroundCopyFile2::SetRemoteName", "IBackgroundCopyFile::GetRemoteName"},
			Run: func(e *Env) {
				data := payload(700, 10)
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.StatusURL(404, "gone.bin"), e.Path("s.bin")))
				fs := e.files(j)
				if !e.Eq("files", len(fs), 1) {
					return
				}
				good := e.Serve("s.bin", data)
				e.HR("SetRemoteName", fs[0].SetRemoteName(good), hresult.S_OK)
				Same(e, "GetRemoteName", fs[0].GetRemoteName, good)
				e.HR("SetRemoteName(ftp)", fs[0].SetRemoteName("ftp://127.0.0.1/s.bin"), hresult.E_INVALIDARG)
				e.Must("Resume", j.Resume())
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("s.bin")), Digest(data))
			},
		},
		{
			Name: "transfer/add-file-to-transferred-job",
			Docs: []string{"Life Cycle of a BITS Job (files may be added to a TRANSFERRED job, which Resume then transfers)"},
			Run: func(e *Env) {
				first, second := payload(300, 11), payload(400, 12)
				j := e.transfer([]string{"first.bin"}, map[string][]byte{"first.bin": first})
				if j == nil {
					return
				}
				e.HR("AddFile", j.AddFile(e.Serve("second.bin", second), e.Path("second.bin")), hresult.S_OK)
				e.HR("Resume", j.Resume(), hresult.S_OK)
				if !e.Await("state after the second file", j, state.Transferred, state.Error, state.TransientError) {
					return
				}
				e.progress("GetProgress", j, bits.Progress{BytesTotal: 700, BytesTransferred: 700, FilesTotal: 2, FilesTransferred: 2})
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("first file", FileDigest(e.Path("first.bin")), Digest(first))
				e.Eq("second file", FileDigest(e.Path("second.bin")), Digest(second))
			},
		},
		{
			Name: "transfer/short-body",
			Docs: []string{"HTTP Requirements for BITS Downloads (BITS relies on Content-Length)", "BG_JOB_STATE (TRANSIENT_ERROR: a recoverable error; BITS retries the transfer)"},
			Run: func(e *Env) {
				data := payload(64<<10, 14)
				j, ok := e.failing(e.Cut("cut.bin", data), state.TransientError, nil)
				if !ok {
					return
				}
				if p, err := j.GetProgress(); e.HR("GetProgress", err, hresult.S_OK) {
					e.Eq("FilesTransferred", p.FilesTransferred, 0)
				}
			},
		},
		{
			Name: "transfer/suspend-and-resume",
			Docs: []string{"IBackgroundCopyJob::Suspend", "IBackgroundCopyJob::Resume (a suspended job continues where it stopped)", "HTTP Requirements for BITS Downloads (ranges)"},
			Run: func(e *Env) {
				data := payload(1<<20, 13)
				j := e.CreateJob(e.Marker(), bits.Download)
				url, open := e.Stall("k.bin", data)
				e.Must("AddFile", j.AddFile(url, e.Path("k.bin")))
				e.Must("Resume", j.Resume())
				e.True("some bytes arrived", e.WaitFor(func() bool {
					p, err := j.GetProgress()
					return err == nil && p.BytesTransferred > 0
				}))
				e.HR("Suspend", j.Suspend(), hresult.S_OK)
				Get(e, "GetState after Suspend", j.GetState, state.Suspended)
				p, err := j.GetProgress()
				if e.HR("GetProgress after Suspend", err, hresult.S_OK) {
					e.True("bytes kept after Suspend", p.BytesTransferred > 0 && p.BytesTransferred <= uint64(len(data)/2))
				}
				// Only a new request gets the rest: the suspended transfer's request, had it
				// gone on, would stay stalled.
				open()
				e.HR("Resume", j.Resume(), hresult.S_OK)
				if !e.Await("state", j, state.Transferred, settled...) {
					return
				}
				code, err := j.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.Eq("local file", FileDigest(e.Path("k.bin")), Digest(data))
				ranged := false
				for _, r := range e.Requests() {
					ranged = ranged || (r.Method == "GET" && strings.HasPrefix(r.Header.Get("Range"), "bytes=") && !strings.HasPrefix(r.Header.Get("Range"), "bytes=0-"))
				}
				e.True("the transfer continued with a ranged GET", ranged)
			},
		},
	}
}
