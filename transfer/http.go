package transfer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// httpRun is one fetch of an http or https URL.
//
// Without dynamic content, a fetch is:
//
//  1. HEAD (redirects followed per the policy, custom headers and credentials sent). The answer
//     must be a 2xx with a Content-Length, else fatal BG_E_MISSING_FILE_SIZE (REMOTE_FILE). Its
//     size, ETag and Last-Modified make the validator. If the validator recorded by the previous
//     attempt differs, the output restarts from byte 0 (see startOffset): the temporary file is
//     truncated. Either way Progressed is then called once, before any byte, with the output's
//     Total, the validator and Transferred set to where the fetch resumes (0 on a restart): the
//     job learns its size as soon as the server told it.
//  2. For each piece of the output still missing, in order: a GET (or Options.Method) with
//     `Range: bytes=a-b`, one range per request, and the answer checked:
//     - 206 with a Content-Range naming exactly a-b and a Content-Length of b-a+1;
//     Content-Range naming other bytes, or a wrong Content-Length: fatal
//     BG_E_INVALID_SERVER_RESPONSE; no Content-Length: fatal BG_E_MISSING_FILE_SIZE;
//     - 200 (the server ignored Range): fatal BG_E_INSUFFICIENT_RANGE_SUPPORT, except for a
//     foreground job (Options.Foreground) whose request was for the whole file from byte 0,
//     when the file is under 2 GiB and the Content-Length is the file's size. That exception
//     is BITS's documented fallback for servers without ranges (HTTP requirements for BITS
//     downloads; Best practices when using BITS: switching the job to foreground lets a file
//     under 2 GB download in one request, while files over 2 GB always need ranges); other
//     priorities need ranges. Only an interrupted fetch needs ranges then, and resuming one
//     from a 200 fails with BG_E_INSUFFICIENT_RANGE_SUPPORT;
//     - any other status: classified by statusTransient.
//  3. Consistency while fetching: an answer whose ETag or Last-Modified (when both it and the
//     HEAD answer have one) or whose size (Content-Range's complete length, or the Content-Length
//     of a whole-file 200) differs from the HEAD answer means the file changed between the HEAD
//     and the GET: the output restarts from byte 0 (truncate, HEAD again, Progressed with
//     Transferred 0). That happens at most once per fetch; a second change fails the fetch with a
//     transient BG_E_REMOTE_FILE_CHANGED (REMOTE_FILE), and the next attempt starts over.
//
// With Options.DynamicContent there is no HEAD: one GET without Range from byte 0, accepted with
// any 2xx. The temporary file is truncated and Progressed called with Transferred 0 when the
// answer arrives (the output always restarts: there is nothing to resume from). Total is the
// Content-Length, or bits.SizeUnknown until the body ends; then a last Progressed reports Total
// equal to Transferred. Dynamic content with ranges is refused: fatal
// BG_E_UNSUPPORTED_JOB_CONFIGURATION (BITS does not allow the combination).
//
// Every request carries the custom headers (a "Host" line sets the request's host) and, when the
// job has BASIC credentials for the server, `Authorization: Basic ...`: sent with the first
// request rather than after a 401 challenge, and to whatever host a redirect leads to. BASIC
// credentials for the proxy go to the proxy (see proxyConfig). Credentials of the other schemes
// (DIGEST, NTLM, NEGOTIATE, PASSPORT) are not sent: a server that demands them answers 401, a
// fatal BG_E_HTTP_ERROR_401 as BITS reports wrong credentials.
//
// Redirects (301, 302, 303, 307, 308, and 300 with a Location) follow the policy in
// Options.SecurityFlags (see redirect). Certificates are checked by Go's TLS stack against
// Config.TLS, or, when the fetch has BG_SSL_IGNORE_* flags, by a check that lets through only
// the faults those flags name (see laxTLS), on a transport of their own.
type httpRun struct {
	run
	url    *url.URL // where requests go: the remote name, or where redirects led
	hdr    http.Header
	host   string          // a custom Host header's value, or ""
	method string          // the verb that replaces GET
	rctx   context.Context // cancelled by the stall timer; carries the proxy choice

	changes int // changes of the remote file seen during this fetch
}

// headInfo is what a HEAD answer says about the remote file.
type headInfo struct {
	size           uint64
	etag, modified string
}

// validator identifies the file's version: its size, ETag and Last-Modified.
func (h headInfo) validator() string {
	return "size=" + strconv.FormatUint(h.size, 10) + " etag=" + h.etag + " modified=" + h.modified
}

func (r *httpRun) fetch() error {
	pc, err := parseProxy(r.opt)
	if err != nil {
		return err
	}
	r.hdr, r.host = requestHeaders(r.opt)
	r.method = r.opt.Method
	if r.method == "" {
		r.method = http.MethodGet
	}
	rctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	r.rctx = context.WithValue(rctx, proxyKey{}, pc)
	r.wd = startWatchdog(r.c.clk, r.c.stall, cancel)
	defer r.wd.stop()
	if r.opt.DynamicContent {
		return r.dynamic()
	}
	return r.ranged()
}

// requestHeaders builds the headers every request of the fetch carries: the custom headers
// ("Name: value" lines ended by CRLF; lines without a colon are skipped) and the server's BASIC
// credentials.
func requestHeaders(opt Options) (http.Header, string) {
	h := make(http.Header)
	host := ""
	for line := range strings.SplitSeq(opt.Headers, "\n") {
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\r"), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		value = strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			host = value
			continue
		}
		h.Add(name, value)
	}
	for _, cr := range opt.Credentials {
		if cr.Target == bits.TargetServer && cr.Scheme == bits.SchemeBasic {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cr.UserName+":"+cr.Password)))
		}
	}
	return h, host
}

// ranged is a fetch without dynamic content: HEAD, then ranged GETs (see httpRun).
func (r *httpRun) ranged() error {
	restart := false
	for {
		info, err := r.head()
		if err != nil {
			return err
		}
		validator := info.validator()
		todo, err := r.start(info.size, validator, restart, protoHTTP)
		if err != nil {
			return err
		}
		changed := false
		for _, s := range todo {
			if changed, err = r.get(s, info); err != nil || changed {
				break
			}
		}
		switch {
		case err != nil:
			return err
		case !changed:
			return nil
		}
		r.changes++
		if r.changes > 1 {
			return transient(hresult.BG_E_REMOTE_FILE_CHANGED, bits.ContextRemoteFile, protoHTTP,
				errors.New("the remote file changed twice during one fetch"))
		}
		restart = true
	}
}

// head asks for the remote file's size and version.
func (r *httpRun) head() (headInfo, error) {
	resp, err := r.do(http.MethodHead, "")
	if err != nil {
		return headInfo{}, err
	}
	defer discard(resp)
	if resp.StatusCode/100 != 2 {
		return headInfo{}, r.statusErr(http.MethodHead, resp)
	}
	r.connect()
	if resp.ContentLength < 0 {
		return headInfo{}, fatal(hresult.BG_E_MISSING_FILE_SIZE, bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("HEAD %s: no Content-Length", r.url.Redacted()))
	}
	return headInfo{
		size:     uint64(resp.ContentLength),
		etag:     resp.Header.Get("ETag"),
		modified: resp.Header.Get("Last-Modified"),
	}, nil
}

// get fetches one segment into the output. It reports true when the answer shows that the
// remote file is no longer the one the HEAD described.
func (r *httpRun) get(s segment, info headInfo) (bool, error) {
	last := s.start + s.length - 1
	resp, err := r.do(r.method, "bytes="+strconv.FormatUint(s.start, 10)+"-"+strconv.FormatUint(last, 10))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		defer discard(resp)
		return false, r.statusErr(r.method, resp)
	}
	r.connect()
	// oneShot: the whole file may come in one 200 answer (see httpRun).
	oneShot := r.opt.Foreground && s.start == 0 && s.length == info.size && info.size < maxOneShot
	if changedAnswer(resp, info, oneShot) {
		return true, nil
	}
	invalid := func(format string, args ...any) (bool, error) {
		return false, fatal(hresult.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("%s %s: "+format, append([]any{r.method, r.url.Redacted()}, args...)...))
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		first, end, _, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != s.start || end != last {
			return invalid("asked for bytes %d-%d, got Content-Range %q", s.start, last, resp.Header.Get("Content-Range"))
		}
		if resp.ContentLength < 0 {
			return false, fatal(hresult.BG_E_MISSING_FILE_SIZE, bits.ContextRemoteFile, protoHTTP,
				fmt.Errorf("%s %s: 206 without Content-Length", r.method, r.url.Redacted()))
		}
		if uint64(resp.ContentLength) != s.length {
			return invalid("asked for %d bytes, Content-Length is %d", s.length, resp.ContentLength)
		}
	case oneShot && resp.StatusCode == http.StatusOK && resp.ContentLength >= 0:
		// The whole file in one answer: accepted (see httpRun); its length is the HEAD's, or
		// changedAnswer would have said so.
	default:
		return false, fatal(hresult.BG_E_INSUFFICIENT_RANGE_SUPPORT, bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("%s %s: asked for bytes %d-%d, got %s", r.method, r.url.Redacted(), s.start, last, resp.Status))
	}
	return false, r.copyOut(resp.Body, s.length, false, r.bodyErr)
}

// maxOneShot bounds the size of a file a foreground job may take from a server without range
// support: BITS fetches files of 2 GB and more in ranges of 2 GB (HTTP requirements for BITS
// downloads).
const maxOneShot = 2 << 30

// changedAnswer reports whether a GET answer describes another version of the file than the
// HEAD answer did.
func changedAnswer(resp *http.Response, info headInfo, whole bool) bool {
	if e := resp.Header.Get("ETag"); e != "" && info.etag != "" && e != info.etag {
		return true
	}
	if m := resp.Header.Get("Last-Modified"); m != "" && info.modified != "" && m != info.modified {
		return true
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if _, _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && size >= 0 && uint64(size) != info.size {
			return true
		}
	case http.StatusOK:
		return whole && resp.ContentLength >= 0 && uint64(resp.ContentLength) != info.size
	}
	return false
}

// parseContentRange parses "bytes first-last/size", where size may be "*" (returned as -1).
func parseContentRange(v string) (first, last uint64, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, total, found := strings.Cut(strings.TrimSpace(rest), "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2 error
	first, err1 = strconv.ParseUint(a, 10, 64)
	last, err2 = strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || last < first {
		return 0, 0, 0, false
	}
	size = -1
	if total != "*" {
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil || n <= int64(last) {
			return 0, 0, 0, false
		}
		size = n
	}
	return first, last, size, true
}

// dynamic is a fetch with dynamic content: one plain GET from byte 0 (see httpRun).
func (r *httpRun) dynamic() error {
	if r.spec.Ranges != nil {
		return fatal(hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION, bits.ContextRemoteFile, protoHTTP,
			errors.New("dynamic content cannot be fetched by ranges"))
	}
	resp, err := r.do(r.method, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		defer discard(resp)
		return r.statusErr(r.method, resp)
	}
	r.connect()
	total := bits.SizeUnknown
	if resp.ContentLength >= 0 {
		total = uint64(resp.ContentLength)
	}
	if err := r.checkSize(total); err != nil {
		return err
	}
	if err := r.restart(); err != nil {
		return err
	}
	info := headInfo{size: total, etag: resp.Header.Get("ETag"), modified: resp.Header.Get("Last-Modified")}
	r.prog.Total, r.prog.Validator = total, info.validator()
	if err := r.report(); err != nil {
		return err
	}
	if err := r.copyOut(resp.Body, total, total == bits.SizeUnknown, r.bodyErr); err != nil {
		return err
	}
	if total == bits.SizeUnknown {
		r.prog.Total = r.prog.Transferred
		return r.report()
	}
	return nil
}

// statusErr is the error for an answer whose status ends the attempt.
func (r *httpRun) statusErr(method string, resp *http.Response) error {
	return statusError(method, r.url.Redacted(), resp.StatusCode, resp.Status)
}

// netErr classifies a failed request (started false) or body (started true): ctx's error when
// ctx ended, the stall error when the stall timer cancelled it, netError otherwise.
func (r *httpRun) netErr(err error, started bool) error {
	if e := r.ctx.Err(); e != nil {
		return e
	}
	if errors.Is(context.Cause(r.rctx), errStalled) {
		err = fmt.Errorf("%w (%v)", errStalled, err)
	}
	return netError(err, started)
}

func (r *httpRun) bodyErr(err error) error { return r.netErr(err, true) }

// discard reads a little of an unwanted body, so that the connection can be reused, and closes
// it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}
