package service

import (
	"context"
	"fmt"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// fault is the status a failed call returns.
func fault(err error) error { return wire.ErrStatus(err) }

// call runs f on the object of handle h of the caller's connection, as a T. Every method of the
// protocol goes through it: f's error becomes the call's Fault.
func call[T, R any](ctx context.Context, h uint64, f func(se *session, o T) (R, error)) (R, error) {
	var zero R
	se, err := sessionOf(ctx)
	if err != nil {
		return zero, err
	}
	o, err := lookup[T](se, h)
	if err != nil {
		return zero, fault(err)
	}
	r, err := f(se, o)
	if err != nil {
		return zero, fault(err)
	}
	return r, nil
}

func do[T any](ctx context.Context, h uint64, f func(T) error) (*wire.Empty, error) {
	return call(ctx, h, func(_ *session, o T) (*wire.Empty, error) { return &wire.Empty{}, f(o) })
}

func getU32[T any, V ~uint32](ctx context.Context, r *wire.Handle, f func(T) (V, error)) (*wire.U32, error) {
	return call(ctx, r.GetHandle(), func(_ *session, o T) (*wire.U32, error) {
		v, err := f(o)
		return &wire.U32{Value: uint32(v)}, err
	})
}

func setU32[T any, V ~uint32](ctx context.Context, r *wire.U32Arg, f func(T, V) error) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(o T) error { return f(o, V(r.GetValue())) })
}

func getStr[T any](ctx context.Context, r *wire.Handle, f func(T) (string, error)) (*wire.Str, error) {
	return call(ctx, r.GetHandle(), func(_ *session, o T) (*wire.Str, error) {
		v, err := f(o)
		return &wire.Str{Value: v}, err
	})
}

func setStr[T any](ctx context.Context, r *wire.StrArg, f func(T, string) error) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(o T) error { return f(o, r.GetValue()) })
}

func getBool[T any](ctx context.Context, r *wire.Handle, f func(T) (bool, error)) (*wire.Bool, error) {
	return call(ctx, r.GetHandle(), func(_ *session, o T) (*wire.Bool, error) {
		v, err := f(o)
		return &wire.Bool{Value: v}, err
	})
}

func getCode[T any](ctx context.Context, h uint64, f func(T) (hresult.Code, error)) (*wire.Code, error) {
	return call(ctx, h, func(_ *session, o T) (*wire.Code, error) {
		c, err := f(o)
		return &wire.Code{Hresult: uint32(c)}, err
	})
}

// getObj calls f and hands out the object it returns.
func getObj[T, O any](ctx context.Context, r *wire.Handle, f func(T) (O, error)) (*wire.Handle, error) {
	return call(ctx, r.GetHandle(), func(se *session, o T) (*wire.Handle, error) {
		v, err := f(o)
		if err != nil {
			return nil, err
		}
		return &wire.Handle{Handle: se.put(v)}, nil
	})
}

// managerServer is the Manager service: the connection's manager client.
type managerServer struct {
	s *Server
	wire.UnimplementedManagerServer
}

func (ms managerServer) Hello(ctx context.Context, r *wire.HelloRequest) (*wire.HelloReply, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	id := se.client.Identity()
	return &wire.HelloReply{Protocol: uint32(wire.Version_PROTOCOL_VERSION), Sid: id.SID, Admin: id.Admin,
		Pid: pid, Store: ms.s.dir}, nil
}

func (managerServer) CreateJob(ctx context.Context, r *wire.CreateJobRequest) (*wire.Handle, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	j, err := se.client.CreateJob(r.GetDisplayName(), bits.JobType(r.GetType()))
	if err != nil {
		return nil, fault(err)
	}
	return &wire.Handle{Handle: se.put(j)}, nil
}

func (managerServer) GetJob(ctx context.Context, r *wire.GUID) (*wire.Handle, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := wire.GUIDTo(r)
	if err != nil {
		return nil, fault(err)
	}
	j, err := se.client.GetJob(id)
	if err != nil {
		return nil, fault(err)
	}
	return &wire.Handle{Handle: se.put(j)}, nil
}

func (managerServer) EnumJobs(ctx context.Context, r *wire.U32) (*wire.Handle, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	e, err := se.client.EnumJobs(r.GetValue())
	if err != nil {
		return nil, fault(err)
	}
	return &wire.Handle{Handle: se.put(jobEnum{e})}, nil
}

func (managerServer) GetErrorDescription(ctx context.Context, r *wire.ErrorDescriptionRequest) (*wire.Str, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	s, err := se.client.GetErrorDescription(hresult.Code(r.GetHresult()), uint16(r.GetLang()))
	if err != nil {
		return nil, fault(err)
	}
	return &wire.Str{Value: s}, nil
}

func (managerServer) Release(ctx context.Context, r *wire.Handles) (*wire.Empty, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	se.release(r.GetHandles())
	return &wire.Empty{}, nil
}

func (managerServer) Callbacks(st wire.Manager_CallbacksServer) error {
	se, err := sessionOf(st.Context())
	if err != nil {
		return err
	}
	return se.attach(st)
}

func (ms managerServer) Shutdown(ctx context.Context, _ *wire.Empty) (*wire.Empty, error) {
	se, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := ms.s.requestShutdown(se); err != nil {
		return nil, fault(err)
	}
	return &wire.Empty{}, nil
}

// enumerator is what the Enum service serves: a job or a file enumerator.
type enumerator interface {
	next(se *session, n uint32) ([]uint64, hresult.Code, error)
	Skip(n uint32) (hresult.Code, error)
	Reset() error
	clone() (enumerator, error)
	GetCount() (uint32, error)
}

type jobEnum struct{ bits.JobEnum }

type fileEnum struct{ bits.FileEnum }

func (e jobEnum) next(se *session, n uint32) ([]uint64, hresult.Code, error) {
	return nextHandles(se, e.JobEnum, n)
}

func (e fileEnum) next(se *session, n uint32) ([]uint64, hresult.Code, error) {
	return nextHandles(se, e.FileEnum, n)
}

func (e jobEnum) clone() (enumerator, error) {
	c, err := e.Clone()
	return jobEnum{c}, err
}

func (e fileEnum) clone() (enumerator, error) {
	c, err := e.Clone()
	return fileEnum{c}, err
}

func nextHandles[T any](se *session, e bits.Enum[T], n uint32) ([]uint64, hresult.Code, error) {
	items, code, err := e.Next(n)
	if err != nil {
		return nil, code, err
	}
	hs := make([]uint64, len(items))
	for i, it := range items {
		hs[i] = se.put(it)
	}
	return hs, code, nil
}

// enumServer is the Enum service.
type enumServer struct{ wire.UnimplementedEnumServer }

func (enumServer) Next(ctx context.Context, r *wire.U32Arg) (*wire.Items, error) {
	return call(ctx, r.GetHandle(), func(se *session, e enumerator) (*wire.Items, error) {
		hs, code, err := e.next(se, r.GetValue())
		return &wire.Items{Handles: hs, Hresult: uint32(code)}, err
	})
}

func (enumServer) Skip(ctx context.Context, r *wire.U32Arg) (*wire.Code, error) {
	return getCode(ctx, r.GetHandle(), func(e enumerator) (hresult.Code, error) { return e.Skip(r.GetValue()) })
}

func (enumServer) Reset(ctx context.Context, r *wire.Handle) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), enumerator.Reset)
}

func (enumServer) Clone(ctx context.Context, r *wire.Handle) (*wire.Handle, error) {
	return getObj(ctx, r, enumerator.clone)
}

func (enumServer) GetCount(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, enumerator.GetCount)
}

// fileServer is the File service.
type fileServer struct{ wire.UnimplementedFileServer }

func (fileServer) GetRemoteName(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.File.GetRemoteName)
}

func (fileServer) GetLocalName(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.File.GetLocalName)
}

func (fileServer) GetProgress(ctx context.Context, r *wire.Handle) (*wire.FileProgress, error) {
	return call(ctx, r.GetHandle(), func(_ *session, f bits.File) (*wire.FileProgress, error) {
		p, err := f.GetProgress()
		return &wire.FileProgress{BytesTotal: p.BytesTotal, BytesTransferred: p.BytesTransferred, Completed: p.Completed}, err
	})
}

func (fileServer) GetFileRanges(ctx context.Context, r *wire.Handle) (*wire.Ranges, error) {
	return call(ctx, r.GetHandle(), func(_ *session, f bits.File) (*wire.Ranges, error) {
		rs, code, err := f.GetFileRanges()
		return &wire.Ranges{Ranges: wire.RangesOf(rs), Hresult: uint32(code)}, err
	})
}

func (fileServer) SetRemoteName(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) {
	return setStr(ctx, r, bits.File.SetRemoteName)
}

func (fileServer) GetTemporaryName(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.File.GetTemporaryName)
}

func (fileServer) SetValidationState(ctx context.Context, r *wire.BoolArg) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(f bits.File) error { return f.SetValidationState(r.GetValue()) })
}

func (fileServer) GetValidationState(ctx context.Context, r *wire.Handle) (*wire.Bool, error) {
	return getBool(ctx, r, bits.File.GetValidationState)
}

func (fileServer) IsDownloadedFromPeer(ctx context.Context, r *wire.Handle) (*wire.Bool, error) {
	return getBool(ctx, r, bits.File.IsDownloadedFromPeer)
}

func (fileServer) GetProperty(ctx context.Context, r *wire.U32Arg) (*wire.Str, error) {
	return call(ctx, r.GetHandle(), func(_ *session, f bits.File) (*wire.Str, error) {
		v, err := f.GetProperty(r.GetValue())
		return &wire.Str{Value: v}, err
	})
}

// errorServer is the Error service.
type errorServer struct{ wire.UnimplementedErrorServer }

func (errorServer) GetError(ctx context.Context, r *wire.Handle) (*wire.ErrorInfo, error) {
	return call(ctx, r.GetHandle(), func(_ *session, e bits.Error) (*wire.ErrorInfo, error) {
		ctxt, code, err := e.GetError()
		return &wire.ErrorInfo{Context: uint32(ctxt), Hresult: uint32(code)}, err
	})
}

func (errorServer) GetFile(ctx context.Context, r *wire.Handle) (*wire.Handle, error) {
	return getObj(ctx, r, bits.Error.GetFile)
}

func (errorServer) GetErrorDescription(ctx context.Context, r *wire.U32Arg) (*wire.Str, error) {
	return call(ctx, r.GetHandle(), func(_ *session, e bits.Error) (*wire.Str, error) {
		s, err := e.GetErrorDescription(uint16(r.GetValue()))
		return &wire.Str{Value: s}, err
	})
}

func (errorServer) GetErrorContextDescription(ctx context.Context, r *wire.U32Arg) (*wire.Str, error) {
	return call(ctx, r.GetHandle(), func(_ *session, e bits.Error) (*wire.Str, error) {
		s, err := e.GetErrorContextDescription(uint16(r.GetValue()))
		return &wire.Str{Value: s}, err
	})
}

func (errorServer) GetProtocol(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.Error.GetProtocol)
}

// callbackServer is the Callback service: calls to a callback another connection registered,
// which this connection got from GetNotifyInterface.
type callbackServer struct {
	wire.UnimplementedCallbackServer
}

func (callbackServer) Invoke(ctx context.Context, r *wire.CallbackCall) (*wire.Empty, error) {
	return call(ctx, r.GetCallback(), func(se *session, cb bits.Callback) (*wire.Empty, error) {
		j, err := lookup[bits.Job](se, r.GetJob())
		if err != nil {
			return nil, err
		}
		var f bits.File
		if r.GetFile() != 0 {
			if f, err = lookup[bits.File](se, r.GetFile()); err != nil {
				return nil, err
			}
		}
		switch r.GetKind() {
		case wire.CallbackKind_JOB_TRANSFERRED:
			return &wire.Empty{}, cb.JobTransferred(j)
		case wire.CallbackKind_JOB_ERROR:
			e, err := lookup[bits.Error](se, r.GetError())
			if err != nil {
				return nil, err
			}
			return &wire.Empty{}, cb.JobError(j, e)
		case wire.CallbackKind_JOB_MODIFICATION:
			return &wire.Empty{}, cb.JobModification(j)
		case wire.CallbackKind_FILE_TRANSFERRED:
			if cb2, ok := cb.(bits.Callback2); ok {
				return &wire.Empty{}, cb2.FileTransferred(j, f)
			}
		case wire.CallbackKind_FILE_RANGES_TRANSFERRED:
			if cb3, ok := cb.(bits.Callback3); ok {
				return &wire.Empty{}, cb3.FileRangesTransferred(j, f, wire.RangesTo(r.GetRanges()))
			}
		default:
			return nil, &hresult.Error{Op: "Invoke", Code: hresult.E_INVALIDARG, Err: fmt.Errorf("callback kind %v", r.GetKind())}
		}
		return nil, &hresult.Error{Op: "Invoke", Code: hresult.E_NOINTERFACE}
	})
}
