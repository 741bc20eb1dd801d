package transfer

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// conns follows the connections a Client opened, so that a manager stepping a virtual clock can
// tell a peer that sends nothing from one whose bytes have arrived but are not read yet
// (Client.Pending), and whether any byte arrived since it last looked (Client.Reads).
type conns struct {
	mu    sync.Mutex
	open  map[*trackedConn]struct{}
	reads atomic.Uint64
}

// wrap returns dial with every connection it makes followed.
func (cs *conns) wrap(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t := &trackedConn{Conn: c, cs: cs}
		cs.mu.Lock()
		if cs.open == nil {
			cs.open = make(map[*trackedConn]struct{})
		}
		cs.open[t] = struct{}{}
		cs.mu.Unlock()
		return t, nil
	}
}

// pending reports whether a connection holds bytes that arrived and were not read yet, as far
// as the system tells (see unread).
func (cs *conns) pending() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for t := range cs.open {
		if unread(t.Conn) {
			return true
		}
	}
	return false
}

// trackedConn is a connection a Client follows.
type trackedConn struct {
	net.Conn
	cs    *conns
	close sync.Once
}

// Read counts the reads that bring bytes.
func (t *trackedConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
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
