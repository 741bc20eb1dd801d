package client

import (
	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
	"github.com/bitsemu/bitsemu/state"
)

// Job is a handle to a job in the service: a bits.Job. Each method is the same method of the
// service's job.
type Job struct{ object }

var _ bits.Job = (*Job)(nil)

func (m *Manager) newJob(h uint64) *Job { return track(m, &Job{object{m, h}}, h) }

func (m *Manager) jobOf(h uint64) bits.Job { return m.newJob(h) }

// AddFileSet adds files to the job (IBackgroundCopyJob::AddFileSet).
func (j *Job) AddFileSet(files []bits.FileInfo) error {
	req := &wire.AddFileSetRequest{Handle: j.h, Files: make([]*wire.FileInfo, len(files))}
	for i, f := range files {
		req.Files[i] = &wire.FileInfo{RemoteName: f.RemoteName, LocalName: f.LocalName}
	}
	_, err := with(&j.object, j.m.job.AddFileSet, req)
	return err
}

// AddFile adds a file to the job (IBackgroundCopyJob::AddFile).
func (j *Job) AddFile(remoteURL, localName string) error {
	_, err := with(&j.object, j.m.job.AddFile, &wire.AddFileRequest{Handle: j.h, RemoteName: remoteURL, LocalName: localName})
	return err
}

// EnumFiles enumerates the job's files (IBackgroundCopyJob::EnumFiles).
func (j *Job) EnumFiles() (bits.FileEnum, error) {
	r, err := with(&j.object, j.m.job.EnumFiles, j.handle())
	if err != nil {
		return nil, err
	}
	return newEnum(j.m, r.GetHandle(), j.m.fileOf), nil
}

// Suspend suspends the job (IBackgroundCopyJob::Suspend).
func (j *Job) Suspend() error { return do(&j.object, j.m.job.Suspend) }

// Resume queues the job (IBackgroundCopyJob::Resume).
func (j *Job) Resume() error { return do(&j.object, j.m.job.Resume) }

// Cancel cancels the job (IBackgroundCopyJob::Cancel).
func (j *Job) Cancel() (hresult.Code, error) { return getCode(&j.object, j.m.job.Cancel, j.handle()) }

// Complete completes the job (IBackgroundCopyJob::Complete).
func (j *Job) Complete() (hresult.Code, error) {
	return getCode(&j.object, j.m.job.Complete, j.handle())
}

// GetId returns the job's GUID (IBackgroundCopyJob::GetId).
func (j *Job) GetId() (uuid.UUID, error) { //nolint:revive // BITS spelling
	r, err := with(&j.object, j.m.job.GetId, j.handle())
	if err != nil {
		return uuid.Nil, err
	}
	return wire.GUIDTo(r)
}

// GetType returns the job's type (IBackgroundCopyJob::GetType).
func (j *Job) GetType() (bits.JobType, error) {
	return getU32[bits.JobType](&j.object, j.m.job.GetType)
}

// GetProgress returns the job's progress (IBackgroundCopyJob::GetProgress).
func (j *Job) GetProgress() (bits.Progress, error) {
	r, err := with(&j.object, j.m.job.GetProgress, j.handle())
	return bits.Progress{BytesTotal: r.GetBytesTotal(), BytesTransferred: r.GetBytesTransferred(),
		FilesTotal: r.GetFilesTotal(), FilesTransferred: r.GetFilesTransferred()}, err
}

// GetTimes returns the job's times (IBackgroundCopyJob::GetTimes).
func (j *Job) GetTimes() (bits.Times, error) {
	r, err := with(&j.object, j.m.job.GetTimes, j.handle())
	return bits.Times{CreationTime: wire.TimeTo(r.GetCreation()), ModificationTime: wire.TimeTo(r.GetModification()),
		TransferCompletionTime: wire.TimeTo(r.GetTransferCompletion())}, err
}

// GetState returns the job's state (IBackgroundCopyJob::GetState).
func (j *Job) GetState() (state.State, error) {
	return getU32[state.State](&j.object, j.m.job.GetState)
}

// GetError returns the job's error object (IBackgroundCopyJob::GetError).
func (j *Job) GetError() (bits.Error, error) {
	r, err := with(&j.object, j.m.job.GetError, j.handle())
	if err != nil {
		return nil, err
	}
	return j.m.newError(r.GetHandle()), nil
}

// GetOwner returns the owner's SID (IBackgroundCopyJob::GetOwner).
func (j *Job) GetOwner() (string, error) { return getStr(&j.object, j.m.job.GetOwner) }

// SetDisplayName sets the display name (IBackgroundCopyJob::SetDisplayName).
func (j *Job) SetDisplayName(name string) error {
	return setStr(&j.object, j.m.job.SetDisplayName, name)
}

// GetDisplayName returns the display name (IBackgroundCopyJob::GetDisplayName).
func (j *Job) GetDisplayName() (string, error) { return getStr(&j.object, j.m.job.GetDisplayName) }

// SetDescription sets the description (IBackgroundCopyJob::SetDescription).
func (j *Job) SetDescription(desc string) error {
	return setStr(&j.object, j.m.job.SetDescription, desc)
}

// GetDescription returns the description (IBackgroundCopyJob::GetDescription).
func (j *Job) GetDescription() (string, error) { return getStr(&j.object, j.m.job.GetDescription) }

// SetPriority sets the priority (IBackgroundCopyJob::SetPriority).
func (j *Job) SetPriority(p bits.Priority) error { return setU32(&j.object, j.m.job.SetPriority, p) }

// GetPriority returns the priority (IBackgroundCopyJob::GetPriority).
func (j *Job) GetPriority() (bits.Priority, error) {
	return getU32[bits.Priority](&j.object, j.m.job.GetPriority)
}

// SetNotifyFlags sets the notify flags (IBackgroundCopyJob::SetNotifyFlags).
func (j *Job) SetNotifyFlags(flags uint32) error {
	return setU32(&j.object, j.m.job.SetNotifyFlags, flags)
}

// GetNotifyFlags returns the notify flags (IBackgroundCopyJob::GetNotifyFlags).
func (j *Job) GetNotifyFlags() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetNotifyFlags)
}

// SetNotifyInterface registers cb, a callback of this process, for the job's notifications
// (IBackgroundCopyJob::SetNotifyInterface); nil removes the job's callback. The service calls it
// over this connection while the connection lasts.
func (j *Job) SetNotifyInterface(cb bits.Callback) error {
	req := &wire.SetNotifyRequest{Handle: j.h}
	if cb != nil && !isNil(cb) {
		if err := j.m.openStream(); err != nil {
			return err
		}
		req.CallbackId, req.Interfaces = j.m.register(cb)
	}
	_, err := with(&j.object, j.m.job.SetNotifyInterface, req)
	return err
}

// GetNotifyInterface returns the job's callback (IBackgroundCopyJob::GetNotifyInterface): the
// callback itself when this connection registered it, a Callback that calls the registering
// application through the service when another did, or nil.
func (j *Job) GetNotifyInterface() (bits.Callback, error) {
	r, err := with(&j.object, j.m.job.GetNotifyInterface, j.handle())
	if err != nil {
		return nil, err
	}
	switch {
	case r.GetCallbackId() != 0:
		return j.m.callback(r.GetCallbackId()), nil
	case r.GetHandle() != 0:
		return j.m.newForeign(r.GetHandle(), r.GetInterfaces()), nil
	}
	return nil, nil
}

// SetMinimumRetryDelay sets the retry delay (IBackgroundCopyJob::SetMinimumRetryDelay).
func (j *Job) SetMinimumRetryDelay(seconds uint32) error {
	return setU32(&j.object, j.m.job.SetMinimumRetryDelay, seconds)
}

// GetMinimumRetryDelay returns the retry delay (IBackgroundCopyJob::GetMinimumRetryDelay).
func (j *Job) GetMinimumRetryDelay() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetMinimumRetryDelay)
}

// SetNoProgressTimeout sets the no-progress timeout (IBackgroundCopyJob::SetNoProgressTimeout).
func (j *Job) SetNoProgressTimeout(seconds uint32) error {
	return setU32(&j.object, j.m.job.SetNoProgressTimeout, seconds)
}

// GetNoProgressTimeout returns the no-progress timeout (IBackgroundCopyJob::GetNoProgressTimeout).
func (j *Job) GetNoProgressTimeout() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetNoProgressTimeout)
}

// GetErrorCount returns the error count (IBackgroundCopyJob::GetErrorCount).
func (j *Job) GetErrorCount() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetErrorCount)
}

// SetProxySettings sets the proxy settings (IBackgroundCopyJob::SetProxySettings).
func (j *Job) SetProxySettings(usage bits.ProxyUsage, proxyList, bypassList string) error {
	_, err := with(&j.object, j.m.job.SetProxySettings, &wire.ProxySettings{Handle: j.h, Usage: uint32(usage),
		ProxyList: proxyList, BypassList: bypassList})
	return err
}

// GetProxySettings returns the proxy settings (IBackgroundCopyJob::GetProxySettings).
func (j *Job) GetProxySettings() (bits.ProxySettings, error) {
	r, err := with(&j.object, j.m.job.GetProxySettings, j.handle())
	return bits.ProxySettings{Usage: bits.ProxyUsage(r.GetUsage()), ProxyList: r.GetProxyList(), BypassList: r.GetBypassList()}, err
}

// TakeOwnership makes the caller the job's owner (IBackgroundCopyJob::TakeOwnership).
func (j *Job) TakeOwnership() error { return do(&j.object, j.m.job.TakeOwnership) }

// SetNotifyCmdLine sets the notify command line (IBackgroundCopyJob2::SetNotifyCmdLine).
func (j *Job) SetNotifyCmdLine(program, parameters string) error {
	_, err := with(&j.object, j.m.job.SetNotifyCmdLine, &wire.CmdLine{Handle: j.h, Program: program, Parameters: parameters})
	return err
}

// GetNotifyCmdLine returns the notify command line (IBackgroundCopyJob2::GetNotifyCmdLine).
func (j *Job) GetNotifyCmdLine() (bits.NotifyCmdLine, error) {
	r, err := with(&j.object, j.m.job.GetNotifyCmdLine, j.handle())
	return bits.NotifyCmdLine{Program: r.GetProgram(), Parameters: r.GetParameters()}, err
}

// GetReplyProgress returns the reply's progress (IBackgroundCopyJob2::GetReplyProgress).
func (j *Job) GetReplyProgress() (bits.ReplyProgress, error) {
	r, err := with(&j.object, j.m.job.GetReplyProgress, j.handle())
	return bits.ReplyProgress{BytesTotal: r.GetBytesTotal(), BytesTransferred: r.GetBytesTransferred()}, err
}

// GetReplyData returns the reply (IBackgroundCopyJob2::GetReplyData).
func (j *Job) GetReplyData() ([]byte, error) {
	r, err := with(&j.object, j.m.job.GetReplyData, j.handle())
	return r.GetValue(), err
}

// SetReplyFileName sets the reply's file (IBackgroundCopyJob2::SetReplyFileName).
func (j *Job) SetReplyFileName(name string) error {
	return setStr(&j.object, j.m.job.SetReplyFileName, name)
}

// GetReplyFileName returns the reply's file (IBackgroundCopyJob2::GetReplyFileName).
func (j *Job) GetReplyFileName() (string, error) { return getStr(&j.object, j.m.job.GetReplyFileName) }

// SetCredentials sets credentials (IBackgroundCopyJob2::SetCredentials).
func (j *Job) SetCredentials(cr bits.Credentials) error {
	_, err := with(&j.object, j.m.job.SetCredentials, &wire.Credentials{Handle: j.h, Target: uint32(cr.Target),
		Scheme: uint32(cr.Scheme), UserName: cr.UserName, Password: cr.Password})
	return err
}

// RemoveCredentials removes credentials (IBackgroundCopyJob2::RemoveCredentials).
func (j *Job) RemoveCredentials(target bits.AuthTarget, scheme bits.AuthScheme) (hresult.Code, error) {
	return getCode(&j.object, j.m.job.RemoveCredentials, &wire.Credentials{Handle: j.h, Target: uint32(target), Scheme: uint32(scheme)})
}

// ReplaceRemotePrefix changes the remote names' prefix (IBackgroundCopyJob3::ReplaceRemotePrefix).
func (j *Job) ReplaceRemotePrefix(oldPrefix, newPrefix string) (hresult.Code, error) {
	return getCode(&j.object, j.m.job.ReplaceRemotePrefix, &wire.PrefixRequest{Handle: j.h, OldPrefix: oldPrefix, NewPrefix: newPrefix})
}

// AddFileWithRanges adds ranges of a file (IBackgroundCopyJob3::AddFileWithRanges).
func (j *Job) AddFileWithRanges(remoteURL, localName string, ranges []bits.FileRange) error {
	_, err := with(&j.object, j.m.job.AddFileWithRanges, &wire.AddFileRequest{Handle: j.h, RemoteName: remoteURL,
		LocalName: localName, Ranges: wire.RangesOf(ranges)})
	return err
}

// SetFileACLFlags sets the file ACL flags (IBackgroundCopyJob3::SetFileACLFlags).
func (j *Job) SetFileACLFlags(flags uint32) error {
	return setU32(&j.object, j.m.job.SetFileACLFlags, flags)
}

// GetFileACLFlags returns the file ACL flags (IBackgroundCopyJob3::GetFileACLFlags).
func (j *Job) GetFileACLFlags() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetFileACLFlags)
}

// SetPeerCachingFlags sets the peer-caching flags (IBackgroundCopyJob4::SetPeerCachingFlags).
func (j *Job) SetPeerCachingFlags(flags uint32) error {
	return setU32(&j.object, j.m.job.SetPeerCachingFlags, flags)
}

// GetPeerCachingFlags returns the peer-caching flags (IBackgroundCopyJob4::GetPeerCachingFlags).
func (j *Job) GetPeerCachingFlags() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetPeerCachingFlags)
}

// GetOwnerIntegrityLevel returns the owner's integrity level
// (IBackgroundCopyJob4::GetOwnerIntegrityLevel).
func (j *Job) GetOwnerIntegrityLevel() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetOwnerIntegrityLevel)
}

// GetOwnerElevationState reports whether the owner was elevated
// (IBackgroundCopyJob4::GetOwnerElevationState).
func (j *Job) GetOwnerElevationState() (bool, error) {
	return getBool(&j.object, j.m.job.GetOwnerElevationState)
}

// SetMaximumDownloadTime sets the maximum download time
// (IBackgroundCopyJob4::SetMaximumDownloadTime).
func (j *Job) SetMaximumDownloadTime(seconds uint32) error {
	return setU32(&j.object, j.m.job.SetMaximumDownloadTime, seconds)
}

// GetMaximumDownloadTime returns the maximum download time
// (IBackgroundCopyJob4::GetMaximumDownloadTime).
func (j *Job) GetMaximumDownloadTime() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetMaximumDownloadTime)
}

// SetProperty sets a property (IBackgroundCopyJob5::SetProperty).
func (j *Job) SetProperty(id bits.PropertyID, v bits.PropertyValue) error {
	_, err := with(&j.object, j.m.job.SetProperty, &wire.PropertyRequest{Handle: j.h, Id: uint32(id), Value: wire.PropertyOf(v)})
	return err
}

// GetProperty returns a property (IBackgroundCopyJob5::GetProperty).
func (j *Job) GetProperty(id bits.PropertyID) (bits.PropertyValue, error) {
	r, err := with(&j.object, j.m.job.GetProperty, &wire.PropertyRequest{Handle: j.h, Id: uint32(id)})
	if err != nil {
		return bits.PropertyValue{}, err
	}
	return wire.PropertyTo(r), nil
}

// SetCustomHeaders sets the custom headers (IBackgroundCopyJobHttpOptions::SetCustomHeaders).
func (j *Job) SetCustomHeaders(headers string) error {
	return setStr(&j.object, j.m.job.SetCustomHeaders, headers)
}

// GetCustomHeaders returns the custom headers (IBackgroundCopyJobHttpOptions::GetCustomHeaders).
func (j *Job) GetCustomHeaders() (string, hresult.Code, error) {
	r, err := with(&j.object, j.m.job.GetCustomHeaders, j.handle())
	return r.GetValue(), hresult.Code(r.GetHresult()), err
}

// SetSecurityFlags sets the security flags (IBackgroundCopyJobHttpOptions::SetSecurityFlags).
func (j *Job) SetSecurityFlags(flags uint32) error {
	return setU32(&j.object, j.m.job.SetSecurityFlags, flags)
}

// GetSecurityFlags returns the security flags (IBackgroundCopyJobHttpOptions::GetSecurityFlags).
func (j *Job) GetSecurityFlags() (uint32, error) {
	return getU32[uint32](&j.object, j.m.job.GetSecurityFlags)
}

// SetHttpMethod sets the HTTP method (IBackgroundCopyJobHttpOptions2::SetHttpMethod).
func (j *Job) SetHttpMethod(method string) error { //nolint:revive // BITS spelling
	return setStr(&j.object, j.m.job.SetHttpMethod, method)
}

// GetHttpMethod returns the HTTP method (IBackgroundCopyJobHttpOptions2::GetHttpMethod).
func (j *Job) GetHttpMethod() (string, error) { //nolint:revive // BITS spelling
	return getStr(&j.object, j.m.job.GetHttpMethod)
}

// MakeCustomHeadersWriteOnly hides the custom headers from readers
// (IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly).
func (j *Job) MakeCustomHeadersWriteOnly() error {
	return do(&j.object, j.m.job.MakeCustomHeadersWriteOnly)
}
