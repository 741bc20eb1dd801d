package transfer

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/bitsemu/bitsemu/internal/sockq"
)

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// conns follows the connections a Client opened, so that a manager stepping a virtual clock can
// tell a peer that sends nothing from a client still at work on its side of a connection, or one
// whose bytes have arrived but are not read yet (Client.Quiet), and whether any byte arrived
// since it last looked (Client.Reads).
type conns struct {
	mu      sync.Mutex
	open    map[*trackedConn]struct{}
	dialing int // dials under way
	reads   atomic.Uint64
}

// wrap returns dial with every connection it makes followed.
func (cs *conns) wrap(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cs.mu.Lock()
		cs.dialing++
		cs.mu.Unlock()
		c, err := dial(ctx, network, addr)
		cs.mu.Lock()
		defer cs.mu.Unlock()
		cs.dialing--
		cs.reads.Add(1) // a dial that ended is news too
		if err != nil {
			return nil, err
		}
		t := &trackedConn{Conn: c, cs: cs}
		if cs.open == nil {
			cs.open = make(map[*trackedConn]struct{})
		}
		cs.open[t] = struct{}{}
		return t, nil
	}
}

// quiet reports whether a connection is open, none is being dialed, and every connection has a
// read waiting on it and holds no byte that arrived unread, as far as the system tells
// (sockq.Unread): then nothing moves on the client's side until a peer sends. With no connection
// open, a client that waits is still setting one up.
func (cs *conns) quiet() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.dialing > 0 || len(cs.open) == 0 {
		return false
	}
	for t := range cs.open {
		if t.reading.Load() == 0 || sockq.Unread(t.Conn) {
			return false
		}
	}
	return true
}

// trackedConn is a connection a Client follows.
type trackedConn struct {
	net.Conn
	cs      *conns
	reading atomic.Int32 // reads under way
	close   sync.Once
}

// Read counts the reads under way and the reads that bring bytes.
func (t *trackedConn) Read(p []byte) (int, error) {
	t.reading.Add(1)
	n, err := t.Conn.Read(p)
	t.reading.Add(-1)
	if n > 0 {
		t.cs.reads.Add(1)
	}
	return n, err
}

// Close stops following the connection and closes it.
func (t *trackedConn) Close() error {
	t.close.Do(func() {
		t.cs.mu.Lock()
		delete(t.cs.open, t)
		t.cs.mu.Unlock()
	})
	return t.Conn.Close()
}
