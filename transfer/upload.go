package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/job"
)

// UploadSpec is one file of an upload or upload-reply job to send, and what earlier attempts left.
type UploadSpec struct {
	// Remote is the URL the file goes to: http or https.
	Remote string
	// Local is the file sent: an absolute path.
	Local string
	// Offset is how many bytes of the file the server acknowledged: the upload goes on from there
	// in the same session.
	Offset uint64
	// Validator is the local file's version (size, modification time, identity) when the upload
	// began, "" before: a file whose version differs fails with BG_E_LOCAL_FILE_CHANGED.
	Validator string
	// Session is the session with the server as earlier attempts left it.
	Session job.UploadSession
	// Reply marks an upload-reply job: the Ack to the last fragment must carry the reply URL
	// (BITS-Reply-URL), and the session is not closed by Upload but by CloseSession once the reply
	// is downloaded (Close-Session: the reply is lost otherwise).
	Reply bool
}

// UploadObserver hears about an upload as it happens, on the uploading goroutine, as Observer
// does for a fetch. Progressed reports Total, the local file's size, Transferred, the bytes the
// server acknowledged, and Validator, the local file's version.
type UploadObserver interface {
	Observer
	// SessionChanged is called before the upload relies on a change of its session: a session
	// created or forgotten, its host unreachable or reached again, a smaller fragment size, the
	// reply URL, Close-Session about to be sent. Its error ends the upload unchanged.
	SessionChanged(job.UploadSession) error
}

// The fragment sizes. BITS leaves the size of fragments to the client ([MC-BUP] 3.1.5.2.4);
// bitsemu sends Config.FragmentSize (DefaultFragmentSize unless set, at least MinFragmentSize)
// unless the server refused it (413), then halves it down to MinFragmentSize.
const (
	DefaultFragmentSize = 8 << 20
	MinFragmentSize     = 4 << 10
)

// Upload sends spec's local file to its server with the BITS upload protocol (BITS Upload
// Protocol; [MC-BUP]), over HTTP/1.1 with the BITS_POST method, one request outstanding at a
// time:
//
//  1. Ping, to the host the session names (BITS-Host-Id) or the remote name's host, which sets up
//     the connection and its authentication ("Create-Session": a Ping first is recommended).
//  2. Create-Session, when there is no session, announcing the BITS 1.5 upload protocol; the Ack
//     must choose it (BITS-Protocol, else a fatal BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH) and give
//     a session id. A BITS-Host-Id in it sends every later packet to that host (after a Ping).
//  3. Fragments, from spec.Offset on: Content-Range "bytes first-last/total" (the empty file is
//     one fragment "bytes */0"), Content-Name (the local file's base name) on the fragment at
//     offset 0. Each Ack's BITS-Received-Content-Range is where the next fragment starts; a 416
//     gives it too (the server holds another amount than the client thought, after a cut). A 413
//     halves the fragment size (down to MinFragmentSize) and sends again. An Ack saying the
//     server does not know the session (BG_E_SESSION_NOT_FOUND) starts again with Create-Session
//     from byte 0; a second one before any byte was acknowledged is a transient
//     BG_E_SESSION_NOT_FOUND. For an upload-reply job the Ack to the last fragment must carry
//     BITS-Reply-URL (MC-BUP 3.1.5.2.4: a missing one is reported, here as a fatal
//     BG_E_INVALID_SERVER_RESPONSE).
//  4. Close-Session, once every byte is acknowledged, for an upload job (not upload-reply, see
//     CloseSession): MC-BUP 1.3.2 has the client close the session after the Ack to the last
//     fragment. A server that does not know the session when it is closed again (an earlier
//     Close-Session got through, its Ack did not) has closed it; one that does not know it on
//     the first Close-Session lost the upload, which starts again.
//
// A cut connection loses at most the fragment in flight: the next attempt sends it again and
// the server skips what it had ("Fragment": overlapping bytes are not written again).
//
// When the host named by BITS-Host-Id cannot be reached (BG_E_CONNECT_FAILURE), the time is
// recorded (job.UploadSession.HostFailedSince); once BITS-Host-Id-Fallback-Timeout has passed
// since, packets go to the remote name's host again ("Ack for Create-Session"; BITS IIS extension
// properties: BITSHostIdFallbackTimeout). A host reached resets that time.
//
// The local file's version (size, modification time, identity) is taken when the upload begins
// and checked at every attempt, after every fragment and at the end: a file that changed fails
// with a fatal BG_E_LOCAL_FILE_CHANGED, context LOCAL_FILE (AddFile page; the return-values page
// names the code). A local file that cannot be opened fails as a file source does
// (ERROR_FILE_NOT_FOUND, E_ACCESSDENIED, ..., fatal), with context LOCAL_FILE.
//
// Failed Acks carry BITS-Error-Code (BITS-Error is accepted too) and BITS-Error-Context: the
// job's error gets that HRESULT (BG_E_HTTP_ERROR_nnn without one) and that context (REMOTE_FILE
// for the server, REMOTE_APPLICATION for the server's application; REMOTE_FILE without one), and
// is transient or fatal by its HTTP status as "Handling Server Application Errors" says
// (statusTransient). Network failures are classified as for downloads. An answer that is not an
// Ack (no BITS-Packet-Type: Ack) to a successful status is a fatal BG_E_INVALID_SERVER_RESPONSE.
//
// Custom headers, credentials, proxies, the BG_SSL_IGNORE_* flags, the stall timeout and the
// bandwidth limit apply as for downloads; redirects are not followed (a 3xx is an error as its
// status says). Upload returns nil once every byte is acknowledged (and the session closed,
// for an upload job), ctx.Err() when ctx ended, an observer's error unchanged, or an *Error.
func (c *Client) Upload(ctx context.Context, spec UploadSpec, opt Options, obs UploadObserver) error {
	r, err := c.newUploadRun(ctx, spec, opt, obs)
	if err != nil {
		return err
	}
	defer r.end()
	return r.upload()
}

// CloseSession sends Close-Session for an upload-reply job whose reply was downloaded: the
// server frees the session ("Close-Session": the reply must be downloaded first, or it is lost;
// MC-BUP 1.3.3). SessionChanged hears first that it is sent. A server that does not know the
// session has nothing left to free: that counts as closed. Errors as Upload's.
func (c *Client) CloseSession(ctx context.Context, spec UploadSpec, opt Options, obs UploadObserver) error {
	r, err := c.newUploadRun(ctx, spec, opt, obs)
	if err != nil {
		return err
	}
	defer r.end()
	if r.sess.ID == "" {
		return nil
	}
	gone, err := r.close()
	if err != nil || gone {
		return err
	}
	return nil
}

// CancelSession sends Cancel-Session for the session s of an upload to remote, when the job is
// cancelled ("Cancel-Session": the BITS client sends it when the user cancels the job; the server
// deletes the upload, or only the reply once the last fragment arrived). obs, which may be nil,
// hears of waits when it is a Waiter. A server that does not know the session has nothing to
// cancel: that is success. Errors as Upload's.
func (c *Client) CancelSession(ctx context.Context, remote string, s job.UploadSession, opt Options, obs Waiter) error {
	if s.ID == "" {
		return nil
	}
	r, err := c.newUploadRun(ctx, UploadSpec{Remote: remote, Session: s}, opt, waitOnly{obs})
	if err != nil {
		return err
	}
	defer r.end()
	resp, err := r.packet(bup.CancelSession, nil, nil)
	if err != nil {
		return err
	}
	defer discard(resp)
	if !ok2xx(resp) && !sessionGone(resp) {
		return r.ackErr(resp)
	}
	return nil
}

// waitOnly is the UploadObserver of CancelSession: it passes waits on to w, which may be nil,
// and ignores the rest.
type waitOnly struct{ w Waiter }

func (waitOnly) Connected()                             {}
func (waitOnly) Progressed(Progress) error              { return nil }
func (waitOnly) SessionChanged(job.UploadSession) error { return nil }

func (o waitOnly) Waiting(b bool) {
	if o.w != nil {
		o.w.Waiting(b)
	}
}

func (o waitOnly) Sleeping(b bool) {
	if o.w != nil {
		o.w.Sleeping(b)
	}
}

// uploadRun is one attempt of an upload (or of closing or cancelling its session).
type uploadRun struct {
	run
	spec   UploadSpec
	uobs   UploadObserver
	origin *url.URL // the remote name
	hdr    http.Header
	host   string // a custom Host header's value, or ""
	rctx   context.Context
	cancel context.CancelCauseFunc
	pw     peerWait

	sess      job.UploadSession
	frag      uint64   // the fragment size
	src       *os.File // the local file
	size      uint64
	version   string
	lastAcked bool   // the server acknowledged the last byte in this attempt
	pinged    string // the host the Ping of this attempt went to
	notFound  int    // BG_E_SESSION_NOT_FOUND answers since a byte was last acknowledged
	misses    int    // 416 answers in a row
	lost      bool   // a Close-Session found the session gone, and the upload started again
}

func (c *Client) newUploadRun(ctx context.Context, spec UploadSpec, opt Options, obs UploadObserver) (*uploadRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(spec.Remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fatal(hresult.E_INVALIDARG, bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("upload to %q: not an http or https URL", spec.Remote))
	}
	pc, err := parseProxy(opt)
	if err != nil {
		return nil, err
	}
	r := &uploadRun{
		run:    c.newRun(ctx, Spec{Remote: spec.Remote, Offset: spec.Offset, Total: bits.SizeUnknown, Validator: spec.Validator}, opt, nil, obs, protoHTTP),
		spec:   spec,
		uobs:   obs,
		origin: u,
		sess:   spec.Session,
		frag:   c.frag,
	}
	r.pw.w = r.waiter
	if l := spec.Session.FragmentLimit; l > 0 && l < r.frag {
		r.frag = max(l, MinFragmentSize)
	}
	r.hdr, r.host = requestHeaders(opt)
	rctx, cancel := context.WithCancelCause(ctx)
	r.rctx, r.cancel = context.WithValue(rctx, proxyKey{}, pc), cancel
	r.wd = startWatchdog(c.clk, c.stall, cancel)
	return r, nil
}

// end stops the attempt's stall timer and closes the local file.
func (r *uploadRun) end() {
	r.wd.stop()
	r.cancel(nil)
	if r.src != nil {
		r.src.Close()
	}
}

// upload is an attempt of Upload (see Upload).
func (r *uploadRun) upload() error {
	if err := r.openLocal(); err != nil {
		return err
	}
	offset := r.spec.Offset
	if offset > r.size || r.sess.ID == "" {
		offset = 0
	}
	r.prog = Progress{Total: r.size, Transferred: offset, Validator: r.version}
	if err := r.report(); err != nil {
		return err
	}
	for {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		switch {
		case r.sess.ID == "":
			if err := r.createSession(); err != nil {
				return err
			}
			continue
		case !r.allAcked():
			if err := r.fragment(); err != nil {
				return err
			}
			continue
		}
		if err := r.checkLocal(true); err != nil {
			return err
		}
		if r.spec.Reply {
			return nil
		}
		gone, err := r.close()
		if err != nil || !gone {
			return err
		}
		// The server lost the upload before it was closed: it starts again, once.
		if r.lost {
			return transient(hresult.BG_E_SESSION_NOT_FOUND, bits.ContextRemoteFile, protoHTTP,
				errors.New("the server lost the session before it was closed, twice"))
		}
		r.lost = true
		if err := r.forget(); err != nil {
			return err
		}
	}
}

// allAcked reports whether the server acknowledged the whole file: every byte (for the empty
// file, its one fragment, in this attempt or before the session's Close-Session or reply URL),
// and for an upload-reply job with the reply URL.
func (r *uploadRun) allAcked() bool {
	if r.spec.Reply && r.sess.ReplyURL == "" {
		return false
	}
	if r.size == 0 {
		return r.lastAcked || r.sess.CloseSent || r.sess.ReplyURL != ""
	}
	return r.prog.Transferred == r.size
}

// openLocal opens the local file as a file source is opened (Options.ReadRoots and NoRead
// apply), takes its version and checks it against the spec's.
func (r *uploadRun) openLocal() error {
	fr := &fileRun{run: run{opt: r.opt}, path: r.spec.Local}
	f, err := fr.open()
	if err != nil {
		return localSide(err)
	}
	if err := fr.checkNoRead(f); err != nil {
		f.Close()
		return localSide(err)
	}
	r.src = f
	fi, err := f.Stat()
	if err != nil {
		return localSide(fr.openErr(err))
	}
	if !fi.Mode().IsRegular() {
		return fatal(hresult.E_ACCESSDENIED, bits.ContextLocalFile, protoHTTP, fmt.Errorf("%s is not a regular file", r.spec.Local))
	}
	r.size, r.version = uint64(fi.Size()), localVersion(f, fi)
	if r.spec.Validator != "" && r.spec.Validator != r.version {
		return localChanged(r.spec.Local, r.spec.Validator, r.version)
	}
	return nil
}

// localVersion identifies the version of a local file: its size, modification time and identity.
func localVersion(f *os.File, fi os.FileInfo) string {
	return "size=" + strconv.FormatInt(fi.Size(), 10) + " mtime=" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) +
		" id=" + fileIdentity(f, fi)
}

// localChanged is the error for a local file whose version changed during the upload.
func localChanged(name, was, is string) *Error {
	return fatal(hresult.BG_E_LOCAL_FILE_CHANGED, bits.ContextLocalFile, protoHTTP,
		fmt.Errorf("%s changed during the upload: %s, now %s", name, was, is))
}

// localSide gives a failure of the local file the context of an upload's local file.
func localSide(err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Context, c.Protocol = bits.ContextLocalFile, protoHTTP
		return &c
	}
	return err
}

// checkLocal checks that the local file is still the version the upload began with: the open
// file's size and modification time, and with byName the file its name opens now (another file
// moved into its place, its identity).
func (r *uploadRun) checkLocal(byName bool) error {
	fi, err := r.src.Stat()
	if err != nil {
		return fatal(hresult.E_FAIL, bits.ContextLocalFile, protoHTTP, err)
	}
	if v := localVersion(r.src, fi); v != r.version {
		return localChanged(r.spec.Local, r.version, v)
	}
	if !byName {
		return nil
	}
	fr := &fileRun{run: run{opt: r.opt}, path: r.spec.Local}
	f, err := fr.open()
	if err != nil {
		return localChanged(r.spec.Local, r.version, "cannot be opened: "+err.Error())
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return fatal(hresult.E_FAIL, bits.ContextLocalFile, protoHTTP, err)
	}
	if v := localVersion(f, fi); v != r.version {
		return localChanged(r.spec.Local, r.version, v)
	}
	return nil
}

// setSession records a change of the session with the observer before the upload relies on it.
func (r *uploadRun) setSession(s job.UploadSession) error {
	if s == r.sess {
		return nil
	}
	r.sess = s
	return r.uobs.SessionChanged(s)
}

// setProgress reports that the server holds the first n bytes.
func (r *uploadRun) setProgress(n uint64) error {
	if n == r.prog.Transferred {
		return nil
	}
	r.prog.Transferred = n
	return r.report()
}

// forget drops the session the server no longer knows: the upload starts again from byte 0
// with Create-Session, to the same host ([MC-BUP] 3.1.5.1: BG_E_SESSION_NOT_FOUND goes back to
// creating the session).
func (r *uploadRun) forget() error {
	s := r.sess
	s.ID, s.CloseSent, s.ReplyURL = "", false, ""
	if err := r.setSession(s); err != nil {
		return err
	}
	r.lastAcked = false
	return r.setProgress(0)
}

// createSession opens a session (Create-Session, see Upload).
func (r *uploadRun) createSession() error {
	h := http.Header{}
	h.Set(bup.HeaderSupportedProtocols, bup.Protocol)
	resp, err := r.packet(bup.CreateSession, h, nil)
	if err != nil {
		return err
	}
	defer discard(resp)
	if !ok2xx(resp) {
		return r.ackErr(resp)
	}
	if err := r.checkAck(resp); err != nil {
		return err
	}
	mismatch := func(format string, args ...any) error {
		return fatal(hresult.BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, bits.ContextRemoteFile, protoHTTP,
			fmt.Errorf("Create-Session to %s: "+format, append([]any{r.origin.Redacted()}, args...)...))
	}
	if p := resp.Header.Get(bup.HeaderProtocol); !strings.EqualFold(strings.TrimSpace(p), bup.Protocol) {
		return mismatch("the server chose protocol %q", p)
	}
	if ae := resp.Header.Get(bup.HeaderAcceptEncoding); ae != "" && !hasToken(ae, bup.IdentityEncoding) {
		return mismatch("the server accepts fragments encoded %q, not %s", ae, bup.IdentityEncoding)
	}
	s := job.UploadSession{ID: resp.Header.Get(bup.HeaderSessionID), FragmentLimit: r.sess.FragmentLimit}
	if s.ID == "" || len(s.ID) > bup.MaxSessionIDLen {
		return r.invalid("Create-Session: session id %q", s.ID)
	}
	if h := strings.TrimSpace(resp.Header.Get(bup.HeaderHostID)); h != "" {
		s.HostID = h
		if v := resp.Header.Get(bup.HeaderHostIDFallbackTimeout); v != "" {
			secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return r.invalid("Create-Session: %s %q", bup.HeaderHostIDFallbackTimeout, v)
			}
			s.HostFallback = time.Duration(secs) * time.Second
		}
	}
	r.lastAcked = false
	if err := r.setProgress(0); err != nil {
		return err
	}
	return r.setSession(s)
}

// hasToken reports whether the comma-separated list v names tok, without regard to case.
func hasToken(v, tok string) bool {
	for t := range strings.SplitSeq(v, ",") {
		name, _, _ := strings.Cut(t, ";")
		if strings.EqualFold(strings.TrimSpace(name), tok) {
			return true
		}
	}
	return false
}

// fragment sends the next fragment and follows the Ack (see Upload).
func (r *uploadRun) fragment() error {
	start := r.prog.Transferred
	rg := bup.Range{}
	if r.size > 0 {
		if start >= r.size {
			// Every byte is acknowledged, the reply URL is not: send the last fragment again.
			start = r.size - min(r.frag, r.size)
		}
		n := min(r.frag, r.size-start)
		rg = bup.Range{First: start, Last: start + n - 1, Total: r.size}
	}
	h := http.Header{}
	h.Set(bup.HeaderContentRange, rg.String())
	if rg.First == 0 {
		h.Set(bup.HeaderContentName, filepath.Base(r.spec.Local))
	}
	body := &fragmentBody{r: r, src: io.NewSectionReader(r.src, int64(rg.First), int64(rg.Len()))}
	resp, err := r.packet(bup.Fragment, h, body)
	if err != nil {
		return err
	}
	defer discard(resp)
	if err := r.checkLocal(false); err != nil {
		return err
	}
	switch {
	case ok2xx(resp):
		return r.acked(resp, rg)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		next, err := r.received(resp)
		if err != nil {
			return err
		}
		if r.misses++; next == rg.First || r.misses > 3 {
			return r.invalid("Fragment %s: 416 asking for byte %d", rg, next)
		}
		return r.setProgress(next)
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		if rg.Len() <= MinFragmentSize {
			return r.ackErr(resp)
		}
		r.frag = max(rg.Len()/2, MinFragmentSize)
		s := r.sess
		s.FragmentLimit = r.frag
		return r.setSession(s)
	case sessionGone(resp):
		if r.notFound++; r.notFound > 1 {
			e := r.ackErr(resp)
			e.Transient = true
			return e
		}
		return r.forget()
	}
	return r.ackErr(resp)
}

// acked follows the successful Ack to the fragment rg.
func (r *uploadRun) acked(resp *http.Response, rg bup.Range) error {
	if err := r.checkAck(resp); err != nil {
		return err
	}
	next, err := r.received(resp)
	if err != nil {
		return err
	}
	if next < rg.End() && next <= r.prog.Transferred && r.size > 0 {
		return r.invalid("Fragment %s: acknowledged up to byte %d", rg, next)
	}
	r.misses = 0
	if next == r.size {
		r.lastAcked = true
		if r.spec.Reply {
			ref := resp.Header.Get(bup.HeaderReplyURL)
			u, err := r.origin.Parse(ref)
			if ref == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return r.invalid("the Ack to the last fragment has no usable %s (%q)", bup.HeaderReplyURL, ref)
			}
			s := r.sess
			s.ReplyURL = u.String()
			if err := r.setSession(s); err != nil {
				return err
			}
		}
	}
	if next > r.prog.Transferred {
		r.notFound = 0
	}
	return r.setProgress(next)
}

// received reads BITS-Received-Content-Range: the offset the server expects next, at most the
// file's size.
func (r *uploadRun) received(resp *http.Response) (uint64, error) {
	v := resp.Header.Get(bup.HeaderReceivedContentRange)
	next, err := bup.ParseReceivedContentRange(strings.TrimSpace(v))
	if err != nil || next > r.size {
		return 0, r.invalid("%s %q for a file of %d bytes", bup.HeaderReceivedContentRange, v, r.size)
	}
	return next, nil
}

// close sends Close-Session. It reports gone when the server did not know the session although
// no Close-Session was sent before (so it lost the upload); a server that does not know the
// session closed again, or the session of an upload-reply job whose reply was downloaded, has
// nothing left to free.
func (r *uploadRun) close() (gone bool, err error) {
	first := !r.sess.CloseSent
	if first {
		s := r.sess
		s.CloseSent = true
		if err := r.setSession(s); err != nil {
			return false, err
		}
	}
	resp, err := r.packet(bup.CloseSession, nil, nil)
	if err != nil {
		return false, err
	}
	defer discard(resp)
	switch {
	case ok2xx(resp):
		return false, r.checkAck(resp)
	case sessionGone(resp):
		return first && !r.spec.Reply, nil
	}
	return false, r.ackErr(resp)
}

// target is where the next packet goes: the host named by BITS-Host-Id, or the remote name's
// host when there is none or it could not be reached for the fallback timeout, which ends the
// host's part (the session is dropped with it).
func (r *uploadRun) target() (*url.URL, bool, error) {
	s := r.sess
	if s.HostID == "" {
		return r.origin, false, nil
	}
	if s.HostFallback > 0 && !s.HostFailedSince.IsZero() && r.c.clk.Now().Sub(s.HostFailedSince) >= s.HostFallback {
		s.HostID, s.HostFallback, s.HostFailedSince = "", 0, time.Time{}
		return r.origin, false, r.setSession(s)
	}
	return hostURL(r.origin, s.HostID), true, nil
}

// hostURL is u with its host replaced by the BITS-Host-Id host: with its own port when it names
// one, else with u's port.
func hostURL(u *url.URL, host string) *url.URL {
	v := *u
	switch _, _, err := net.SplitHostPort(host); {
	case err == nil:
		v.Host = host
	case u.Port() != "":
		v.Host = net.JoinHostPort(strings.Trim(host, "[]"), u.Port())
	default:
		v.Host = host
	}
	return &v
}

// packet sends one packet of type typ, with the extra headers h and, for a fragment, body, to the
// target, after a Ping when the target's host was not pinged in this attempt (except for
// Cancel-Session). It returns the answer, or the classified failure.
func (r *uploadRun) packet(typ bup.PacketType, h http.Header, body *fragmentBody) (*http.Response, error) {
	u, isHost, err := r.target()
	if err != nil {
		return nil, err
	}
	if typ != bup.CancelSession && u.Host != r.pinged {
		resp, err := r.roundTrip(u, isHost, bup.Ping, nil, nil)
		if err != nil {
			return nil, err
		}
		defer discard(resp)
		if !ok2xx(resp) {
			return nil, r.ackErr(resp)
		}
		if err := r.checkAck(resp); err != nil {
			return nil, err
		}
		r.pinged = u.Host
		r.connect()
	}
	resp, err := r.roundTrip(u, isHost, typ, h, body)
	if err == nil && ok2xx(resp) {
		r.connect()
	}
	return resp, err
}

// roundTrip sends one request and waits for its answer. The request carries the job's custom
// headers and credentials, the packet type, the session id (but for Ping and Create-Session) and
// h. While it waits for the answer, or for the peer to take the fragment's next bytes, the upload
// counts as waiting on its peer (Waiter). A failure to reach the host named by BITS-Host-Id
// starts its fallback time; an answer from it ends that.
func (r *uploadRun) roundTrip(u *url.URL, isHost bool, typ bup.PacketType, h http.Header, body *fragmentBody) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.rctx, bup.Method, u.String(), nil)
	if err != nil {
		return nil, fatal(hresult.E_INVALIDARG, bits.ContextRemoteFile, protoHTTP, err)
	}
	req.Header = r.hdr.Clone()
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set(bup.HeaderPacketType, string(typ))
	if typ != bup.Ping && typ != bup.CreateSession {
		req.Header.Set(bup.HeaderSessionID, r.sess.ID)
	}
	if r.host != "" {
		req.Host = r.host
	}
	req.Body, req.ContentLength = http.NoBody, 0
	if body != nil {
		req.Body, req.ContentLength = body, body.src.Size()
		if req.ContentLength == 0 {
			req.Body = http.NoBody
		}
	}
	r.pw.set(true)
	resp, err := r.c.transport(r.opt.SecurityFlags).RoundTrip(req)
	var berr error
	if body != nil {
		berr = body.finish()
	}
	r.pw.set(false)
	if berr != nil {
		if resp != nil {
			discard(resp)
		}
		return nil, ctxErr(r.ctx, berr)
	}
	if err != nil {
		e := r.netErr(err)
		var te *Error
		if isHost && errors.As(e, &te) && te.Code == hresult.BG_E_CONNECT_FAILURE && r.sess.HostFailedSince.IsZero() {
			s := r.sess
			s.HostFailedSince = r.c.clk.Now()
			if serr := r.setSession(s); serr != nil {
				return nil, serr
			}
		}
		return nil, e
	}
	r.wd.touch()
	if isHost && !r.sess.HostFailedSince.IsZero() {
		s := r.sess
		s.HostFailedSince = time.Time{}
		if err := r.setSession(s); err != nil {
			discard(resp)
			return nil, err
		}
	}
	return resp, nil
}

// netErr classifies a failed request: ctx's error when ctx ended, the stall error when the
// stall timer cancelled it, netError otherwise.
func (r *uploadRun) netErr(err error) error {
	if e := r.ctx.Err(); e != nil {
		return e
	}
	if errors.Is(context.Cause(r.rctx), errStalled) {
		err = fmt.Errorf("%w (%v)", errStalled, err)
	}
	return netError(err, false)
}

// checkAck fails with a fatal BG_E_INVALID_SERVER_RESPONSE when a successful answer is not an
// Ack: the server does not speak the upload protocol.
func (r *uploadRun) checkAck(resp *http.Response) error {
	if p, ok := bup.ParsePacketType(resp.Header.Get(bup.HeaderPacketType)); !ok || p != bup.Ack {
		return r.invalid("%s answered %s without %s: Ack", bup.Method, resp.Status, bup.HeaderPacketType)
	}
	return nil
}

// invalid is the fatal error for an answer that breaks the protocol.
func (r *uploadRun) invalid(format string, args ...any) *Error {
	return fatal(hresult.BG_E_INVALID_SERVER_RESPONSE, bits.ContextRemoteFile, protoHTTP,
		fmt.Errorf("upload to %s: "+format, append([]any{r.origin.Redacted()}, args...)...))
}

// ackErr is the error a failed Ack reports (see Upload): its BITS-Error-Code, else
// BG_E_HTTP_ERROR_nnn; its BITS-Error-Context, else REMOTE_FILE; transient or fatal by status.
func (r *uploadRun) ackErr(resp *http.Response) *Error {
	e := statusError(bup.Method, r.origin.Redacted(), resp.StatusCode, resp.Status)
	be, perr := bup.ErrorFromHeaders(resp.StatusCode, resp.Header)
	switch {
	case perr != nil:
		e.Err = fmt.Errorf("%w: %w", e.Err, perr)
	case be != nil:
		if be.Code.Failed() {
			e.Code = be.Code
		}
		if c := bits.ErrorContext(be.Context); c >= bits.ContextUnknown && c <= bits.ContextRemoteApplication {
			e.Context = c
		}
		e.Err = fmt.Errorf("%w: %w", e.Err, be)
	}
	return e
}

// ok2xx reports a successful status.
func ok2xx(resp *http.Response) bool { return resp.StatusCode/100 == 2 }

// sessionGone reports a failed Ack saying the server does not know the session.
func sessionGone(resp *http.Response) bool {
	if ok2xx(resp) {
		return false
	}
	be, err := bup.ErrorFromHeaders(resp.StatusCode, resp.Header)
	return err == nil && be != nil && be.Code == hresult.BG_E_SESSION_NOT_FOUND
}

// peerWait tells a Waiter when the upload starts and stops waiting on its peer, from the
// uploading goroutine and from the transport's, which reads the fragment: calls that do not
// change the state are dropped, so the Waiter always hears pairs.
type peerWait struct {
	w  Waiter
	mu sync.Mutex
	on bool
}

func (p *peerWait) set(on bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on != on {
		p.on = on
		p.w.Waiting(on)
	}
}

// errBodyDone is what a fragment's body gives once its request returned.
var errBodyDone = errors.New("transfer: the fragment's request has returned")

// fragmentBody is the body of a Fragment: the bytes of the local file the fragment covers, read
// by the transport as it sends them. Each read is paced by the bandwidth limit and feeds the
// stall timer; between reads the transport writes to the connection, which is waiting on the
// peer. A local file that fails or ends early stops the request with that failure.
type fragmentBody struct {
	r    *uploadRun
	src  *io.SectionReader
	mu   sync.Mutex
	done bool
	sent int64
	err  error // a failure of the local file, which the request's error stands for
}

func (b *fragmentBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return 0, errBodyDone
	}
	b.r.pw.set(false) // the peer took the bytes before: the upload is busy
	b.mu.Unlock()
	b.r.wd.touch()
	if len(p) > b.r.c.chunk {
		p = p[:b.r.c.chunk]
	}
	if left := b.src.Size() - b.sent; int64(len(p)) > left {
		p = p[:left]
	}
	if len(p) > 0 {
		if err := b.r.wait(len(p)); err != nil {
			return 0, err
		}
	}
	n, err := b.src.Read(p)
	b.sent += int64(n)
	var local error
	switch {
	case err == io.EOF && b.sent < b.src.Size():
		local = localChanged(b.r.spec.Local, b.r.version, "shorter than before")
	case err != nil && err != io.EOF:
		local = transient(hresult.E_FAIL, bits.ContextLocalFile, protoHTTP, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if local != nil {
		b.err, err = local, local
	}
	if !b.done {
		b.r.pw.set(true) // the transport writes the bytes to the peer
	}
	return n, err
}

// Close ends the body.
func (b *fragmentBody) Close() error {
	_ = b.finish()
	return nil
}

// finish makes later reads fail, the request having returned, and returns the local file's
// failure that ended the request, if one did.
func (b *fragmentBody) finish() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	return b.err
}
