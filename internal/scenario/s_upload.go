package scenario

import (
	"os"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// uploadJob creates a job of type t and a local file to upload, and returns both.
func (e *Env) uploadJob(t bits.JobType) (bits.Job, string) {
	j := e.CreateJob(e.Marker(), t)
	src := e.Path("up.bin")
	if err := os.WriteFile(src, []byte("to the server"), 0o644); err != nil {
		e.Eq("write the file to upload", err.Error(), "nil")
		panic(abort{})
	}
	return j, src
}

func uploadScenarios() []Scenario {
	return []Scenario{
		{
			Name: "upload/one-file-only",
			Docs: []string{"IBackgroundCopyJob::AddFile (BG_E_TOO_MANY_FILES: an upload job already has its file)", "BG_JOB_TYPE (an upload job has one file)"},
			Run: func(e *Env) {
				j, src := e.uploadJob(bits.Upload)
				e.HR("AddFile", j.AddFile(e.URL(e.prefix+"/upload/up.bin"), src), hresult.S_OK)
				e.HR("AddFile second", j.AddFile(e.URL(e.prefix+"/upload/other.bin"), src), hresult.BG_E_TOO_MANY_FILES)
				if p, err := j.GetProgress(); e.HR("GetProgress", err, hresult.S_OK) {
					e.Eq("FilesTotal", p.FilesTotal, 1)
				}
			},
		},
		{
			Name: "upload/file-set-of-two",
			Docs: []string{"IBackgroundCopyJob::AddFileSet (BG_E_TOO_MANY_FILES for more than one file in an upload job; none is added)"},
			Run: func(e *Env) {
				j, src := e.uploadJob(bits.Upload)
				e.HR("AddFileSet", j.AddFileSet([]bits.FileInfo{
					{RemoteName: e.URL(e.prefix + "/upload/a.bin"), LocalName: src},
					{RemoteName: e.URL(e.prefix + "/upload/b.bin"), LocalName: src},
				}), hresult.BG_E_TOO_MANY_FILES)
				if p, err := j.GetProgress(); e.HR("GetProgress", err, hresult.S_OK) {
					e.Eq("FilesTotal", p.FilesTotal, 0)
				}
			},
		},
		{
			Name: "upload/download-only-methods",
			Docs: []string{"IBackgroundCopyJob3::AddFileWithRanges (E_NOTIMPL for upload jobs)", "IBackgroundCopyJob3::ReplaceRemotePrefix (E_NOTIMPL for upload jobs)"},
			Run: func(e *Env) {
				j, src := e.uploadJob(bits.Upload)
				e.HR("AddFileWithRanges", j.AddFileWithRanges(e.URL(e.prefix+"/upload/up.bin"), src, []bits.FileRange{{Length: 1}}), hresult.E_NOTIMPL)
				e.Must("AddFile", j.AddFile(e.URL(e.prefix+"/upload/up.bin"), src))
				code, err := j.ReplaceRemotePrefix(e.Base(), "http://localhost")
				e.Code("ReplaceRemotePrefix", code, err, hresult.E_NOTIMPL)
			},
		},
		{
			Name: "upload/http-method",
			Docs: []string{"IBackgroundCopyJobHttpOptions2::GetHttpMethod (BITS_POST for upload jobs)"},
			Run: func(e *Env) {
				j, _ := e.uploadJob(bits.Upload)
				Get(e, "GetHttpMethod", j.GetHttpMethod, "BITS_POST")
			},
		},
		{
			Name: "upload-reply/reply-methods",
			Docs: []string{"IBackgroundCopyJob2::GetReplyProgress (BytesTotal is BG_SIZE_UNKNOWN until the reply starts)", "IBackgroundCopyJob2::SetReplyFileName", "IBackgroundCopyJob2::GetReplyFileName", "IBackgroundCopyJob2::GetReplyData (BG_E_INVALID_STATE before TRANSFERRED)"},
			Run: func(e *Env) {
				j, _ := e.uploadJob(bits.UploadReply)
				if p, err := j.GetReplyProgress(); e.HR("GetReplyProgress", err, hresult.S_OK) {
					e.Eq("reply BytesTotal", Size(p.BytesTotal), Size(bits.SizeUnknown))
					e.Eq("reply BytesTransferred", p.BytesTransferred, 0)
				}
				reply := e.Path("reply.bin")
				e.HR("SetReplyFileName", j.SetReplyFileName(reply), hresult.S_OK)
				if n, err := j.GetReplyFileName(); e.HR("GetReplyFileName", err, hresult.S_OK) {
					e.True("reply file name round-trips", n == reply)
				}
				_, err := j.GetReplyData()
				e.HR("GetReplyData", err, hresult.BG_E_INVALID_STATE)
			},
		},
	}
}
