package scenario

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one request the loopback server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
}

// server is the loopback HTTP server of a run: the files scenarios publish, stalling files,
// status answers and redirects. It serves the way BITS needs (HEAD with the size, ranges,
// Last-Modified) through http.ServeContent.
type server struct {
	base    string // http://127.0.0.1:port
	refused string // http://127.0.0.1:port where nothing listens
	ln      net.Listener
	hs      *http.Server

	mu     sync.Mutex
	files  map[string][]byte
	stalls map[string]chan struct{} // paths that stall, with the channel that releases them
	log    []Request
}

// modTime is the Last-Modified of every file: fixed, so that a resumed download sees the same
// version.
var modTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func newServer() (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// A port that was just free and is closed again: connecting to it is refused.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, err
	}
	refused := "http://" + dead.Addr().String()
	dead.Close()
	s := &server{base: "http://" + ln.Addr().String(), refused: refused, ln: ln,
		files: map[string][]byte{}, stalls: map[string]chan struct{}{}}
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.hs.Serve(ln) }()
	return s, nil
}

// close ends the server. Scenarios release their stalls when they end; close only stops the
// listener and closes the connections.
func (s *server) close() { _ = s.hs.Close() }

func (s *server) put(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

// putStall publishes a stalling file. It returns open, after which new requests for the path are
// answered in full (requests already stalled stay so), and release, which also lets the stalled
// requests end.
func (s *server) putStall(path string, data []byte) (open, release func()) {
	c := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
	s.stalls[path] = c
	open = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stalls[path] == c {
			delete(s.stalls, path)
		}
	}
	var once sync.Once
	release = func() {
		open()
		once.Do(func() { close(c) })
	}
	return open, release
}

func (s *server) requests(prefix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if strings.HasPrefix(r.Path, prefix+"/") {
			out = append(out, r)
		}
	}
	return out
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
	data, ok := s.files[r.URL.Path]
	stall := s.stalls[r.URL.Path]
	s.mu.Unlock()

	switch {
	case strings.Contains(r.URL.Path, "/status/"):
		// /status/<code>/<anything>: answer code with a small body.
		rest := r.URL.Path[strings.Index(r.URL.Path, "/status/")+len("/status/"):]
		code, err := strconv.Atoi(strings.SplitN(rest, "/", 2)[0])
		if err != nil || code < 100 || code > 599 {
			http.Error(w, "bad status path", http.StatusBadRequest)
			return
		}
		http.Error(w, http.StatusText(code), code)
	case strings.Contains(r.URL.Path, "/redirect/"):
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	case !ok:
		http.NotFound(w, r)
	case strings.Contains(r.URL.Path, "/cut/") && r.Method == http.MethodGet:
		// Returning short of Content-Length makes net/http close the connection.
		s.serveHalf(w, r, data, nil)
	case stall != nil && r.Method == http.MethodGet:
		s.serveHalf(w, r, data, stall)
	default:
		http.ServeContent(w, r, "", modTime, bytes.NewReader(data))
	}
}

// serveHalf answers with the first half of data (of the rest from the requested offset, when
// the request has a Range), announcing the whole length, and then, when release is not nil,
// waits until released or the client goes away, so that the job stays in TRANSFERRING with a
// partial file.
func (s *server) serveHalf(w http.ResponseWriter, r *http.Request, data []byte, release chan struct{}) {
	start := 0
	if rg, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
		if n, err := strconv.Atoi(strings.SplitN(rg, "-", 2)[0]); err == nil && n >= 0 && n < len(data) {
			start = n
		}
	}
	h := w.Header()
	h.Set("Content-Length", fmt.Sprint(len(data)-start))
	h.Set("Last-Modified", modTime.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if r.Header.Get("Range") != "" {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	_, _ = w.Write(data[start : start+(len(data)-start)/2])
	if release == nil {
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case <-release:
	case <-r.Context().Done():
	}
}
