package service

import (
	"context"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
	"github.com/bitsemu/bitsemu/state"
)

// jobServer is the Job service: each method calls the same method of the job handle.
type jobServer struct{ wire.UnimplementedJobServer }

func (jobServer) AddFileSet(ctx context.Context, r *wire.AddFileSetRequest) (*wire.Empty, error) {
	files := make([]bits.FileInfo, len(r.GetFiles()))
	for i, f := range r.GetFiles() {
		files[i] = bits.FileInfo{RemoteName: f.GetRemoteName(), LocalName: f.GetLocalName()}
	}
	return do(ctx, r.GetHandle(), func(j bits.Job) error { return j.AddFileSet(files) })
}

func (jobServer) AddFile(ctx context.Context, r *wire.AddFileRequest) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error { return j.AddFile(r.GetRemoteName(), r.GetLocalName()) })
}

func (jobServer) EnumFiles(ctx context.Context, r *wire.Handle) (*wire.Handle, error) {
	return getObj(ctx, r, func(j bits.Job) (enumerator, error) {
		e, err := j.EnumFiles()
		if err != nil {
			return nil, err
		}
		return fileEnum{e}, nil
	})
}

func (jobServer) Suspend(ctx context.Context, r *wire.Handle) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), bits.Job.Suspend)
}

func (jobServer) Resume(ctx context.Context, r *wire.Handle) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), bits.Job.Resume)
}

func (jobServer) Cancel(ctx context.Context, r *wire.Handle) (*wire.Code, error) {
	return getCode(ctx, r.GetHandle(), bits.Job.Cancel)
}

func (jobServer) Complete(ctx context.Context, r *wire.Handle) (*wire.Code, error) {
	return getCode(ctx, r.GetHandle(), bits.Job.Complete)
}

func (jobServer) GetId(ctx context.Context, r *wire.Handle) (*wire.GUID, error) { //nolint:revive // BITS spelling
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.GUID, error) {
		id, err := j.GetId()
		return &wire.GUID{Id: id[:]}, err
	})
}

func (jobServer) GetType(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetType)
}

func (jobServer) GetProgress(ctx context.Context, r *wire.Handle) (*wire.Progress, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.Progress, error) {
		p, err := j.GetProgress()
		return &wire.Progress{BytesTotal: p.BytesTotal, BytesTransferred: p.BytesTransferred,
			FilesTotal: p.FilesTotal, FilesTransferred: p.FilesTransferred}, err
	})
}

func (jobServer) GetTimes(ctx context.Context, r *wire.Handle) (*wire.Times, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.Times, error) {
		t, err := j.GetTimes()
		return &wire.Times{Creation: wire.TimeOf(t.CreationTime), Modification: wire.TimeOf(t.ModificationTime),
			TransferCompletion: wire.TimeOf(t.TransferCompletionTime)}, err
	})
}

func (jobServer) GetState(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, func(j bits.Job) (state.State, error) { return j.GetState() })
}

func (jobServer) GetError(ctx context.Context, r *wire.Handle) (*wire.Handle, error) {
	return getObj(ctx, r, bits.Job.GetError)
}

func (jobServer) GetOwner(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.Job.GetOwner)
}

func (jobServer) SetDisplayName(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) {
	return setStr(ctx, r, bits.Job.SetDisplayName)
}

func (jobServer) GetDisplayName(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.Job.GetDisplayName)
}

func (jobServer) SetDescription(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) {
	return setStr(ctx, r, bits.Job.SetDescription)
}

func (jobServer) GetDescription(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.Job.GetDescription)
}

func (jobServer) SetPriority(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetPriority)
}

func (jobServer) GetPriority(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetPriority)
}

func (jobServer) SetNotifyFlags(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetNotifyFlags)
}

func (jobServer) GetNotifyFlags(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetNotifyFlags)
}

// SetNotifyInterface registers the application's callback callback_id, or removes the job's
// callback for 0. The application must have its Callbacks stream open to be called.
func (jobServer) SetNotifyInterface(ctx context.Context, r *wire.SetNotifyRequest) (*wire.Empty, error) {
	return call(ctx, r.GetHandle(), func(se *session, j bits.Job) (*wire.Empty, error) {
		var cb bits.Callback
		if r.GetCallbackId() != 0 {
			cb = newRemoteCallback(se, r.GetCallbackId(), r.GetInterfaces())
		}
		return &wire.Empty{}, j.SetNotifyInterface(cb)
	})
}

// GetNotifyInterface returns the job's callback: the application's own number for one it
// registered on this connection, or a handle for one registered elsewhere.
func (jobServer) GetNotifyInterface(ctx context.Context, r *wire.Handle) (*wire.NotifyInterface, error) {
	return call(ctx, r.GetHandle(), func(se *session, j bits.Job) (*wire.NotifyInterface, error) {
		cb, err := j.GetNotifyInterface()
		if err != nil || cb == nil {
			return &wire.NotifyInterface{}, err
		}
		level := uint32(1)
		if rc := remoteOf(cb); rc != nil {
			if rc.se == se {
				return &wire.NotifyInterface{CallbackId: rc.id, Interfaces: rc.level}, nil
			}
			level = rc.level
		} else if _, ok := cb.(bits.Callback3); ok {
			level = 3
		} else if _, ok := cb.(bits.Callback2); ok {
			level = 2
		}
		return &wire.NotifyInterface{Handle: se.put(cb), Interfaces: level}, nil
	})
}

func (jobServer) SetMinimumRetryDelay(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetMinimumRetryDelay)
}

func (jobServer) GetMinimumRetryDelay(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetMinimumRetryDelay)
}

func (jobServer) SetNoProgressTimeout(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetNoProgressTimeout)
}

func (jobServer) GetNoProgressTimeout(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetNoProgressTimeout)
}

func (jobServer) GetErrorCount(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetErrorCount)
}

func (jobServer) SetProxySettings(ctx context.Context, r *wire.ProxySettings) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error {
		return j.SetProxySettings(bits.ProxyUsage(r.GetUsage()), r.GetProxyList(), r.GetBypassList())
	})
}

func (jobServer) GetProxySettings(ctx context.Context, r *wire.Handle) (*wire.ProxySettings, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.ProxySettings, error) {
		p, err := j.GetProxySettings()
		return &wire.ProxySettings{Usage: uint32(p.Usage), ProxyList: p.ProxyList, BypassList: p.BypassList}, err
	})
}

func (jobServer) TakeOwnership(ctx context.Context, r *wire.Handle) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), bits.Job.TakeOwnership)
}

func (jobServer) SetNotifyCmdLine(ctx context.Context, r *wire.CmdLine) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error { return j.SetNotifyCmdLine(r.GetProgram(), r.GetParameters()) })
}

func (jobServer) GetNotifyCmdLine(ctx context.Context, r *wire.Handle) (*wire.CmdLine, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.CmdLine, error) {
		c, err := j.GetNotifyCmdLine()
		return &wire.CmdLine{Program: c.Program, Parameters: c.Parameters}, err
	})
}

func (jobServer) GetReplyProgress(ctx context.Context, r *wire.Handle) (*wire.ReplyProgress, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.ReplyProgress, error) {
		p, err := j.GetReplyProgress()
		return &wire.ReplyProgress{BytesTotal: p.BytesTotal, BytesTransferred: p.BytesTransferred}, err
	})
}

func (jobServer) GetReplyData(ctx context.Context, r *wire.Handle) (*wire.Bytes, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.Bytes, error) {
		b, err := j.GetReplyData()
		return &wire.Bytes{Value: b}, err
	})
}

func (jobServer) SetReplyFileName(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) {
	return setStr(ctx, r, bits.Job.SetReplyFileName)
}

func (jobServer) GetReplyFileName(ctx context.Context, r *wire.Handle) (*wire.Str, error) {
	return getStr(ctx, r, bits.Job.GetReplyFileName)
}

func (jobServer) SetCredentials(ctx context.Context, r *wire.Credentials) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error {
		return j.SetCredentials(bits.Credentials{Target: bits.AuthTarget(r.GetTarget()), Scheme: bits.AuthScheme(r.GetScheme()),
			UserName: r.GetUserName(), Password: r.GetPassword()})
	})
}

func (jobServer) RemoveCredentials(ctx context.Context, r *wire.Credentials) (*wire.Code, error) {
	return getCode(ctx, r.GetHandle(), func(j bits.Job) (hresult.Code, error) {
		return j.RemoveCredentials(bits.AuthTarget(r.GetTarget()), bits.AuthScheme(r.GetScheme()))
	})
}

func (jobServer) ReplaceRemotePrefix(ctx context.Context, r *wire.PrefixRequest) (*wire.Code, error) {
	return getCode(ctx, r.GetHandle(), func(j bits.Job) (hresult.Code, error) {
		return j.ReplaceRemotePrefix(r.GetOldPrefix(), r.GetNewPrefix())
	})
}

func (jobServer) AddFileWithRanges(ctx context.Context, r *wire.AddFileRequest) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error {
		ranges := wire.RangesTo(r.GetRanges())
		if ranges == nil {
			ranges = []bits.FileRange{}
		}
		return j.AddFileWithRanges(r.GetRemoteName(), r.GetLocalName(), ranges)
	})
}

func (jobServer) SetFileACLFlags(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetFileACLFlags)
}

func (jobServer) GetFileACLFlags(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetFileACLFlags)
}

func (jobServer) SetPeerCachingFlags(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetPeerCachingFlags)
}

func (jobServer) GetPeerCachingFlags(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetPeerCachingFlags)
}

func (jobServer) GetOwnerIntegrityLevel(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetOwnerIntegrityLevel)
}

func (jobServer) GetOwnerElevationState(ctx context.Context, r *wire.Handle) (*wire.Bool, error) {
	return getBool(ctx, r, bits.Job.GetOwnerElevationState)
}

func (jobServer) SetMaximumDownloadTime(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetMaximumDownloadTime)
}

func (jobServer) GetMaximumDownloadTime(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetMaximumDownloadTime)
}

func (jobServer) SetProperty(ctx context.Context, r *wire.PropertyRequest) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), func(j bits.Job) error {
		return j.SetProperty(bits.PropertyID(r.GetId()), wire.PropertyTo(r.GetValue()))
	})
}

func (jobServer) GetProperty(ctx context.Context, r *wire.PropertyRequest) (*wire.PropertyValue, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.PropertyValue, error) {
		v, err := j.GetProperty(bits.PropertyID(r.GetId()))
		return wire.PropertyOf(v), err
	})
}

func (jobServer) SetCustomHeaders(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) {
	return setStr(ctx, r, bits.Job.SetCustomHeaders)
}

func (jobServer) GetCustomHeaders(ctx context.Context, r *wire.Handle) (*wire.StrCode, error) {
	return call(ctx, r.GetHandle(), func(_ *session, j bits.Job) (*wire.StrCode, error) {
		s, code, err := j.GetCustomHeaders()
		return &wire.StrCode{Value: s, Hresult: uint32(code)}, err
	})
}

func (jobServer) SetSecurityFlags(ctx context.Context, r *wire.U32Arg) (*wire.Empty, error) {
	return setU32(ctx, r, bits.Job.SetSecurityFlags)
}

func (jobServer) GetSecurityFlags(ctx context.Context, r *wire.Handle) (*wire.U32, error) {
	return getU32(ctx, r, bits.Job.GetSecurityFlags)
}

func (jobServer) SetHttpMethod(ctx context.Context, r *wire.StrArg) (*wire.Empty, error) { //nolint:revive // BITS spelling
	return setStr(ctx, r, bits.Job.SetHttpMethod)
}

func (jobServer) GetHttpMethod(ctx context.Context, r *wire.Handle) (*wire.Str, error) { //nolint:revive // BITS spelling
	return getStr(ctx, r, bits.Job.GetHttpMethod)
}

func (jobServer) MakeCustomHeadersWriteOnly(ctx context.Context, r *wire.Handle) (*wire.Empty, error) {
	return do(ctx, r.GetHandle(), bits.Job.MakeCustomHeadersWriteOnly)
}
