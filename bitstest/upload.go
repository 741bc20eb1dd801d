package bitstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// UploadServer is a BITS upload server for tests: an [upload.Handler] receiving into a
// directory, on loopback or on a [Network], behind a fault script made of the same [Fault]
// values as a [Server]'s. Make one with [NewUploadServer] or [NewTLSUploadServer] (loopback),
// [NewUploadServerOn] or [NewTLSUploadServerOn] (a Network), and stop it with
// [UploadServer.Close]. Its methods are safe for concurrent use.
//
// A client uploads to URL + "/" + name (see [UploadServer.URLFor]); the file appears under Dir
// when the client closes its session. Everything but the faults is the handler's doing: see
// package upload.
//
// How the faults act on uploads. The script is played as for a Server (in order, Skip and
// Times counted per fault, at most one fault of a kind per request, an answering fault ends the
// scan). [Fault.On] names the upload (the URL path without its leading slash), and
// [Fault.Method] takes an HTTP method ("BITS_POST", "GET") or a packet type ("Fragment",
// "Create-Session", ...), without regard to case.
//
//   - [Status] and [Redirect] answer any request themselves, with no Ack: as a proxy or a
//     front end in the way would.
//   - [Hangup] closes the connection of any request before the handler sees it.
//   - [DropAfter](n) cuts a packet after n bytes of its body: the handler gets those n bytes
//     (and keeps them, as a server does when a client's connection breaks), then the connection
//     is closed with no answer. When the body has n bytes or fewer (every packet but a
//     Fragment has none), the handler processes the whole packet and its Ack is lost: the
//     connection is closed in its place. On a GET of a reply it cuts the answer's body after n
//     bytes, as on a Server.
//   - [Stall](n) holds a packet after n bytes of its body until [UploadServer.Release] or
//     [UploadServer.Close]; when the body has n bytes or fewer, the handler processes the
//     packet and its Ack waits. On a GET of a reply it holds the answer's body after n bytes.
//   - [Flaky](seed, p) makes Fragments fail at random: with probability p, a 503 answer or a
//     cut at a random offset of the body, with even odds.
//   - [LoseSession] makes the server forget a session: before the handler sees a packet that
//     names one (Fragment, Close-Session, Cancel-Session), the session and its data are
//     removed, so that packet and every later one of the session get BG_E_SESSION_NOT_FOUND.
//
// The other kinds of fault do not apply to an UploadServer.
type UploadServer struct {
	// URL is the base URL of the server, with no trailing slash.
	URL string
	// Dir is the directory the server receives into.
	Dir string
	// Handler is the upload handler behind the fault script, for its Sessions and Remove.
	Handler *upload.Handler

	*host // where it listens

	mu       sync.Mutex
	faults   []*active
	stats    UploadStats
	requests []UploadRequest
	release  chan struct{} // closed by Release; then replaced unless closed
	changed  chan struct{} // closed and replaced whenever the stats change
	closed   bool
}

// NewUploadServer starts a plain HTTP upload server on 127.0.0.1 receiving into dir, which must
// exist, with the handler options opts and the given fault script. It panics if the handler
// cannot be made (see [upload.New]).
func NewUploadServer(dir string, opts upload.Options, faults ...Fault) *UploadServer {
	return newUploadServer(nil, "", dir, opts, faults, false)
}

// NewTLSUploadServer is NewUploadServer over HTTPS, with httptest's self-signed certificate:
// [UploadServer.TLSConfig] and [UploadServer.Client] trust it.
func NewTLSUploadServer(dir string, opts upload.Options, faults ...Fault) *UploadServer {
	return newUploadServer(nil, "", dir, opts, faults, true)
}

// NewUploadServerOn starts a plain HTTP upload server listening on the network n at addr (see
// [NewServerOn]). A Stall parks its connection, so [Network.Quiet] can report a network whose
// only activity left is a held request. It panics if it cannot listen on addr.
func NewUploadServerOn(n *Network, addr, dir string, opts upload.Options, faults ...Fault) *UploadServer {
	return newUploadServer(n, addr, dir, opts, faults, false)
}

// NewTLSUploadServerOn is NewUploadServerOn over HTTPS, with a self-signed certificate for the
// host of addr (see [NewTLSServerOn]).
func NewTLSUploadServerOn(n *Network, addr, dir string, opts upload.Options, faults ...Fault) *UploadServer {
	return newUploadServer(n, addr, dir, opts, faults, true)
}

func newUploadServer(n *Network, addr, dir string, opts upload.Options, faults []Fault, useTLS bool) *UploadServer {
	h, err := upload.New(dir, opts)
	if err != nil {
		panic("bitstest: " + err.Error())
	}
	s := &UploadServer{Dir: dir, Handler: h, release: make(chan struct{}), changed: make(chan struct{})}
	s.AddFaults(faults...)
	if n != nil {
		s.host = startOn(n, addr, s.serve, useTLS)
	} else {
		s.host = startLoopback(s.serve, useTLS)
		register(s)
	}
	s.URL = s.host.url
	return s
}

// Close releases every held request, makes later stalls pass at once, shuts the server down
// (waiting for its requests, as [Server.Close] does) and closes the handler; the sessions stay
// in Dir, so a new UploadServer over it continues them. Calling it again does nothing.
func (s *UploadServer) Close() {
	s.mu.Lock()
	already := s.closed
	if !s.closed {
		s.closed = true
		close(s.release)
	}
	s.mu.Unlock()
	if already {
		return
	}
	unregister(s)
	s.host.close()
	_ = s.Handler.Close()
}

// Quiet reports whether the server is doing nothing but wait: no request is being answered,
// except those a [Stall] holds (see [Server.Quiet]).
func (s *UploadServer) Quiet() bool { return s.host.quiet() }

// Client returns an HTTP client configured for the server (see [Server.Client]).
func (s *UploadServer) Client() *http.Client { return s.host.client() }

// TLSConfig returns a new TLS client configuration that trusts the server's certificate; nil
// for a plain HTTP server.
func (s *UploadServer) TLSConfig() *tls.Config { return s.host.tlsConfig() }

// Certificate returns the certificate of a TLS server, nil for a plain HTTP server.
func (s *UploadServer) Certificate() *x509.Certificate { return s.host.certificate() }

// URLFor returns the URL to upload the file name to, with its path escaped.
func (s *UploadServer) URLFor(name string) string {
	return s.URL + (&url.URL{Path: "/" + cleanName(name)}).EscapedPath()
}

// AddFaults appends faults to the server's fault script.
func (s *UploadServer) AddFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = appendFaults(s.faults, faults)
}

// ClearFaults removes every fault from the script, used or not.
func (s *UploadServer) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Release lets every request held by [Stall] at the time of the call go on.
func (s *UploadServer) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		close(s.release)
		s.release = make(chan struct{})
	}
}

// UploadStats are counts of what an UploadServer did.
type UploadStats struct {
	// Requests counts every request; Packets the BITS_POST ones among them, by packet type as
	// the client spelled it; Gets the GET and HEAD requests (replies).
	Requests int
	Packets  map[string]int
	Gets     int
	// Faults counts the faults that took effect (a request can get several).
	Faults int
	// BytesReceived counts the fragment body bytes the handler read.
	BytesReceived int64
	// Cut counts the requests whose connection the server closed without an answer: Hangup,
	// DropAfter and Flaky's cuts.
	Cut int
	// SessionsLost counts the sessions LoseSession made the server forget.
	SessionsLost int
	// Stalled is the number of requests held now.
	Stalled int
}

// Stats returns the server's counts.
func (s *UploadServer) Stats() UploadStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Packets = make(map[string]int, len(s.stats.Packets))
	for k, v := range s.stats.Packets {
		st.Packets[k] = v
	}
	return st
}

// WaitFor blocks until cond holds for the server's [UploadStats] or ctx ends, and returns
// ctx.Err() in the latter case (see [Server.WaitFor]).
func (s *UploadServer) WaitFor(ctx context.Context, cond func(UploadStats) bool) error {
	for {
		st := s.Stats()
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// UploadRequest is the record of one request an UploadServer received.
type UploadRequest struct {
	Method    string      // the request's method
	Packet    string      // its BITS-Packet-Type, as sent; "" for a GET
	Path      string      // its URL path, unescaped, with its leading slash
	SessionID string      // its BITS-Session-Id, "" if none
	Range     string      // its Content-Range (a Fragment) or Range (a GET), "" if none
	Header    http.Header // a copy of its headers
	// Status is the status code of the answer; 0 if the connection was closed without one.
	Status int
	// ErrorCode is the answer's BITS-Error-Code, "" if none.
	ErrorCode string
	// Received is the number of body bytes the handler read.
	Received int64
	// Faults describes the faults that took effect, in script order.
	Faults []string
}

// Requests returns the log of every request received, in arrival order.
func (s *UploadServer) Requests() []UploadRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneLog(s.requests, func(r *UploadRequest) (http.Header, []string) { return r.Header, r.Faults },
		func(r *UploadRequest, h http.Header, f []string) { r.Header, r.Faults = h, f })
}

// LoseSession makes an UploadServer forget the session of the packets it applies to (see
// [UploadServer]); a Server ignores it. With [Fault.Times] and [Fault.Skip] it loses a given
// packet's session: LoseSession().Method("Fragment").Skip(2).Times(1) loses the session at the
// third fragment.
func LoseSession() Fault { return Fault{kind: kindLoseSession} }

// uploadPlan is what the faults make of one request.
type uploadPlan struct {
	status   int // an answer in place of the handler's, 0 if none
	location string
	hangup   bool
	lose     bool
	dropAt   int64 // offsets in the body, -1 if none
	stallAt  int64
	flakyCut bool
	flakyAt  float64
	applied  []string
}

// appliesToUpload reports whether f's kind, method and name fit a request of an UploadServer.
func (f *Fault) appliesToUpload(method, packet, name string) bool {
	if f.path != "" && f.path != name {
		return false
	}
	if f.method != "" && !strings.EqualFold(f.method, method) && !strings.EqualFold(f.method, packet) {
		return false
	}
	switch f.kind {
	case kindStatus, kindRedirect, kindHangup, kindDropAfter, kindStall:
		return true
	case kindFlaky:
		return strings.EqualFold(packet, string(bup.Fragment))
	case kindLoseSession:
		pt, _ := bup.ParsePacketType(packet)
		return pt == bup.Fragment || pt == bup.CloseSession || pt == bup.CancelSession
	}
	return false
}

// planLocked plays the fault script for a request.
func (s *UploadServer) planLocked(method, packet, name string) *uploadPlan {
	p := &uploadPlan{dropAt: -1, stallAt: -1}
	p.applied = play(s.faults, func(f *Fault) bool { return f.appliesToUpload(method, packet, name) },
		func(f *Fault, roll flakyRoll) (stop bool) {
			switch f.kind {
			case kindStatus:
				p.status = f.code
				return true
			case kindRedirect:
				p.status, p.location = f.code, f.to
				if !strings.Contains(f.to, "://") {
					p.location = s.URLFor(f.to)
				}
				return true
			case kindHangup:
				p.hangup = true
				return true
			case kindFlaky:
				if !roll.cut {
					p.status = http.StatusServiceUnavailable
					return true
				}
				p.flakyCut, p.flakyAt = true, roll.at
			case kindDropAfter:
				p.dropAt = f.n
			case kindStall:
				p.stallAt = f.n
			case kindLoseSession:
				p.lose = true
			}
			return false
		})
	return p
}

// countLocked applies f to the stats and wakes WaitFor.
func (s *UploadServer) countLocked(f func(*UploadStats)) {
	f(&s.stats)
	close(s.changed)
	s.changed = make(chan struct{})
}

// serve answers a request: the fault script first, then the handler.
func (s *UploadServer) serve(w http.ResponseWriter, r *http.Request, park func() func()) {
	packet := ""
	if r.Method == bup.Method {
		packet = r.Header.Get(bup.HeaderPacketType)
	}
	sessionID := r.Header.Get(bup.HeaderSessionID)
	rng := r.Header.Get(bup.HeaderContentRange)
	if packet == "" {
		rng = r.Header.Get("Range")
	}
	s.mu.Lock()
	id := len(s.requests)
	s.requests = append(s.requests, UploadRequest{
		Method: r.Method, Packet: packet, Path: r.URL.Path, SessionID: sessionID, Range: rng,
		Header: r.Header.Clone(),
	})
	p := s.planLocked(r.Method, packet, cleanName(r.URL.Path))
	s.requests[id].Faults = p.applied
	s.countLocked(func(st *UploadStats) {
		st.Requests++
		switch {
		case packet != "":
			if st.Packets == nil {
				st.Packets = make(map[string]int)
			}
			st.Packets[packet]++
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			st.Gets++
		}
		st.Faults += len(p.applied)
		if p.hangup {
			st.Cut++
		}
	})
	s.mu.Unlock()

	if p.hangup {
		panic(http.ErrAbortHandler) // closes the connection; nothing was written
	}
	if p.status != 0 {
		if p.location != "" {
			w.Header().Set("Location", p.location)
		}
		s.recordAnswer(id, p.status, "")
		http.Error(w, http.StatusText(p.status), p.status)
		return
	}
	if p.lose && s.Handler.Remove(sessionID) {
		s.count(func(st *UploadStats) { st.SessionsLost++ })
	}
	if packet == "" {
		s.serveGet(w, r, id, p, park)
		return
	}
	s.servePacket(w, r, id, p, park)
}

// servePacket runs the handler on a packet, with the faults that act on its body and its Ack.
func (s *UploadServer) servePacket(w http.ResponseWriter, r *http.Request, id int, p *uploadPlan, park func() func()) {
	body := &faultBody{r: r.Body, s: s, id: id, dropAt: p.dropAt, stallAt: p.stallAt, park: park}
	if p.flakyCut {
		at := int64(p.flakyAt * float64(max(r.ContentLength, 0)))
		if body.dropAt < 0 || at < body.dropAt {
			body.dropAt = at
		}
	}
	r.Body = body
	rec := &ackRecorder{header: make(http.Header)}
	s.Handler.ServeHTTP(rec, r)
	if body.dropAt >= 0 {
		// Cut in the body, or after it when the body was shorter: the Ack is lost.
		s.count(func(st *UploadStats) { st.Cut++ })
		panic(http.ErrAbortHandler)
	}
	if body.stallAt >= 0 && !body.stalled {
		s.stall(id, park)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	s.recordAnswer(id, rec.status, rec.header.Get(bup.HeaderErrorCode))
	w.WriteHeader(rec.status)
	_, _ = io.WriteString(w, rec.body.String())
}

// serveGet runs the handler on a GET or HEAD (a reply), with the faults that act on the
// answer's body.
func (s *UploadServer) serveGet(w http.ResponseWriter, r *http.Request, id int, p *uploadPlan, park func() func()) {
	fw := &faultWriter{ResponseWriter: w, s: s, id: id, dropAt: p.dropAt, stallAt: p.stallAt, park: park}
	s.Handler.ServeHTTP(fw, r)
	if fw.cut {
		s.count(func(st *UploadStats) { st.Cut++ })
		panic(http.ErrAbortHandler)
	}
}

// count applies f to the stats.
func (s *UploadServer) count(f func(*UploadStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countLocked(f)
}

func (s *UploadServer) recordAnswer(id, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[id].Status = status
	s.requests[id].ErrorCode = code
}

// stall holds the request until Release or Close.
func (s *UploadServer) stall(id int, park func() func()) {
	s.mu.Lock()
	release := s.release
	s.mu.Unlock()
	// Parked first, counted second: once Stalled counts the request, Quiet already leaves it out.
	unpark := func() {}
	if park != nil {
		unpark = park()
	}
	s.count(func(st *UploadStats) { st.Stalled++ })
	<-release
	unpark()
	s.count(func(st *UploadStats) { st.Stalled-- })
}

// faultBody is a fragment's body under the faults: it ends in an error after dropAt bytes and
// holds the reader after stallAt bytes.
type faultBody struct {
	r               io.ReadCloser
	s               *UploadServer
	id              int
	read            int64
	dropAt, stallAt int64
	park            func() func()
	cut, stalled    bool
}

func (b *faultBody) Read(p []byte) (int, error) {
	if b.cut {
		return 0, io.ErrUnexpectedEOF
	}
	if b.stallAt >= 0 && !b.stalled && b.read >= b.stallAt {
		b.stalled = true
		b.s.stall(b.id, b.park)
	}
	limit := int64(len(p))
	for _, at := range []int64{b.dropAt, b.stallAt} {
		if at > b.read && at-b.read < limit {
			limit = at - b.read
		}
	}
	if b.dropAt >= 0 && b.read >= b.dropAt {
		b.cut = true
		return 0, fmt.Errorf("bitstest: connection cut after %d bytes: %w", b.read, io.ErrUnexpectedEOF)
	}
	n, err := b.r.Read(p[:limit])
	b.read += int64(n)
	b.s.mu.Lock()
	b.s.requests[b.id].Received = b.read
	b.s.countLocked(func(st *UploadStats) { st.BytesReceived += int64(n) })
	b.s.mu.Unlock()
	return n, err
}

func (b *faultBody) Close() error { return b.r.Close() }

// ackRecorder keeps the handler's answer to a packet, so that the faults decide whether and
// when it goes out.
type ackRecorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (a *ackRecorder) Header() http.Header { return a.header }

func (a *ackRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *ackRecorder) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.WriteString(string(p))
}

// faultWriter passes a reply's answer through, cutting or holding its body after some bytes.
type faultWriter struct {
	http.ResponseWriter
	s               *UploadServer
	id              int
	written         int64
	dropAt, stallAt int64
	park            func() func()
	cut, stalled    bool
	status          int
}

func (f *faultWriter) WriteHeader(status int) {
	if f.status == 0 {
		f.status = status
		f.s.recordAnswer(f.id, status, f.Header().Get(bup.HeaderErrorCode))
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f *faultWriter) Write(p []byte) (int, error) {
	if f.status == 0 {
		f.WriteHeader(http.StatusOK)
	}
	done := 0
	for len(p) > 0 {
		if f.cut {
			return done, io.ErrClosedPipe
		}
		if f.stallAt >= 0 && !f.stalled && f.written >= f.stallAt {
			f.stalled = true
			flush(f.ResponseWriter)
			f.s.stall(f.id, f.park)
		}
		if f.dropAt >= 0 && f.written >= f.dropAt {
			flush(f.ResponseWriter)
			f.cut = true
			return done, io.ErrClosedPipe
		}
		chunk := int64(len(p))
		for _, at := range []int64{f.dropAt, f.stallAt} {
			if at > f.written && at-f.written < chunk {
				chunk = at - f.written
			}
		}
		n, err := f.ResponseWriter.Write(p[:chunk])
		f.written += int64(n)
		done += n
		p = p[n:]
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func flush(w http.ResponseWriter) {
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}
