package upload

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
)

// fragment handles a Fragment: it checks the range against the session, writes the bytes that
// are new, flushes them, records them, hands a complete upload to the server application, and
// acknowledges with the next offset it expects. s.mu is held.
func (h *Handler) fragment(w http.ResponseWriter, r *http.Request, s *session) {
	id := s.id
	rng, err := bup.ParseContentRange(r.Header.Get(bup.HeaderContentRange))
	if err != nil {
		// [MC-BUP 3.2.5.2.6]: a Content-Range that breaks RFC 2616 section 14.16.
		ack(w, r, http.StatusBadRequest, errInvalidArg, id)
		return
	}
	// Only the identity encoding is supported ("Fragment"), and the body must be the range.
	if enc := r.Header.Get(bup.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") ||
		uint64(r.ContentLength) != rng.Len() {
		ack(w, r, http.StatusBadRequest, errInvalidArg, id)
		return
	}
	// [MC-BUP 2.2.1.2]: another length than the first fragment's is an invalid request.
	if s.st.Sized && rng.Total != s.st.Total {
		ack(w, r, http.StatusBadRequest, errInvalidArg, id)
		return
	}
	if max := h.opts.MaxUploadSize; max > 0 && rng.Total > max {
		ack(w, r, http.StatusRequestEntityTooLarge, errTooLarge, id)
		return
	}
	received := s.st.Received
	w.Header().Set(bup.HeaderReceivedContentRange, bup.FormatReceivedContentRange(received))
	if rng.First > received {
		// "Ack for Fragment", [MC-BUP 3.2.5.2.6]: 416 and the offset to send next.
		ack(w, r, http.StatusRequestedRangeNotSatisfiable, serverFailure(hresult.HTTP(http.StatusRequestedRangeNotSatisfiable)), id)
		return
	}
	changed := !s.st.Sized
	s.st.Sized, s.st.Total = true, rng.Total
	if end := rng.End(); end > received {
		// Bytes before received are there already and are not written again ("Fragment").
		skip, n := received-rng.First, end-received
		written, err := h.write(s, r.Body, skip, n)
		if written > 0 {
			s.st.Received += written
			changed = true
			w.Header().Set(bup.HeaderReceivedContentRange, bup.FormatReceivedContentRange(s.st.Received))
		}
		if err != nil {
			if changed {
				if serr := h.saveState(s); serr != nil {
					h.logf("session %s: %v", id, serr)
				}
			}
			var status int
			var f failure
			var bodyErr *bodyError
			if errors.As(err, &bodyErr) {
				status, f = http.StatusBadRequest, errInvalidArg
			} else {
				h.logf("session %s: %v", id, err)
				status, f = ioFailure(err)
			}
			ack(w, r, status, f, id)
			return
		}
	} else if _, err := io.Copy(io.Discard, r.Body); err != nil {
		ack(w, r, http.StatusBadRequest, errInvalidArg, id)
		return
	}
	h.touch(s)
	if err := h.saveState(s); err != nil {
		h.logf("session %s: %v", id, err)
		status, f := ioFailure(err)
		ack(w, r, status, f, id)
		return
	}
	if h.notify != nil && s.complete() {
		if !s.st.Notified {
			// [MC-BUP 3.2.5.1.3]: the upload goes to the application before the last
			// fragment is acknowledged. When the application fails, the session stays as
			// it is, and the client's next try of the last fragment asks it again.
			if status, f := h.notifyApp(r, s); status != 0 {
				ack(w, r, status, f, id)
				return
			}
		}
		// [MC-BUP 2.2.7.2]: the reply URL goes with the Ack of a fragment that ends the upload.
		if rng.IsLast() {
			w.Header().Set(bup.HeaderReplyURL, h.replyURL(s))
		}
	}
	ack(w, r, http.StatusOK, failure{}, id)
}

// bodyError is a failure to read a fragment's body: the client's side of the connection.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the fragment: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// write skips skip bytes of body, then copies n bytes of it to the end of s's data file, and
// flushes them. It returns how many bytes it wrote and flushed: after a failure, the bytes
// before it are kept. A failure to read the body is a *bodyError.
func (h *Handler) write(s *session, body io.Reader, skip, n uint64) (uint64, error) {
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, body, int64(skip)); err != nil {
			return 0, &bodyError{err}
		}
	}
	f, err := h.root.OpenFile(s.file(dataFile), os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dst := io.NewOffsetWriter(f, int64(s.st.Received))
	src := &readCounter{r: body}
	buf := copyBufs.Get().(*[]byte)
	written, err := io.CopyBuffer(dst, io.LimitReader(src, int64(n)), *buf)
	copyBufs.Put(buf)
	if err == nil && uint64(written) < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && src.err != nil {
		err = &bodyError{src.err}
	}
	if serr := f.Sync(); serr != nil {
		return 0, serr
	}
	return uint64(written), err
}

// copyBufs holds the buffers fragments are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readCounter passes reads through and keeps the reader's error apart from the writer's.
type readCounter struct {
	r   io.Reader
	err error
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	if err == io.EOF {
		c.err = io.ErrUnexpectedEOF
	}
	return n, err
}

// closeSession handles Close-Session. A complete upload that is to be published is moved
// under its name; the session's data is then deleted. An incomplete upload is deleted without
// being published ("Close-Session": a partial file cannot be uploaded). s.mu is held.
func (h *Handler) closeSession(w http.ResponseWriter, r *http.Request, s *session) {
	if s.complete() && s.st.Copy && (h.notify == nil || s.st.Notified) {
		if status, f := h.publish(s); status != 0 {
			// The session stays: a later Close-Session may succeed (409 is transient for
			// BITS clients, "Handling Server Application Errors").
			ack(w, r, status, f, s.id)
			return
		}
	}
	h.removeLocked(s)
	ack(w, r, http.StatusOK, failure{}, s.id)
}

// publish moves s's data file under its name, atomically: the file appears whole or not at
// all. Without AllowOverwrites, it is hard-linked under the name, which fails if the name
// exists, so a file created meanwhile is never replaced; on a file system without hard links
// it checks, then renames. It returns a status of 0 on success.
func (h *Handler) publish(s *session) (int, failure) {
	name := s.st.Name
	if status, f := h.checkParents(name); status != 0 {
		return status, f
	}
	if fi, err := h.root.Lstat(name); err == nil && fi.IsDir() {
		return http.StatusBadRequest, errInvalidArg
	}
	src := s.file(dataFile)
	var err error
	if h.opts.AllowOverwrites {
		err = h.root.Rename(src, name)
	} else {
		err = h.root.Link(src, name)
		if err != nil && linkUnsupported(err) {
			if _, lerr := h.root.Lstat(name); lerr == nil {
				err = fs.ErrExist
			} else {
				err = h.root.Rename(src, name)
			}
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return http.StatusConflict, errDenied
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, errNoPath
	default:
		h.logf("session %s: publishing %s: %v", s.id, name, err)
		return ioFailure(err)
	}
	if err := h.syncDir(path.Dir(name)); err != nil {
		h.logf("session %s: %v", s.id, err)
	}
	return 0, failure{}
}

// replyURL is the BITS-Reply-URL of s: the application's own reply URL, or the URL at which
// the handler serves the reply.
func (h *Handler) replyURL(s *session) string {
	if s.st.ReplyURL != "" {
		return s.st.ReplyURL
	}
	return s.st.Base + "/" + sessionsDir + "/Replies/" + url.PathEscape(s.id) + "/" + replyFile
}

// serveReply answers a GET or HEAD for the reply of an upload-reply session, with ranges and
// validators as any file (http.ServeContent), so that a BITS download job can fetch it.
func (h *Handler) serveReply(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != sessionsDir || parts[1] != "Replies" || parts[3] != replyFile {
		ack(w, r, http.StatusNotFound, errInvalidArg, "")
		return
	}
	s := h.lookup(parts[2])
	if s == nil {
		ack(w, r, http.StatusNotFound, errNotFound, "")
		return
	}
	s.mu.Lock()
	if s.gone || !s.st.HasReply {
		s.mu.Unlock()
		ack(w, r, http.StatusNotFound, errNotFound, "")
		return
	}
	f, err := h.root.Open(s.file(replyFile))
	s.mu.Unlock()
	if err != nil {
		h.logf("session %s: %v", s.id, err)
		status, fl := ioFailure(err)
		ack(w, r, status, fl, "")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		status, fl := ioFailure(err)
		ack(w, r, status, fl, "")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
