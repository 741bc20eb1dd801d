package upload

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
)

// maxReplyURL is the longest reply URL an application may name; a longer one is an invalid
// request [MC-BUP 2.2.1.2].
const maxReplyURL = 2200

// codeNotifyTimeout is the HRESULT [MC-BUP 3.3.6] gives, with status 408 and the context of
// the server application, when the application does not answer in time.
const codeNotifyTimeout hresult.Code = 0x80070112

// notifyApp hands s's complete upload to the server application and keeps its reply with the
// session ([MC-BUP 3.3.5]; "Notification Protocol for Server Applications"). It returns a
// status of 0 on success, and otherwise the status and failure the client gets, with the
// context of the server application. s.mu is held.
func (h *Handler) notifyApp(r *http.Request, s *session) (int, failure) {
	appFailure := func(status int, c hresult.Code) (int, failure) {
		return status, failure{c, bup.ContextRemoteApplication}
	}
	target := *h.notify
	if q := s.st.Query; q != "" {
		// "BITS IIS Extension Properties": the query of the upload's URL is appended.
		if target.RawQuery != "" {
			target.RawQuery += "&" + q
		} else {
			target.RawQuery = q
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var timedOut atomic.Bool
	timer := h.clock.AfterFunc(h.opts.NotifyTimeout, func() {
		timedOut.Store(true)
		cancel()
	})
	defer timer.Stop()
	failed := func(err error) (int, failure) {
		if timedOut.Load() {
			h.logf("session %s: the application did not answer within %v", s.id, h.opts.NotifyTimeout)
			return appFailure(http.StatusRequestTimeout, codeNotifyTimeout)
		}
		h.logf("session %s: notifying the application: %v", s.id, err)
		return appFailure(http.StatusBadGateway, hresult.HTTP(http.StatusBadGateway))
	}

	byRef := h.opts.NotifyType == NotifyByReference
	var body io.Reader = http.NoBody
	var length int64
	if byRef {
		if err := h.root.Remove(s.file(responseFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.logf("session %s: %v", s.id, err)
			return ioFailure(err)
		}
	} else if s.st.Total > 0 {
		f, err := h.root.Open(s.file(dataFile))
		if err != nil {
			h.logf("session %s: %v", s.id, err)
			return ioFailure(err)
		}
		defer f.Close()
		body, length = f, int64(s.st.Total)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return failed(err)
	}
	req.ContentLength = length
	req.Header.Set(bup.HeaderOriginalRequestURL, nameURL(s.st.Base, s.st.Name, s.st.Query))
	if byRef {
		req.Header.Set(bup.HeaderRequestDataFileName, h.sessionPath(s, dataFile))
		req.Header.Set(bup.HeaderResponseDataFileName, h.sessionPath(s, responseFile))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// "Handling Server Application Errors": the client gets the application's status,
		// and tells transient from fatal errors by it.
		h.logf("session %s: the application answered %s", s.id, resp.Status)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return appFailure(resp.StatusCode, hresult.HTTP(resp.StatusCode))
	}
	_, copyFile := resp.Header[http.CanonicalHeaderKey(bup.HeaderCopyFileToDestination)]
	static := strings.TrimSpace(resp.Header.Get(bup.HeaderStaticResponseURL))
	if static != "" {
		u, err := url.Parse(static)
		if err != nil || len(static) > maxReplyURL || !u.IsAbs() || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			h.logf("session %s: the application named the reply URL %q", s.id, static)
			return appFailure(http.StatusBadRequest, hresult.E_INVALIDARG)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	} else if ok, err := h.keepResponseFile(s, byRef); err != nil {
		h.logf("session %s: %v", s.id, err)
		return ioFailure(err)
	} else if !ok {
		if err := h.saveReply(s, resp.Body); err != nil {
			var bodyErr *bodyError
			if errors.As(err, &bodyErr) {
				return failed(err)
			}
			h.logf("session %s: %v", s.id, err)
			return ioFailure(err)
		}
	}
	s.st.Notified, s.st.Copy = true, copyFile
	s.st.ReplyURL, s.st.HasReply = static, static == ""
	if err := h.saveState(s); err != nil {
		h.logf("session %s: %v", s.id, err)
		return ioFailure(err)
	}
	return 0, failure{}
}

// keepResponseFile makes the file a NotifyByReference application wrote at
// BITS-Response-DataFile-Name the session's reply, and reports whether there was one. Only a
// regular file counts: a link there is removed and ignored.
func (h *Handler) keepResponseFile(s *session, byRef bool) (bool, error) {
	if !byRef {
		return false, nil
	}
	fi, err := h.root.Lstat(s.file(responseFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		h.logf("session %s: ignoring the application's %s, not a regular file", s.id, responseFile)
		return false, h.root.Remove(s.file(responseFile))
	}
	f, err := h.root.OpenFile(s.file(responseFile), os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := h.root.Rename(s.file(responseFile), s.file(replyFile)); err != nil {
		return false, err
	}
	return true, h.syncDir(s.dir)
}

// saveReply writes the reply read from body to the session's reply file: to a temporary file,
// flushed, then renamed. A failure to read body is a *bodyError.
func (h *Handler) saveReply(s *session, body io.Reader) error {
	f, err := h.root.OpenFile(s.file(replyTmp), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	src := &readCounter{r: body}
	_, err = io.Copy(f, src)
	if err != nil && src.err != nil {
		err = &bodyError{src.err}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := h.root.Rename(s.file(replyTmp), s.file(replyFile)); err != nil {
		return err
	}
	return h.syncDir(s.dir)
}
