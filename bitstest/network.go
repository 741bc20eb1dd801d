package bitstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Network is an in-memory network: listeners named by "host:port" addresses, and connections
// between them that carry bytes through buffers in memory. Its Dial method has the signature of
// transfer.Config.Dial, so a client can reach servers that listen on it (see
// [NewServerOn]) under names of its own choosing, such as "bits.test:80", without sockets.
//
// Every goroutine that waits on the network waits on a sync.Cond, never on a timer, so inside
// a testing/synctest bubble a goroutine blocked in Read, Write or Accept is durably blocked.
// Deadlines are run by time.AfterFunc, which a bubble's fake clock drives.
//
// [Network.Quiet] and [Network.Gen] tell a caller whether anything is left to move on the
// network: a test that steps virtual time can advance it only when the network is quiet and
// stayed so.
//
// Make one with [NewNetwork]. Its methods are safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	conns     map[*memConn]struct{} // every endpoint not yet closed
	gen       uint64
	nextPort  int
	closed    bool
}

// connBuffer is how many bytes a connection holds in each direction before a Write waits for
// the reader.
const connBuffer = 64 << 10

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	n := &Network{
		listeners: make(map[string]*memListener),
		conns:     make(map[*memConn]struct{}),
		nextPort:  49152,
	}
	live.Lock()
	if live.networks == nil {
		live.networks = make(map[*Network]struct{})
	}
	live.networks[n] = struct{}{}
	live.Unlock()
	return n
}

// memAddr is an address on a Network. Its network is "tcp", so that code which looks at it
// treats it as a stream address.
type memAddr string

func (a memAddr) Network() string { return "tcp" }
func (a memAddr) String() string  { return string(a) }

// normAddr checks that addr is "host:port" and lower-cases the host.
func normAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" || port == "" {
		return "", fmt.Errorf("address %s: host and port needed", addr)
	}
	return net.JoinHostPort(strings.ToLower(host), port), nil
}

// Listen starts listening on addr, a "host:port" address such as "bits.test:80". It fails if
// the network is closed, addr is malformed, or something already listens on addr.
func (n *Network) Listen(addr string) (net.Listener, error) {
	a, err := normAddr(addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: memAddr(addr), Err: err}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: memAddr(a), Err: net.ErrClosed}
	case n.listeners[a] != nil:
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: memAddr(a), Err: syscall.EADDRINUSE}
	}
	l := &memListener{n: n, addr: memAddr(a), conns: make(map[*memConn]struct{})}
	l.cond.L = &n.mu
	n.listeners[a] = l
	n.gen++
	return l, nil
}

// Dial connects to the listener on addr. It has the signature of transfer.Config.Dial; network
// must be "tcp", "tcp4" or "tcp6". Like a TCP connect, it succeeds as soon as the connection is
// queued for the listener, before Accept takes it. When nothing listens on addr it fails with a
// *net.OpError (Op "dial") wrapping syscall.ECONNREFUSED; when ctx is done, with one wrapping
// ctx.Err().
func (n *Network) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: memAddr(addr), Err: err}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fail(net.UnknownNetworkError(network))
	}
	a, err := normAddr(addr)
	if err != nil {
		return nil, fail(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.listeners[a]
	if n.closed || l == nil || l.closed {
		return nil, fail(syscall.ECONNREFUSED)
	}
	local := memAddr(fmt.Sprintf("client.invalid:%d", n.nextPort))
	n.nextPort++
	if n.nextPort > 65535 {
		n.nextPort = 49152
	}
	up, down := newPipe(&n.mu), newPipe(&n.mu)
	c := &memConn{n: n, local: local, remote: l.addr, rd: down, wr: up}
	s := &memConn{n: n, local: l.addr, remote: local, rd: up, wr: down, server: true, l: l}
	up.reader, down.reader = s, c
	n.conns[c] = struct{}{}
	l.queue = append(l.queue, s)
	l.cond.Broadcast()
	n.gen++
	return c, nil
}

// Close closes every listener and every connection of the network; later Listen and Dial
// calls fail. It returns nil.
func (n *Network) Close() error {
	live.Lock()
	delete(live.networks, n)
	live.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for _, l := range n.listeners {
		l.closeLocked()
	}
	for c := range n.conns {
		c.closeLocked()
	}
	return nil
}

// Gen returns the network's generation: a counter that goes up whenever something moves on
// the network — a Read that returns data or EOF, a Write, a dial, an accept, a close, a
// deadline that expires, a connection parked, unparked or marked busy or idle. Two equal
// values from two calls mean nothing moved in between.
func (n *Network) Gen() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen
}

// Quiet reports whether nothing is left to move on the network, as one atomic look:
//
//   - no connection holds unread bytes, in either direction;
//   - no dialed connection waits to be accepted;
//   - every server-side (accepted) connection is closed, or is parked (see [Network.Park]),
//     or is not busy (see [Network.SetBusy]) and has a goroutine blocked in Read on its empty
//     buffer.
//
// A Write that hands bytes to a blocked reader marks the reader as no longer blocked before it
// wakes it, so there is no moment at which the bytes have left the buffer while the reader
// still counts as blocked.
func (n *Network) Quiet() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.listeners {
		if len(l.queue) > 0 {
			return false
		}
	}
	for c := range n.conns {
		if len(c.rd.buf) > 0 {
			return false
		}
		if !c.server || c.parked > 0 {
			continue
		}
		if c.busy || c.blocked == 0 {
			return false
		}
	}
	return true
}

// Park marks the server-side connection c as parked until the returned function is called:
// its server waits on purpose (for a release, or for the client to go away), so Quiet does not
// count it as work in progress. c may be a connection accepted from one of the network's
// listeners or a connection that wraps one and has a NetConn method (such as *tls.Conn). For
// any other connection Park does nothing. Parks nest; the returned function may be called more
// than once, only the first call counts.
func (n *Network) Park(c net.Conn) (unpark func()) {
	mc := n.find(c)
	if mc == nil {
		return func() {}
	}
	n.mu.Lock()
	mc.parked++
	n.gen++
	n.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			n.mu.Lock()
			mc.parked--
			n.gen++
			n.mu.Unlock()
		})
	}
}

// SetBusy marks the server-side connection c as busy, or not: a busy connection keeps Quiet
// false even while a goroutine is blocked reading it. A server that keeps a read pending while
// it handles a request (as net/http does) marks the connection busy for that time; [Server]
// does so from http.Server's ConnState hook. c is found as for Park.
func (n *Network) SetBusy(c net.Conn, busy bool) {
	mc := n.find(c)
	if mc == nil {
		return
	}
	n.mu.Lock()
	if mc.busy != busy {
		mc.busy = busy
		n.gen++
	}
	n.mu.Unlock()
}

// find returns the endpoint of n that c is or wraps, or nil.
func (n *Network) find(c net.Conn) *memConn {
	for c != nil {
		if mc, ok := c.(*memConn); ok {
			if mc.n == n {
				return mc
			}
			return nil
		}
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = w.NetConn()
	}
	return nil
}

// memListener is a listener on a Network.
type memListener struct {
	n      *Network
	addr   memAddr
	cond   sync.Cond // on n.mu: the queue grew or the listener closed
	queue  []*memConn
	conns  map[*memConn]struct{} // accepted and not closed
	closed bool
}

// Accept waits for the next connection dialed to the listener.
func (l *memListener) Accept() (net.Conn, error) {
	n := l.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(l.queue) == 0 && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	c := l.queue[0]
	l.queue = l.queue[1:]
	n.conns[c] = struct{}{}
	l.conns[c] = struct{}{}
	n.gen++
	return c, nil
}

// Close stops the listener: Accept fails, connections dialed but not accepted are closed (their
// clients read EOF), and the address is free again. Accepted connections stay open.
func (l *memListener) Close() error {
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	if l.closed {
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	l.closeLocked()
	return nil
}

func (l *memListener) closeLocked() {
	if l.closed {
		return
	}
	l.closed = true
	for _, c := range l.queue {
		c.closeLocked()
	}
	l.queue = nil
	if l.n.listeners[string(l.addr)] == l {
		delete(l.n.listeners, string(l.addr))
	}
	l.cond.Broadcast()
	l.n.gen++
}

// closeConns closes every connection the listener accepted and that is still open, and returns
// a description of each.
func (l *memListener) closeConns() []string {
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	var out []string
	for c := range l.conns {
		out = append(out, c.describeLocked())
		c.closeLocked()
	}
	return out
}

func (l *memListener) Addr() net.Addr { return l.addr }

// pipe is one direction of a connection: the bytes written by one endpoint and not yet read by
// the other.
type pipe struct {
	buf     []byte
	reader  *memConn  // the endpoint that reads
	rcond   sync.Cond // on the network's mutex: data, EOF, close or a read deadline
	wcond   sync.Cond // on the network's mutex: room, close or a write deadline
	eof     bool      // the writer closed: reads drain buf, then get io.EOF
	broken  bool      // the reader closed: writes fail
	writing bool      // a Write is under way (Writes do not interleave)
}

func newPipe(mu *sync.Mutex) *pipe {
	p := &pipe{}
	p.rcond.L, p.wcond.L = mu, mu
	return p
}

// wakeReaders wakes the goroutines blocked reading p, marking them not blocked first.
func (p *pipe) wakeReaders() {
	p.reader.blocked = 0
	p.rcond.Broadcast()
}

// memConn is one endpoint of a connection on a Network.
type memConn struct {
	n             *Network
	local, remote memAddr
	rd, wr        *pipe
	server        bool
	l             *memListener // the listener that accepted it (server side)

	closed  bool
	blocked int // goroutines blocked in Read on an empty buffer
	parked  int
	busy    bool

	rdl, wdl deadline
}

// deadline is one of a connection's deadlines.
type deadline struct {
	timer   *time.Timer
	seq     uint64 // which setting the timer belongs to
	expired bool
}

// set arms d for t; wake is called, with the network's mutex held, when it expires.
func (d *deadline) set(mu *sync.Mutex, t time.Time, wake func()) {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.seq++
	d.expired = false
	switch {
	case t.IsZero():
	case !time.Now().Before(t):
		d.expired = true
		wake()
	default:
		seq := d.seq
		d.timer = time.AfterFunc(time.Until(t), func() {
			mu.Lock()
			defer mu.Unlock()
			if d.seq == seq {
				d.expired = true
				wake()
			}
		})
	}
}

func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.seq++
}

func (c *memConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads buffered bytes; it waits while there are none. After the peer closed, it returns
// what is left, then io.EOF.
func (c *memConn) Read(b []byte) (int, error) {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	p := c.rd
	for {
		switch {
		case c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case c.rdl.expired:
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case len(p.buf) > 0:
			k := copy(b, p.buf)
			if k == len(p.buf) {
				p.buf = p.buf[:0] // drained: the next Write reuses the array
			} else {
				p.buf = p.buf[k:]
			}
			n.gen++
			p.wcond.Broadcast()
			return k, nil
		case p.eof:
			n.gen++
			return 0, io.EOF
		case len(b) == 0:
			return 0, nil
		}
		c.blocked++
		p.rcond.Wait()
	}
}

// Write buffers b, waiting for room while the buffer is full. It returns once all of b is
// buffered, or with an error: after Close, when the peer closed (a *net.OpError wrapping
// syscall.EPIPE), or when the write deadline passed (some of b may then be buffered).
func (c *memConn) Write(b []byte) (int, error) {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	p := c.wr
	for p.writing && !c.closed && !c.wdl.expired && !p.broken {
		p.wcond.Wait()
	}
	if err := c.writeErr(); err != nil {
		return 0, err
	}
	p.writing = true
	defer func() {
		p.writing = false
		p.wcond.Broadcast()
	}()
	done := 0
	for {
		if err := c.writeErr(); err != nil {
			return done, err
		}
		if room := connBuffer - len(p.buf); room > 0 && done < len(b) {
			k := min(room, len(b)-done)
			p.buf = append(p.buf, b[done:done+k]...)
			done += k
			n.gen++
			p.wakeReaders()
		}
		if done == len(b) {
			if len(b) == 0 {
				n.gen++
			}
			return done, nil
		}
		p.wcond.Wait()
	}
}

func (c *memConn) writeErr() error {
	switch {
	case c.closed:
		return c.opErr("write", net.ErrClosed)
	case c.wdl.expired:
		return c.opErr("write", os.ErrDeadlineExceeded)
	case c.wr.broken:
		return c.opErr("write", syscall.EPIPE)
	}
	return nil
}

// Close closes the endpoint: its peer reads what was written, then io.EOF; its peer's writes
// fail; bytes it had not read are dropped. Reads and writes under way on it return
// net.ErrClosed.
func (c *memConn) Close() error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.closeLocked()
	return nil
}

func (c *memConn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	c.rdl.stop()
	c.wdl.stop()
	c.wr.eof = true
	c.wr.wakeReaders()
	c.wr.wcond.Broadcast()
	c.rd.broken = true
	c.rd.buf = nil
	c.rd.wakeReaders()
	c.rd.wcond.Broadcast()
	delete(c.n.conns, c)
	if c.l != nil {
		delete(c.l.conns, c)
	}
	c.n.gen++
}

// describeLocked names the endpoint and its state, for reports.
func (c *memConn) describeLocked() string {
	state := "busy"
	switch {
	case c.parked > 0:
		state = "parked"
	case !c.busy && c.blocked > 0:
		state = "reading"
	}
	return fmt.Sprintf("%s->%s (%s, %d bytes unread, %d bytes unsent)", c.remote, c.local, state, len(c.rd.buf), len(c.wr.buf))
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both the read and the write deadline.
func (c *memConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline: Reads waiting at t, and later ones, fail with an
// error that wraps os.ErrDeadlineExceeded. The zero time clears it.
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.closed {
		return c.opErr("set", net.ErrClosed)
	}
	c.rdl.set(&c.n.mu, t, func() {
		c.n.gen++
		c.rd.wakeReaders()
	})
	return nil
}

// SetWriteDeadline sets the write deadline: Writes waiting at t, and later ones, fail with an
// error that wraps os.ErrDeadlineExceeded. The zero time clears it.
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.closed {
		return c.opErr("set", net.ErrClosed)
	}
	c.wdl.set(&c.n.mu, t, func() {
		c.n.gen++
		c.wr.wcond.Broadcast()
	})
	return nil
}

var _ net.Conn = (*memConn)(nil)

// errNoNetwork is returned by functions that need a Network and got none.
var errNoNetwork = errors.New("bitstest: nil Network")
