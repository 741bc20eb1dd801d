// Package client is the application's side of the bitsemu service: a bits.Manager whose jobs,
// files, error objects, enumerators and callbacks live in the service (package service), reached
// over the Unix-domain socket beside the job store. Connect starts the service when none runs.
//
// Every method is one call of the service protocol (gRPC; see service/internal/wire's
// bitsemu.proto), made on the connection Connect opened. Failures keep their HRESULT:
// errors.Is(err, hresult.BG_E_INVALID_STATE) holds on the client when the service's job returned
// it, and success codes (S_FALSE, BG_S_PARTIAL_COMPLETE) arrive as values. The cause of a
// failure crosses as text only.
//
// The service knows the application by its connection. When the connection ends (Close, the
// process exits, or the service stops) every handle the Manager gave out fails with
// RPC_E_DISCONNECTED and the callbacks it registered stop being valid, as a COM proxy does once
// the BITS service or the application has gone; the jobs stay. A new Connect makes a new
// connection, and GetJob finds the jobs again.
//
// Callbacks registered with SetNotifyInterface are called in this process, each call on its own
// goroutine, while the service waits for the answer; they may call back into the service
// (Complete inside JobTransferred is the usual pattern).
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// MaxMessageSize is the largest message the client takes or sends, as the service's.
const MaxMessageSize = 64 << 20

// ProtocolVersion is the version of the service protocol this client speaks (bitsemu.proto's
// PROTOCOL_VERSION).
const ProtocolVersion = uint32(wire.Version_PROTOCOL_VERSION)

// Socket returns the path of the service's socket for the store in dir.
func Socket(dir string) string { return socketPath(dir) }

// DefaultStartTimeout is how long Connect waits for a service it started to answer.
const DefaultStartTimeout = 15 * time.Second

// Options configure Connect.
type Options struct {
	// Start is the command (program and arguments) that runs the service in the foreground on
	// the store, for example {"/usr/local/bin/bitsadmin", "/store", dir, "/service",
	// "/foreground"}. When no service answers, Connect starts it detached (a session of its
	// own, its output appended to service.log beside the store) and waits for its socket. nil
	// means: do not start one; Connect then fails with ErrNoService.
	Start []string
	// StartTimeout is how long to wait for a started service (DefaultStartTimeout when 0).
	StartTimeout time.Duration
}

// ErrNoService is Connect's error when no service answers on the store and Options.Start is nil.
var ErrNoService = errors.New("client: no bitsemu service runs on this store")

// Manager is a connection to the service: a bits.Manager. It is safe for concurrent use.
type Manager struct {
	conn *grpc.ClientConn
	mgr  wire.ManagerClient
	job  wire.JobClient
	file wire.FileClient
	errs wire.ErrorClient
	enum wire.EnumClient
	cb   wire.CallbackClient

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	hello  *wire.HelloReply

	relMu   sync.Mutex
	rel     []uint64
	relKick chan struct{}
	relDone chan struct{}

	cbMu    sync.Mutex
	stream  wire.Manager_CallbacksClient
	sendMu  sync.Mutex
	cbs     map[uint64]bits.Callback
	cbIDs   map[bits.Callback]uint64 // for callbacks of comparable types
	nextCB  uint64
	running sync.WaitGroup // callback calls under way
}

// Connect connects to the service on the store in dir, starting it first when none answers and
// opt.Start says how. With opt.Start, a service that refuses the connection because it is
// stopping is waited for, and a new one started, within opt.StartTimeout.
func Connect(dir string, opt Options) (*Manager, error) {
	sock := socketPath(dir)
	deadline := time.Now().Add(startTimeout(opt))
	for {
		c, err := dialOrStart(dir, sock, opt)
		if err != nil {
			return nil, err
		}
		m, err := newManager(c)
		if err == nil || opt.Start == nil || time.Now().After(deadline) {
			return m, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startTimeout is how long Connect may take to start a service.
func startTimeout(opt Options) time.Duration {
	if opt.StartTimeout > 0 {
		return opt.StartTimeout
	}
	return DefaultStartTimeout
}

// Dial connects to the service listening on the socket at path; it starts nothing.
func Dial(path string) (*Manager, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoService, err)
	}
	return newManager(c)
}

func newManager(raw net.Conn) (*Manager, error) {
	var used sync.Once
	dialer := func(context.Context, string) (net.Conn, error) {
		var c net.Conn
		used.Do(func() { c = raw })
		if c == nil {
			// One connection per Manager: a new one would be a new application to the
			// service, without the objects this one holds.
			return nil, errors.New("client: the connection to the service ended")
		}
		return c, nil
	}
	conn, err := grpc.NewClient("passthrough:///bitsemu", grpc.WithContextDialer(dialer),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)))
	if err != nil {
		raw.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{conn: conn, mgr: wire.NewManagerClient(conn), job: wire.NewJobClient(conn),
		file: wire.NewFileClient(conn), errs: wire.NewErrorClient(conn), enum: wire.NewEnumClient(conn),
		cb: wire.NewCallbackClient(conn), ctx: ctx, cancel: cancel,
		relKick: make(chan struct{}, 1), relDone: make(chan struct{}),
		cbs: make(map[uint64]bits.Callback), cbIDs: make(map[bits.Callback]uint64)}
	hello, err := m.mgr.Hello(ctx, &wire.HelloRequest{Protocol: uint32(wire.Version_PROTOCOL_VERSION)})
	if err != nil {
		cancel()
		conn.Close()
		return nil, wire.StatusErr(err)
	}
	if hello.GetProtocol() != uint32(wire.Version_PROTOCOL_VERSION) {
		cancel()
		conn.Close()
		return nil, fmt.Errorf("client: the service speaks protocol version %d, this client %d",
			hello.GetProtocol(), wire.Version_PROTOCOL_VERSION)
	}
	m.hello = hello
	go m.releaser()
	return m, nil
}

// SID returns the caller's SID, as the service derived it from the process's uid.
func (m *Manager) SID() string { return m.hello.GetSid() }

// Admin reports whether the service counts the caller as an administrator.
func (m *Manager) Admin() bool { return m.hello.GetAdmin() }

// ServicePID returns the service's process id.
func (m *Manager) ServicePID() int { return int(m.hello.GetPid()) }

// Close ends the connection: the handles it gave out fail with RPC_E_DISCONNECTED from now on,
// and the service no longer calls the callbacks registered through it (their jobs' notify
// command lines run instead). It waits for the callback calls under way to return, so a callback
// must not call it.
func (m *Manager) Close() error {
	m.cancel()
	err := m.conn.Close()
	<-m.relDone
	m.running.Wait()
	return err
}

// Shutdown asks the service to stop (only an administrator or the service's own user may) and
// closes the connection. The service finishes the calls under way, disconnects its
// applications and stops its transfers where they are, to continue at its next start.
func (m *Manager) Shutdown() error {
	_, err := m.mgr.Shutdown(m.ctx, &wire.Empty{})
	cerr := m.Close()
	if err != nil {
		return wire.StatusErr(err)
	}
	return cerr
}

// call runs one call of the protocol and turns its failure into the service's error.
func call[Req, Resp any](m *Manager, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	r, err := rpc(m.ctx, req)
	if err != nil {
		if m.ctx.Err() != nil {
			return r, &hresult.Error{Op: "service", Code: hresult.RPC_E_DISCONNECTED, Err: errors.New("the connection was closed")}
		}
		return r, wire.StatusErr(err)
	}
	return r, nil
}

// CreateJob creates a job in the service (IBackgroundCopyManager::CreateJob).
func (m *Manager) CreateJob(displayName string, t bits.JobType) (bits.Job, error) {
	r, err := call(m, m.mgr.CreateJob, &wire.CreateJobRequest{DisplayName: displayName, Type: uint32(t)})
	if err != nil {
		return nil, err
	}
	return m.newJob(r.GetHandle()), nil
}

// GetJob returns a handle to the job with the given id (IBackgroundCopyManager::GetJob).
func (m *Manager) GetJob(id uuid.UUID) (bits.Job, error) {
	r, err := call(m, m.mgr.GetJob, &wire.GUID{Id: id[:]})
	if err != nil {
		return nil, err
	}
	return m.newJob(r.GetHandle()), nil
}

// EnumJobs enumerates the caller's jobs, or every user's with bits.EnumAllUsers
// (IBackgroundCopyManager::EnumJobs).
func (m *Manager) EnumJobs(flags uint32) (bits.JobEnum, error) {
	r, err := call(m, m.mgr.EnumJobs, &wire.U32{Value: flags})
	if err != nil {
		return nil, err
	}
	return newEnum(m, r.GetHandle(), m.jobOf), nil
}

// GetErrorDescription returns the text of an HRESULT (IBackgroundCopyManager::GetErrorDescription).
func (m *Manager) GetErrorDescription(code hresult.Code, lang uint16) (string, error) {
	r, err := call(m, m.mgr.GetErrorDescription, &wire.ErrorDescriptionRequest{Hresult: uint32(code), Lang: uint32(lang)})
	return r.GetValue(), err
}

var _ bits.Manager = (*Manager)(nil)

// object is the client's side of one object of the service: its handle on the connection.
type object struct {
	m *Manager
	h uint64
}

// track arranges for the service to forget the object of handle h once p is unreachable.
func track[T any](m *Manager, p *T, h uint64) *T {
	runtime.AddCleanup(p, m.release, h)
	return p
}

// release queues a handle for the releaser. It runs on the runtime's cleanup goroutine, so it
// only queues.
func (m *Manager) release(h uint64) {
	m.relMu.Lock()
	m.rel = append(m.rel, h)
	m.relMu.Unlock()
	select {
	case m.relKick <- struct{}{}:
	default:
	}
}

// releaser tells the service, in batches, which objects the application dropped.
func (m *Manager) releaser() {
	defer close(m.relDone)
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.relKick:
		}
		m.relMu.Lock()
		hs := m.rel
		m.rel = nil
		m.relMu.Unlock()
		if len(hs) > 0 {
			_, _ = m.mgr.Release(m.ctx, &wire.Handles{Handles: hs})
		}
	}
}

// socketPath is the service's socket in dir.
func socketPath(dir string) string { return dir + string(os.PathSeparator) + wire.SocketName }
