//go:build windows

package winbits

import (
	"reflect"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Job is a BITS job reached through COM: an IBackgroundCopyJob pointer, with
// IBackgroundCopyJob2 through IBackgroundCopyJob5 and IBackgroundCopyJobHttpOptions through
// IBackgroundCopyJobHttpOptions3 found by QueryInterface the first time a method of theirs is
// called. A method whose interface the system lacks fails with E_NOINTERFACE (Wine's BITS, for
// one, has no IBackgroundCopyJob5).
//
// Each Job holds its own references. Release gives them back; otherwise the Manager's Close
// does, or, as a last resort, the garbage collector once the Job is unreachable. Several Jobs may
// refer to one BITS job. A Job is safe for concurrent use.
type Job struct {
	o *object

	idOnce sync.Once
	id     string // "{GUID}" for error messages, "" if GetId failed
}

var _ bits.Job = (*Job)(nil)

// newJob wraps o, whose primary interface is IBackgroundCopyJob.
func newJob(o *object) *Job {
	j := &Job{o: o}
	runtime.AddCleanup(j, (*object).release, o)
	return j
}

// Release gives back the Job's COM references at once. Later calls fail with
// RPC_E_DISCONNECTED. The BITS job itself is not affected.
func (j *Job) Release() { j.o.release() }

// guid returns the job's identifier for error messages.
func (j *Job) guid() string {
	j.idOnce.Do(func() {
		var g windows.GUID
		if j.o.use(nil, func(p unsafe.Pointer) hresult.Code {
			var c hresult.Code
			g, c = getOut[windows.GUID](p, jobGetId)
			return c
		}).Succeeded() {
			j.id = g.String()
		}
	})
	return j.id
}

// call runs fn on the job's interface iid (nil: IBackgroundCopyJob) and turns a failure into
// an error naming op.
func (j *Job) call(iid *windows.GUID, op string, fn func(p unsafe.Pointer) hresult.Code) error {
	if c := j.o.use(iid, fn); c.Failed() {
		return &hresult.Error{Op: op, Job: j.guid(), Code: c}
	}
	return nil
}

// callCode is call for a method whose success code (S_FALSE, BG_S_PARTIAL_COMPLETE, ...) the
// caller sees.
func (j *Job) callCode(iid *windows.GUID, op string, fn func(p unsafe.Pointer) hresult.Code) (hresult.Code, error) {
	c := j.o.use(iid, fn)
	if c.Failed() {
		return 0, &hresult.Error{Op: op, Job: j.guid(), Code: c}
	}
	return c, nil
}

func (j *Job) get32(iid *windows.GUID, op string, slot int) (uint32, error) {
	var v uint32
	err := j.call(iid, op, func(p unsafe.Pointer) (c hresult.Code) { v, c = getOut[uint32](p, slot); return })
	return v, err
}

func (j *Job) set32(iid *windows.GUID, op string, slot int, v uint32) error {
	return j.call(iid, op, func(p unsafe.Pointer) hresult.Code { return callVal(p, slot, uintptr(v)) })
}

func (j *Job) getString(iid *windows.GUID, op string, slot int) (string, error) {
	var s string
	err := j.call(iid, op, func(p unsafe.Pointer) (c hresult.Code) { s, c = getString(p, slot); return })
	return s, err
}

func (j *Job) setString(iid *windows.GUID, op string, slot int, s string, optional bool) error {
	conv := wide
	if optional {
		conv = wideOrNil
	}
	w, c := conv(s)
	if c.Failed() {
		return &hresult.Error{Op: op, Job: j.guid(), Code: c}
	}
	return j.call(iid, op, func(p unsafe.Pointer) hresult.Code { return setString(p, slot, w) })
}

func (j *Job) getBool(iid *windows.GUID, op string, slot int) (bool, error) {
	v, err := j.get32(iid, op, slot)
	return boolOf(int32(v)), err
}

// IBackgroundCopyJob.

// AddFileSet adds several files at once (IBackgroundCopyJob::AddFileSet).
func (j *Job) AddFileSet(files []bits.FileInfo) error {
	// The array is a [ref] pointer, never NULL, even for no files: BITS judges the count.
	set := make([]bgFileInfo, max(len(files), 1))
	for i, f := range files {
		var c1, c2 hresult.Code
		set[i].remoteName, c1 = wide(f.RemoteName)
		set[i].localName, c2 = wide(f.LocalName)
		if c1.Failed() || c2.Failed() {
			return &hresult.Error{Op: "AddFileSet", Job: j.guid(), Code: hresult.E_INVALIDARG}
		}
	}
	return j.call(nil, "AddFileSet", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, jobAddFileSet), uintptr(p), uintptr(len(files)), uintptr(unsafe.Pointer(&set[0])))
		return code(r)
	})
}

// AddFile adds one file (IBackgroundCopyJob::AddFile).
func (j *Job) AddFile(remoteURL, localName string) error {
	r, c1 := wide(remoteURL)
	l, c2 := wide(localName)
	if c1.Failed() || c2.Failed() {
		return &hresult.Error{Op: "AddFile", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	return j.call(nil, "AddFile", func(p unsafe.Pointer) hresult.Code { return setStrings(p, jobAddFile, r, l) })
}

// EnumFiles enumerates the job's files (IBackgroundCopyJob::EnumFiles).
func (j *Job) EnumFiles() (bits.FileEnum, error) {
	var e unsafe.Pointer
	err := j.call(nil, "EnumFiles", func(p unsafe.Pointer) (c hresult.Code) { e, c = getPtr(p, jobEnumFiles); return })
	if err != nil {
		return nil, err
	}
	return newEnum(j.o.conn.adopt(e), "IEnumBackgroundCopyFiles", fileOf), nil
}

// Suspend suspends the job (IBackgroundCopyJob::Suspend).
func (j *Job) Suspend() error {
	return j.call(nil, "Suspend", func(p unsafe.Pointer) hresult.Code { return call0(p, jobSuspend) })
}

// Resume activates the job (IBackgroundCopyJob::Resume).
func (j *Job) Resume() error {
	return j.call(nil, "Resume", func(p unsafe.Pointer) hresult.Code { return call0(p, jobResume) })
}

// Cancel cancels the job and removes its temporary files (IBackgroundCopyJob::Cancel).
func (j *Job) Cancel() (hresult.Code, error) {
	return j.callCode(nil, "Cancel", func(p unsafe.Pointer) hresult.Code { return call0(p, jobCancel) })
}

// Complete ends the job and makes its files available (IBackgroundCopyJob::Complete).
func (j *Job) Complete() (hresult.Code, error) {
	return j.callCode(nil, "Complete", func(p unsafe.Pointer) hresult.Code { return call0(p, jobComplete) })
}

// GetId returns the job's identifier (IBackgroundCopyJob::GetId).
func (j *Job) GetId() (uuid.UUID, error) { //nolint:revive // BITS spelling
	var g windows.GUID
	err := j.call(nil, "GetId", func(p unsafe.Pointer) (c hresult.Code) { g, c = getOut[windows.GUID](p, jobGetId); return })
	return uuidOf(g), err
}

// GetType returns the job's type (IBackgroundCopyJob::GetType).
func (j *Job) GetType() (bits.JobType, error) {
	v, err := j.get32(nil, "GetType", jobGetType)
	return bits.JobType(v), err
}

// GetProgress returns the job's progress (IBackgroundCopyJob::GetProgress).
func (j *Job) GetProgress() (bits.Progress, error) {
	var v bgJobProgress
	err := j.call(nil, "GetProgress", func(p unsafe.Pointer) (c hresult.Code) { v, c = getOut[bgJobProgress](p, jobGetProgress); return })
	return bits.Progress{BytesTotal: v.bytesTotal, BytesTransferred: v.bytesTransferred,
		FilesTotal: v.filesTotal, FilesTransferred: v.filesTransferred}, err
}

// GetTimes returns the job's creation, modification and completion times
// (IBackgroundCopyJob::GetTimes).
func (j *Job) GetTimes() (bits.Times, error) {
	var v bgJobTimes
	err := j.call(nil, "GetTimes", func(p unsafe.Pointer) (c hresult.Code) { v, c = getOut[bgJobTimes](p, jobGetTimes); return })
	return bits.Times{CreationTime: timeOf(v.creationTime), ModificationTime: timeOf(v.modificationTime),
		TransferCompletionTime: timeOf(v.transferCompletionTime)}, err
}

// GetState returns the job's state (IBackgroundCopyJob::GetState).
func (j *Job) GetState() (state.State, error) {
	v, err := j.get32(nil, "GetState", jobGetState)
	return state.State(v), err
}

// GetError returns the job's error object (IBackgroundCopyJob::GetError).
func (j *Job) GetError() (bits.Error, error) {
	var e unsafe.Pointer
	err := j.call(nil, "GetError", func(p unsafe.Pointer) (c hresult.Code) { e, c = getPtr(p, jobGetError); return })
	if err != nil {
		return nil, err
	}
	return newError(j.o.conn.adopt(e), j.guid()), nil
}

// GetOwner returns the SID of the job's owner (IBackgroundCopyJob::GetOwner).
func (j *Job) GetOwner() (string, error) { return j.getString(nil, "GetOwner", jobGetOwner) }

// SetDisplayName sets the job's display name (IBackgroundCopyJob::SetDisplayName).
func (j *Job) SetDisplayName(name string) error {
	return j.setString(nil, "SetDisplayName", jobSetDisplayName, name, false)
}

// GetDisplayName returns the job's display name (IBackgroundCopyJob::GetDisplayName).
func (j *Job) GetDisplayName() (string, error) {
	return j.getString(nil, "GetDisplayName", jobGetDisplayName)
}

// SetDescription sets the job's description (IBackgroundCopyJob::SetDescription).
func (j *Job) SetDescription(desc string) error {
	return j.setString(nil, "SetDescription", jobSetDescription, desc, false)
}

// GetDescription returns the job's description (IBackgroundCopyJob::GetDescription).
func (j *Job) GetDescription() (string, error) {
	return j.getString(nil, "GetDescription", jobGetDescription)
}

// SetPriority sets the job's priority (IBackgroundCopyJob::SetPriority).
func (j *Job) SetPriority(p bits.Priority) error {
	return j.set32(nil, "SetPriority", jobSetPriority, uint32(p))
}

// GetPriority returns the job's priority (IBackgroundCopyJob::GetPriority).
func (j *Job) GetPriority() (bits.Priority, error) {
	v, err := j.get32(nil, "GetPriority", jobGetPriority)
	return bits.Priority(v), err
}

// SetNotifyFlags chooses the notifications the job sends (IBackgroundCopyJob::SetNotifyFlags).
func (j *Job) SetNotifyFlags(flags uint32) error {
	return j.set32(nil, "SetNotifyFlags", jobSetNotifyFlags, flags)
}

// GetNotifyFlags returns the job's notify flags (IBackgroundCopyJob::GetNotifyFlags).
func (j *Job) GetNotifyFlags() (uint32, error) {
	return j.get32(nil, "GetNotifyFlags", jobGetNotifyFlags)
}

// SetNotifyInterface registers cb as the job's callback (IBackgroundCopyJob::SetNotifyInterface).
// cb is exposed to BITS as a COM object that answers QueryInterface for
// IBackgroundCopyCallback, and for IBackgroundCopyCallback2 and IBackgroundCopyCallback3 only when
// cb implements bits.Callback2 and bits.Callback3. BITS calls it on threads of its own choosing;
// the Job, File and Error values cb receives hold references of their own until they are
// released or collected. nil removes the callback. The registration ends when the Manager that
// made it is closed: BITS can no longer reach cb then.
func (j *Job) SetNotifyInterface(cb bits.Callback) error {
	var obj *callbackObject
	if v := reflect.ValueOf(cb); v.Kind() == reflect.Pointer && v.IsNil() {
		cb = nil // a nil pointer in the interface is nil too, as for bitsemu's jobs
	}
	if cb != nil {
		var ok bool
		if obj, ok = newCallbackObject(cb, j.o.conn); !ok {
			return &hresult.Error{Op: "SetNotifyInterface", Job: j.guid(), Code: hresult.RPC_E_DISCONNECTED}
		}
		defer obj.Release() // the reference newCallbackObject returned; BITS keeps its own
	}
	return j.call(nil, "SetNotifyInterface", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, jobSetNotifyInterface), uintptr(p), uintptr(obj.comPointer()))
		return code(r)
	})
}

// GetNotifyInterface returns the job's callback (IBackgroundCopyJob::GetNotifyInterface): the
// Go value given to SetNotifyInterface when this process registered it, nil when there is none,
// and otherwise a bits.Callback that forwards to the COM object another program registered.
func (j *Job) GetNotifyInterface() (bits.Callback, error) {
	var unk unsafe.Pointer
	err := j.call(nil, "GetNotifyInterface", func(p unsafe.Pointer) (c hresult.Code) {
		unk, c = getPtr(p, jobGetNotifyInterface)
		return
	})
	if err != nil || unk == nil {
		return nil, err
	}
	if obj := lookupCallbackObject(unk); obj != nil {
		cb := obj.cb
		releaseRef(unk)
		return cb, nil
	}
	return &remoteCallback{o: j.o.conn.adopt(unk)}, nil
}

// SetMinimumRetryDelay sets the delay before a job in TRANSIENT_ERROR is retried
// (IBackgroundCopyJob::SetMinimumRetryDelay).
func (j *Job) SetMinimumRetryDelay(seconds uint32) error {
	return j.set32(nil, "SetMinimumRetryDelay", jobSetMinimumRetryDelay, seconds)
}

// GetMinimumRetryDelay returns the retry delay (IBackgroundCopyJob::GetMinimumRetryDelay).
func (j *Job) GetMinimumRetryDelay() (uint32, error) {
	return j.get32(nil, "GetMinimumRetryDelay", jobGetMinimumRetryDelay)
}

// SetNoProgressTimeout sets how long a job may make no progress before it is put in ERROR
// (IBackgroundCopyJob::SetNoProgressTimeout).
func (j *Job) SetNoProgressTimeout(seconds uint32) error {
	return j.set32(nil, "SetNoProgressTimeout", jobSetNoProgressTimeout, seconds)
}

// GetNoProgressTimeout returns the no-progress timeout (IBackgroundCopyJob::GetNoProgressTimeout).
func (j *Job) GetNoProgressTimeout() (uint32, error) {
	return j.get32(nil, "GetNoProgressTimeout", jobGetNoProgressTimeout)
}

// GetErrorCount returns how many times the job has failed (IBackgroundCopyJob::GetErrorCount).
func (j *Job) GetErrorCount() (uint32, error) {
	return j.get32(nil, "GetErrorCount", jobGetErrorCount)
}

// SetProxySettings sets the job's proxy usage and lists (IBackgroundCopyJob::SetProxySettings).
// An empty list is passed as NULL, as BITS requires for every usage but ProxyOverride.
func (j *Job) SetProxySettings(usage bits.ProxyUsage, proxyList, bypassList string) error {
	l, c1 := wideOrNil(proxyList)
	b, c2 := wideOrNil(bypassList)
	if c1.Failed() || c2.Failed() {
		return &hresult.Error{Op: "SetProxySettings", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	return j.call(nil, "SetProxySettings", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, jobSetProxySettings), uintptr(p), uintptr(usage),
			uintptr(unsafe.Pointer(l)), uintptr(unsafe.Pointer(b)))
		return code(r)
	})
}

// GetProxySettings returns the job's proxy usage and lists (IBackgroundCopyJob::GetProxySettings).
func (j *Job) GetProxySettings() (bits.ProxySettings, error) {
	var ps bits.ProxySettings
	err := j.call(nil, "GetProxySettings", func(p unsafe.Pointer) hresult.Code {
		var usage uint32
		var l, b *uint16
		r, _, _ := syscall.SyscallN(method(p, jobGetProxySettings), uintptr(p), uintptr(unsafe.Pointer(&usage)),
			uintptr(unsafe.Pointer(&l)), uintptr(unsafe.Pointer(&b)))
		c := code(r)
		ps = bits.ProxySettings{ProxyList: outString(l, c), BypassList: outString(b, c)}
		if c.Succeeded() {
			ps.Usage = bits.ProxyUsage(usage)
		}
		return c
	})
	return ps, err
}

// TakeOwnership makes the caller the job's owner (IBackgroundCopyJob::TakeOwnership).
func (j *Job) TakeOwnership() error {
	return j.call(nil, "TakeOwnership", func(p unsafe.Pointer) hresult.Code { return call0(p, jobTakeOwnership) })
}

// IBackgroundCopyJob2.

// SetNotifyCmdLine sets the program run when the job is TRANSFERRED or in ERROR
// (IBackgroundCopyJob2::SetNotifyCmdLine). Empty strings are passed as NULL: two of them remove
// the command line.
func (j *Job) SetNotifyCmdLine(program, parameters string) error {
	pr, c1 := wideOrNil(program)
	pa, c2 := wideOrNil(parameters)
	if c1.Failed() || c2.Failed() {
		return &hresult.Error{Op: "SetNotifyCmdLine", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	return j.call(&iidBackgroundCopyJob2, "SetNotifyCmdLine", func(p unsafe.Pointer) hresult.Code {
		return setStrings(p, job2SetNotifyCmdLine, pr, pa)
	})
}

// GetNotifyCmdLine returns the job's command line (IBackgroundCopyJob2::GetNotifyCmdLine).
func (j *Job) GetNotifyCmdLine() (bits.NotifyCmdLine, error) {
	var cl bits.NotifyCmdLine
	err := j.call(&iidBackgroundCopyJob2, "GetNotifyCmdLine", func(p unsafe.Pointer) hresult.Code {
		var pr, pa *uint16
		r, _, _ := syscall.SyscallN(method(p, job2GetNotifyCmdLine), uintptr(p), uintptr(unsafe.Pointer(&pr)), uintptr(unsafe.Pointer(&pa)))
		cl = bits.NotifyCmdLine{Program: outString(pr, code(r)), Parameters: outString(pa, code(r))}
		return code(r)
	})
	return cl, err
}

// GetReplyProgress returns the progress of an upload-reply job's reply
// (IBackgroundCopyJob2::GetReplyProgress).
func (j *Job) GetReplyProgress() (bits.ReplyProgress, error) {
	var v bgJobReplyProgress
	err := j.call(&iidBackgroundCopyJob2, "GetReplyProgress", func(p unsafe.Pointer) (c hresult.Code) {
		v, c = getOut[bgJobReplyProgress](p, job2GetReplyProgress)
		return
	})
	return bits.ReplyProgress{BytesTotal: v.bytesTotal, BytesTransferred: v.bytesTransferred}, err
}

// GetReplyData returns an upload-reply job's reply (IBackgroundCopyJob2::GetReplyData).
func (j *Job) GetReplyData() ([]byte, error) {
	var data []byte
	err := j.call(&iidBackgroundCopyJob2, "GetReplyData", func(p unsafe.Pointer) hresult.Code {
		var buf *byte
		var n uint64
		r, _, _ := syscall.SyscallN(method(p, job2GetReplyData), uintptr(p), uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n)))
		if buf != nil {
			if code(r).Succeeded() {
				data = append([]byte(nil), unsafe.Slice(buf, n)...)
			}
			windows.CoTaskMemFree(unsafe.Pointer(buf))
		}
		return code(r)
	})
	return data, err
}

// SetReplyFileName chooses where an upload-reply job's reply goes
// (IBackgroundCopyJob2::SetReplyFileName); "" is passed as NULL, letting BITS choose.
func (j *Job) SetReplyFileName(name string) error {
	return j.setString(&iidBackgroundCopyJob2, "SetReplyFileName", job2SetReplyFileName, name, true)
}

// GetReplyFileName returns the reply file name (IBackgroundCopyJob2::GetReplyFileName).
func (j *Job) GetReplyFileName() (string, error) {
	return j.getString(&iidBackgroundCopyJob2, "GetReplyFileName", job2GetReplyFileName)
}

// SetCredentials sets credentials for one target and scheme (IBackgroundCopyJob2::SetCredentials).
// An empty user name or password is passed as NULL, which for NTLM and NEGOTIATE means the
// caller's own logon.
func (j *Job) SetCredentials(cr bits.Credentials) error {
	u, c1 := wideOrNil(cr.UserName)
	pw, c2 := wideOrNil(cr.Password)
	if c1.Failed() || c2.Failed() {
		return &hresult.Error{Op: "SetCredentials", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	ac := &bgAuthCredentials{target: uint32(cr.Target), scheme: uint32(cr.Scheme), userName: u, password: pw}
	return j.call(&iidBackgroundCopyJob2, "SetCredentials", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, job2SetCredentials), uintptr(p), uintptr(unsafe.Pointer(ac)))
		return code(r)
	})
}

// RemoveCredentials removes the credentials for one target and scheme, S_FALSE when there were
// none (IBackgroundCopyJob2::RemoveCredentials).
func (j *Job) RemoveCredentials(target bits.AuthTarget, scheme bits.AuthScheme) (hresult.Code, error) {
	return j.callCode(&iidBackgroundCopyJob2, "RemoveCredentials", func(p unsafe.Pointer) hresult.Code {
		return callVal(p, job2RemoveCredentials, uintptr(target), uintptr(scheme))
	})
}

// IBackgroundCopyJob3.

// ReplaceRemotePrefix changes the start of the remote names of the job's files, S_FALSE when
// none matched (IBackgroundCopyJob3::ReplaceRemotePrefix).
func (j *Job) ReplaceRemotePrefix(oldPrefix, newPrefix string) (hresult.Code, error) {
	o, c1 := wide(oldPrefix)
	n, c2 := wide(newPrefix)
	if c1.Failed() || c2.Failed() {
		return 0, &hresult.Error{Op: "ReplaceRemotePrefix", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	return j.callCode(&iidBackgroundCopyJob3, "ReplaceRemotePrefix", func(p unsafe.Pointer) hresult.Code {
		return setStrings(p, job3ReplaceRemotePrefix, o, n)
	})
}

// AddFileWithRanges adds a file of which only the given byte ranges are downloaded
// (IBackgroundCopyJob3::AddFileWithRanges).
func (j *Job) AddFileWithRanges(remoteURL, localName string, ranges []bits.FileRange) error {
	r, c1 := wide(remoteURL)
	l, c2 := wide(localName)
	if c1.Failed() || c2.Failed() {
		return &hresult.Error{Op: "AddFileWithRanges", Job: j.guid(), Code: hresult.E_INVALIDARG}
	}
	rs := make([]bgFileRange, max(len(ranges), 1)) // never NULL, as for AddFileSet
	for i, x := range ranges {
		rs[i] = bgFileRange{initialOffset: x.InitialOffset, length: x.Length}
	}
	return j.call(&iidBackgroundCopyJob3, "AddFileWithRanges", func(p unsafe.Pointer) hresult.Code {
		res, _, _ := syscall.SyscallN(method(p, job3AddFileWithRanges), uintptr(p), uintptr(unsafe.Pointer(r)),
			uintptr(unsafe.Pointer(l)), uintptr(len(ranges)), uintptr(unsafe.Pointer(&rs[0])))
		return code(res)
	})
}

// SetFileACLFlags chooses which parts of the files' security descriptors are kept
// (IBackgroundCopyJob3::SetFileACLFlags).
func (j *Job) SetFileACLFlags(flags uint32) error {
	return j.set32(&iidBackgroundCopyJob3, "SetFileACLFlags", job3SetFileACLFlags, flags)
}

// GetFileACLFlags returns the file ACL flags (IBackgroundCopyJob3::GetFileACLFlags).
func (j *Job) GetFileACLFlags() (uint32, error) {
	return j.get32(&iidBackgroundCopyJob3, "GetFileACLFlags", job3GetFileACLFlags)
}

// IBackgroundCopyJob4.

// SetPeerCachingFlags sets the peer-caching flags (IBackgroundCopyJob4::SetPeerCachingFlags).
func (j *Job) SetPeerCachingFlags(flags uint32) error {
	return j.set32(&iidBackgroundCopyJob4, "SetPeerCachingFlags", job4SetPeerCachingFlags, flags)
}

// GetPeerCachingFlags returns the peer-caching flags (IBackgroundCopyJob4::GetPeerCachingFlags).
func (j *Job) GetPeerCachingFlags() (uint32, error) {
	return j.get32(&iidBackgroundCopyJob4, "GetPeerCachingFlags", job4GetPeerCachingFlags)
}

// GetOwnerIntegrityLevel returns the integrity level of the owner's token
// (IBackgroundCopyJob4::GetOwnerIntegrityLevel).
func (j *Job) GetOwnerIntegrityLevel() (uint32, error) {
	return j.get32(&iidBackgroundCopyJob4, "GetOwnerIntegrityLevel", job4GetOwnerIntegrity)
}

// GetOwnerElevationState reports whether the owner was elevated
// (IBackgroundCopyJob4::GetOwnerElevationState).
func (j *Job) GetOwnerElevationState() (bool, error) {
	return j.getBool(&iidBackgroundCopyJob4, "GetOwnerElevationState", job4GetOwnerElevation)
}

// SetMaximumDownloadTime limits how long the job may take
// (IBackgroundCopyJob4::SetMaximumDownloadTime).
func (j *Job) SetMaximumDownloadTime(seconds uint32) error {
	return j.set32(&iidBackgroundCopyJob4, "SetMaximumDownloadTime", job4SetMaximumDownload, seconds)
}

// GetMaximumDownloadTime returns the time limit (IBackgroundCopyJob4::GetMaximumDownloadTime).
func (j *Job) GetMaximumDownloadTime() (uint32, error) {
	return j.get32(&iidBackgroundCopyJob4, "GetMaximumDownloadTime", job4GetMaximumDownload)
}

// IBackgroundCopyJob5.

// SetProperty sets a job property (IBackgroundCopyJob5::SetProperty), passing the field of v
// that the property uses.
func (j *Job) SetProperty(id bits.PropertyID, v bits.PropertyValue) error {
	pv := propertyValueOf(id, v)
	return j.call(&iidBackgroundCopyJob5, "SetProperty", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, job5SetProperty), uintptr(p), uintptr(id), uintptr(unsafe.Pointer(pv)))
		return code(r)
	})
}

// GetProperty returns a job property (IBackgroundCopyJob5::GetProperty) in the field of
// bits.PropertyValue that the property uses.
func (j *Job) GetProperty(id bits.PropertyID) (bits.PropertyValue, error) {
	var pv jobPropertyValue
	err := j.call(&iidBackgroundCopyJob5, "GetProperty", func(p unsafe.Pointer) hresult.Code {
		r, _, _ := syscall.SyscallN(method(p, job5GetProperty), uintptr(p), uintptr(id), uintptr(unsafe.Pointer(&pv)))
		return code(r)
	})
	if err != nil {
		return bits.PropertyValue{}, err
	}
	return propertyValueFrom(id, &pv), nil
}

// propertyValueOf lays out the field of v that property id uses as BITS_JOB_PROPERTY_VALUE.
// An id bitsemu does not know is sent as a DWORD, for BITS to refuse.
func propertyValueOf(id bits.PropertyID, v bits.PropertyValue) *jobPropertyValue {
	pv := new(jobPropertyValue)
	switch id {
	case bits.PropertyNotificationCLSID:
		*(*windows.GUID)(unsafe.Pointer(pv)) = guidOf(v.ClsID)
	case bits.PropertyDynamicContent, bits.PropertyHighPerformance, bits.PropertyOnDemandMode:
		pv[0] = uint64(winBool(v.Enable))
	case bits.PropertyMaxDownloadSize:
		pv[0] = v.Uint64
	case bits.PropertyUseStoredCredentials:
		pv[0] = uint64(v.Target)
	default:
		pv[0] = uint64(v.Dword)
	}
	return pv
}

// propertyValueFrom reads the field of BITS_JOB_PROPERTY_VALUE that property id uses.
func propertyValueFrom(id bits.PropertyID, pv *jobPropertyValue) bits.PropertyValue {
	switch id {
	case bits.PropertyNotificationCLSID:
		return bits.PropertyValue{ClsID: uuidOf(*(*windows.GUID)(unsafe.Pointer(pv)))}
	case bits.PropertyDynamicContent, bits.PropertyHighPerformance, bits.PropertyOnDemandMode:
		return bits.PropertyValue{Enable: uint32(pv[0]) != 0}
	case bits.PropertyMaxDownloadSize:
		return bits.PropertyValue{Uint64: pv[0]}
	case bits.PropertyUseStoredCredentials:
		return bits.PropertyValue{Target: bits.AuthTarget(uint32(pv[0]))}
	}
	return bits.PropertyValue{Dword: uint32(pv[0])}
}

// IBackgroundCopyJobHttpOptions, 2 and 3.

// SetCustomHeaders sets extra request headers; "" is passed as NULL, which removes them
// (IBackgroundCopyJobHttpOptions::SetCustomHeaders).
func (j *Job) SetCustomHeaders(headers string) error {
	return j.setString(&iidJobHttpOptions, "SetCustomHeaders", httpSetCustomHeaders, headers, true)
}

// GetCustomHeaders returns the custom headers with S_OK, or "" with S_FALSE when none are set
// (IBackgroundCopyJobHttpOptions::GetCustomHeaders).
func (j *Job) GetCustomHeaders() (string, hresult.Code, error) {
	var s string
	c, err := j.callCode(&iidJobHttpOptions, "GetCustomHeaders", func(p unsafe.Pointer) (c hresult.Code) {
		s, c = getString(p, httpGetCustomHeaders)
		return
	})
	return s, c, err
}

// SetSecurityFlags sets the TLS and redirect flags
// (IBackgroundCopyJobHttpOptions::SetSecurityFlags).
func (j *Job) SetSecurityFlags(flags uint32) error {
	return j.set32(&iidJobHttpOptions, "SetSecurityFlags", httpSetSecurityFlags, flags)
}

// GetSecurityFlags returns the security flags (IBackgroundCopyJobHttpOptions::GetSecurityFlags).
func (j *Job) GetSecurityFlags() (uint32, error) {
	return j.get32(&iidJobHttpOptions, "GetSecurityFlags", httpGetSecurityFlags)
}

// SetHttpMethod sets the HTTP verb (IBackgroundCopyJobHttpOptions2::SetHttpMethod).
func (j *Job) SetHttpMethod(method string) error { //nolint:revive // BITS spelling
	return j.setString(&iidJobHttpOptions2, "SetHttpMethod", http2SetHttpMethod, method, false)
}

// GetHttpMethod returns the HTTP verb (IBackgroundCopyJobHttpOptions2::GetHttpMethod).
func (j *Job) GetHttpMethod() (string, error) { //nolint:revive // BITS spelling
	return j.getString(&iidJobHttpOptions2, "GetHttpMethod", http2GetHttpMethod)
}

// MakeCustomHeadersWriteOnly stops the custom headers from being read back
// (IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly).
func (j *Job) MakeCustomHeadersWriteOnly() error {
	return j.call(&iidJobHttpOptions3, "MakeCustomHeadersWriteOnly", func(p unsafe.Pointer) hresult.Code {
		return call0(p, http3MakeHeadersWriteOnly)
	})
}
