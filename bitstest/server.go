package bitstest

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is an HTTP or HTTPS server, on loopback or on a [Network], that serves a set of files
// the way BITS needs them (HEAD with Content-Length; GET with a single Range answered 206 with
// Content-Range and Content-Length; ETag and Last-Modified), and that misbehaves on purpose as
// a fault script says. On loopback it wraps an [httptest.Server]. Make one with [NewServer] or
// [NewTLSServer] (loopback), [NewServerOn] or [NewTLSServerOn] (a Network), and stop it with
// [Server.Close]. Its methods are safe for concurrent use.
//
// A file is named by its path without the leading slash: the file "dir/a.bin" is served at
// URL + "/dir/a.bin" (see [Server.URLFor]). A request for an unknown file is answered 404.
//
// HEAD gets the headers a GET of the whole file would get. Every other method is answered
// as GET (BITS can be told to use another method than GET; [Request.Method] records what was
// used). A GET honours a Range header of a single range of bytes ("bytes=a-b", "bytes=a-" or
// "bytes=-n") with 206, Content-Range and Content-Length. A Range the server cannot satisfy
// (beyond the end of the file, any range of an empty file), a malformed Range, and a Range of
// several ranges ("bytes=0-9,20-29": bitstest serves no multipart answers) are answered 416
// with "Content-Range: bytes */size". A GET with an If-Range naming the file's current ETag
// or Last-Modified gets the range; with any other If-Range it gets the whole file (200).
//
// Every version of a file has its own ETag and Last-Modified: a version counter, shared by
// all the server's files, goes up at each change of content ([Server.SetContent],
// [ChangeContent], [ChangeAfter]), and Last-Modified is a fixed date plus that many seconds,
// so both validators differ from every earlier version's.
type Server struct {
	// URL is the base URL of the server, with no trailing slash: "http://127.0.0.1:port" or
	// "https://127.0.0.1:port" on loopback, "http://bits.test" and the like on a [Network].
	URL string

	*host // where it listens

	mu       sync.Mutex
	files    map[string]*file
	version  int64
	faults   []*active
	total    Stats
	perFile  map[string]*Stats
	requests []Request
	release  chan struct{} // closed by Release; then replaced unless closed
	changed  chan struct{} // closed and replaced whenever the stats change
	closed   bool
}

// file is one version of a file's content. It is never modified: a change makes a new one.
type file struct {
	data    []byte
	etag    string
	modTime time.Time
}

// baseTime is the Last-Modified of version 0 (Windows XP, the first release with BITS).
var baseTime = time.Date(2001, time.October, 25, 0, 0, 0, 0, time.UTC)

// chunkSize is the largest body write the server hands to the connection at once.
const chunkSize = 32 << 10

// NewServer starts a plain HTTP server on 127.0.0.1 serving files (a map from name to
// content; the map and the contents are copied) with the given fault script.
func NewServer(files map[string][]byte, faults ...Fault) *Server {
	return newServer(files, faults, false)
}

// NewTLSServer starts an HTTPS server on 127.0.0.1 serving files with the given fault script.
// Its certificate is httptest's self-signed one: [Server.TLSConfig] and [Server.Client] trust
// it.
func NewTLSServer(files map[string][]byte, faults ...Fault) *Server {
	return newServer(files, faults, true)
}

func newServer(files map[string][]byte, faults []Fault, useTLS bool) *Server {
	s := newState(files, faults)
	s.host = startLoopback(s.serveOn, useTLS)
	s.URL = s.host.url
	register(s)
	return s
}

// Quiet reports whether the server is doing nothing but wait: no request is being answered,
// except answers that wait by design (a [Stall]). On a [Network] it is the network's Quiet. A
// Harness counts a transfer as waiting on a silent peer only while every live Server and every
// Network is quiet.
func (s *Server) Quiet() bool { return s.host.quiet() }

// live holds the servers and networks not yet closed, for a Harness's steps.
var live struct {
	sync.Mutex
	servers  map[quieter]struct{}
	networks map[*Network]struct{}
}

// quieter is a loopback server a Harness's steps wait for: a Server or an UploadServer.
type quieter interface{ Quiet() bool }

func register(s quieter) {
	live.Lock()
	defer live.Unlock()
	if live.servers == nil {
		live.servers = make(map[quieter]struct{})
	}
	live.servers[s] = struct{}{}
}

func unregister(s quieter) {
	live.Lock()
	defer live.Unlock()
	delete(live.servers, s)
}

// peersQuiet reports whether every live Server, UploadServer and Network is quiet.
func peersQuiet() bool {
	live.Lock()
	defer live.Unlock()
	for s := range live.servers {
		if !s.Quiet() {
			return false
		}
	}
	for n := range live.networks {
		if !n.Quiet() {
			return false
		}
	}
	return true
}

// NewServerOn starts a plain HTTP server listening on the network n at addr, a "host:port"
// address such as "bits.test:80", serving files with the given fault script. Its URL leaves
// the port out when it is 80 ("http://bits.test"). A client reaches it through n.Dial (for
// example as transfer.Config.Dial) or through [Server.Client]. While a response waits by
// design (a [Stall]), its connection is parked (see [Network.Park]), so [Network.Quiet] can
// report a network whose only activity left is a silent server. NewServerOn panics if it
// cannot listen on addr.
func NewServerOn(n *Network, addr string, files map[string][]byte, faults ...Fault) *Server {
	return newServerOn(n, addr, files, faults, false)
}

// NewTLSServerOn is NewServerOn for HTTPS: the server's certificate is a self-signed one made
// for the host of addr, valid from 1990 to 2199 (so that it is valid under a testing/synctest
// bubble's clock too); [Server.TLSConfig] and [Server.Client] trust it. Its URL leaves the port
// out when it is 443.
func NewTLSServerOn(n *Network, addr string, files map[string][]byte, faults ...Fault) *Server {
	return newServerOn(n, addr, files, faults, true)
}

func newServerOn(n *Network, addr string, files map[string][]byte, faults []Fault, useTLS bool) *Server {
	s := newState(files, faults)
	s.host = startOn(n, addr, s.serveOn, useTLS)
	s.URL = s.host.url
	return s
}

// selfSigned makes a self-signed ECDSA certificate for host.
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             time.Date(1990, time.January, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2199, time.December, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func newState(files map[string][]byte, faults []Fault) *Server {
	s := &Server{
		files:   make(map[string]*file, len(files)),
		perFile: make(map[string]*Stats),
		release: make(chan struct{}),
		changed: make(chan struct{}),
	}
	// Versions are given in name order so that validators do not depend on map order.
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s.setContentLocked(cleanName(name), files[name])
	}
	s.AddFaults(faults...)
	return s
}

// Close releases every stalled response, makes later stalls pass at once, and shuts the
// server down, waiting (like [httptest.Server.Close]) until all requests have finished. A
// server on a Network waits at most 5 seconds (of the clock time.Now reads, which is a
// testing/synctest bubble's fake clock inside one): then it reports the connections still
// open on standard error and closes them, so Close does not hang on a client that stopped
// reading. Calling it again does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.release)
	}
	s.mu.Unlock()
	unregister(s)
	s.host.close()
}

// Client returns an HTTP client configured for the server: for a TLS server it trusts the
// server's certificate; for a server on a Network it dials through the Network. Its idle
// connections are closed by [Server.Close].
func (s *Server) Client() *http.Client { return s.host.client() }

// TLSConfig returns a new TLS client configuration that trusts the server's certificate, for
// clients other than [Server.Client]; nil for a plain HTTP server.
func (s *Server) TLSConfig() *tls.Config { return s.host.tlsConfig() }

// Certificate returns the certificate of a TLS server, nil for a plain HTTP server.
func (s *Server) Certificate() *x509.Certificate { return s.host.certificate() }

// URLFor returns the URL of the file name (which need not exist), with its path escaped.
func (s *Server) URLFor(name string) string {
	return s.URL + (&url.URL{Path: "/" + cleanName(name)}).EscapedPath()
}

// SetContent replaces the content of the file name, or adds the file; data is copied. The
// file gets a new version: its ETag and Last-Modified change, even if data is the same.
// Responses already being written go on with the old content.
func (s *Server) SetContent(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setContentLocked(cleanName(name), data)
}

// Remove removes the file name: later requests for it are answered 404.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, cleanName(name))
}

// Content returns a copy of the current content of the file name, or nil if there is no
// such file.
func (s *Server) Content(name string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[cleanName(name)]; f != nil {
		return slices.Clone(f.data)
	}
	return nil
}

// ETag returns the current ETag of the file name, quotes included, or "" if there is no such
// file.
func (s *Server) ETag(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[cleanName(name)]; f != nil {
		return f.etag
	}
	return ""
}

// LastModified returns the current Last-Modified time of the file name, or the zero time if
// there is no such file.
func (s *Server) LastModified(name string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[cleanName(name)]; f != nil {
		return f.modTime
	}
	return time.Time{}
}

func (s *Server) setContentLocked(name string, data []byte) {
	s.version++
	data = slices.Clone(data)
	if data == nil {
		data = []byte{}
	}
	s.files[name] = &file{
		data:    data,
		etag:    fmt.Sprintf(`"v%d-%08x"`, s.version, crc32.ChecksumIEEE(data)),
		modTime: baseTime.Add(time.Duration(s.version) * time.Second),
	}
}

// AddFaults appends faults to the server's fault script.
func (s *Server) AddFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = appendFaults(s.faults, faults)
}

// appendFaults appends faults to a script, each with its use counts (and its random source,
// for Flaky).
func appendFaults(script []*active, faults []Fault) []*active {
	for _, f := range faults {
		a := &active{f: f}
		if f.kind == kindFlaky {
			a.rng = mrand.New(mrand.NewPCG(uint64(f.seed), 0x6269747374657374))
		}
		script = append(script, a)
	}
	return script
}

// ClearFaults removes every fault from the script, used or not. Responses already under way
// keep the faults they got.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults describes the faults of the script that have a limited number of uses
// ([Fault.Times]) and have not used them all, in script order: a test can check that its
// whole script was played with require.Empty(t, srv.PendingFaults()).
func (s *Server) PendingFaults() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.faults {
		if a.f.times > 0 && a.used < a.f.times {
			out = append(out, fmt.Sprintf("%v (used %d of %d)", a.f, a.used, a.f.times))
		}
	}
	return out
}

// Release releases every response stalled by [Stall] at the time of the call: each goes on
// with the rest of its body. Responses that reach their stall point later stall again.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		close(s.release)
		s.release = make(chan struct{})
	}
}

// Stats are counts of what the server did.
type Stats struct {
	// Requests counts every request.
	Requests int
	// Heads counts HEAD requests.
	Heads int
	// Gets counts requests answered as GET: every method but HEAD.
	Gets int
	// RangeGets counts the Gets that carried a Range header.
	RangeGets int
	// Faults counts the faults that took effect (a request can get several).
	Faults int
	// BytesSent counts the body bytes the server handed to the connections. The server hands
	// them over in chunks of at most 32 KiB; a fault that cuts or stalls a response flushes
	// first, so what it counts is what reached the client.
	BytesSent int64
	// Stalled is the number of responses stalled now.
	Stalled int
}

// Stats returns the counts for all requests.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// StatsFor returns the counts for the requests for the file name (whether or not it exists).
func (s *Server) StatsFor(name string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.perFile[cleanName(name)]; st != nil {
		return *st
	}
	return Stats{}
}

// WaitFor blocks until cond holds for the server's [Stats] or ctx ends, and returns ctx.Err()
// in the latter case. cond is called with no lock held, each time the stats change; it must
// not block. For example, to wait until a response is stalled:
//
//	err := srv.WaitFor(ctx, func(st bitstest.Stats) bool { return st.Stalled > 0 })
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		st, ch := s.total, s.changed
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

// Request is the record of one request the server received.
type Request struct {
	// Method is the request's method.
	Method string
	// Path is the request's URL path, unescaped, with its leading slash.
	Path string
	// Range is the request's Range header, "" if it had none.
	Range string
	// Header is a copy of the request's headers.
	Header http.Header
	// Status is the status code of the answer; 0 if the connection was closed without one
	// ([Hangup]).
	Status int
	// Sent is the number of body bytes handed to the connection (see [Stats.BytesSent]).
	Sent int64
	// Faults describes the faults that took effect, in script order.
	Faults []string
}

// Requests returns the log of every request received, in arrival order. The entries of
// requests still being answered are as they stand.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneLog(s.requests, func(r *Request) (http.Header, []string) { return r.Header, r.Faults },
		func(r *Request, h http.Header, f []string) { r.Header, r.Faults = h, f })
}

// cloneLog returns a copy of a request log in which each entry's header and fault list (read
// by get, written by set) are copies too.
func cloneLog[T any](log []T, get func(*T) (http.Header, []string), set func(*T, http.Header, []string)) []T {
	out := slices.Clone(log)
	for i := range out {
		h, f := get(&out[i])
		set(&out[i], h.Clone(), slices.Clone(f))
	}
	return out
}

// countLocked applies f to the total stats and to those of the file name, and wakes WaitFor.
func (s *Server) countLocked(name string, f func(*Stats)) {
	f(&s.total)
	st := s.perFile[name]
	if st == nil {
		st = new(Stats)
		s.perFile[name] = st
	}
	f(st)
	close(s.changed)
	s.changed = make(chan struct{})
}

func cleanName(name string) string { return strings.TrimPrefix(name, "/") }

// ---------------------------------------------------------------------------------------------
// Faults

type kind uint8

const (
	kindStatus kind = iota + 1
	kindRedirect
	kindNoHead
	kindHangup
	kindNoRange
	kindNoContentLength
	kindNoValidators
	kindHTTP10
	kindChangeContent
	kindChangeAfter
	kindDropAfter
	kindStall
	kindFlaky
	kindLoseSession // upload servers only
)

// Fault is one entry of a server's fault script: a way to misbehave, and the requests it
// applies to. Make one with a constructor ([Status], [DropAfter], ...) and narrow it with
// [Fault.On], [Fault.Times], [Fault.Skip] and [Fault.Method]; each of those returns a
// modified copy, so faults compose:
//
//	bitstest.DropAfter(1000).On("a.bin").Skip(1).Times(2) // cut the 2nd and 3rd GETs of a.bin
//
// How a script is played: each request is checked against the faults in the order they
// were added. A fault matches a request when its file, method and kind fit the request (each
// constructor says which requests its kind applies to) and it has uses left. A matching fault
// with requests still to skip lets this one through and counts it. Otherwise it takes effect
// and uses one of its Times; but at most one fault of each kind takes effect per request (a
// later one of the same kind stays for a later request), and a fault that answers the request
// itself ([Status], [Redirect], [NoHead], [Hangup], or [Flaky] when it answers 503) ends the
// scan: the faults after it are not used for that request. So
//
//	bitstest.Status(503, 2), bitstest.DropAfter(10).Times(1), bitstest.DropAfter(20).Times(1)
//
// answers 503 twice, then cuts a GET after 10 bytes, then another after 20 bytes, then
// behaves. Faults that change the answer's form ([NoRange], [NoContentLength],
// [NoValidators], [HTTP10]) and those that act while the body is written ([DropAfter],
// [Stall], [ChangeAfter]) combine with each other and with one answering fault.
//
// The zero Fault does nothing.
type Fault struct {
	kind   kind
	path   string // "" = any file
	method string // "" = any method the kind applies to
	times  int    // 0 = no limit
	skip   int
	n      int64
	code   int
	to     string
	data   []byte
	seed   int64
	p      float64
}

// On returns a copy of f that applies only to requests for the file name ("a.bin" or
// "/a.bin"; the request's unescaped path is compared). "" means any file.
func (f Fault) On(name string) Fault { f.path = cleanName(name); return f }

// Times returns a copy of f that takes effect at most n times, then no longer applies. n <= 0
// means no limit, the default of every constructor except [ChangeContent] and [ChangeAfter]
// (once) and [Status] (its argument).
func (f Fault) Times(n int) Fault { f.times = max(n, 0); return f }

// Skip returns a copy of f that lets the first n requests it matches through untouched before
// it takes effect: DropAfter(10).Skip(2).Times(1) cuts the third GET.
func (f Fault) Skip(n int) Fault { f.skip = max(n, 0); return f }

// Method returns a copy of f that applies only to requests with method m (among those its
// kind applies to). "" means any.
func (f Fault) Method(m string) Fault { f.method = strings.ToUpper(m); return f }

// String describes f the way it is written in Go, for example
// `DropAfter(10).On("a.bin").Times(1)`.
func (f Fault) String() string {
	var b strings.Builder
	defTimes := 0
	switch f.kind {
	case kindStatus:
		fmt.Fprintf(&b, "Status(%d, %d)", f.code, f.times)
		defTimes = f.times
	case kindRedirect:
		fmt.Fprintf(&b, "Redirect(%q, %d)", f.to, f.code)
	case kindNoHead:
		b.WriteString("NoHead()")
	case kindHangup:
		b.WriteString("Hangup()")
	case kindNoRange:
		b.WriteString("NoRange()")
	case kindNoContentLength:
		b.WriteString("NoContentLength()")
	case kindNoValidators:
		b.WriteString("NoValidators()")
	case kindHTTP10:
		b.WriteString("HTTP10()")
	case kindChangeContent:
		fmt.Fprintf(&b, "ChangeContent(<%d bytes>)", len(f.data))
		defTimes = 1
	case kindChangeAfter:
		fmt.Fprintf(&b, "ChangeAfter(%d, <%d bytes>)", f.n, len(f.data))
		defTimes = 1
	case kindDropAfter:
		fmt.Fprintf(&b, "DropAfter(%d)", f.n)
	case kindStall:
		fmt.Fprintf(&b, "Stall(%d)", f.n)
	case kindFlaky:
		fmt.Fprintf(&b, "Flaky(%d, %g)", f.seed, f.p)
	case kindLoseSession:
		b.WriteString("LoseSession()")
	default:
		return "Fault{}"
	}
	if f.path != "" {
		fmt.Fprintf(&b, ".On(%q)", f.path)
	}
	if f.method != "" {
		fmt.Fprintf(&b, ".Method(%q)", f.method)
	}
	if f.skip > 0 {
		fmt.Fprintf(&b, ".Skip(%d)", f.skip)
	}
	if f.times != defTimes {
		fmt.Fprintf(&b, ".Times(%d)", f.times)
	}
	return b.String()
}

// Status answers requests (any method) with status code, a short text body and no file
// headers, times times (0: always), then no longer applies: Status(503, 3) fails three
// requests. It answers the request itself.
func Status(code, times int) Fault {
	return Fault{kind: kindStatus, code: code, times: max(times, 0)}
}

// Redirect answers requests (any method) with a redirect to to, with status code (0 means
// 302 Found). to is a URL if it contains "://", otherwise the name of a file of this server.
// It answers the request itself.
func Redirect(to string, code int) Fault {
	if code == 0 {
		code = http.StatusFound
	}
	return Fault{kind: kindRedirect, to: to, code: code}
}

// NoHead answers HEAD requests 405 Method Not Allowed ("Allow: GET"), as a server without
// HEAD support would. It answers the request itself.
func NoHead() Fault { return Fault{kind: kindNoHead} }

// Hangup closes the connection of requests (any method) without any answer. It answers the
// request itself.
//
// Beware that Go's http.Transport silently retries a GET or HEAD that got no answer on a
// reused keep-alive connection; a test that wants to see the error should use a client with
// keep-alives disabled, or a fresh connection.
func Hangup() Fault { return Fault{kind: kindHangup} }

// NoRange makes GETs with a Range header ignore it and answer 200 with the whole file, and
// leaves Accept-Ranges out, as a server (or a proxy) without range support does.
func NoRange() Fault { return Fault{kind: kindNoRange} }

// NoContentLength leaves Content-Length out of answers to HEAD and GET requests: a GET body
// is sent chunked (HTTP/1.1) or delimited by closing the connection ([HTTP10]).
func NoContentLength() Fault { return Fault{kind: kindNoContentLength} }

// NoValidators leaves ETag and Last-Modified out of answers to HEAD and GET requests.
func NoValidators() Fault { return Fault{kind: kindNoValidators} }

// HTTP10 answers HEAD and GET requests as an HTTP/1.0 server: an "HTTP/1.0" status line,
// "Connection: close", and the connection closed after the answer. The answer is otherwise
// the usual one (ranges are honoured unless [NoRange] applies too). It needs an HTTP/1
// connection (the server never offers HTTP/2). A response stalled by [Stall] on such a
// connection ends when the client closes the connection, [Server.Release] or [Server.Close].
func HTTP10() Fault { return Fault{kind: kindHTTP10} }

// ChangeContent replaces the content of the requested file with data (as
// [Server.SetContent] does: new ETag and Last-Modified) before answering a request (any
// method); the request gets the new content. It applies once unless [Fault.Times] says
// otherwise; with [Fault.Skip] it changes the content after that many requests.
func ChangeContent(data []byte) Fault {
	return Fault{kind: kindChangeContent, data: slices.Clone(data), times: 1}
}

// ChangeAfter replaces the content of the requested file with data (new ETag and
// Last-Modified) in the middle of a GET, once n bytes of its body have been written (or its
// whole body, if shorter): the change is made before the n-th byte is handed to the
// connection, so a client that has read n bytes sees the new version in its next request.
// The GET itself goes on to the end with the old content, as a server that replaces a file
// atomically would. Combine it with [DropAfter](n) to also cut the response there. It applies
// once unless [Fault.Times] says otherwise.
func ChangeAfter(n int64, data []byte) Fault {
	return Fault{kind: kindChangeAfter, n: max(n, 0), data: slices.Clone(data), times: 1}
}

// DropAfter cuts GETs after n bytes of their body: the headers and exactly n body bytes are
// flushed to the client, then the connection is closed (the client sees an unexpected EOF
// in the body). If the body has n bytes or fewer it is sent whole and the connection is
// closed after it.
func DropAfter(n int64) Fault { return Fault{kind: kindDropAfter, n: max(n, 0)} }

// Stall stops GETs after afterBytes bytes of their body: the headers and exactly afterBytes
// body bytes are flushed, then the response waits, without sleeping, until [Server.Release]
// or [Server.Close] is called (it then goes on with the rest of the body) or the client goes
// away (the connection is then closed). [Stats.Stalled] counts the responses waiting. If the
// body has afterBytes bytes or fewer the response stalls after the last byte; with a
// Content-Length the client has already got all of it.
func Stall(afterBytes int64) Fault { return Fault{kind: kindStall, n: max(afterBytes, 0)} }

// Flaky makes GETs fail at random, for simulations of a bad network: each GET it matches
// fails with probability p, and a failure is, with even odds, a 503 answer or a connection
// cut at a random offset of the body (before the headers for an empty body). The outcomes
// depend only on seed and on the order in which matching GETs arrive. Only failures use up
// [Fault.Times]. When a DropAfter also applies, the earlier cut wins.
func Flaky(seed int64, p float64) Fault { return Fault{kind: kindFlaky, seed: seed, p: p} }

// active is a fault of a server's script and its use so far.
type active struct {
	f       Fault
	used    int
	skipped int
	rng     *mrand.Rand // Flaky only
}

// appliesTo reports whether f's kind, method and file fit a request.
func (f *Fault) appliesTo(method, name string, hasRange bool) bool {
	if f.path != "" && f.path != name || f.method != "" && f.method != method {
		return false
	}
	get := method != http.MethodHead
	switch f.kind {
	case kindStatus, kindRedirect, kindHangup, kindChangeContent:
		return true
	case kindNoHead:
		return !get
	case kindNoContentLength, kindNoValidators, kindHTTP10:
		return true
	case kindNoRange:
		return get && hasRange
	case kindDropAfter, kindStall, kindChangeAfter, kindFlaky:
		return get
	}
	return false
}

// flakyRoll is how a Flaky fault that takes effect fails a request: a cut at the fraction at of
// the body, or (cut false) a 503 answer.
type flakyRoll struct {
	cut bool
	at  float64
}

// play plays a fault script for one request: for each fault that applies (its kind, file and
// method fit, says applies), has uses left, and is not the second of its kind for the request,
// it counts a skip or takes effect. A fault taking effect uses one of its Times, is described
// in the list play returns, and is handed to take (with the roll of its die, for Flaky; a
// Flaky whose die spares the request is passed over); take returns true to end the scan.
func play(script []*active, applies func(*Fault) bool, take func(f *Fault, roll flakyRoll) (stop bool)) []string {
	var applied []string
	var usedKinds uint32
	for _, a := range script {
		f := &a.f
		if f.kind == 0 || f.times > 0 && a.used >= f.times || usedKinds&(1<<f.kind) != 0 || !applies(f) {
			continue
		}
		if a.skipped < f.skip {
			a.skipped++
			continue
		}
		desc := f.String()
		var roll flakyRoll
		if f.kind == kindFlaky {
			if !(a.rng.Float64() < f.p) {
				continue
			}
			if a.rng.IntN(2) == 0 {
				desc += ": 503"
			} else {
				desc += ": cut"
				roll = flakyRoll{cut: true, at: a.rng.Float64()}
			}
		}
		a.used++
		usedKinds |= 1 << f.kind
		applied = append(applied, desc)
		if take(f, roll) {
			break
		}
	}
	return applied
}

// plan is what the faults make of one request.
type plan struct {
	status   int // an answer in place of the file's, 0 if none
	location string
	allow    string
	hangup   bool

	noRange, noLength, noValidators, http10 bool

	dropAt, stallAt, changeAt int64 // offsets in the body, -1 if none
	changeData                []byte
	flakyDrop                 bool
	flakyFrac                 float64

	applied []string
}

// planLocked plays the fault script for a request.
func (s *Server) planLocked(method, name string, hasRange bool) *plan {
	p := &plan{dropAt: -1, stallAt: -1, changeAt: -1}
	p.applied = play(s.faults, func(f *Fault) bool { return f.appliesTo(method, name, hasRange) },
		func(f *Fault, roll flakyRoll) (stop bool) {
			if roll.cut {
				p.flakyDrop, p.flakyFrac = true, roll.at
			}
			switch f.kind {
			case kindStatus:
				p.status = f.code
				return true
			case kindRedirect:
				p.status = f.code
				p.location = f.to
				if !strings.Contains(f.to, "://") {
					p.location = s.URLFor(f.to)
				}
				return true
			case kindNoHead:
				p.status, p.allow = http.StatusMethodNotAllowed, "GET"
				return true
			case kindHangup:
				p.hangup = true
				return true
			case kindFlaky:
				if !p.flakyDrop {
					p.status = http.StatusServiceUnavailable
					return true
				}
			case kindNoRange:
				p.noRange = true
			case kindNoContentLength:
				p.noLength = true
			case kindNoValidators:
				p.noValidators = true
			case kindHTTP10:
				p.http10 = true
			case kindChangeContent:
				s.setContentLocked(name, f.data)
			case kindChangeAfter:
				p.changeAt, p.changeData = f.n, f.data
			case kindDropAfter:
				p.dropAt = f.n
			case kindStall:
				p.stallAt = f.n
			}
			return false
		})
	return p
}

// ---------------------------------------------------------------------------------------------
// Serving

// response is an answer, before faults that act on the body.
type response struct {
	status int
	header http.Header
	body   []byte // nil for HEAD
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) { s.serveOn(w, r, nil) }

// serveOn answers r. park, when not nil, marks the request's connection as waiting on purpose
// until the function it returns is called.
func (s *Server) serveOn(w http.ResponseWriter, r *http.Request, park func() func()) {
	name := cleanName(r.URL.Path)
	method := r.Method
	rangeHdr := r.Header.Get("Range")
	head := method == http.MethodHead

	s.mu.Lock()
	id := len(s.requests)
	s.requests = append(s.requests, Request{
		Method: method, Path: r.URL.Path, Range: rangeHdr, Header: r.Header.Clone(),
	})
	p := s.planLocked(method, name, rangeHdr != "")
	f := s.files[name]
	s.requests[id].Faults = p.applied
	s.countLocked(name, func(st *Stats) {
		st.Requests++
		if head {
			st.Heads++
		} else {
			st.Gets++
			if rangeHdr != "" {
				st.RangeGets++
			}
		}
		st.Faults += len(p.applied)
	})
	s.mu.Unlock()

	rs := build(r, p, f)
	if p.flakyDrop && rs.body != nil {
		if len(rs.body) == 0 {
			p.hangup = true
		} else if at := int64(p.flakyFrac * float64(len(rs.body))); p.dropAt < 0 || at < p.dropAt {
			p.dropAt = at
		}
	}
	if p.hangup {
		panic(http.ErrAbortHandler) // closes the connection; nothing was written
	}
	if p.dropAt >= int64(len(rs.body)) {
		// Nothing to cut: the answer is whole, and the connection is closed after it.
		p.dropAt = -1
		rs.header.Set("Connection", "close")
	}
	s.mu.Lock()
	s.requests[id].Status = rs.status
	s.mu.Unlock()

	var o *output
	if p.http10 {
		o = hijack(w, rs)
		if o == nil {
			http.Error(w, "bitstest: HTTP10 needs an HTTP/1 connection", http.StatusInternalServerError)
			return
		}
	} else {
		o = direct(w, r, rs)
	}
	o.park = park
	s.writeBody(o, id, name, p, rs.body)
}

// build makes the answer to r, without the faults that act on the body.
func build(r *http.Request, p *plan, f *file) response {
	h := make(http.Header)
	head := r.Method == http.MethodHead
	text := func(code int) response {
		body := []byte(http.StatusText(code) + "\n")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		if !p.noLength {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		if head {
			body = nil
		}
		return response{code, h, body}
	}
	switch {
	case p.status != 0:
		if p.location != "" {
			h.Set("Location", p.location)
		}
		if p.allow != "" {
			h.Set("Allow", p.allow)
		}
		return text(p.status)
	case f == nil:
		return text(http.StatusNotFound)
	}

	size := int64(len(f.data))
	lastModified := f.modTime.Format(http.TimeFormat)
	if !p.noValidators {
		h.Set("ETag", f.etag)
		h.Set("Last-Modified", lastModified)
	}
	if !p.noRange {
		h.Set("Accept-Ranges", "bytes")
	}
	status, start, end := http.StatusOK, int64(0), size
	rangeHdr := r.Header.Get("Range")
	if !head && rangeHdr != "" && !p.noRange {
		ifRange := r.Header.Get("If-Range")
		if ifRange == "" || ifRange == f.etag || ifRange == lastModified {
			first, last, ok := parseRange(rangeHdr, size)
			if !ok {
				h.Del("ETag")
				h.Del("Last-Modified")
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				return text(http.StatusRequestedRangeNotSatisfiable)
			}
			status, start, end = http.StatusPartialContent, first, last+1
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, size))
		}
	}
	h.Set("Content-Type", "application/octet-stream")
	if !p.noLength {
		h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
	body := f.data[start:end]
	if head {
		body = nil
	}
	return response{status, h, body}
}

// parseRange parses a Range header of one range of bytes against a body of size bytes, and
// returns the first and last byte positions.
func parseRange(v string, size int64) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	num := func(s string) (int64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if a == "" { // suffix: the last b bytes
		n, ok := num(b)
		if !ok || n == 0 || size == 0 {
			return 0, 0, false
		}
		return size - min(n, size), size - 1, true
	}
	first, ok = num(a)
	if !ok || first >= size {
		return 0, 0, false
	}
	if b == "" {
		return first, size - 1, true
	}
	last, ok = num(b)
	if !ok || last < first {
		return 0, 0, false
	}
	return first, min(last, size-1), true
}

// output is where a response's body goes.
type output struct {
	w     io.Writer
	flush func()
	// abort ends the connection abruptly. It may not return (it panics with
	// http.ErrAbortHandler); if it does, the handler must return.
	abort func()
	// finish ends a response that was written whole.
	finish func()
	// gone is closed when the client goes away.
	gone <-chan struct{}
	// park, when not nil, parks the connection until the function it returns is called.
	park func() func()
}

// direct writes the answer's headers through w.
func direct(w http.ResponseWriter, r *http.Request, rs response) *output {
	for k, v := range rs.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rs.status)
	rc := http.NewResponseController(w)
	flush := func() { _ = rc.Flush() }
	return &output{
		w:     w,
		flush: flush,
		abort: func() {
			flush()
			panic(http.ErrAbortHandler)
		},
		// Flushing before the handler returns stops net/http from adding a Content-Length
		// the answer left out on purpose.
		finish: flush,
		gone:   r.Context().Done(),
	}
}

// hijack takes over w's connection and writes the answer's headers as an HTTP/1.0 server
// would. It returns nil if the connection cannot be taken over.
func hijack(w http.ResponseWriter, rs response) *output {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	gone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, brw.Reader)
		close(gone)
	}()
	rs.header.Set("Connection", "close")
	fmt.Fprintf(brw, "HTTP/1.0 %d %s\r\n", rs.status, http.StatusText(rs.status))
	_ = rs.header.Write(brw)
	_, _ = brw.WriteString("\r\n")
	closeConn := func() {
		_ = brw.Flush()
		_ = conn.Close()
	}
	return &output{
		w:      brw,
		flush:  func() { _ = brw.Flush() },
		abort:  closeConn,
		finish: closeConn,
		gone:   gone,
	}
}

const (
	evChange = iota
	evStall
	evDrop
)

type event struct {
	at   int64
	kind int
}

// writeBody writes body to o, acting on the plan's body faults at their offsets.
func (s *Server) writeBody(o *output, id int, name string, p *plan, body []byte) {
	size := int64(len(body))
	var evs []event
	if body != nil {
		for _, e := range []event{{p.changeAt, evChange}, {p.stallAt, evStall}, {p.dropAt, evDrop}} {
			if e.at >= 0 {
				evs = append(evs, event{min(e.at, size), e.kind})
			}
		}
	}
	slices.SortFunc(evs, func(a, b event) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})

	var pos int64
	// write hands body[pos:upTo] to the connection.
	write := func(upTo int64) bool {
		for pos < upTo {
			n, err := o.w.Write(body[pos:min(upTo, pos+chunkSize)])
			pos += int64(n)
			if n > 0 {
				s.mu.Lock()
				s.requests[id].Sent += int64(n)
				s.countLocked(name, func(st *Stats) { st.BytesSent += int64(n) })
				s.mu.Unlock()
			}
			if err != nil {
				o.finish()
				return false
			}
		}
		return true
	}

	for i := 0; i < len(evs); {
		at := evs[i].at
		j := i
		for j < len(evs) && evs[j].at == at {
			j++
		}
		group := evs[i:j]
		i = j
		// Everything the events prepare is done before the byte at offset at-1 is handed
		// over, so a client that has read at bytes sees its effects.
		if !write(at - 1) {
			return
		}
		var release <-chan struct{}
		for _, e := range group {
			switch e.kind {
			case evChange:
				s.mu.Lock()
				s.setContentLocked(name, p.changeData)
				s.mu.Unlock()
			case evStall:
				s.mu.Lock()
				release = s.release
				s.mu.Unlock()
			}
		}
		if !write(at) {
			return
		}
		o.flush()
		for _, e := range group {
			switch e.kind {
			case evStall:
				unpark := func() {}
				if o.park != nil {
					unpark = o.park()
				}
				s.stalled(name, +1)
				select {
				case <-release:
					unpark()
					s.stalled(name, -1)
				case <-o.gone:
					unpark()
					s.stalled(name, -1)
					o.abort()
					return
				}
			case evDrop:
				o.abort()
				return
			}
		}
	}
	if write(size) {
		o.finish()
	}
}

func (s *Server) stalled(name string, d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countLocked(name, func(st *Stats) { st.Stalled += d })
}
