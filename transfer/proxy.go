package transfer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// proxyConfig is a fetch's proxy choice, parsed from Options once per fetch and carried to the
// shared transport in each request's context.
//
//   - PRECONFIG and AUTODETECT use the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, as
//     http.ProxyFromEnvironment reads them; it never proxies loopback addresses).
//   - NO_PROXY connects directly.
//   - OVERRIDE uses the job's list. Entries are separated by spaces (or semicolons), each
//     `[protocol=][protocol://]server[:port]`: `http=` or `https=` makes the entry the proxy for
//     that scheme of remote URL, no `protocol=` makes it the proxy for both; `http://` or
//     `https://` is how to talk to the proxy (default http), and the port defaults to the
//     scheme's. The first entry for a scheme wins (BITS would fail over to the next ones;
//     bitsemu does not). A remote whose scheme no entry covers is fetched directly.
//     The bypass list (same separators) holds host names, matched without case, each with an
//     optional leading `*` wildcard (`*.example.com`, `*` for all) and an optional `:port`
//     (then matched against host:port); `<local>` matches every host without a dot. A
//     malformed list, an empty OVERRIDE list included, fails the fetch before any request:
//     fatal BG_E_INVALID_PROXY_INFO, context GENERAL_TRANSPORT (BITS checks the lists only
//     when a transfer runs).
//
// BASIC credentials for the proxy target go to whichever proxy is used, as the proxy URL's user
// information: the transport sends them in Proxy-Authorization, on CONNECT for https remotes.
type proxyConfig struct {
	usage      bits.ProxyUsage
	http, tls  *url.URL // OVERRIDE: the proxy for http and for https remotes, nil for direct
	bypass     []string // OVERRIDE: lower-case patterns; "<local>" for hosts without a dot
	user       *url.Userinfo
	envProxyFn func(*http.Request) (*url.URL, error)
}

type proxyKey struct{}

// parseProxy builds the fetch's proxy choice from opt.
func parseProxy(opt Options) (*proxyConfig, error) {
	pc := &proxyConfig{usage: opt.ProxyUsage, envProxyFn: http.ProxyFromEnvironment}
	for _, cr := range opt.Credentials {
		if cr.Target == bits.TargetProxy && cr.Scheme == bits.SchemeBasic {
			pc.user = url.UserPassword(cr.UserName, cr.Password)
		}
	}
	if opt.ProxyUsage != bits.ProxyOverride {
		return pc, nil
	}
	fail := func(format string, args ...any) error {
		return fatal(hresult.BG_E_INVALID_PROXY_INFO, bits.ContextGeneralTransport, protoHTTP, fmt.Errorf(format, args...))
	}
	entries := splitList(opt.ProxyList)
	if len(entries) == 0 {
		return nil, fail("empty proxy list")
	}
	var def *url.URL
	for _, e := range entries {
		proto, u, err := parseProxyEntry(e)
		if err != nil {
			return nil, fail("proxy list entry %q: %v", e, err)
		}
		switch {
		case proto == "http" && pc.http == nil:
			pc.http = u
		case proto == "https" && pc.tls == nil:
			pc.tls = u
		case proto == "" && def == nil:
			def = u
		}
	}
	if pc.http == nil {
		pc.http = def
	}
	if pc.tls == nil {
		pc.tls = def
	}
	for _, b := range splitList(opt.ProxyBypass) {
		b = strings.ToLower(b)
		if b != "<local>" && (strings.Contains(b[1:], "*") || strings.ContainsAny(b, "<>/")) {
			return nil, fail("bypass list entry %q: only a leading * wildcard is allowed", b)
		}
		pc.bypass = append(pc.bypass, b)
	}
	return pc, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ';' || r == '\t' || r == '\r' || r == '\n' })
}

// parseProxyEntry parses `[protocol=][protocol://]server[:port]`.
func parseProxyEntry(e string) (string, *url.URL, error) {
	proto := ""
	if p, rest, ok := strings.Cut(e, "="); ok {
		proto = strings.ToLower(p)
		if proto != "http" && proto != "https" {
			return "", nil, errors.New("protocol must be http or https")
		}
		e = rest
	}
	scheme := "http"
	if s, rest, ok := strings.Cut(e, "://"); ok {
		scheme = strings.ToLower(s)
		if scheme != "http" && scheme != "https" {
			return "", nil, errors.New("proxy scheme must be http or https")
		}
		e = rest
	}
	e = strings.TrimSuffix(e, "/")
	if e == "" || strings.ContainsAny(e, "/?#@=\\") {
		return "", nil, errors.New("not a server[:port]")
	}
	host, port, hasPort := e, "", false
	if strings.HasPrefix(e, "[") || strings.Count(e, ":") == 1 {
		if h, p, err := net.SplitHostPort(e); err == nil {
			host, port, hasPort = h, p, true
		} else if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
			host = e[1 : len(e)-1]
		} else {
			return "", nil, err
		}
	}
	if strings.HasPrefix(e, "[") {
		if net.ParseIP(host) == nil {
			return "", nil, fmt.Errorf("bad IPv6 address %q", host)
		}
	} else if !validHostName(host) {
		return "", nil, fmt.Errorf("bad server name %q", host)
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", nil, fmt.Errorf("bad port %q", port)
		}
	}
	return proto, &url.URL{Scheme: scheme, Host: e}, nil
}

// validHostName reports whether s is a plausible DNS name or IPv4 address.
func validHostName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// proxyFor returns the proxy for a request to u, or nil for a direct connection.
func (pc *proxyConfig) proxyFor(req *http.Request) (*url.URL, error) {
	var p *url.URL
	switch pc.usage {
	case bits.ProxyNoProxy:
		return nil, nil
	case bits.ProxyOverride:
		if req.URL.Scheme == "https" {
			p = pc.tls
		} else {
			p = pc.http
		}
		if p != nil && pc.bypassed(req.URL) {
			p = nil
		}
	default:
		var err error
		if p, err = pc.envProxyFn(req); err != nil {
			return nil, err
		}
	}
	if p == nil || pc.user == nil || p.User != nil {
		return p, nil
	}
	withUser := *p
	withUser.User = pc.user
	return &withUser, nil
}

// bypassed reports whether u's host matches the bypass list.
func (pc *proxyConfig) bypassed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	hostPort := net.JoinHostPort(host, port)
	for _, b := range pc.bypass {
		switch {
		case b == "<local>":
			if !strings.Contains(host, ".") {
				return true
			}
		case matchHost(b, host), strings.Contains(b, ":") && matchHost(b, hostPort):
			return true
		}
	}
	return false
}

func matchHost(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(host, suffix)
	}
	return pattern == host
}

// proxyForRequest is the transport's Proxy function: the proxy of the fetch the request belongs
// to, or the environment's for a request that carries none.
func proxyForRequest(req *http.Request) (*url.URL, error) {
	if pc, ok := req.Context().Value(proxyKey{}).(*proxyConfig); ok {
		return pc.proxyFor(req)
	}
	return http.ProxyFromEnvironment(req)
}

// proxyConnectResponse is the transport's OnProxyConnectResponse: a proxy that refuses a CONNECT
// tunnel fails the request with its status, classified like a server's.
func proxyConnectResponse(_ context.Context, _ *url.URL, _ *http.Request, res *http.Response) error {
	if res.StatusCode/100 != 2 {
		return &proxyStatus{status: res.StatusCode, text: res.Status}
	}
	return nil
}
