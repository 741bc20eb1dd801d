package upload

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
)

// NotifyType says how a complete upload is handed to the server application, with the values
// of the IIS extension's BITSServerNotificationType ("BITS IIS Extension Properties").
type NotifyType int

const (
	// NotifyNone publishes uploads under their names and tells no application (the default).
	NotifyNone NotifyType = 0
	// NotifyByReference posts the path of the uploaded file to the application, in the
	// BITS-Request-DataFile-Name header, with the path where its reply may be written in
	// BITS-Response-DataFile-Name.
	NotifyByReference NotifyType = 1
	// NotifyByValue posts the uploaded file to the application as the request body; the
	// response body is the reply.
	NotifyByValue NotifyType = 2
)

// Defaults of the Options, those of the IIS BITS extension ("BITS IIS Extension Properties")
// and of [MC-BUP 3.3.2].
const (
	DefaultSessionTimeout     = 14 * 24 * time.Hour // BITSSessionTimeout: 1,209,600 seconds
	DefaultMaxSessionsPerUser = 50                  // BITSNumberOfSessionsLimit
	DefaultNotifyTimeout      = 5 * time.Minute     // the application must answer within 5 minutes
)

// Options configure a Handler. The zero value is a plain upload server with the defaults of
// the IIS BITS extension.
type Options struct {
	// AllowOverwrites lets an upload replace an existing file of the same name
	// (BITSAllowOverwrites). When false, the default, Create-Session for an existing name
	// and a Close-Session that would replace a file created meanwhile are answered 409 with
	// E_ACCESSDENIED. An existing directory is never replaced.
	AllowOverwrites bool

	// MaxUploadSize is the largest upload, in bytes, that the handler accepts
	// (BITSMaximumUploadSize); a fragment of a larger upload is answered 413 with
	// BG_E_TOO_LARGE. 0 means no limit.
	MaxUploadSize uint64

	// SessionTimeout is how long a session lives without a successfully processed packet
	// (BITSSessionTimeout); then it and its data are removed. 0 means 14 days.
	SessionTimeout time.Duration

	// MaxSessionsPerUser is the number of sessions one user may have open at once
	// (BITSNumberOfSessionsLimit); one more Create-Session is answered 503. 0 means 50; a
	// negative value means no limit.
	MaxSessionsPerUser int

	// User names the user a request comes from, for MaxSessionsPerUser. nil means
	// [RemoteHost]: the host part of the request's remote address. [HeaderUser] takes it from
	// a header that an authenticating proxy in front of the handler sets.
	User func(*http.Request) string

	// NotifyType and NotifyURL name the server application that complete uploads are handed
	// to (BITSServerNotificationType, BITSServerNotificationURL). NotifyURL must be an
	// absolute http or https URL when NotifyType is not NotifyNone. The query of an upload's
	// URL is appended to it, as the IIS extension does.
	NotifyType NotifyType
	NotifyURL  string
	// NotifyTimeout bounds the application's answer, headers and body. 0 means 5 minutes.
	NotifyTimeout time.Duration
	// NotifyClient sends the notifications; nil means a client of its own. It must not follow
	// redirects on its own if a redirect is to reach BITS clients as the application's answer.
	NotifyClient *http.Client

	// PublicURL is the URL at which clients reach the handler's root, used to build the
	// BITS-Reply-URL of replies, for example "https://uploads.example.com/bits". When empty,
	// the URL is built from each request: its scheme, Host header and the part of its path
	// that a mux or http.StripPrefix consumed before the handler.
	PublicURL string

	// HostID and HostIDFallbackTimeout are sent to clients in the Ack for Create-Session
	// (BITSHostId, BITSHostIdFallbackTimeout), for web farms without shared storage: clients
	// send the rest of the session to that host. The timeout is sent, in whole seconds, only
	// with a HostID and when it is not 0.
	HostID                string
	HostIDFallbackTimeout time.Duration

	// Clock times sessions and the application's deadline; nil means the wall clock.
	Clock clock.Clock

	// ErrorLog receives errors of the file system and of the application that the handler
	// answers with a failure; nil means the log package's standard logger.
	ErrorLog *log.Logger
}

// RemoteHost returns the host part of r.RemoteAddr (the whole of it when it has no port): the
// default user of a request.
func RemoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// HeaderUser returns a User function that takes the user from the request header name, and
// from [RemoteHost] when the request does not carry it. Use it only behind a proxy that sets
// the header itself, after authenticating the client, and strips it from client requests.
func HeaderUser(name string) func(*http.Request) string {
	return func(r *http.Request) string {
		if v := r.Header.Get(name); v != "" {
			return v
		}
		return RemoteHost(r)
	}
}

// Handler is the upload server; see the package documentation. Make one with [New] and
// release it with [Handler.Close].
type Handler struct {
	dir     string   // absolute path of the destination directory
	root    *os.Root // the destination directory
	opts    Options
	clock   clock.Clock
	client  *http.Client
	logger  *log.Logger
	public  *url.URL // parsed PublicURL, nil when empty
	notify  *url.URL // parsed NotifyURL, nil when NotifyNone
	userOf  func(*http.Request) string
	maxSess int // < 0: no limit

	mu       sync.Mutex
	sessions map[string]*session
	perUser  map[string]int
	timer    clock.Timer
	timerAt  time.Time
	closed   bool
}

// ErrClosed is the error of methods called on a Handler after Close.
var ErrClosed = errors.New("upload: handler closed")

// New returns a Handler that receives files into the directory dir, which must exist. It
// loads the sessions a previous Handler left in dir (removing those that expired and any whose
// state cannot be read) and arms the expiry of the others.
func New(dir string, opts Options) (*Handler, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	h := &Handler{
		dir:      abs,
		opts:     opts,
		clock:    opts.Clock,
		client:   opts.NotifyClient,
		logger:   opts.ErrorLog,
		userOf:   opts.User,
		maxSess:  opts.MaxSessionsPerUser,
		sessions: make(map[string]*session),
		perUser:  make(map[string]int),
	}
	if h.opts.SessionTimeout <= 0 {
		h.opts.SessionTimeout = DefaultSessionTimeout
	}
	if h.opts.NotifyTimeout <= 0 {
		h.opts.NotifyTimeout = DefaultNotifyTimeout
	}
	if h.maxSess == 0 {
		h.maxSess = DefaultMaxSessionsPerUser
	}
	if h.clock == nil {
		h.clock = clock.Real()
	}
	if h.logger == nil {
		h.logger = log.Default()
	}
	if h.userOf == nil {
		h.userOf = RemoteHost
	}
	switch opts.NotifyType {
	case NotifyNone:
	case NotifyByReference, NotifyByValue:
		u, err := url.Parse(opts.NotifyURL)
		if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("upload: NotifyURL %q is not an absolute http or https URL", opts.NotifyURL)
		}
		h.notify = u
	default:
		return nil, fmt.Errorf("upload: unknown NotifyType %d", opts.NotifyType)
	}
	if h.client == nil {
		h.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(strings.TrimSuffix(opts.PublicURL, "/"))
		if err != nil || !u.IsAbs() || u.Host == "" {
			return nil, fmt.Errorf("upload: PublicURL %q is not an absolute URL", opts.PublicURL)
		}
		h.public = u
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("upload: %s is not a directory", abs)
	}
	if h.root, err = os.OpenRoot(abs); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := h.load(); err != nil {
		_ = h.root.Close()
		return nil, err
	}
	return h, nil
}

// Close stops the expiry timer and releases the directory. Sessions stay on disk for the next
// Handler. Call it once the server in front of the handler has stopped: packets that arrive
// later are answered 503.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.closed = true
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	h.mu.Unlock()
	return h.root.Close()
}

// SessionInfo describes a session, for administration and tests.
type SessionInfo struct {
	ID         string    // the BITS-Session-Id, a GUID in braces
	Name       string    // the destination, relative to the directory, with forward slashes
	User       string    // the user who created it
	Received   uint64    // bytes received, from offset 0
	Total      uint64    // size of the upload; 0 before the first fragment
	Complete   bool      // every byte received
	Notified   bool      // the server application accepted the upload
	LastActive time.Time // when a packet of the session was last processed successfully
}

// Sessions returns the sessions the handler knows, in no particular order. It waits for the
// packets being processed (a last fragment waiting for the server application, say).
func (h *Handler) Sessions() []SessionInfo {
	h.mu.Lock()
	list := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	out := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		s.mu.Lock()
		if !s.gone {
			out = append(out, s.info())
		}
		s.mu.Unlock()
	}
	return out
}

// Remove forgets the session id and deletes its data, as Cancel-Session does; the client's
// next packet gets BG_E_SESSION_NOT_FOUND. It waits for a packet of the session being
// processed, and reports whether there was such a session.
func (h *Handler) Remove(id string) bool {
	s := h.lookup(id)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return false
	}
	h.removeLocked(s)
	return true
}

// ServeHTTP answers a BITS_POST packet, or a GET or HEAD for the reply of an upload-reply
// session.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case bup.Method:
		h.servePacket(w, r)
	case http.MethodGet, http.MethodHead:
		h.serveReply(w, r)
	default:
		w.Header().Set("Allow", bup.Method+", GET, HEAD")
		ack(w, r, http.StatusMethodNotAllowed, failure{hresult.E_INVALIDARG, bup.ContextRemoteFile}, "")
	}
}

// failure is the HRESULT and context of a failed Ack.
type failure struct {
	code hresult.Code
	ctx  bup.ErrorContext
}

// serverFailure is a failure in the handler itself, context 0x5.
func serverFailure(c hresult.Code) failure { return failure{c, bup.ContextRemoteFile} }

var (
	errInvalidArg = serverFailure(hresult.E_INVALIDARG)
	errNotFound   = serverFailure(hresult.BG_E_SESSION_NOT_FOUND)
	errDenied     = serverFailure(hresult.E_ACCESSDENIED)
	errTooLarge   = serverFailure(hresult.BG_E_TOO_LARGE)
	errNoPath     = serverFailure(hresult.ERROR_PATH_NOT_FOUND)
	errDiskFull   = serverFailure(hresult.ERROR_DISK_FULL)
	errServer     = serverFailure(hresult.E_FAIL)
)

// ack writes an Ack with status; f is its failure, the zero failure for a success. sessionID,
// when not "", is echoed in BITS-Session-Id.
func ack(w http.ResponseWriter, r *http.Request, status int, f failure, sessionID string) {
	hd := w.Header()
	hd.Set(bup.HeaderPacketType, string(bup.Ack))
	if sessionID != "" {
		hd.Set(bup.HeaderSessionID, sessionID)
	}
	if f != (failure{}) {
		(&bup.Error{Code: f.code, Context: f.ctx}).SetHeaders(hd)
	}
	hd.Set(bup.HeaderContentLength, "0")
	w.WriteHeader(status)
}

// servePacket validates what every packet shares and dispatches on its type.
func (h *Handler) servePacket(w http.ResponseWriter, r *http.Request) {
	for _, vs := range r.Header {
		for _, v := range vs {
			if len(v) > bup.MaxHeaderValueLen {
				ack(w, r, http.StatusBadRequest, errInvalidArg, "")
				return
			}
		}
	}
	pt, ok := bup.ParsePacketType(r.Header.Get(bup.HeaderPacketType))
	if !ok || !pt.IsRequest() {
		ack(w, r, http.StatusBadRequest, errInvalidArg, "")
		return
	}
	// Every packet must say its length ([MC-BUP 3.2.5.2.3]); Windows answers 400 where
	// [MC-BUP] suggests 411. A packet without a body may leave Content-Length out, because Go's
	// client (like others) sends none for an empty body with an extension method. A chunked
	// body has no length and is refused.
	if r.ContentLength < 0 {
		ack(w, r, http.StatusBadRequest, errInvalidArg, r.Header.Get(bup.HeaderSessionID))
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		ack(w, r, http.StatusServiceUnavailable, serverFailure(hresult.HTTP(http.StatusServiceUnavailable)), "")
		return
	}
	if pt != bup.Fragment && r.ContentLength != 0 {
		ack(w, r, http.StatusBadRequest, errInvalidArg, r.Header.Get(bup.HeaderSessionID))
		return
	}
	switch pt {
	case bup.Ping:
		ack(w, r, http.StatusOK, failure{}, "")
	case bup.CreateSession:
		h.createSession(w, r)
	default:
		h.sessionPacket(w, r, pt)
	}
}

// sessionPacket handles a packet of an existing session: Fragment, Close-Session,
// Cancel-Session. The session's lock is held throughout.
func (h *Handler) sessionPacket(w http.ResponseWriter, r *http.Request, pt bup.PacketType) {
	raw := r.Header.Get(bup.HeaderSessionID)
	s := h.lookup(raw)
	if s == nil {
		ack(w, r, http.StatusInternalServerError, errNotFound, raw)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		ack(w, r, http.StatusInternalServerError, errNotFound, raw)
		return
	}
	switch pt {
	case bup.Fragment:
		h.fragment(w, r, s)
	case bup.CloseSession:
		h.closeSession(w, r, s)
	case bup.CancelSession:
		// [MC-BUP 3.2.5.2.8]: delete the upload, the reply and the session's state.
		h.removeLocked(s)
		ack(w, r, http.StatusOK, failure{}, s.id)
	}
}

// logf reports an error the client is answered with a failure for.
func (h *Handler) logf(format string, args ...any) {
	h.logger.Printf("upload: "+format, args...)
}

// ioFailure maps a file-system error to the failure a client gets.
func ioFailure(err error) (int, failure) {
	switch {
	case isDiskFull(err):
		return http.StatusInternalServerError, errDiskFull
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden, errDenied
	}
	return http.StatusInternalServerError, errServer
}
