package service

import (
	"errors"
	"fmt"
	"sync"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// session is one connection: its application's manager client, the objects handed out on it
// and its callback stream.
type session struct {
	srv    *Server
	uid    int
	client *manager.Client

	mu      sync.Mutex
	objs    map[uint64]any // handle -> bits.Job, bits.File, bits.Error, enumerator or bits.Callback
	next    uint64
	ended   bool
	done    chan struct{} // closed by end
	stream  wire.Manager_CallbacksServer
	sendMu  sync.Mutex // serialises stream.Send
	seq     uint64
	waiting map[uint64]chan *wire.CallbackResult
}

func newSession(s *Server, uid int, c *manager.Client) *session {
	return &session{srv: s, uid: uid, client: c, objs: make(map[uint64]any),
		done: make(chan struct{}), waiting: make(map[uint64]chan *wire.CallbackResult)}
}

// end closes the session: its manager client closes (its handles fail with RPC_E_DISCONNECTED
// and its callbacks stop being valid), its objects are dropped and callback calls waiting for an
// answer fail.
func (se *session) end() {
	se.mu.Lock()
	if se.ended {
		se.mu.Unlock()
		return
	}
	se.ended = true
	se.objs = nil
	close(se.done)
	se.mu.Unlock()
	_ = se.client.Close()
	se.srv.forget(se)
}

// put adds an object to the session's table and returns its handle; a nil object is handle 0.
func (se *session) put(o any) uint64 {
	if o == nil {
		return 0
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.ended {
		return 0
	}
	se.next++
	se.objs[se.next] = o
	return se.next
}

// release drops objects the client no longer holds.
func (se *session) release(hs []uint64) {
	se.mu.Lock()
	defer se.mu.Unlock()
	for _, h := range hs {
		delete(se.objs, h)
	}
}

// lookup returns the object of handle h as a T: RPC_E_DISCONNECTED once the session ended,
// E_HANDLE for a handle that names no object of that kind.
func lookup[T any](se *session, h uint64) (T, error) {
	var zero T
	se.mu.Lock()
	o, ok := se.objs[h]
	ended := se.ended
	se.mu.Unlock()
	if ended {
		return zero, &hresult.Error{Op: "service", Code: hresult.RPC_E_DISCONNECTED}
	}
	t, isT := o.(T)
	if !ok || !isT {
		return zero, &hresult.Error{Op: "service", Code: hresult.E_HANDLE,
			Err: fmt.Errorf("handle %d names no %T of this connection", h, &zero)}
	}
	return t, nil
}

// errNoStream is a callback call on a connection that has no callback stream.
var errNoStream = errors.New("service: the application has no callback stream open")

// attach makes st the session's callback stream and returns when it ends.
func (se *session) attach(st wire.Manager_CallbacksServer) error {
	se.mu.Lock()
	switch {
	case se.ended:
		se.mu.Unlock()
		return fault(&hresult.Error{Op: "Callbacks", Code: hresult.RPC_E_DISCONNECTED})
	case se.stream != nil:
		se.mu.Unlock()
		return fault(&hresult.Error{Op: "Callbacks", Code: hresult.E_UNEXPECTED, Err: errors.New("the connection has a callback stream already")})
	}
	se.stream = st
	se.mu.Unlock()
	defer func() {
		// The stream is gone: the application can take no more calls, so its callbacks end.
		se.mu.Lock()
		se.stream = nil
		for seq, ch := range se.waiting {
			delete(se.waiting, seq)
			close(ch)
		}
		se.mu.Unlock()
	}()
	se.sendMu.Lock()
	err := st.Send(&wire.CallbackCall{Kind: wire.CallbackKind_READY})
	se.sendMu.Unlock()
	if err != nil {
		return err
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			r, err := st.Recv()
			if err != nil {
				return
			}
			se.mu.Lock()
			ch, ok := se.waiting[r.Seq]
			delete(se.waiting, r.Seq)
			se.mu.Unlock()
			if ok {
				ch <- r
			}
		}
	}()
	// Returning ends the stream, and with it the receiving goroutine.
	select {
	case <-ended:
	case <-se.done:
	case <-se.srv.stopping:
	}
	return nil
}

// call sends a call to one of the application's callbacks and waits for its answer. It fails
// (RPC_E_DISCONNECTED) when the connection or its stream ends first.
func (se *session) call(c *wire.CallbackCall) error {
	ch := make(chan *wire.CallbackResult, 1)
	se.mu.Lock()
	if se.ended || se.stream == nil {
		se.mu.Unlock()
		return &hresult.Error{Op: "callback", Code: hresult.RPC_E_DISCONNECTED, Err: errNoStream}
	}
	se.seq++
	c.Seq = se.seq
	se.waiting[c.Seq] = ch
	st := se.stream
	se.mu.Unlock()

	se.sendMu.Lock()
	err := st.Send(c)
	se.sendMu.Unlock()
	if err != nil {
		se.mu.Lock()
		delete(se.waiting, c.Seq)
		se.mu.Unlock()
		return &hresult.Error{Op: "callback", Code: hresult.RPC_E_DISCONNECTED, Err: err}
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return &hresult.Error{Op: "callback", Code: hresult.RPC_E_DISCONNECTED}
		}
		if r.Hresult == 0 {
			return nil
		}
		var cause error
		if r.Message != "" {
			cause = errors.New(r.Message)
		}
		return &hresult.Error{Op: "callback", Code: hresult.Code(r.Hresult), Err: cause}
	case <-se.done:
		return &hresult.Error{Op: "callback", Code: hresult.RPC_E_DISCONNECTED}
	}
}

// remoteCallback is a callback an application registered: calling it sends the call to the
// application over its connection. remoteCallback2 and remoteCallback3 add the methods of
// Callback2 and Callback3, for an application's callback that implements them.
type remoteCallback struct {
	se    *session
	id    uint64 // the application's number for it
	level uint32 // 1, 2 or 3: which interfaces it implements
}

type remoteCallback2 struct{ *remoteCallback }

type remoteCallback3 struct{ *remoteCallback }

// newRemoteCallback returns the callback for the application's callback id, with the methods of
// the interfaces it implements.
func newRemoteCallback(se *session, id uint64, level uint32) bits.Callback {
	rc := &remoteCallback{se: se, id: id, level: min(max(level, 1), 3)}
	switch rc.level {
	case 3:
		return remoteCallback3{rc}
	case 2:
		return remoteCallback2{rc}
	}
	return rc
}

// remoteOf returns the remoteCallback behind cb, or nil.
func remoteOf(cb bits.Callback) *remoteCallback {
	switch c := cb.(type) {
	case *remoteCallback:
		return c
	case remoteCallback2:
		return c.remoteCallback
	case remoteCallback3:
		return c.remoteCallback
	}
	return nil
}

func (rc *remoteCallback) send(kind wire.CallbackKind, j bits.Job, f bits.File, e bits.Error, ranges []bits.FileRange) error {
	c := &wire.CallbackCall{CallbackId: rc.id, Kind: kind, Job: rc.se.put(j), Ranges: wire.RangesOf(ranges)}
	if f != nil {
		c.File = rc.se.put(f)
	}
	if e != nil {
		c.Error = rc.se.put(e)
	}
	return rc.se.call(c)
}

func (rc *remoteCallback) JobTransferred(j bits.Job) error {
	return rc.send(wire.CallbackKind_JOB_TRANSFERRED, j, nil, nil, nil)
}

func (rc *remoteCallback) JobError(j bits.Job, e bits.Error) error {
	return rc.send(wire.CallbackKind_JOB_ERROR, j, nil, e, nil)
}

func (rc *remoteCallback) JobModification(j bits.Job) error {
	return rc.send(wire.CallbackKind_JOB_MODIFICATION, j, nil, nil, nil)
}

func (rc remoteCallback2) FileTransferred(j bits.Job, f bits.File) error {
	return rc.send(wire.CallbackKind_FILE_TRANSFERRED, j, f, nil, nil)
}

func (rc remoteCallback3) FileTransferred(j bits.Job, f bits.File) error {
	return rc.send(wire.CallbackKind_FILE_TRANSFERRED, j, f, nil, nil)
}

func (rc remoteCallback3) FileRangesTransferred(j bits.Job, f bits.File, ranges []bits.FileRange) error {
	return rc.send(wire.CallbackKind_FILE_RANGES_TRANSFERRED, j, f, nil, ranges)
}
