package transfer

import (
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// do sends one request to r.url and follows its redirects (see redirect). It returns the first
// answer that is not a redirect to follow, or the classified error.
func (r *httpRun) do(method, rng string) (*http.Response, error) {
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(r.rctx, method, r.url.String(), nil)
		if err != nil {
			return nil, fatal(hresult.E_INVALIDARG, bits.ContextRemoteFile, protoHTTP, err)
		}
		req.Header = r.hdr.Clone()
		if r.host != "" {
			req.Host = r.host
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := r.roundTrip(req)
		if err != nil {
			return nil, r.netErr(err, false)
		}
		r.wd.touch()
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" {
			return resp, nil
		}
		discard(resp)
		next, err := r.url.Parse(loc)
		if err != nil {
			return nil, statusError(method, r.url.Redacted(), resp.StatusCode, resp.Status+" to a malformed Location")
		}
		if err := r.redirect(resp.StatusCode, next, hops); err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusSeeOther && method != http.MethodHead {
			method = http.MethodGet
		}
	}
}

// isRedirect reports whether an answer with status and a Location is a redirect.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectCode is the HRESULT of a redirect that is not followed: HRESULT_FROM_WIN32 of the
// redirect's HTTP status, as BITS reports a redirect under BG_HTTP_REDIRECT_POLICY_DISALLOW.
// 308 (Permanent Redirect, which BITS's list does not have) gets the code of 301,
// HTTP_STATUS_MOVED: both say the resource moved for good, which is what rewriting the remote
// name is about.
func redirectCode(status int) hresult.Code {
	switch status {
	case http.StatusMultipleChoices:
		return hresult.HTTP_STATUS_AMBIGUOUS
	case http.StatusFound:
		return hresult.HTTP_STATUS_REDIRECT
	case http.StatusSeeOther:
		return hresult.HTTP_STATUS_REDIRECT_METHOD
	case http.StatusTemporaryRedirect:
		return hresult.HTTP_STATUS_REDIRECT_KEEP_VERB
	}
	return hresult.HTTP_STATUS_MOVED
}

// redirect applies the redirect policy (Options.SecurityFlags & bits.RedirectPolicyMask) to a
// redirect from r.url to next, the hops-th of the request:
//
//   - ALLOW_SILENT (and any undefined policy value): followed; Progress.URL stays "".
//   - ALLOW_REPORT: followed; every later Progressed reports the final URL in Progress.URL.
//   - DISALLOW: not followed. Progressed is called once with Progress.URL set to the redirect's
//     target (BITS still rewrites the remote name), then the fetch fails: fatal, code
//     redirectCode(status), context REMOTE_FILE.
//
// Whatever the policy, these are not followed and fail the same way (fatal, redirectCode,
// REMOTE_FILE, no URL reported): a target whose scheme is not http or https (never to SMB or
// files); https to http unless bits.RedirectPolicyAllowHTTPSToHTTP is set; an 11th redirect of
// one request.
func (r *httpRun) redirect(status int, next *url.URL, hops int) error {
	policy := r.opt.SecurityFlags & bits.RedirectPolicyMask
	refuse := func(why string) error {
		return fatal(redirectCode(status), bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("%d redirect from %s to %s %s", status, r.url.Redacted(), next.Redacted(), why))
	}
	switch {
	case policy == bits.RedirectPolicyDisallow:
		r.setURL(next)
		if err := r.report(); err != nil {
			return err
		}
		return refuse("not followed: the redirect policy disallows redirects")
	case next.Scheme != "http" && next.Scheme != "https":
		return refuse("refused: not an http or https URL")
	case r.url.Scheme == "https" && next.Scheme == "http" && r.opt.SecurityFlags&bits.RedirectPolicyAllowHTTPSToHTTP == 0:
		return refuse("refused: https to http needs BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP")
	case hops >= maxRedirects:
		return refuse(fmt.Sprintf("refused: more than %d redirects", maxRedirects))
	}
	r.url = next
	if policy == bits.RedirectPolicyAllowReport {
		r.setURL(next)
	}
	return nil
}

// setURL makes u the URL the next reports carry, or "" when it is the remote name itself.
func (r *httpRun) setURL(u *url.URL) {
	r.prog.URL = u.String()
	if r.prog.URL == r.spec.Remote {
		r.prog.URL = ""
	}
}

// roundTrip sends req and waits for the answer. The fetch counts as waiting on its peer only
// once the request is written (httptrace's WroteRequest): until then the transport still has
// work to do on this side, however long the machine takes to schedule it.
func (r *run) roundTrip(req *http.Request) (*http.Response, error) {
	var (
		mu      sync.Mutex
		waiting bool
		done    bool
	)
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			r.connMu.Lock()
			r.conn = info.Conn
			r.connMu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			if !done && !waiting {
				waiting = true
				r.waiting(true)
			}
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := r.c.transport(r.opt.SecurityFlags).RoundTrip(req)
	mu.Lock()
	done = true
	if waiting {
		r.waiting(false)
	}
	mu.Unlock()
	return resp, err
}
