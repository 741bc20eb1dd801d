package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
)

// sessionsDir is the directory, under the destination directory, that holds the sessions; the
// IIS extension keeps its sessions in a directory of the same name. No upload may be named
// under it.
const sessionsDir = "BITS-Sessions"

// Files of a session's directory.
const (
	stateFile    = "state.json"     // the session's state
	stateTmp     = "state.json.tmp" // the next state, before it is renamed into place
	dataFile     = "data"           // the bytes received
	replyFile    = "reply"          // the server application's reply
	replyTmp     = "reply.tmp"      // the reply while it is written
	responseFile = "response"       // where a NotifyByReference application may write its reply
)

// stateVersion is the version of the state file's layout.
const stateVersion = 1

// state is what a session keeps on disk. Received is written only after the bytes it counts
// are flushed, so a reloaded session never claims data it does not have.
type state struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	User       string    `json:"user"`
	Name       string    `json:"name"`        // destination, relative, with forward slashes
	Base       string    `json:"base"`        // URL of the handler's root, for the reply URL
	Query      string    `json:"query"`       // raw query of the upload URL
	Sized      bool      `json:"sized"`       // Total is known: a fragment arrived
	Total      uint64    `json:"total"`       // size of the upload
	Received   uint64    `json:"received"`    // bytes received from offset 0
	LastActive time.Time `json:"lastActive"`  // last successfully processed packet
	Notified   bool      `json:"notified"`    // the application accepted the upload
	Copy       bool      `json:"copy"`        // publish the upload at Close-Session
	ReplyURL   string    `json:"replyURL"`    // a reply URL of the application's own, or ""
	HasReply   bool      `json:"hasReply"`    // the reply file is complete
	Content    string    `json:"contentName"` // the client's Content-Name, for the record
	Created    time.Time `json:"created"`     // when Create-Session was processed
	Modified   time.Time `json:"modified"`    // when the state was last written
}

// session is one upload session. mu serialises the session's packets and guards every field
// but expires, which Handler.mu guards. Lock order: session.mu before Handler.mu.
type session struct {
	mu      sync.Mutex
	id      string
	user    string
	dir     string // sessionsDir/id, relative to the root
	gone    bool   // removed: packets that waited for mu find no session
	st      state
	expires time.Time // guarded by Handler.mu
}

func (s *session) file(name string) string { return s.dir + "/" + name }

func (s *session) complete() bool { return s.st.Sized && s.st.Received == s.st.Total }

func (s *session) info() SessionInfo {
	return SessionInfo{
		ID: s.id, Name: s.st.Name, User: s.user, Received: s.st.Received, Total: s.st.Total,
		Complete: s.complete(), Notified: s.st.Notified, LastActive: s.st.LastActive,
	}
}

// newSessionID returns a new session identifier: a random GUID, upper case, in braces, as
// Windows servers write them ([MC-BUP 4.1]).
func newSessionID() string { return "{" + strings.ToUpper(uuid.NewString()) + "}" }

// canonicalID returns the canonical form of a session identifier the handler may have handed
// out: a GUID in braces, compared without regard to case. Anything else gives "", false: such
// an identifier names no session, and never reaches the file system.
func canonicalID(s string) (string, bool) {
	if len(s) != 38 || s[0] != '{' || s[37] != '}' {
		return "", false
	}
	inner := s[1:37]
	if _, err := uuid.Parse(inner); err != nil || strings.Count(inner, "-") != 4 {
		return "", false
	}
	return "{" + strings.ToUpper(inner) + "}", true
}

// lookup returns the live session named by id, or nil. A session found expired is removed
// (unless a packet of it is being processed, which makes it active).
func (h *Handler) lookup(id string) *session {
	cid, ok := canonicalID(id)
	if !ok {
		return nil
	}
	h.mu.Lock()
	s := h.sessions[cid]
	expired := s != nil && !h.clock.Now().Before(s.expires)
	h.mu.Unlock()
	if s == nil || !expired {
		return s
	}
	if !s.mu.TryLock() {
		return s
	}
	defer s.mu.Unlock()
	if !s.gone {
		h.removeLocked(s)
	}
	return nil
}

// touch records that a packet of s was processed successfully now. s.mu is held.
func (h *Handler) touch(s *session) {
	now := h.clock.Now()
	s.st.LastActive = now
	h.mu.Lock()
	s.expires = now.Add(h.opts.SessionTimeout)
	h.armLocked()
	h.mu.Unlock()
}

// removeLocked deletes s's data and forgets it. s.mu is held.
func (h *Handler) removeLocked(s *session) {
	// The state goes first, so that a directory left half removed is not reloaded as a session.
	if err := h.root.Remove(s.file(stateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.logf("session %s: %v", s.id, err)
	}
	if err := h.root.RemoveAll(s.dir); err != nil {
		h.logf("session %s: %v", s.id, err)
	}
	s.gone = true
	h.mu.Lock()
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
		if h.perUser[s.user]--; h.perUser[s.user] <= 0 {
			delete(h.perUser, s.user)
		}
	}
	h.mu.Unlock()
}

// saveState writes s's state: to a temporary file, flushed, renamed over the state file, and
// the directory flushed. s.mu is held.
func (h *Handler) saveState(s *session) error {
	s.st.Modified = h.clock.Now()
	b, err := json.Marshal(&s.st)
	if err != nil {
		return err
	}
	if err := h.writeFile(s.file(stateTmp), b, 0o600); err != nil {
		return err
	}
	if err := h.root.Rename(s.file(stateTmp), s.file(stateFile)); err != nil {
		return err
	}
	return h.syncDir(s.dir)
}

// writeFile writes data to the file name of the root, creating it with permissions perm (before
// the umask) or truncating it, and flushes it to disk.
func (h *Handler) writeFile(name string, data []byte, perm fs.FileMode) error {
	f, err := h.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir flushes the directory dir of the root, so that the names created or renamed in it
// survive a crash. Windows cannot flush a directory; there it does nothing.
func (h *Handler) syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := h.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// load reads the sessions a previous Handler left, removes those expired or unreadable, and
// arms the expiry timer.
func (h *Handler) load() error {
	fi, err := h.root.Lstat(sessionsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("upload: %s in %s is not a directory", sessionsDir, h.dir)
	}
	d, err := h.root.Open(sessionsDir)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	now := h.clock.Now()
	for _, e := range entries {
		id, ok := canonicalID(e.Name())
		if !ok || id != e.Name() || !e.IsDir() {
			continue // not a session's directory: not ours to touch
		}
		s := &session{id: id, dir: sessionsDir + "/" + id}
		if err := h.loadSession(s); err != nil {
			h.logf("dropping session %s: %v", id, err)
			s.mu.Lock()
			h.removeLocked(s)
			s.mu.Unlock()
			continue
		}
		s.expires = s.st.LastActive.Add(h.opts.SessionTimeout)
		if !now.Before(s.expires) {
			s.mu.Lock()
			h.removeLocked(s)
			s.mu.Unlock()
			continue
		}
		h.sessions[id] = s
		h.perUser[s.user]++
	}
	h.mu.Lock()
	h.armLocked()
	h.mu.Unlock()
	return nil
}

// loadSession reads s's state and checks it against the files of its directory.
func (h *Handler) loadSession(s *session) error {
	b, err := h.root.ReadFile(s.file(stateFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &s.st); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	st := &s.st
	if st.Version != stateVersion || st.ID != s.id {
		return fmt.Errorf("state of version %d for %q", st.Version, st.ID)
	}
	if _, err := checkName(st.Name); err != nil {
		return fmt.Errorf("state names %q", st.Name)
	}
	if st.Received > st.Total || !st.Sized && st.Received != 0 {
		return fmt.Errorf("state says %d of %d bytes received", st.Received, st.Total)
	}
	s.user = st.User
	fi, err := h.root.Lstat(s.file(dataFile))
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || uint64(fi.Size()) < st.Received {
		return fmt.Errorf("data file of %d bytes for %d received", fi.Size(), st.Received)
	}
	if uint64(fi.Size()) > st.Received {
		// Bytes written but never acknowledged: the client sends them again.
		f, err := h.root.OpenFile(s.file(dataFile), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(st.Received))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if st.HasReply {
		if fi, err := h.root.Lstat(s.file(replyFile)); err != nil || !fi.Mode().IsRegular() {
			// The reply is gone: ask the application again when the client resends the
			// last fragment.
			st.HasReply, st.Notified = false, false
		}
	}
	return nil
}

// armLocked arms the expiry timer for the earliest session deadline, unless it is already
// armed for that time or earlier. Handler.mu is held.
func (h *Handler) armLocked() {
	if h.closed {
		return
	}
	var next time.Time
	for _, s := range h.sessions {
		if next.IsZero() || s.expires.Before(next) {
			next = s.expires
		}
	}
	if next.IsZero() {
		return
	}
	if h.timer != nil {
		if !h.timerAt.After(next) {
			return
		}
		h.timer.Stop()
	}
	h.timerAt = next
	h.timer = h.clock.AfterFunc(next.Sub(h.clock.Now()), h.sweep)
}

// sweep removes the sessions whose time is up and arms the timer for the next deadline. A
// session whose packet is being processed is active: its deadline moves on instead.
func (h *Handler) sweep() {
	now := h.clock.Now()
	h.mu.Lock()
	h.timer = nil
	var due []*session
	for _, s := range h.sessions {
		if !now.Before(s.expires) {
			due = append(due, s)
		}
	}
	h.mu.Unlock()
	for _, s := range due {
		if !s.mu.TryLock() {
			h.mu.Lock()
			s.expires = now.Add(h.opts.SessionTimeout)
			h.mu.Unlock()
			continue
		}
		h.mu.Lock()
		expired := !now.Before(s.expires)
		h.mu.Unlock()
		if !s.gone && expired {
			h.removeLocked(s)
		}
		s.mu.Unlock()
	}
	h.mu.Lock()
	h.armLocked()
	h.mu.Unlock()
}

// createSession handles Create-Session: it checks the protocol and the destination, and
// creates the session's directory, empty data file and state.
func (h *Handler) createSession(w http.ResponseWriter, r *http.Request) {
	// [MC-BUP 3.2.5.2.4]: no protocol in common gives 400 with E_INVALIDARG.
	if !bup.SupportsProtocol(r.Header.Get(bup.HeaderSupportedProtocols)) {
		ack(w, r, http.StatusBadRequest, errInvalidArg, "")
		return
	}
	name, status, f := h.destination(r)
	if status != 0 {
		ack(w, r, status, f, "")
		return
	}
	user := h.userOf(r)
	id := newSessionID()
	s := &session{id: id, user: user, dir: sessionsDir + "/" + id}
	now := h.clock.Now()
	s.st = state{
		Version: stateVersion, ID: id, User: user, Name: name, Base: h.baseURL(r),
		Query: r.URL.RawQuery, Content: r.Header.Get(bup.HeaderContentName), Created: now,
		LastActive: now, Copy: h.notify == nil,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h.mu.Lock()
	if h.maxSess >= 0 && h.perUser[user] >= h.maxSess {
		h.mu.Unlock()
		ack(w, r, http.StatusServiceUnavailable, serverFailure(hresult.HTTP(http.StatusServiceUnavailable)), "")
		return
	}
	h.perUser[user]++
	s.expires = now.Add(h.opts.SessionTimeout)
	h.sessions[id] = s
	h.mu.Unlock()
	if err := h.initSession(s); err != nil {
		h.logf("create session for %q: %v", name, err)
		h.removeLocked(s)
		status, f := ioFailure(err)
		ack(w, r, status, f, "")
		return
	}
	h.touch(s)
	hd := w.Header()
	hd.Set(bup.HeaderProtocol, bup.Protocol)
	hd.Set(bup.HeaderAcceptEncoding, bup.IdentityEncoding)
	if h.opts.HostID != "" {
		hd.Set(bup.HeaderHostID, h.opts.HostID)
		if t := h.opts.HostIDFallbackTimeout; t > 0 {
			hd.Set(bup.HeaderHostIDFallbackTimeout, strconv.FormatInt(int64(t/time.Second), 10))
		}
	}
	ack(w, r, http.StatusOK, failure{}, id)
}

// initSession makes s's directory, empty data file and first state.
func (h *Handler) initSession(s *session) error {
	if err := h.root.MkdirAll(sessionsDir, 0o700); err != nil {
		return err
	}
	if fi, err := h.root.Lstat(sessionsDir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", sessionsDir)
	}
	if err := h.root.Mkdir(s.dir, 0o700); err != nil {
		return err
	}
	// The data file becomes the published file: it gets a published file's permissions. The
	// session's directory keeps others out meanwhile.
	if err := h.writeFile(s.file(dataFile), nil, 0o644); err != nil {
		return err
	}
	if err := h.saveState(s); err != nil {
		return err
	}
	return h.syncDir(sessionsDir)
}

// sessionPath returns the path of a session file in the operating system's form, for the
// server application.
func (h *Handler) sessionPath(s *session, name string) string {
	return h.dir + string(os.PathSeparator) + sessionsDir + string(os.PathSeparator) + s.id +
		string(os.PathSeparator) + name
}

// replyPath is the path, relative to the handler's root, at which the reply of session id is
// served.
func replyPath(id string) string { return path.Join(sessionsDir, "Replies", id, replyFile) }
