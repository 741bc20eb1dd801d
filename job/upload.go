package job

import (
	"os"
	"path/filepath"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Upload and upload-reply jobs (BITS Upload Protocol). The job's one file is the upload: its
// local name is the file sent, its remote name the URL it goes to, its progress the bytes the
// server acknowledged, its validator the local file's version when the upload began. The session
// the server opened for the upload is kept with the job (UploadSession), so that an attempt after
// a cut or a restart of the service goes on in the same session. An upload-reply job also has a
// reply: the file the server's application answered with, downloaded from the URL the server
// gave in its Ack to the last fragment into a temporary file beside the reply file name, which
// Complete renames to that name (IBackgroundCopyJob2::GetReplyFileName: the reply file is
// usable only after Complete).

// UploadSession is what the service keeps of an upload job's session with its server.
type UploadSession struct {
	// ID is the BITS-Session-Id of the server's Ack for Create-Session; "" when the job has no
	// session.
	ID string
	// HostID is the BITS-Host-Id the server named in that Ack: later packets go to that host
	// instead of the remote name's; "" when the server named none.
	HostID string
	// HostFallback is the BITS-Host-Id-Fallback-Timeout: how long the host named by HostID may
	// stay unreachable before packets go to the remote name's host again; 0 means never.
	HostFallback time.Duration
	// HostFailedSince is when the host named by HostID first could not be reached since it was
	// last reached; zero while it can be.
	HostFailedSince time.Time
	// FragmentLimit is the size of fragment the server takes since it refused a larger one
	// (413 Request Entity Too Large); 0 until it refused one.
	FragmentLimit uint64
	// CloseSent reports that a Close-Session of this session was sent.
	CloseSent bool
	// ReplyURL is the BITS-Reply-URL of the Ack to the last fragment of an upload-reply job: where
	// the reply is downloaded from; "" before that Ack.
	ReplyURL string
}

// replyIndex stands for an upload-reply job's reply where a file index is expected (setTransferred,
// Change.File).
const replyIndex = -1

// fileAt returns file i, or the reply for replyIndex. Called with the job locked.
func (c *core) fileAt(i int) *fileCore {
	if i == replyIndex {
		return c.reply
	}
	return c.files[i]
}

// withReply returns the job's files followed by its reply once the reply has started. Called
// with the job locked.
func (c *core) withReply() []*fileCore {
	if c.reply == nil {
		return c.files
	}
	return append(c.files[:len(c.files):len(c.files)], c.reply)
}

// UploadSession returns the job's upload session, in any state (for the service).
func (e *Engine) UploadSession() UploadSession {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// SetUploadSession records the upload session as the transfer engine left it (for the service).
// E_NOTIMPL for a download job, BG_E_INVALID_STATE for a final one.
func (e *Engine) SetUploadSession(s UploadSession) error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "SetUploadSession")
	defer o.end()
	if c.typ == bits.Download {
		return o.fail(hresult.E_NOTIMPL)
	}
	if c.st.Final() {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	if s != c.session {
		c.own().session = s
		o.emit(Change{Kind: SessionChanged})
	}
	return nil
}

// replyName is the name the reply file gets: the one SetReplyFileName set, else one beside the
// upload file, else "" while the job has no file. Called with the job locked.
func (c *core) replyName() string {
	if c.reply != nil {
		return c.reply.local
	}
	if c.replyFile != "" || len(c.files) == 0 {
		return c.replyFile
	}
	return filepath.Join(filepath.Dir(c.files[0].local), "BITS-reply-"+c.id.String()+".tmp")
}

// OpenReply opens the temporary file of an upload-reply job's reply for the transfer engine, as
// OpenTemp does for a file: created on first use (exclusively, mode 0600) in the directory of the
// reply file name, reconciled with the recorded progress afterwards. The first call starts the
// reply: its URL (UploadSession.ReplyURL) and its file name are fixed from then on, and
// SetReplyFileName gives BG_E_INVALID_STATE. E_NOTIMPL for other job types; BG_E_INVALID_STATE
// for a final job or one whose session has no reply URL; OpenTemp's errors otherwise.
func (e *Engine) OpenReply() (*os.File, error) {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "OpenReply")
	defer o.end()
	if c.typ != bits.UploadReply {
		return nil, o.fail(hresult.E_NOTIMPL)
	}
	if c.st.Final() || (c.reply == nil && (c.session.ReplyURL == "" || len(c.files) == 0)) {
		return nil, o.fail(hresult.BG_E_INVALID_STATE)
	}
	if c.reply == nil {
		kind, _ := parseRemote(c.session.ReplyURL)
		// From now on the reply has begun: its BytesTotal is no longer BG_SIZE_UNKNOWN (which
		// tells an application that the upload, not the reply, failed: GetError page), but 0
		// until the server gives its size.
		c.reply = &fileCore{remote: c.session.ReplyURL, local: c.replyName(), kind: kind}
		c.reply.tempName = replyTempName(c)
	}
	return o.openTemp(replyIndex, c.reply)
}

// replyTempName names the reply's temporary file as tempNameFor names a file's, with an R where
// the file's position would be. Called with the job locked.
func replyTempName(c *core) string {
	name := filepath.Base(tempNameFor(c, c.reply))
	return filepath.Join(filepath.Dir(c.reply.local), name[:len(name)-len("0.tmp")]+"R.tmp")
}

// ReplyView returns an upload-reply job's reply as TransferFile returns a file (Remote the reply
// URL, Local the reply file name), and false before the reply started (for the service).
func (e *Engine) ReplyView() (FileView, bool) {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reply == nil {
		return FileView{}, false
	}
	return c.reply.view(), true
}

// ReplyProgress records the reply's progress and its remote version, as FileProgress and
// SetFileValidator do for a file: progress restarts the no-progress timer (for the service).
// BG_E_INVALID_STATE before the reply started or for a final job; E_INVALIDARG for more bytes
// than the total.
func (e *Engine) ReplyProgress(total, transferred uint64, validator string) error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "ReplyProgress")
	defer o.end()
	if c.reply == nil || c.st.Final() {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	if total != bits.SizeUnknown && transferred > total {
		return o.fail(hresult.E_INVALIDARG)
	}
	c.reply.total, c.reply.validator = total, validator
	o.progressed(replyIndex, c.reply, transferred)
	return nil
}

// ReplyDone marks the reply downloaded: all its bytes are in its temporary file (for the
// service). BG_E_INVALID_STATE before the reply started or for a final job.
func (e *Engine) ReplyDone() error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "ReplyDone")
	defer o.end()
	if c.reply == nil || c.st.Final() {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	r := c.reply
	if !r.done {
		r.done = true
		if r.total == bits.SizeUnknown {
			r.total = r.transferred
		}
		r.transferred = r.total
		c.modified = c.env.Clock.Now()
		o.emit(Change{Kind: FileProgressed, File: replyIndex})
	}
	return nil
}
