// Package uptest is a small BITS upload server written from the protocol's pages ("BITS Upload
// Protocol" and its packet pages, and [MC-BUP]) for bitsemu's own tests of the upload client. It
// keeps its sessions in memory, publishes an upload under its URL's path when the session is
// closed (MC-BUP 1.3.2), answers the last fragment of an upload-reply with a reply URL it serves
// itself (GET and HEAD, with ranges), and lets a test break it on purpose: cut a connection in
// the middle of a packet or before its Ack, answer with an error, forget its sessions, never
// answer. It shares no code with the client, not even the header parsers of internal/bup, so
// that the two are checked against each other.
package uptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/bitstest"
)

// The protocol's constants, spelt out here rather than taken from the client's package.
const (
	protocolGUID    = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
	sessionNotFound = "0x8020001F" // BG_E_SESSION_NOT_FOUND
	invalidArg      = "0x80070057" // E_INVALIDARG
	contextServer   = "0x5"        // BG_ERROR_CONTEXT_REMOTE_FILE
)

// Packet is one request as the server saw it.
type Packet struct {
	Type    string // the BITS-Packet-Type, as sent
	Method  string
	Path    string // the URL path
	Host    string // the Host header
	Session string // BITS-Session-Id
	Range   string // Content-Range (fragments)
	Name    string // Content-Name
	Length  int64  // Content-Length
	Custom  string // the X-Test header, to see custom headers arrive
}

// Fault is what the server does to one packet instead of its normal answer.
type Fault struct {
	// Cut closes the connection without an answer: after reading CutAfter bytes of the body
	// (bytes of a fragment read are stored), or, with CutAfter negative, after handling the
	// packet fully (its Ack is lost).
	Cut      bool
	CutAfter int64
	// Status, when not 0, is answered instead, with Code and Context as BITS-Error-Code and
	// BITS-Error-Context (left out when ""), and the header name ErrorHeader for the code
	// ("BITS-Error-Code" when "").
	Status      int
	Code        string
	Context     string
	ErrorHeader string
	// Forget drops every session before the packet is handled.
	Forget bool
	// Stall reads the packet and never answers: the handler waits until the client goes away
	// or the server closes.
	Stall bool
}

// Server is the upload server. Set its fields before it serves.
type Server struct {
	// HostID and HostFallback, when HostID is set, go into every Ack for Create-Session as
	// BITS-Host-Id and (when not 0) BITS-Host-Id-Fallback-Timeout, in seconds.
	HostID       string
	HostFallback int
	// MaxFragment, when not 0, answers 413 to a fragment of more bytes.
	MaxFragment int64
	// Reply, when not nil, makes the server an upload-reply server: the Ack to the last fragment
	// carries a reply URL whose content is Reply of the upload's name and bytes.
	Reply func(name string, data []byte) []byte
	// Fault, when not nil, is asked for each request (after it was logged) what to do with it.
	Fault func(p Packet) Fault
	// ReplyStatus, when not 0, is the status every request for a reply gets.
	ReplyStatus int
	// Dir, when not "", is where uploads go: each session's bytes into a file of its own there,
	// renamed on Close-Session to the base name of its URL's path, so that big uploads need no
	// memory (File then reads them back; Reply gets no bytes). When "", uploads are kept in
	// memory.
	Dir string

	mu        sync.Mutex
	sessions  map[string]*session
	files     map[string][]byte // published uploads, by path
	replies   map[string][]byte // by reply path
	log       []Packet
	cuts      int
	cancelled []string // sessions cancelled
	n         int      // sessions made
	body      int64    // fragment bytes received
	closing   chan struct{}
	net       *bitstest.Network
}

type session struct {
	path  string
	name  string
	total int64    // -1 until the first fragment
	data  []byte   // in memory, without Dir
	f     *os.File // in Dir
	size  int64    // the bytes received
	done  bool     // the last byte arrived
}

// Listen serves s on the in-memory network n at addr and returns its base URL and a function
// that stops it. While a packet is handled its connection is busy for [bitstest.Network.Quiet];
// while a Stall holds it, parked.
func (s *Server) Listen(n *bitstest.Network, addr string) (url string, stop func()) {
	l, err := n.Listen(addr)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.net = n
	s.mu.Unlock()
	type connKey struct{}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := r.Context().Value(connKey{}).(net.Conn)
			s.serve(w, r, c)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateActive:
				n.SetBusy(c, true)
			case http.StateIdle:
				n.SetBusy(c, false)
			}
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	return "http://" + addr, func() {
		s.stop()
		_ = hs.Close()
		<-done
	}
}

// ServeHTTP serves s on any listener (httptest, for example); Stall then cannot park.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, nil) }

// stop ends every Stall.
func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing == nil {
		s.closing = make(chan struct{})
	}
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
}

// Close ends every Stall of a server served with ServeHTTP.
func (s *Server) Close() { s.stop() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request, c net.Conn) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.serveReply(w, r)
		return
	}
	p := Packet{
		Type: r.Header.Get("BITS-Packet-Type"), Method: r.Method, Path: r.URL.Path, Host: r.Host,
		Session: r.Header.Get("BITS-Session-Id"), Range: r.Header.Get("Content-Range"),
		Name: r.Header.Get("Content-Name"), Length: r.ContentLength, Custom: r.Header.Get("X-Test"),
	}
	s.mu.Lock()
	s.log = append(s.log, p)
	if s.sessions == nil {
		s.sessions, s.files, s.replies = map[string]*session{}, map[string][]byte{}, map[string][]byte{}
	}
	if s.closing == nil {
		s.closing = make(chan struct{})
	}
	closing := s.closing
	if s.net != nil && c != nil {
		r.Body = &waitingBody{ReadCloser: r.Body, n: s.net, c: c}
	}
	s.mu.Unlock()
	var f Fault
	if s.Fault != nil {
		f = s.Fault(p)
	}
	if f.Forget {
		s.mu.Lock()
		clear(s.sessions)
		s.mu.Unlock()
	}
	switch {
	case f.Stall:
		_, _ = io.Copy(io.Discard, r.Body)
		unpark := func() {}
		s.mu.Lock()
		if s.net != nil && c != nil {
			unpark = s.net.Park(c)
		}
		s.mu.Unlock()
		defer unpark()
		select {
		case <-r.Context().Done():
		case <-closing:
		}
		return
	case f.Status != 0:
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("BITS-Packet-Type", "Ack")
		name := f.ErrorHeader
		if name == "" {
			name = "BITS-Error-Code"
		}
		if f.Code != "" {
			h.Set(name, f.Code)
		}
		if f.Context != "" {
			h.Set("BITS-Error-Context", f.Context)
		}
		h.Set("Content-Length", "0")
		w.WriteHeader(f.Status)
		return
	case f.Cut && f.CutAfter >= 0:
		s.cutAfter(r, p, f.CutAfter)
	}
	aw := &answer{h: http.Header{}, status: http.StatusOK}
	aw.h.Set("BITS-Packet-Type", "Ack")
	s.handle(aw, r, p)
	if f.Cut {
		s.mu.Lock()
		s.cuts++
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	for k, v := range aw.h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(aw.status)
}

// waitingBody is a request body on the in-memory network: while the handler waits in Read for
// bytes the client has not sent, its connection is not busy (the server waits on its peer, as a
// server between requests does), so that a client that paces its fragment, under a bandwidth
// limit on a virtual clock, finds the network quiet.
type waitingBody struct {
	io.ReadCloser
	n *bitstest.Network
	c net.Conn
}

func (b *waitingBody) Read(p []byte) (int, error) {
	b.n.SetBusy(b.c, false)
	defer b.n.SetBusy(b.c, true)
	return b.ReadCloser.Read(p)
}

// answer is an Ack being built.
type answer struct {
	h      http.Header
	status int
}

func (a *answer) fail(status int, code string) {
	a.status = status
	a.h.Set("BITS-Error-Code", code)
	a.h.Set("BITS-Error-Context", contextServer)
}

// cutAfter reads n bytes of the body (storing a fragment's), counts the cut and closes the
// connection.
func (s *Server) cutAfter(r *http.Request, p Packet, n int64) {
	buf, _ := io.ReadAll(io.LimitReader(r.Body, n))
	if p.Type == "Fragment" {
		if first, _, total, ok := parseRange(p.Range); ok {
			s.mu.Lock()
			if ss := s.sessions[p.Session]; ss != nil && (ss.total < 0 || ss.total == total) {
				ss.total = total
				s.store(ss, first, buf)
			}
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	s.cuts++
	s.body += int64(len(buf))
	s.mu.Unlock()
	panic(http.ErrAbortHandler)
}

// store appends the bytes of data, which start at offset first, that extend ss, skipping those
// it has ("Fragment": overlapping bytes are not written again). Called with s.mu held.
func (s *Server) store(ss *session, first int64, data []byte) {
	have := ss.size
	if first > have || first+int64(len(data)) <= have {
		return
	}
	more := data[have-first:]
	if ss.f != nil {
		if _, err := ss.f.WriteAt(more, have); err != nil {
			panic(err)
		}
	} else {
		ss.data = append(ss.data, more...)
	}
	ss.size += int64(len(more))
}

func (s *Server) handle(a *answer, r *http.Request, p Packet) {
	switch strings.ToLower(p.Type) {
	case "ping":
		_, _ = io.Copy(io.Discard, r.Body)
	case "create-session":
		_, _ = io.Copy(io.Discard, r.Body)
		if !strings.Contains(strings.ToLower(r.Header.Get("BITS-Supported-Protocols")), protocolGUID) {
			a.fail(http.StatusBadRequest, invalidArg)
			return
		}
		s.mu.Lock()
		s.n++
		id := fmt.Sprintf("{00000000-0000-0000-0000-%012d}", s.n)
		ss := &session{path: p.Path, total: -1}
		if s.Dir != "" {
			f, err := os.Create(filepath.Join(s.Dir, fmt.Sprintf("session-%d", s.n)))
			if err != nil {
				panic(err)
			}
			ss.f = f
		}
		s.sessions[id] = ss
		s.mu.Unlock()
		a.status = http.StatusCreated
		a.h.Set("BITS-Protocol", protocolGUID)
		a.h.Set("BITS-Session-Id", id)
		a.h.Set("Accept-Encoding", "Identity")
		if s.HostID != "" {
			a.h.Set("BITS-Host-Id", s.HostID)
			if s.HostFallback != 0 {
				a.h.Set("BITS-Host-Id-Fallback-Timeout", strconv.Itoa(s.HostFallback))
			}
		}
	case "fragment":
		s.fragment(a, r, p)
	case "close-session", "cancel-session":
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		ss := s.sessions[p.Session]
		if ss == nil {
			a.fail(http.StatusInternalServerError, sessionNotFound)
			return
		}
		delete(s.sessions, p.Session)
		if ss.f != nil {
			ss.f.Close()
		}
		if strings.EqualFold(p.Type, "cancel-session") {
			s.cancelled = append(s.cancelled, p.Session)
			if ss.f != nil {
				_ = os.Remove(ss.f.Name())
			}
			return
		}
		switch {
		case ss.done && ss.f != nil:
			if err := os.Rename(ss.f.Name(), filepath.Join(s.Dir, filepath.Base(ss.path))); err != nil {
				panic(err)
			}
			s.files[ss.path] = nil
		case ss.done:
			s.files[ss.path] = ss.data
		}
		a.h.Set("BITS-Session-Id", p.Session)
	default:
		_, _ = io.Copy(io.Discard, r.Body)
		a.fail(http.StatusBadRequest, invalidArg)
	}
}

func (s *Server) fragment(a *answer, r *http.Request, p Packet) {
	first, last, total, ok := parseRange(p.Range)
	s.mu.Lock()
	ss := s.sessions[p.Session]
	s.mu.Unlock()
	switch {
	case ss == nil:
		_, _ = io.Copy(io.Discard, r.Body)
		a.fail(http.StatusInternalServerError, sessionNotFound)
		return
	case !ok || p.Length != last-first+1 || (ss.total >= 0 && ss.total != total):
		_, _ = io.Copy(io.Discard, r.Body)
		a.fail(http.StatusBadRequest, invalidArg)
		return
	case s.MaxFragment > 0 && p.Length > s.MaxFragment:
		_, _ = io.Copy(io.Discard, r.Body)
		a.status = http.StatusRequestEntityTooLarge
		return
	}
	s.mu.Lock()
	ss.total = total
	have := ss.size
	s.mu.Unlock()
	if first > have {
		_, _ = io.Copy(io.Discard, r.Body)
		a.status = http.StatusRequestedRangeNotSatisfiable
		a.h.Set("BITS-Received-Content-Range", strconv.FormatInt(have, 10))
		return
	}
	// The body is stored as it arrives, so that a cut keeps what came before it.
	bp := chunks.Get().(*[]byte)
	defer chunks.Put(bp)
	for off := first; ; {
		n, err := r.Body.Read(*bp)
		if n > 0 {
			s.mu.Lock()
			s.body += int64(n)
			s.store(ss, off, (*bp)[:n])
			s.mu.Unlock()
			off += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.name == "" {
		ss.name = p.Name
	}
	a.h.Set("BITS-Session-Id", p.Session)
	a.h.Set("BITS-Received-Content-Range", strconv.FormatInt(ss.size, 10))
	if ss.size == total {
		ss.done = true
		if s.Reply != nil {
			path := "/reply/" + strings.Trim(p.Session, "{}")
			s.replies[path] = s.Reply(ss.name, ss.data)
			a.h.Set("BITS-Reply-URL", path)
		}
	}
}

// chunks are the buffers fragments are read with.
var chunks = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// parseRange parses "bytes first-last/total", or "bytes */0" for the empty upload (first 0,
// last -1, total 0).
func parseRange(v string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.ToLower(v), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	if rest == "*/0" {
		return 0, -1, 0, true
	}
	span, tot, found := strings.Cut(rest, "/")
	a, b, found2 := strings.Cut(span, "-")
	if !found || !found2 {
		return 0, 0, 0, false
	}
	var e1, e2, e3 error
	first, e1 = strconv.ParseInt(a, 10, 64)
	last, e2 = strconv.ParseInt(b, 10, 64)
	total, e3 = strconv.ParseInt(tot, 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || first < 0 || first > last || last >= total {
		return 0, 0, 0, false
	}
	return first, last, total, true
}

// serveReply serves a reply, with HEAD and ranges.
func (s *Server) serveReply(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.replies[r.URL.Path]
	status := s.ReplyStatus
	s.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(data))
}

// File returns the upload published at path (by Close-Session), and whether there is one.
func (s *Server) File(path string) ([]byte, bool) {
	s.mu.Lock()
	b, ok := s.files[path]
	s.mu.Unlock()
	if ok && s.Dir != "" {
		var err error
		if b, err = os.ReadFile(filepath.Join(s.Dir, filepath.Base(path))); err != nil {
			return nil, false
		}
	}
	return b, ok
}

// Packets returns every request the server received, in order.
func (s *Server) Packets() []Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Packet(nil), s.log...)
}

// Count returns how many packets of type typ (compared without case) the server received.
func (s *Server) Count(typ string) int {
	n := 0
	for _, p := range s.Packets() {
		if strings.EqualFold(p.Type, typ) {
			n++
		}
	}
	return n
}

// Cuts returns how many connections the server cut.
func (s *Server) Cuts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cuts
}

// Cancelled returns the sessions cancelled with Cancel-Session.
func (s *Server) Cancelled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cancelled...)
}

// Sessions returns how many sessions are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// BodyBytes returns how many bytes of fragment bodies the server read, cut ones included.
func (s *Server) BodyBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.body
}
