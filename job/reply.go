package job

import (
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// GetReplyProgress returns the progress of an upload-reply job's reply
// (IBackgroundCopyJob2::GetReplyProgress). E_NOTIMPL for other job types.
func (j *Job) GetReplyProgress() (bits.ReplyProgress, error) {
	return get(j, state.GetReplyProgress, "GetReplyProgress", func(c *core) bits.ReplyProgress {
		return bits.ReplyProgress{BytesTotal: bits.SizeUnknown}
	})
}

// GetReplyData returns the reply of a TRANSFERRED upload-reply job held in memory, nil when the
// server sent none (IBackgroundCopyJob2::GetReplyData). E_NOTIMPL for other job types,
// BG_E_INVALID_STATE unless the job is TRANSFERRED or ACKNOWLEDGED.
func (j *Job) GetReplyData() ([]byte, error) {
	return get(j, state.GetReplyData, "GetReplyData", func(c *core) []byte { return nil })
}

// SetReplyFileName chooses where an upload-reply job's reply is written
// (IBackgroundCopyJob2::SetReplyFileName): an absolute path of at most MAX_PATH characters in a
// directory that exists, or "" to let bitsemu choose a name beside the upload file. E_NOTIMPL for
// other job types, E_INVALIDARG for a bad name, ERROR_PATH_NOT_FOUND when its directory does not
// exist, E_ACCESSDENIED when it cannot be written, BG_E_INVALID_STATE once the reply download
// began.
func (j *Job) SetReplyFileName(name string) (err error) {
	o, err := j.beginChange(state.SetReplyFileName, "SetReplyFileName")
	if err != nil {
		return err
	}
	defer o.commit(&err)
	if j.c.typ != bits.UploadReply {
		return o.fail(hresult.E_NOTIMPL)
	}
	if name != "" {
		if code, cause := checkLocal(name, time.Now()); code != hresult.S_OK {
			return o.failErr(code, cause)
		}
		if !j.c.env.allowsLocal(name) {
			return o.fail(hresult.E_ACCESSDENIED)
		}
	}
	if _, err := o.check(); err != nil {
		return err
	}
	j.c.replyFile = name
	o.touch()
	return nil
}

// GetReplyFileName returns the reply file name: the one set, else the name bitsemu chose beside
// the upload file, else "" while the job has no file (IBackgroundCopyJob2::GetReplyFileName).
// E_NOTIMPL for other job types.
func (j *Job) GetReplyFileName() (string, error) {
	return get(j, state.GetReplyFileName, "GetReplyFileName", func(c *core) string {
		if c.replyFile != "" || len(c.files) == 0 {
			return c.replyFile
		}
		return filepath.Join(filepath.Dir(c.files[0].local), "BITS-reply-"+c.id.String()+".tmp")
	})
}
