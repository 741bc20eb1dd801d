package job

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// GetReplyProgress returns the progress of an upload-reply job's reply
// (IBackgroundCopyJob2::GetReplyProgress): BytesTotal is SizeUnknown until the reply's download
// starts, 0 from then until the server gave the reply's size, then that size. E_NOTIMPL for
// other job types.
func (j *Job) GetReplyProgress() (bits.ReplyProgress, error) {
	return get(j, state.GetReplyProgress, "GetReplyProgress", func(c *core) bits.ReplyProgress {
		if c.reply == nil {
			return bits.ReplyProgress{BytesTotal: bits.SizeUnknown}
		}
		return bits.ReplyProgress{BytesTotal: c.reply.total, BytesTransferred: c.reply.transferred}
	})
}

// GetReplyData returns the reply of a TRANSFERRED upload-reply job, read into memory
// (IBackgroundCopyJob2::GetReplyData): nil when the server sent no reply (an empty one). It works
// in TRANSFERRED and, reading the reply file then, after Complete. E_NOTIMPL for other job types,
// BG_E_INVALID_STATE in any other state, BG_E_TOO_LARGE for a reply over MaxReplyDataBytes
// (1 MB; the error gives its size), and the file's error when the reply cannot be read (after
// Complete, the reply file is the application's to move or remove; BG_E_LOCAL_FILE_CHANGED when
// it no longer holds the reply's bytes).
func (j *Job) GetReplyData() ([]byte, error) {
	var o op
	if err := j.begin(&o, state.GetReplyData, "GetReplyData"); err != nil {
		return nil, err
	}
	defer o.end()
	if _, err := o.check(); err != nil {
		return nil, err
	}
	r := j.c.reply
	if r == nil || !r.done || r.total == 0 {
		return nil, nil
	}
	if r.total > MaxReplyDataBytes {
		return nil, o.failErr(hresult.BG_E_TOO_LARGE,
			fmt.Errorf("the reply is %d bytes, over the %d GetReplyData returns", r.total, MaxReplyDataBytes))
	}
	data, err := j.c.readReply(r)
	if err != nil {
		return nil, o.failErr(fileCode(err), err)
	}
	return data, nil
}

// readReply reads the reply: its temporary file until Complete renamed it, the reply file after.
// Neither is opened through a link; both are opened with the owner's rights (Env.FilesAs).
// Called with the job locked.
func (c *core) readReply(r *fileCore) ([]byte, error) {
	got, err := asOwner(c.env, c.owner, readReplyFile, tempUse{env: c.env, fc: r})
	if err != nil {
		return nil, err
	}
	return got.data, got.err
}

// replyRead is what readReplyFile read.
type replyRead struct {
	data []byte
	err  error
}

// readReplyFile is readReply with the owner's rights.
func readReplyFile(u tempUse) replyRead {
	data, err := u.env.readReply(u.fc)
	return replyRead{data, err}
}

func (e *Env) readReply(r *fileCore) ([]byte, error) {
	dir, err := e.openDir(r.local)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	var f *os.File
	if r.kept {
		f, err = openNoFollow(dir, filepath.Base(r.local), os.O_RDONLY)
	} else {
		f, _, err = openOwnTemp(dir, r, os.O_RDONLY)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte more than the reply shows a file that grew since.
	data, err := io.ReadAll(io.LimitReader(f, int64(r.total)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(data)) != r.total {
		return nil, changed(f.Name(), fmt.Sprintf("%d bytes where the reply had %d", len(data), r.total))
	}
	return data, nil
}

// SetReplyFileName chooses where an upload-reply job's reply is written
// (IBackgroundCopyJob2::SetReplyFileName): an absolute path of at most MAX_PATH characters in a
// directory that exists, or "" to let bitsemu choose a name beside the upload file. E_NOTIMPL for
// other job types, E_INVALIDARG for a bad name, ERROR_PATH_NOT_FOUND when its directory does not
// exist, E_ACCESSDENIED when it cannot be written, BG_E_INVALID_STATE once the reply download
// began.
func (j *Job) SetReplyFileName(name string) (err error) {
	var o op
	if err := j.beginChange(&o, state.SetReplyFileName, "SetReplyFileName"); err != nil {
		return err
	}
	defer o.commit(&err)
	if j.c.typ != bits.UploadReply {
		return o.fail(hresult.E_NOTIMPL)
	}
	if name != "" {
		// As AddFile checks a local name: with the owner's rights.
		r, err := asOwner(j.c.env, j.c.owner, checkName, nameCheck{env: j.c.env, name: name, who: ownerKey(j.c), wall: time.Now()})
		if err != nil {
			return o.failErr(hresult.E_ACCESSDENIED, err)
		}
		if r.code != hresult.S_OK {
			return o.failErr(r.code, r.cause)
		}
	}
	if _, err := o.check(); err != nil {
		return err
	}
	j.c.own().replyFile = name
	o.touch()
	return nil
}

// GetReplyFileName returns the reply file name (IBackgroundCopyJob2::GetReplyFileName): the one
// set with SetReplyFileName when the reply started (or now, before), else the name bitsemu chose
// beside the upload file, else "" while the job has no file. The file holds the reply only after
// Complete. E_NOTIMPL for other job types.
func (j *Job) GetReplyFileName() (string, error) {
	return get(j, state.GetReplyFileName, "GetReplyFileName", func(c *core) string { return c.replyName() })
}
