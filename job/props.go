package job

import (
	"path/filepath"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// set runs a setter: access, then the argument verdict arg (S_OK when the arguments are good),
// then the state rule, then apply, which may still fail with a code (job-type and limit checks). A
// successful apply updates the modification time.
func (j *Job) set(m state.Method, name string, arg hresult.Code, apply func() hresult.Code) error {
	return j.setAs(m, name, false, arg, apply)
}

// setAs is set with an optional owner-only access check: when ownerOnly is true, a caller other
// than the owner (an administrator included) gets E_ACCESSDENIED before any argument or state
// check, as access is always checked first.
func (j *Job) setAs(m state.Method, name string, ownerOnly bool, arg hresult.Code, apply func() hresult.Code) (err error) {
	var o op
	if err := j.beginChange(&o, m, name); err != nil {
		return err
	}
	defer o.commit(&err)
	if ownerOnly && j.caller.id.SID != j.c.owner.SID {
		return o.fail(hresult.E_ACCESSDENIED)
	}
	if arg != hresult.S_OK {
		return o.fail(arg)
	}
	if _, err := o.check(); err != nil {
		return err
	}
	if code := apply(); code != hresult.S_OK {
		return o.fail(code)
	}
	o.touch()
	return nil
}

// get runs a getter: access, then the state rule, then read.
func get[T any](j *Job, m state.Method, name string, read func(c *core) T) (T, error) {
	var o op
	if err := j.begin(&o, m, name); err != nil {
		var zero T
		return zero, err
	}
	defer o.end()
	if _, err := o.check(); err != nil {
		var zero T
		return zero, err
	}
	return read(j.c), nil
}

func textArg(s string, max int, tooLongCode hresult.Code) hresult.Code {
	if badText(s) {
		return hresult.E_INVALIDARG
	}
	if tooLong(s, max) {
		return tooLongCode
	}
	return hresult.S_OK
}

// SetDisplayName changes the display name (IBackgroundCopyJob::SetDisplayName):
// BG_E_STRING_TOO_LONG over 256 characters, E_INVALIDARG for text with a NUL or invalid UTF-8.
func (j *Job) SetDisplayName(name string) error {
	return j.set(state.SetDisplayName, "SetDisplayName", textArg(name, MaxDisplayName, hresult.BG_E_STRING_TOO_LONG),
		func() hresult.Code { j.c.name = name; return hresult.S_OK })
}

// GetDisplayName returns the display name (IBackgroundCopyJob::GetDisplayName).
func (j *Job) GetDisplayName() (string, error) {
	return get(j, state.GetDisplayName, "GetDisplayName", func(c *core) string { return c.name })
}

// SetDescription changes the description (IBackgroundCopyJob::SetDescription):
// BG_E_STRING_TOO_LONG over 1,024 characters, E_INVALIDARG for text with a NUL or invalid UTF-8.
func (j *Job) SetDescription(desc string) error {
	return j.set(state.SetDescription, "SetDescription", textArg(desc, MaxDescription, hresult.BG_E_STRING_TOO_LONG),
		func() hresult.Code { j.c.desc = desc; return hresult.S_OK })
}

// GetDescription returns the description, "" when never set (IBackgroundCopyJob::GetDescription).
func (j *Job) GetDescription() (string, error) {
	return get(j, state.GetDescription, "GetDescription", func(c *core) string { return c.desc })
}

// SetPriority changes the priority (IBackgroundCopyJob::SetPriority): E_NOTIMPL for an undefined
// value; BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD when a custom HTTP method pins the job at
// FOREGROUND and another priority is asked for.
func (j *Job) SetPriority(p bits.Priority) error {
	arg := hresult.S_OK
	if !p.Valid() {
		arg = hresult.E_NOTIMPL
	}
	return j.set(state.SetPriority, "SetPriority", arg, func() hresult.Code {
		if j.c.customMethod() && p != bits.Foreground {
			return hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
		}
		j.c.priority = p
		return hresult.S_OK
	})
}

// GetPriority returns the priority, NORMAL by default (IBackgroundCopyJob::GetPriority).
func (j *Job) GetPriority() (bits.Priority, error) {
	return get(j, state.GetPriority, "GetPriority", func(c *core) bits.Priority { return c.priority })
}

// SetNotifyFlags chooses which events are notified (IBackgroundCopyJob::SetNotifyFlags): any OR of
// the Notify* flags. E_NOTIMPL for any other bit, and nothing changes.
func (j *Job) SetNotifyFlags(flags uint32) error {
	arg := hresult.S_OK
	if flags&^notifyMask != 0 {
		arg = hresult.E_NOTIMPL
	}
	return j.set(state.SetNotifyFlags, "SetNotifyFlags", arg, func() hresult.Code { j.c.notify = flags; return hresult.S_OK })
}

// GetNotifyFlags returns the notify flags, DefaultNotifyFlags (0x3) for a new job.
func (j *Job) GetNotifyFlags() (uint32, error) {
	return get(j, state.GetNotifyFlags, "GetNotifyFlags", func(c *core) uint32 { return c.notify })
}

// SetNotifyInterface registers the job's callback (IBackgroundCopyJob::SetNotifyInterface): one
// per job, the last caller wins, nil (or a nil pointer) removes it. The callback belongs to the
// caller that set it and stops being valid when that caller closes. It is never persisted.
// BG_E_INVALID_STATE for a final job, even for nil.
func (j *Job) SetNotifyInterface(cb bits.Callback) error {
	if isNil(cb) {
		cb = nil
	}
	return j.set(state.SetNotifyInterface, "SetNotifyInterface", hresult.S_OK, func() hresult.Code {
		j.c.callback = cb
		j.c.cbHandle = j
		if cb == nil {
			j.c.cbHandle = nil
		}
		return hresult.S_OK
	})
}

// GetNotifyInterface returns the registered callback, or nil when there is none or the caller
// that set it has closed (IBackgroundCopyJob::GetNotifyInterface).
func (j *Job) GetNotifyInterface() (bits.Callback, error) {
	return get(j, state.GetNotifyInterface, "GetNotifyInterface", func(c *core) bits.Callback { return c.liveCallback() })
}

func (c *core) liveCallback() bits.Callback {
	if c.callback == nil || c.cbHandle == nil || c.cbHandle.caller.Closed() {
		return nil
	}
	return c.callback
}

// SetMinimumRetryDelay sets how long, in seconds, the job waits in TRANSIENT_ERROR before it is
// retried (IBackgroundCopyJob::SetMinimumRetryDelay). Values under 5 are raised to 5.
func (j *Job) SetMinimumRetryDelay(seconds uint32) error {
	return j.set(state.SetMinimumRetryDelay, "SetMinimumRetryDelay", hresult.S_OK, func() hresult.Code {
		j.c.retryDelay = max(seconds, MinimumRetryDelayFloor)
		return hresult.S_OK
	})
}

// GetMinimumRetryDelay returns the retry delay in seconds, 600 by default.
func (j *Job) GetMinimumRetryDelay() (uint32, error) {
	return get(j, state.GetMinimumRetryDelay, "GetMinimumRetryDelay", func(c *core) uint32 { return c.retryDelay })
}

// SetNoProgressTimeout sets how long, in seconds, BITS keeps retrying a job that makes no
// progress before it moves it to ERROR (IBackgroundCopyJob::SetNoProgressTimeout). 0 means a
// transient error is fatal at once.
func (j *Job) SetNoProgressTimeout(seconds uint32) error {
	return j.set(state.SetNoProgressTimeout, "SetNoProgressTimeout", hresult.S_OK, func() hresult.Code {
		j.c.noProgress = seconds
		return hresult.S_OK
	})
}

// GetNoProgressTimeout returns the no-progress timeout in seconds, 1,209,600 (14 days) by default.
func (j *Job) GetNoProgressTimeout() (uint32, error) {
	return get(j, state.GetNoProgressTimeout, "GetNoProgressTimeout", func(c *core) uint32 { return c.noProgress })
}

// SetMaximumDownloadTime caps, in seconds, the time the job may spend in CONNECTING and
// TRANSFERRING (IBackgroundCopyJob4::SetMaximumDownloadTime); 0 removes the cap.
func (j *Job) SetMaximumDownloadTime(seconds uint32) error {
	return j.set(state.SetMaximumDownloadTime, "SetMaximumDownloadTime", hresult.S_OK, func() hresult.Code {
		j.c.maxDownload = seconds
		return hresult.S_OK
	})
}

// GetMaximumDownloadTime returns the cap in seconds, 7,776,000 (90 days) by default.
func (j *Job) GetMaximumDownloadTime() (uint32, error) {
	return get(j, state.GetMaximumDownloadTime, "GetMaximumDownloadTime", func(c *core) uint32 { return c.maxDownload })
}

// SetProxySettings chooses how the job reaches servers (IBackgroundCopyJob::SetProxySettings).
// The lists are space-separated and must be empty unless usage is ProxyOverride, which needs a
// proxy list. E_NOTIMPL for an undefined usage, E_INVALIDARG for lists that do not fit the
// usage or hold a NUL or invalid UTF-8, BG_E_PROXY_LIST_TOO_LARGE and
// BG_E_PROXY_BYPASS_LIST_TOO_LARGE over 32,767 characters. The entries themselves are checked
// when the job transfers.
func (j *Job) SetProxySettings(usage bits.ProxyUsage, proxyList, bypassList string) error {
	arg := hresult.S_OK
	switch {
	case usage > bits.ProxyAutodetect:
		arg = hresult.E_NOTIMPL
	case badText(proxyList) || badText(bypassList):
		arg = hresult.E_INVALIDARG
	case usage == bits.ProxyOverride && proxyList == "":
		arg = hresult.E_INVALIDARG
	case usage != bits.ProxyOverride && (proxyList != "" || bypassList != ""):
		arg = hresult.E_INVALIDARG
	case tooLong(proxyList, MaxProxyList):
		arg = hresult.BG_E_PROXY_LIST_TOO_LARGE
	case tooLong(bypassList, MaxProxyList):
		arg = hresult.BG_E_PROXY_BYPASS_LIST_TOO_LARGE
	}
	return j.set(state.SetProxySettings, "SetProxySettings", arg, func() hresult.Code {
		x := j.c.own()
		x.proxyUsage, x.proxyList, x.proxyBypass = usage, proxyList, bypassList
		return hresult.S_OK
	})
}

// GetProxySettings returns the proxy usage and lists, ProxyPreconfig and empty lists by default
// (IBackgroundCopyJob::GetProxySettings).
func (j *Job) GetProxySettings() (bits.ProxySettings, error) {
	return get(j, state.GetProxySettings, "GetProxySettings", func(c *core) bits.ProxySettings {
		return bits.ProxySettings{Usage: c.proxyUsage, ProxyList: c.proxyList, BypassList: c.proxyBypass}
	})
}

// SetNotifyCmdLine sets the program BITS runs when the job becomes TRANSFERRED or enters ERROR
// and no callback took the notification (IBackgroundCopyJob2::SetNotifyCmdLine). program must be
// an absolute path of at most MAX_PATH characters (no search path is used); parameters, at most
// 4,000 characters, conventionally start with the program itself. Two empty strings remove the
// command line. Errors: E_INVALIDARG for parameters without a program, a relative program or
// text with a NUL or invalid UTF-8,
// BG_E_STRING_TOO_LONG, BG_E_INVALID_STATE for a final job. The program runs as the caller.
func (j *Job) SetNotifyCmdLine(program, parameters string) error {
	arg := hresult.S_OK
	switch {
	case badText(program) || badText(parameters):
		arg = hresult.E_INVALIDARG
	case program == "" && parameters != "":
		arg = hresult.E_INVALIDARG
	case tooLong(program, MaxPath) || tooLong(parameters, MaxCmdParameters):
		arg = hresult.BG_E_STRING_TOO_LONG
	case program != "" && !filepath.IsAbs(program):
		arg = hresult.E_INVALIDARG
	}
	return j.set(state.SetNotifyCmdLine, "SetNotifyCmdLine", arg, func() hresult.Code {
		x := j.c.own()
		x.cmdProgram, x.cmdParams, x.cmdCaller = program, parameters, j.caller.id
		return hresult.S_OK
	})
}

// GetNotifyCmdLine returns the command line; both strings are empty when none is set
// (IBackgroundCopyJob2::GetNotifyCmdLine).
func (j *Job) GetNotifyCmdLine() (bits.NotifyCmdLine, error) {
	return get(j, state.GetNotifyCmdLine, "GetNotifyCmdLine", func(c *core) bits.NotifyCmdLine {
		return bits.NotifyCmdLine{Program: c.cmdProgram, Parameters: c.cmdParams}
	})
}

// SetCredentials adds or replaces the credentials for one (target, scheme) pair
// (IBackgroundCopyJob2::SetCredentials). Only the owner may call it. Errors:
// BG_E_INVALID_AUTH_TARGET, BG_E_INVALID_AUTH_SCHEME, BG_E_USERNAME_TOO_LARGE (over 300),
// BG_E_PASSWORD_TOO_LARGE (over 65,535), E_INVALIDARG for an empty user name with BASIC, DIGEST
// or PASSPORT, a password without a user name, or text with a NUL or invalid UTF-8, BG_E_INVALID_STATE for a final job. Credentials
// cannot be read back.
func (j *Job) SetCredentials(cr bits.Credentials) error {
	arg := hresult.S_OK
	switch {
	case cr.Target != bits.TargetServer && cr.Target != bits.TargetProxy:
		arg = hresult.BG_E_INVALID_AUTH_TARGET
	case cr.Scheme < bits.SchemeBasic || cr.Scheme > bits.SchemePassport:
		arg = hresult.BG_E_INVALID_AUTH_SCHEME
	case badText(cr.UserName) || badText(cr.Password):
		arg = hresult.E_INVALIDARG
	case tooLong(cr.UserName, MaxUserName):
		arg = hresult.BG_E_USERNAME_TOO_LARGE
	case tooLong(cr.Password, MaxPassword):
		arg = hresult.BG_E_PASSWORD_TOO_LARGE
	case cr.UserName == "" && (cr.Password != "" || cr.Scheme == bits.SchemeBasic || cr.Scheme == bits.SchemeDigest || cr.Scheme == bits.SchemePassport):
		arg = hresult.E_INVALIDARG
	}
	return j.setAs(state.SetCredentials, "SetCredentials", true, arg, func() hresult.Code {
		x := j.c.own()
		for i, have := range x.creds {
			if have.Target == cr.Target && have.Scheme == cr.Scheme {
				x.creds[i] = cr
				return hresult.S_OK
			}
		}
		x.creds = append(x.creds, cr)
		return hresult.S_OK
	})
}

// RemoveCredentials removes the credentials of one (target, scheme) pair
// (IBackgroundCopyJob2::RemoveCredentials): S_OK, or S_FALSE when there were none. Only the
// owner may call it. Errors: BG_E_INVALID_AUTH_TARGET, BG_E_INVALID_AUTH_SCHEME,
// BG_E_INVALID_STATE for a final job.
func (j *Job) RemoveCredentials(target bits.AuthTarget, scheme bits.AuthScheme) (hresult.Code, error) {
	arg := hresult.S_OK
	switch {
	case target != bits.TargetServer && target != bits.TargetProxy:
		arg = hresult.BG_E_INVALID_AUTH_TARGET
	case scheme < bits.SchemeBasic || scheme > bits.SchemePassport:
		arg = hresult.BG_E_INVALID_AUTH_SCHEME
	}
	code := hresult.S_FALSE
	err := j.setAs(state.RemoveCredentials, "RemoveCredentials", true, arg, func() hresult.Code {
		for i, have := range j.c.creds {
			if have.Target == target && have.Scheme == scheme {
				x := j.c.own()
				x.creds = append(x.creds[:i], x.creds[i+1:]...)
				code = hresult.S_OK
				break
			}
		}
		return hresult.S_OK
	})
	if err != nil {
		return 0, err
	}
	return code, nil
}

// ReplaceRemotePrefix rewrites the start of the remote name of every unfinished file that begins
// with oldPrefix (IBackgroundCopyJob3::ReplaceRemotePrefix). Matching is exact and
// case-sensitive. The code is S_OK, or S_FALSE when no name matched. E_INVALIDARG for an empty
// prefix or when a rewritten name would be invalid (then nothing changes); E_NOTIMPL for upload
// jobs; BG_E_INVALID_STATE for a final job.
func (j *Job) ReplaceRemotePrefix(oldPrefix, newPrefix string) (hresult.Code, error) {
	arg := hresult.S_OK
	if oldPrefix == "" || newPrefix == "" || badText(oldPrefix) || badText(newPrefix) {
		arg = hresult.E_INVALIDARG
	}
	code := hresult.S_FALSE
	err := j.set(state.ReplaceRemotePrefix, "ReplaceRemotePrefix", arg, func() hresult.Code {
		type change struct {
			f    *fileCore
			name string
			kind remoteKind
		}
		var changes []change
		for _, fc := range j.c.files {
			if fc.done || !strings.HasPrefix(fc.remote, oldPrefix) {
				continue
			}
			name := newPrefix + fc.remote[len(oldPrefix):]
			kind, ok := parseRemote(name)
			if !ok || (len(fc.ranges) > 0 && kind != remoteHTTP) {
				return hresult.E_INVALIDARG
			}
			changes = append(changes, change{fc, name, kind})
		}
		for _, ch := range changes {
			ch.f.remote, ch.f.kind = ch.name, ch.kind
		}
		if len(changes) > 0 {
			code = hresult.S_OK
		}
		return hresult.S_OK
	})
	if err != nil {
		return 0, err
	}
	return code, nil
}

// SetFileACLFlags chooses which owner and ACL information is kept when files are copied over SMB
// (IBackgroundCopyJob3::SetFileACLFlags): any OR of the CopyFile* flags. E_INVALIDARG for other
// bits; BG_E_INVALID_STATE once the job is TRANSFERRED or final. bitsemu stores the flags.
func (j *Job) SetFileACLFlags(flags uint32) error {
	arg := hresult.S_OK
	if flags&^bits.CopyFileAll != 0 {
		arg = hresult.E_INVALIDARG
	}
	return j.set(state.SetFileACLFlags, "SetFileACLFlags", arg, func() hresult.Code { j.c.own().aclFlags = flags; return hresult.S_OK })
}

// GetFileACLFlags returns the ACL flags, 0 by default.
func (j *Job) GetFileACLFlags() (uint32, error) {
	return get(j, state.GetFileACLFlags, "GetFileACLFlags", func(c *core) uint32 { return c.aclFlags })
}

// SetPeerCachingFlags stores the job's peer-caching flags (IBackgroundCopyJob4): any OR of
// EnablePeerCachingClient, EnablePeerCachingServer and DisableBranchCache; E_INVALIDARG for other
// bits. bitsemu does no peer caching.
func (j *Job) SetPeerCachingFlags(flags uint32) error {
	arg := hresult.S_OK
	if flags&^(bits.EnablePeerCachingClient|bits.EnablePeerCachingServer|bits.DisableBranchCache) != 0 {
		arg = hresult.E_INVALIDARG
	}
	return j.set(state.SetPeerCachingFlags, "SetPeerCachingFlags", arg, func() hresult.Code { j.c.own().peerFlags = flags; return hresult.S_OK })
}

// GetPeerCachingFlags returns the peer-caching flags, 0 by default.
func (j *Job) GetPeerCachingFlags() (uint32, error) {
	return get(j, state.GetPeerCachingFlags, "GetPeerCachingFlags", func(c *core) uint32 { return c.peerFlags })
}
