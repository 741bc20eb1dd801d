package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// MaxMessageSize is the largest message the service and its clients exchange (a reply's data,
// a long enumeration): 64 MiB.
const MaxMessageSize = 64 << 20

// Server serves one manager to the applications that connect over Unix-domain sockets. Each
// connection is one application: the service takes its identity from the kernel (the peer's
// uid) when it connects, opens a manager.Client for it, and closes that client when the
// connection ends, so that its callbacks stop being valid and its jobs' notify command lines run
// instead.
type Server struct {
	m       *manager.Manager
	machine Machine
	dir     string
	log     *slog.Logger
	grpc    *grpc.Server

	shutdown     chan struct{} // closed by the Shutdown call
	shutdownOnce sync.Once
	stopping     chan struct{} // closed by Stop
	stopOnce     sync.Once

	mu       sync.Mutex
	sessions map[*session]struct{}
	stopped  bool
}

// ServerOptions configure a Server.
type ServerOptions struct {
	// Machine is the machine part of the callers' SIDs (see Machine.Identity).
	Machine Machine
	// Dir is the store's directory, told to clients by Hello.
	Dir string
	// Logger receives a record for each connection and its end; nil logs nothing.
	Logger *slog.Logger
}

// NewServer returns a server for m. Serve starts it.
func NewServer(m *manager.Manager, opt ServerOptions) *Server {
	s := &Server{m: m, machine: opt.Machine, dir: opt.Dir, log: opt.Logger,
		shutdown: make(chan struct{}), stopping: make(chan struct{}), sessions: make(map[*session]struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.grpc = grpc.NewServer(grpc.Creds(peerCreds{s}), grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize))
	wire.RegisterManagerServer(s.grpc, managerServer{s: s})
	wire.RegisterJobServer(s.grpc, jobServer{})
	wire.RegisterFileServer(s.grpc, fileServer{})
	wire.RegisterErrorServer(s.grpc, errorServer{})
	wire.RegisterEnumServer(s.grpc, enumServer{})
	wire.RegisterCallbackServer(s.grpc, callbackServer{})
	return s
}

// Serve accepts connections on l until Stop; it returns nil after Stop.
func (s *Server) Serve(l net.Listener) error {
	err := s.grpc.Serve(l)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// StopGrace is how long Stop lets the calls under way finish before it closes the connections.
const StopGrace = 2 * time.Second

// Stop closes the listeners, lets the calls under way finish (for StopGrace at most), ends the
// callback streams and closes every connection: later calls fail with RPC_E_DISCONNECTED, the
// applications' manager clients are closed and their callbacks stop being valid.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		close(s.stopping)
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		t := time.NewTimer(StopGrace)
		select {
		case <-done:
		case <-t.C:
			s.grpc.Stop()
			<-done
		}
		t.Stop()
	})
	s.mu.Lock()
	left := make([]*session, 0, len(s.sessions))
	for se := range s.sessions {
		left = append(left, se)
	}
	s.mu.Unlock()
	for _, se := range left {
		se.end()
	}
}

// ShutdownRequested is closed when a client asked the service to stop (Manager.Shutdown).
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdown }

// Connections returns the number of connections open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Objects returns the number of objects the server holds for its connections: the handles the
// applications hold, and those they dropped but did not release yet.
func (s *Server) Objects() int {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for se := range s.sessions {
		sessions = append(sessions, se)
	}
	s.mu.Unlock()
	n := 0
	for _, se := range sessions {
		se.mu.Lock()
		n += len(se.objs)
		se.mu.Unlock()
	}
	return n
}

// peerCreds is the server's transport security: no bytes are exchanged, but the handshake reads
// the peer's uid from the socket and opens the connection's session.
type peerCreds struct{ s *Server }

// authInfo carries a connection's session to its calls.
type authInfo struct {
	credentials.CommonAuthInfo
	se *session
}

func (authInfo) AuthType() string { return "peercred" }

func (p peerCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := raw.(*net.UnixConn)
	if !ok {
		return nil, nil, fmt.Errorf("service: a %T is not a Unix-domain connection", raw)
	}
	uid, err := peerUID(uc)
	if err != nil {
		return nil, nil, fmt.Errorf("service: peer credentials: %w", err)
	}
	se, err := p.s.open(uid)
	if err != nil {
		return nil, nil, err
	}
	return &sessionConn{Conn: raw, se: se},
		authInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}, se: se}, nil
}

func (peerCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("service: peerCreds is for servers")
}

func (peerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

func (p peerCreds) Clone() credentials.TransportCredentials { return p }

func (peerCreds) OverrideServerName(string) error { return nil }

// sessionConn ends its session when the connection closes, whichever side closed it.
type sessionConn struct {
	net.Conn
	se   *session
	once sync.Once
}

func (c *sessionConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.se.end)
	return err
}

// open starts the session of a new connection from uid.
func (s *Server) open(uid int) (*session, error) {
	id := s.machine.Identity(uid)
	mc, err := s.m.Connect(id)
	if err != nil {
		return nil, err
	}
	se := newSession(s, uid, mc)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = mc.Close()
		return nil, errors.New("service: stopping")
	}
	s.sessions[se] = struct{}{}
	s.mu.Unlock()
	s.log.Debug("connect", "uid", uid, "sid", id.SID, "admin", id.Admin)
	return se, nil
}

func (s *Server) forget(se *session) {
	s.mu.Lock()
	delete(s.sessions, se)
	s.mu.Unlock()
	s.log.Debug("disconnect", "uid", se.uid)
}

// sessionOf returns the session of the connection a call came on.
func sessionOf(ctx context.Context) (*session, error) {
	p, ok := peer.FromContext(ctx)
	if ok {
		if ai, ok := p.AuthInfo.(authInfo); ok {
			return ai.se, nil
		}
	}
	return nil, fault(&hresult.Error{Op: "service", Code: hresult.E_UNEXPECTED, Err: errors.New("a call without a session")})
}

// requestShutdown stops the service, for a caller allowed to: an administrator or the user the
// service runs as.
func (s *Server) requestShutdown(se *session) error {
	if !se.client.Identity().Admin && se.uid != os.Geteuid() {
		return &hresult.Error{Op: "Shutdown", Code: hresult.E_ACCESSDENIED,
			Err: errors.New("only an administrator or the service's own user may stop it")}
	}
	s.shutdownOnce.Do(func() { close(s.shutdown) })
	return nil
}

// pid is the service's process id, told to clients by Hello.
var pid = int64(os.Getpid())
