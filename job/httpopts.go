package job

import (
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// SetCustomHeaders sets extra HTTP request headers sent with every request of the job
// (IBackgroundCopyJobHttpOptions::SetCustomHeaders): lines of "Name: value", each ended by CR LF,
// at most 16,383 characters in all. "" removes them. Only the owner may call it. Errors:
// BG_E_STRING_TOO_LONG, E_INVALIDARG for a line that is not a header, BG_E_INVALID_STATE for a
// final job.
func (j *Job) SetCustomHeaders(headers string) error {
	arg := textArg(headers, MaxCustomHeaders, hresult.BG_E_STRING_TOO_LONG)
	if arg == hresult.S_OK && !validHeaders(headers) {
		arg = hresult.E_INVALIDARG
	}
	return j.setAs(state.SetCustomHeaders, "SetCustomHeaders", true, arg, func() hresult.Code {
		j.c.own().headers = headers
		return hresult.S_OK
	})
}

// validHeaders reports whether s is a block of "Name: value" lines, each ended by CR LF (the last
// line's CR LF may be left out).
func validHeaders(s string) bool {
	if s == "" {
		return true
	}
	s = strings.TrimSuffix(s, "\r\n")
	for _, line := range strings.Split(s, "\r\n") {
		name, _, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(line, "\r\n") {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !tokenByte(name[i]) {
				return false
			}
		}
	}
	return true
}

// tokenByte reports whether b may appear in an HTTP token (RFC 9110).
func tokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// GetCustomHeaders returns the custom headers with S_OK, or "" with S_FALSE when none are set
// (IBackgroundCopyJobHttpOptions::GetCustomHeaders). Only the owner may read them, and nobody once
// MakeCustomHeadersWriteOnly was called (E_ACCESSDENIED).
func (j *Job) GetCustomHeaders() (string, hresult.Code, error) {
	var o op
	if err := j.begin(&o, state.GetCustomHeaders, "GetCustomHeaders"); err != nil {
		return "", 0, err
	}
	defer o.end()
	if j.caller.id.SID != j.c.owner.SID || j.c.headersWriteOnly {
		return "", 0, o.fail(hresult.E_ACCESSDENIED)
	}
	if j.c.headers == "" {
		return "", hresult.S_FALSE, nil
	}
	return j.c.headers, hresult.S_OK, nil
}

// MakeCustomHeadersWriteOnly stops the custom headers from ever being read back through BITS
// (IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly). It cannot be undone and always
// succeeds for a caller with access to the job.
func (j *Job) MakeCustomHeadersWriteOnly() (err error) {
	var o op
	if err := j.beginChange(&o, state.MakeCustomHeadersWriteOnly, "MakeCustomHeadersWriteOnly"); err != nil {
		return err
	}
	defer o.commit(&err)
	if !j.c.headersWriteOnly {
		j.c.own().headersWriteOnly = true
		o.touch()
	}
	return nil
}

const securityMask = bits.SSLEnableCRLCheck | bits.SSLIgnoreCertCNInvalid | bits.SSLIgnoreCertDateInvalid |
	bits.SSLIgnoreUnknownCA | bits.SSLIgnoreCertWrongUsage | bits.RedirectPolicyMask | bits.RedirectPolicyAllowHTTPSToHTTP

// SetSecurityFlags sets the TLS and redirect flags (IBackgroundCopyJobHttpOptions::SetSecurityFlags):
// any OR of the SSL* flags, one redirect policy (RedirectPolicyAllowSilent, ...AllowReport or
// ...Disallow), and RedirectPolicyAllowHTTPSToHTTP with a policy that allows redirects. E_NOTIMPL
// for anything else.
func (j *Job) SetSecurityFlags(flags uint32) error {
	arg := hresult.S_OK
	policy := flags & bits.RedirectPolicyMask
	switch {
	case flags&^securityMask != 0:
		arg = hresult.E_NOTIMPL
	case policy != bits.RedirectPolicyAllowSilent && policy != bits.RedirectPolicyAllowReport && policy != bits.RedirectPolicyDisallow:
		arg = hresult.E_NOTIMPL
	case policy == bits.RedirectPolicyDisallow && flags&bits.RedirectPolicyAllowHTTPSToHTTP != 0:
		arg = hresult.E_NOTIMPL
	}
	return j.set(state.SetSecurityFlags, "SetSecurityFlags", arg, func() hresult.Code { j.c.own().security = flags; return hresult.S_OK })
}

// GetSecurityFlags returns the security flags, 0 by default.
func (j *Job) GetSecurityFlags() (uint32, error) {
	return get(j, state.GetSecurityFlags, "GetSecurityFlags", func(c *core) uint32 { return c.security })
}

// defaultMethod is the HTTP verb a job of type t uses unless told otherwise.
func defaultMethod(t bits.JobType) string {
	if t == bits.Download {
		return "GET"
	}
	return "BITS_POST"
}

func (c *core) customMethod() bool { return c.httpMethod != "" }

// SetHttpMethod replaces the job's HTTP verb (IBackgroundCopyJobHttpOptions2::SetHttpMethod). A
// custom verb pins the job at FOREGROUND priority; setting the job type's default verb ("GET" for
// downloads, "BITS_POST" for uploads) removes a custom one, and the priority, left as it is, may
// change again.
// Errors: E_INVALIDARG for a string that is not an HTTP token,
// BG_E_READ_ONLY_PROPERTY_AFTER_RESUME once the job has been resumed,
// BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD when the job uses dynamic content or on-demand mode,
// BG_E_INVALID_STATE for a final job.
func (j *Job) SetHttpMethod(method string) error { //nolint:revive // BITS spelling
	arg := hresult.S_OK
	if method == "" || len(method) > 256 {
		arg = hresult.E_INVALIDARG
	}
	for i := 0; i < len(method) && arg == hresult.S_OK; i++ {
		if !tokenByte(method[i]) {
			arg = hresult.E_INVALIDARG
		}
	}
	return j.set(state.SetHttpMethod, "SetHttpMethod", arg, func() hresult.Code {
		c := j.c
		if method == defaultMethod(c.typ) {
			c.own().httpMethod = ""
			return hresult.S_OK
		}
		if c.props.dynamicContent || c.props.onDemand {
			return hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
		}
		c.own().httpMethod = method
		c.priority = bits.Foreground
		return hresult.S_OK
	})
}

// GetHttpMethod returns the job's HTTP verb: "GET" for downloads and "BITS_POST" for uploads unless
// SetHttpMethod changed it (IBackgroundCopyJobHttpOptions2::GetHttpMethod).
func (j *Job) GetHttpMethod() (string, error) { //nolint:revive // BITS spelling
	return get(j, state.GetHttpMethod, "GetHttpMethod", func(c *core) string {
		if c.httpMethod != "" {
			return c.httpMethod
		}
		return defaultMethod(c.typ)
	})
}
