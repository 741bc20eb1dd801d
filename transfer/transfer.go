// Package transfer moves the bytes of one file of a BITS job with BITS's rules: for a download
// (Client.Fetch), from an http://, https:// or file:// URL, a UNC name or an absolute path into an
// open temporary file; for an upload or upload-reply job (Client.Upload, CloseSession,
// CancelSession), from a local file to a BITS upload server with the BITS upload protocol (see
// Client.Upload). Both share the Client's connections, proxies, TLS settings, stall timeout and
// bandwidth limit, and classify their failures the same way.
//
// For HTTP it follows BITS's server requirements (HTTP requirements for BITS downloads): a HEAD
// request for the size, then GET requests with a Range header, each answer checked for
// Content-Range and Content-Length. A server that cannot do this fails with
// BG_E_MISSING_FILE_SIZE or BG_E_INSUFFICIENT_RANGE_SUPPORT unless the job allows dynamic
// content. A remote file whose size, ETag or Last-Modified changed since the previous attempt is
// downloaded again from byte 0 (file transfer consistency).
//
// Every failure is an *Error: its HRESULT, its BG_ERROR_CONTEXT, and whether BITS would retry it
// (TRANSIENT_ERROR) or give up (ERROR).
//
// Where BITS's documentation leaves room, the package decides as follows:
//
//   - Progressed is called once before the first byte of every fetch, with the size the source
//     gave and Transferred where the fetch resumes (0 when it restarts), then after every chunk.
//   - A 200 answer to a ranged GET is accepted only for a foreground job (Options.Foreground),
//     when the request was for the whole file from byte 0, the file is under 2 GiB and the
//     Content-Length is the size HEAD gave (BITS's fallback for servers without ranges); any
//     other 200, resuming from one included, fails with BG_E_INSUFFICIENT_RANGE_SUPPORT. Wrong
//     Content-Range or Content-Length answers are fatal BG_E_INVALID_SERVER_RESPONSE.
//   - A file that changes during a fetch (ETag, Last-Modified or size of a GET answer differing
//     from the HEAD's; size or time of a local file) restarts once from byte 0; a second change
//     in the same fetch is a transient BG_E_REMOTE_FILE_CHANGED.
//   - HTTP statuses follow the upload-reply table of BITS's documentation (3xx transient except
//     300–305 and 307; 4xx fatal except 408 and 409; 5xx transient except 501 and 505; others
//     transient). Network failures are transient (BG_E_CONNECT_FAILURE before a connection,
//     BG_E_CONNECTION_CLOSED after; ERROR_WINHTTP_TIMEOUT when nothing arrived for the stall
//     timeout); certificate failures are a fatal ERROR_WINHTTP_SECURE_FAILURE (0x80072F8F).
//     A full disk is a transient
//     ERROR_DISK_FULL, other failures of the temporary file fatal.
//   - A redirect the policy refuses is fatal with HRESULT_FROM_WIN32 of its status (308 counts
//     as 301); https to http needs BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP; at most 10
//     redirects per request; never to other schemes.
//   - BASIC credentials are sent with the first request, not after a challenge; other schemes
//     are not sent.
//   - The BG_SSL_IGNORE_* security flags each let exactly one class of certificate fault
//     through (wrong host name, expired or not yet valid, unknown root, wrong extended key
//     usage); any fault not ignored fails as without flags. BG_SSL_ENABLE_CRL_CHECK is not
//     honoured: revocation is never checked.
//   - Local files honour ranges (BITS 3.0 refuses them for SMB; the job layer enforces that).
//     UNC names fail with ERROR_PATH_NOT_FOUND except on Windows.
//   - Local sources are read with the process's rights; Options.ReadRoots and Options.NoRead
//     limit them (a fatal E_ACCESSDENIED, context REMOTE_FILE).
//   - Options.LimitSize enforces the job's maximum download size: a fatal
//     BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, context REMOTE_FILE, before writing when the size is
//     known, at the cap when it is not.
package transfer

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
)

// Spec is one file to fetch, and what earlier attempts learnt about it.
type Spec struct {
	// Remote is the file's remote name: an http or https URL, a file URL, a UNC name or an
	// absolute path.
	Remote string
	// Ranges are the byte ranges to fetch (AddFileWithRanges), written back to back in the
	// order given; nil means the whole file. A range's Length may be bits.LengthToEOF.
	Ranges []bits.FileRange
	// Offset is how many bytes of the output are already in the temporary file and need not
	// be fetched again: the fetch continues from there.
	Offset uint64
	// Total is the output's size as an earlier attempt learnt it, or bits.SizeUnknown.
	Total uint64
	// Validator identifies the remote file's version as an earlier attempt saw it ("" when
	// none did). When the remote file's version differs, the fetch restarts from byte 0.
	Validator string
}

// Options are the job's settings that shape its requests.
type Options struct {
	// Headers are the job's custom headers (SetCustomHeaders): lines "Name: value", each ended
	// by CRLF, added to every HTTP request.
	Headers string
	// Method replaces GET (SetHttpMethod); "" means GET.
	Method string
	// Credentials are the job's credentials (SetCredentials). BASIC credentials for the
	// server target are sent in an Authorization header; BASIC credentials for the proxy
	// target in a Proxy-Authorization header; other schemes are not sent.
	Credentials []bits.Credentials
	// ProxyUsage, ProxyList and ProxyBypass are the job's proxy settings (SetProxySettings).
	ProxyUsage  bits.ProxyUsage
	ProxyList   string
	ProxyBypass string
	// SecurityFlags are the job's BG_SSL_* and BG_HTTP_REDIRECT_POLICY_* flags
	// (SetSecurityFlags): the redirect policy and the BG_SSL_IGNORE_* flags are honoured,
	// BG_SSL_ENABLE_CRL_CHECK is not.
	SecurityFlags uint32
	// Foreground reports that the job's priority is BG_JOB_PRIORITY_FOREGROUND. Only a
	// foreground job may take a file under 2 GB from a server that ignores Range, in one
	// answer from byte 0.
	Foreground bool
	// DynamicContent is the BITS_JOB_PROPERTY_DYNAMIC_CONTENT property: the server need not
	// give a size or honour ranges, and any interruption restarts the file from byte 0.
	DynamicContent bool
	// Limiter, when not nil, bounds the rate at which bytes are read from the source.
	Limiter *rate.Limiter
	// Limited, when not nil, is asked before each read whether Limiter applies now: a manager
	// uses it to follow a job whose priority changes while it transfers. It is called on the
	// fetching goroutine.
	Limited func() bool
	// LimitWake, when not nil, ends a wait for Limiter early (LimitWake.Wake), so that the
	// fetch asks Limited again and goes on at once when Limiter no longer applies.
	LimitWake *LimitWake
	// LimitSize caps the output at MaxSize bytes: what the job's
	// BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE leaves for this file once the job's other files are
	// counted. A source whose size is known and larger fails before a byte is written; one whose
	// size shows only while it is read (dynamic content without Content-Length) is written up
	// to MaxSize bytes and then fails. Both are a fatal BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED,
	// context REMOTE_FILE. An output of exactly MaxSize bytes is accepted.
	LimitSize bool
	MaxSize   uint64
	// ReadRoots, when not empty, confines the local files the job may read (file URLs,
	// absolute paths, UNC names) to these directories and their subdirectories, which must be
	// absolute and clean with symbolic links resolved. The source is opened through os.Root:
	// a link that leads out of its root, or any absolute link, is refused. A source outside
	// them fails with a fatal E_ACCESSDENIED, context REMOTE_FILE.
	ReadRoots []string
	// NoRead are directories none of whose files the job may read (the manager's store): a
	// source that is one of their files under any name (a symbolic or a hard link, another
	// mount) fails with a fatal E_ACCESSDENIED, context REMOTE_FILE, before a byte is copied.
	NoRead []string
	// ReadAs, when not nil, runs open, which opens a local source (a file URL, an absolute path,
	// an upload's local file), with the rights of the job's owner rather than the process's: a
	// service that runs as one user for many gives it, so that a job reads only what its owner
	// may. open's own failure (permission denied) is classified as any failure to open; an error
	// of ReadAs itself (the rights cannot be taken) fails with a fatal E_ACCESSDENIED.
	ReadAs func(open func()) error
}

// A LimitWake ends a fetch's wait for its Options.Limiter early, when whether the limiter
// applies may have changed (a manager wakes a job's fetch when the job's priority changes). The
// zero LimitWake is ready to use; it is safe for concurrent use and serves one fetch at a time.
type LimitWake struct {
	mu  sync.Mutex
	end func() // ends the wait in progress; nil when the fetch is not waiting
}

// Wake ends the fetch's wait for the limiter, if it is waiting: the fetch then asks
// Options.Limited again. The end of the wait (Waiter.Sleeping(false)) is reported before Wake
// returns, on the calling goroutine, as a clock's timer does it when the wait runs out.
func (w *LimitWake) Wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.end != nil {
		w.end()
	}
}

// set registers the end of the wait in progress, or nil when it is over. Once set(nil) returns,
// Wake no longer calls the previous function.
func (w *LimitWake) set(end func()) {
	w.mu.Lock()
	w.end = end
	w.mu.Unlock()
}

// Progress is reported as data arrives.
type Progress struct {
	// Total is the output's size (the sum of the ranges for a ranged file), or
	// bits.SizeUnknown while it is not known.
	Total uint64
	// Transferred is the number of bytes of the output written to the temporary file.
	Transferred uint64
	// Validator identifies the remote file's version (for the next attempt's Spec).
	Validator string
	// URL is the final URL after redirects, when it differs from Spec.Remote and the redirect
	// policy is BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT or ..._DISALLOW (the remote name is then
	// rewritten, as BITS does); otherwise "".
	URL string
}

// Observer hears about a fetch as it happens. Its methods are called on the fetching goroutine.
type Observer interface {
	// Connected is called once, when the server (or the source file) has answered: the job
	// moves from CONNECTING to TRANSFERRING.
	Connected()
	// Progressed is called after bytes were written to the temporary file, and once with
	// Transferred 0 when the fetch restarts the file from byte 0. An error stops the fetch;
	// Fetch then returns that error unchanged.
	Progressed(Progress) error
}

// Waiter is an Observer that also hears when its fetch waits on the peer: Waiting(true) is
// called before the fetch sends a request and waits for the answer, or reads the answer's body,
// and Waiting(false) when that call returns. A file source never waits on a peer. The calls are
// made on the fetching goroutine, in pairs. A manager uses them to tell a transfer that waits on
// a silent server from one that is busy (see manager.Manager.WaitIdle).
type Waiter interface {
	Waiting(bool)
	// Sleeping is called, in pairs likewise, around a wait on the Client's clock alone (for
	// the bandwidth limiter): nothing but the clock ends it.
	Sleeping(bool)
}

// Config configures a Client.
type Config struct {
	// TLS is the TLS configuration for https (for example one trusting a test server's
	// certificate). nil means the system defaults.
	TLS *tls.Config
	// Clock measures the stall timeout; nil means clock.Real().
	Clock clock.Clock
	// StallTimeout is how long a connection may deliver no bytes before the attempt fails
	// with a transient error. Zero means 2 minutes.
	StallTimeout time.Duration
	// ChunkSize is the size of each read, and so the most data a cut connection can lose
	// before it is recorded. Zero means 256 KiB. A fetch written directly (see DirectIOMin)
	// reads chunks of 4 MiB by default, and of ChunkSize rounded up to 4 KiB when ChunkSize is
	// set; it ends a chunk early when the source pauses past a multiple of ChunkSize.
	ChunkSize int
	// DirectIOMin is the least number of bytes a fetch must add to its file for it to write
	// them with direct I/O (O_DIRECT, on Linux, where the file system allows it): from the
	// chunk buffer to the disk, bypassing the page cache, each chunk read while the one before
	// it is written. A large download then neither waits for the kernel to find and fill a page
	// cache for it nor pushes other files out of the cache; a small one is written faster
	// through the cache. Progress is reported once a chunk is written either way. Zero means
	// 16 MiB; a negative value writes every fetch through the page cache. A source of unknown
	// size, and a fetch that starts over bytes the file already holds, are always written
	// through the page cache.
	DirectIOMin int64
	// FragmentSize is the size of the fragments an upload sends, and so the most data a cut
	// connection makes it send again. Zero means DefaultFragmentSize (8 MiB); a server that
	// refuses a fragment as too large (413) gets smaller ones.
	FragmentSize int64
	// Dial, when not nil, makes every network connection the Client opens: to HTTP and HTTPS
	// servers and to proxies alike (TLS is layered on top of the connection Dial returns).
	// nil means a net.Dialer's DialContext.
	//
	// Dial is called with network "tcp" and an address "host:port" (the port always given).
	// It must be safe for concurrent use by multiple goroutines. It should return promptly
	// once ctx is done, with an error; ctx ending after Dial returned has no effect on the
	// connection. A failure should be a *net.OpError with Op "dial" (as net.Dialer's are), so
	// that it is classified as a failure to connect (BG_E_CONNECT_FAILURE); any other error is
	// classified by what it wraps. The connection returned must honour the net.Conn contract,
	// deadlines and Close included: the Client closes it to end a fetch.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client fetches files. It keeps connections for reuse; it is safe for concurrent use.
// Make one with New.
type Client struct {
	cfg   Config
	state // the transports' state (impl.go)
}

// Fetch downloads spec into dst, which is the file's open temporary file: bytes of the output
// go to the same offsets in dst, and bytes before spec.Offset are kept as they are. It returns
// nil once the whole output is in dst, the error of obs.Progressed if it stopped the fetch,
// ctx.Err() if ctx ended, and an *Error otherwise.
func (c *Client) Fetch(ctx context.Context, spec Spec, opt Options, dst *os.File, obs Observer) error {
	return c.fetch(ctx, spec, opt, dst, obs)
}

// Error is a classified transfer failure.
type Error struct {
	// Code is the HRESULT the job records (GetError).
	Code hresult.Code
	// Context is the BG_ERROR_CONTEXT: bits.ContextRemoteFile for server answers and remote
	// files, bits.ContextLocalFile for the temporary file, bits.ContextGeneralTransport for
	// network failures.
	Context bits.ErrorContext
	// Transient reports whether BITS retries the failure (TRANSIENT_ERROR) rather than giving
	// up (ERROR).
	Transient bool
	// Protocol is "http" for http and https, "file" for files.
	Protocol string
	// Err is the underlying cause, if any.
	Err error
}

// Error describes the failure.
func (e *Error) Error() string {
	s := e.Code.String()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the HRESULT and the cause, so that errors.Is matches either.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Code, e.Err}
	}
	return []error{e.Code}
}
