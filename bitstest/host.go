package bitstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitsemu/bitsemu/internal/sockq"
)

// host is where a bitstest server listens: an httptest.Server on loopback, or an http.Server on
// a [Network]; it keeps what Quiet, Close and Client need. Server and UploadServer share it.
type host struct {
	url string

	srv *httptest.Server // loopback servers
	// For a loopback server's quiet: connections between reading a request and handing over
	// its answer, handlers running, and handlers parked in a wait by design; the open
	// connections and their states.
	activeConns, handlers, parked atomic.Int64
	connMu                        sync.Mutex
	conns                         map[net.Conn]http.ConnState

	// Servers on a Network.
	net      *Network
	ln       *memListener
	hs       *http.Server
	cert     *x509.Certificate
	served   chan struct{} // closed when hs.Serve returned
	inflight sync.WaitGroup
	shut     sync.Once

	clientMu  sync.Mutex
	transport *http.Transport // client's, for a server on a Network
}

// serveFunc answers a request. park, when not nil, marks the request's connection as waiting on
// purpose until the function it returns is called.
type serveFunc func(w http.ResponseWriter, r *http.Request, park func() func())

// startLoopback starts serve on 127.0.0.1, over TLS with httptest's certificate when useTLS.
func startLoopback(serve serveFunc, useTLS bool) *host {
	h := &host{conns: make(map[net.Conn]http.ConnState)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.handlers.Add(1)
		defer h.handlers.Add(-1)
		serve(w, r, func() func() {
			h.parked.Add(1)
			return func() { h.parked.Add(-1) }
		})
	}))
	h.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		h.connMu.Lock()
		defer h.connMu.Unlock()
		was := h.conns[c]
		switch st {
		case http.StateClosed, http.StateHijacked:
			delete(h.conns, c)
		default:
			h.conns[c] = st
		}
		switch {
		case st == http.StateActive && was != http.StateActive:
			h.activeConns.Add(1)
		case st != http.StateActive && was == http.StateActive:
			h.activeConns.Add(-1)
		}
	}
	if useTLS {
		h.srv.StartTLS()
	} else {
		h.srv.Start()
	}
	h.url = h.srv.URL
	return h
}

// quiet reports whether the server does nothing but wait (see [Server.Quiet]).
func (h *host) quiet() bool {
	if h.net != nil {
		return h.net.Quiet()
	}
	p := h.parked.Load()
	if h.handlers.Load() != p || h.activeConns.Load() > p {
		return false
	}
	// A request whose bytes wait unread on a connection the server has not started on (on
	// Linux, where the system tells) is a request under way.
	h.connMu.Lock()
	defer h.connMu.Unlock()
	for c, st := range h.conns {
		if st != http.StateActive && sockq.Unread(c) {
			return false
		}
	}
	return true
}

// startOn starts serve on the network n at addr (see [NewServerOn]); it panics if it cannot
// listen there.
func startOn(n *Network, addr string, serve serveFunc, useTLS bool) *host {
	if n == nil {
		panic(errNoNetwork)
	}
	l, err := n.Listen(addr)
	if err != nil {
		panic("bitstest: " + err.Error())
	}
	h := &host{net: n, ln: l.(*memListener)}
	hostname, port, _ := net.SplitHostPort(h.ln.addr.String())
	scheme, defPort := "http", "80"
	var ln net.Listener = h.ln
	if useTLS {
		scheme, defPort = "https", "443"
		cert, err := selfSigned(hostname)
		if err != nil {
			_ = l.Close()
			panic("bitstest: " + err.Error())
		}
		h.cert = cert.Leaf
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	}
	h.url = scheme + "://" + h.ln.addr.String()
	if port == defPort {
		if strings.Contains(hostname, ":") {
			hostname = "[" + hostname + "]" // an IPv6 address
		}
		h.url = scheme + "://" + hostname
	}
	type connKey struct{}
	h.hs = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.inflight.Add(1)
			defer h.inflight.Done()
			c, _ := r.Context().Value(connKey{}).(net.Conn)
			serve(w, r, func() func() { return n.Park(c) })
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		// A connection is busy from the moment a request has been read until its answer has
		// been handed over: net/http keeps a read pending meanwhile, which must not make the
		// network look quiet. A hijacked connection stays busy until it is closed.
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
	h.served = make(chan struct{})
	go func() {
		defer close(h.served)
		_ = h.hs.Serve(ln)
	}()
	return h
}

// closeBound is how long Close waits for the requests of a server on a Network before it
// reports the connections still open and closes them.
const closeBound = 5 * time.Second

// closeReport is where Close reports connections it had to close.
var closeReport io.Writer = os.Stderr

// close shuts the server down, waiting until its requests have finished (see [Server.Close]).
func (h *host) close() {
	if h.srv != nil {
		h.srv.Close()
		return
	}
	h.shut.Do(h.closeOn)
}

// closeOn shuts down a server on a Network. Requests still running after closeBound (a client
// that stopped reading, say) are reported to closeReport, and their connections closed.
func (h *host) closeOn() {
	done := make(chan struct{})
	go func() {
		_ = h.hs.Shutdown(context.Background())
		<-h.served
		h.inflight.Wait()
		close(done)
	}()
	t := time.NewTimer(closeBound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		stuck := h.ln.closeConns()
		fmt.Fprintf(closeReport, "bitstest: Server.Close: %s still had %d connection(s) open after %v; closed:\n", h.url, len(stuck), closeBound)
		for _, c := range stuck {
			fmt.Fprintf(closeReport, "\t%s\n", c)
		}
		<-done
	}
	h.clientMu.Lock()
	defer h.clientMu.Unlock()
	if h.transport != nil {
		h.transport.CloseIdleConnections()
	}
}

// client returns an HTTP client for the server (see [Server.Client]).
func (h *host) client() *http.Client {
	if h.srv != nil {
		return h.srv.Client()
	}
	h.clientMu.Lock()
	defer h.clientMu.Unlock()
	if h.transport == nil {
		h.transport = &http.Transport{DialContext: h.net.Dial, TLSClientConfig: h.tlsConfig(), ForceAttemptHTTP2: false}
	}
	return &http.Client{Transport: h.transport}
}

// tlsConfig returns a TLS client configuration that trusts the server's certificate; nil for a
// plain HTTP server.
func (h *host) tlsConfig() *tls.Config {
	cert := h.certificate()
	if cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool}
}

// certificate returns the certificate of a TLS server, nil for a plain HTTP server.
func (h *host) certificate() *x509.Certificate {
	if h.srv != nil {
		return h.srv.Certificate()
	}
	return h.cert
}
