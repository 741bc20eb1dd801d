package client

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// openStream opens the connection's callback stream, once, and waits until the service has it.
func (m *Manager) openStream() error {
	m.cbMu.Lock()
	defer m.cbMu.Unlock()
	if m.stream != nil {
		return nil
	}
	st, err := m.mgr.Callbacks(m.ctx)
	if err != nil {
		return wire.StatusErr(err)
	}
	first, err := st.Recv()
	if err != nil {
		return wire.StatusErr(err)
	}
	if first.GetKind() != wire.CallbackKind_READY {
		return &hresult.Error{Op: "SetNotifyInterface", Code: hresult.E_UNEXPECTED,
			Err: fmt.Errorf("the service opened the callback stream with %v", first.GetKind())}
	}
	m.stream = st
	m.running.Add(1)
	go m.serveCallbacks(st)
	return nil
}

// register returns the number under which the service calls cb, and which interfaces it has.
func (m *Manager) register(cb bits.Callback) (id uint64, level uint32) {
	level = 1
	if _, ok := cb.(bits.Callback3); ok {
		level = 3
	} else if _, ok := cb.(bits.Callback2); ok {
		level = 2
	}
	m.cbMu.Lock()
	defer m.cbMu.Unlock()
	key := reflect.TypeOf(cb).Comparable()
	if key {
		if id, ok := m.cbIDs[cb]; ok {
			return id, level
		}
	}
	m.nextCB++
	id = m.nextCB
	m.cbs[id] = cb
	if key {
		m.cbIDs[cb] = id
	}
	return id, level
}

func (m *Manager) callback(id uint64) bits.Callback {
	m.cbMu.Lock()
	defer m.cbMu.Unlock()
	return m.cbs[id]
}

// serveCallbacks takes the service's calls until the stream ends, running each on a goroutine
// of its own, so that a callback may call the service (and be called again) meanwhile.
func (m *Manager) serveCallbacks(st wire.Manager_CallbacksClient) {
	defer m.running.Done()
	for {
		c, err := st.Recv()
		if err != nil {
			return
		}
		m.running.Add(1)
		go func() {
			defer m.running.Done()
			err := m.dispatch(c)
			res := &wire.CallbackResult{Seq: c.GetSeq()}
			if err != nil {
				res.Hresult, res.Message = uint32(hresult.Of(err)), err.Error()
				if res.Hresult == 0 {
					res.Hresult = uint32(hresult.E_FAIL)
				}
			}
			m.sendMu.Lock()
			_ = st.Send(res)
			m.sendMu.Unlock()
		}()
	}
}

// dispatch calls the callback a call names. A callback that panics has failed.
func (m *Manager) dispatch(c *wire.CallbackCall) (err error) {
	cb := m.callback(c.GetCallbackId())
	if cb == nil {
		return &hresult.Error{Op: "callback", Code: hresult.E_UNEXPECTED, Err: fmt.Errorf("no callback %d", c.GetCallbackId())}
	}
	defer func() {
		if p := recover(); p != nil {
			err = &hresult.Error{Op: "callback", Code: hresult.E_UNEXPECTED, Err: fmt.Errorf("the callback panicked: %v", p)}
		}
	}()
	j := m.newJob(c.GetJob())
	var f bits.File
	if c.GetFile() != 0 {
		f = m.newFile(c.GetFile())
	}
	switch c.GetKind() {
	case wire.CallbackKind_JOB_TRANSFERRED:
		return cb.JobTransferred(j)
	case wire.CallbackKind_JOB_ERROR:
		return cb.JobError(j, m.newError(c.GetError()))
	case wire.CallbackKind_JOB_MODIFICATION:
		return cb.JobModification(j)
	case wire.CallbackKind_FILE_TRANSFERRED:
		if cb2, ok := cb.(bits.Callback2); ok {
			return cb2.FileTransferred(j, f)
		}
	case wire.CallbackKind_FILE_RANGES_TRANSFERRED:
		if cb3, ok := cb.(bits.Callback3); ok {
			return cb3.FileRangesTransferred(j, f, wire.RangesTo(c.GetRanges()))
		}
	default:
		return &hresult.Error{Op: "callback", Code: hresult.E_INVALIDARG, Err: fmt.Errorf("callback kind %v", c.GetKind())}
	}
	return &hresult.Error{Op: "callback", Code: hresult.E_NOINTERFACE}
}

// foreign is a callback another application registered, as GetNotifyInterface returns it:
// calling it makes the service call that application. foreign2 and foreign3 add Callback2's and
// Callback3's methods when the callback has them.
type foreign struct{ object }

type foreign2 struct{ *foreign }

type foreign3 struct{ *foreign }

func (m *Manager) newForeign(h uint64, level uint32) bits.Callback {
	f := track(m, &foreign{object{m, h}}, h)
	switch level {
	case 3:
		return foreign3{f}
	case 2:
		return foreign2{f}
	}
	return f
}

// errForeignArg is a callback argument that is no object of this connection.
var errForeignArg = errors.New("client: a callback's arguments must be objects of the same connection")

func (f *foreign) invoke(kind wire.CallbackKind, j bits.Job, file bits.File, e bits.Error, ranges []bits.FileRange) error {
	c := &wire.CallbackCall{Callback: f.h, Kind: kind, Ranges: wire.RangesOf(ranges)}
	jj, ok := j.(*Job)
	if !ok || jj.m != f.m {
		return &hresult.Error{Op: "callback", Code: hresult.E_INVALIDARG, Err: errForeignArg}
	}
	c.Job = jj.h
	if file != nil {
		ff, ok := file.(*File)
		if !ok || ff.m != f.m {
			return &hresult.Error{Op: "callback", Code: hresult.E_INVALIDARG, Err: errForeignArg}
		}
		c.File = ff.h
	}
	if e != nil {
		ee, ok := e.(*Error)
		if !ok || ee.m != f.m {
			return &hresult.Error{Op: "callback", Code: hresult.E_INVALIDARG, Err: errForeignArg}
		}
		c.Error = ee.h
	}
	_, err := with(&f.object, f.m.cb.Invoke, c)
	return err
}

func (f *foreign) JobTransferred(j bits.Job) error {
	return f.invoke(wire.CallbackKind_JOB_TRANSFERRED, j, nil, nil, nil)
}

func (f *foreign) JobError(j bits.Job, e bits.Error) error {
	return f.invoke(wire.CallbackKind_JOB_ERROR, j, nil, e, nil)
}

func (f *foreign) JobModification(j bits.Job) error {
	return f.invoke(wire.CallbackKind_JOB_MODIFICATION, j, nil, nil, nil)
}

func (f foreign2) FileTransferred(j bits.Job, file bits.File) error {
	return f.invoke(wire.CallbackKind_FILE_TRANSFERRED, j, file, nil, nil)
}

func (f foreign3) FileTransferred(j bits.Job, file bits.File) error {
	return f.invoke(wire.CallbackKind_FILE_TRANSFERRED, j, file, nil, nil)
}

func (f foreign3) FileRangesTransferred(j bits.Job, file bits.File, ranges []bits.FileRange) error {
	return f.invoke(wire.CallbackKind_FILE_RANGES_TRANSFERRED, j, file, nil, ranges)
}

// isNil reports whether cb is a nil pointer (or map, func, ...) in an interface.
func isNil(cb bits.Callback) bool {
	v := reflect.ValueOf(cb)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}
