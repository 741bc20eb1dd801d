package transfer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Error.Protocol values.
const (
	protoHTTP = "http"
	protoFile = "file"
)

// Win32 errors BITS reports for failures hresult has no BG_E_* code for.
const (
	// errWin32DiskFull is ERROR_DISK_FULL as a Windows errno.
	errWin32DiskFull syscall.Errno = 112
)

// errStalled is the cause of a request cancelled by the stall timer. It wraps
// os.ErrDeadlineExceeded, so errors.Is(err, os.ErrDeadlineExceeded) holds for a stalled fetch.
var errStalled = fmt.Errorf("transfer: no data arrived within the stall timeout: %w", os.ErrDeadlineExceeded)

func fatal(code hresult.Code, ctx bits.ErrorContext, proto string, err error) *Error {
	return &Error{Code: code, Context: ctx, Protocol: proto, Err: err}
}

func transient(code hresult.Code, ctx bits.ErrorContext, proto string, err error) *Error {
	return &Error{Code: code, Context: ctx, Transient: true, Protocol: proto, Err: err}
}

// statusTransient reports whether BITS retries an HTTP status that is not a success. It is the
// table BITS documents for server-application replies of upload-reply jobs, which the digest
// recommends for downloads too (and which agrees with "resume later" for 503 and 504):
//
//	3xx (a redirect not followed)  transient, except 300–305 and 307: fatal
//	4xx                            fatal, except 408 (Request Timeout) and 409 (Conflict): transient
//	5xx                            transient, except 501 (Not Implemented) and 505: fatal
//	anything else (1xx, 2xx, <100, ≥600) transient
func statusTransient(status int) bool {
	switch {
	case status >= 300 && status < 400:
		return !(status <= 305 || status == 307)
	case status >= 400 && status < 500:
		return status == 408 || status == 409
	case status >= 500 && status < 600:
		return status != 501 && status != 505
	}
	return true
}

// statusError is the *Error for an HTTP answer whose status ends the attempt: code
// BG_E_HTTP_ERROR_nnn (statusCode), context REMOTE_FILE, transient per statusTransient.
func statusError(method, redacted string, status int, text string) *Error {
	err := fmt.Errorf("%s %s: %s", method, redacted, text)
	e := fatal(statusCode(status), bits.ContextRemoteFile, protoHTTP, err)
	e.Transient = statusTransient(status)
	return e
}

// statusCode is the HRESULT for an HTTP status that ends the attempt: BG_E_HTTP_ERROR_nnn for
// the statuses HTTP defines (100–599), BG_E_INVALID_SERVER_RESPONSE for any other three-digit
// status (000–099, 600–999), which no HTTP version defines and for which BITS has no
// BG_E_HTTP_ERROR code.
func statusCode(status int) hresult.Code {
	if status < 100 || status > 599 {
		return hresult.BG_E_INVALID_SERVER_RESPONSE
	}
	return hresult.HTTP(status)
}

// proxyStatus is the error the transport returns when a proxy refuses a CONNECT request.
type proxyStatus struct {
	status int
	text   string
}

func (e *proxyStatus) Error() string { return "proxy refused CONNECT: " + e.text }

// netError classifies a failure of the network or of the server's HTTP framing. started tells
// whether the answer's headers had arrived (the failure cut a body) or not (the request or the
// connection failed).
//
//	failure                                    code                              context           retried
//	certificate not trusted, expired, wrong    ERROR_WINHTTP_SECURE_FAILURE       REMOTE_FILE       no
//	  host name (x509 errors)                    (0x80072F8F)
//	proxy answered CONNECT with a status        BG_E_HTTP_ERROR_nnn (statusCode)  REMOTE_FILE       per statusTransient
//	name not resolved, connection refused,      BG_E_CONNECT_FAILURE              GENERAL_TRANSPORT yes
//	  unreachable, dial or TLS handshake failed
//	connection reset or closed, EOF before or   BG_E_CONNECTION_CLOSED            GENERAL_TRANSPORT yes
//	  within the body, any other read error
//	unparseable HTTP answer                     BG_E_INVALID_SERVER_RESPONSE      GENERAL_TRANSPORT yes
//	stall timeout (no bytes for StallTimeout)   ERROR_WINHTTP_TIMEOUT             GENERAL_TRANSPORT yes
func netError(err error, started bool) *Error {
	var (
		cert     *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		pstatus  *proxyStatus
		dns      *net.DNSError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &cert), errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname):
		return fatal(hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, protoHTTP, err)
	case errors.As(err, &pstatus):
		e := fatal(statusCode(pstatus.status), bits.ContextRemoteFile, protoHTTP, err)
		e.Transient = statusTransient(pstatus.status)
		return e
	case errors.Is(err, errStalled):
		return transient(hresult.ERROR_WINHTTP_TIMEOUT, bits.ContextGeneralTransport, protoHTTP, err)
	case started:
		return transient(hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, protoHTTP, err)
	case errors.As(err, &dns):
		return transient(hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, protoHTTP, err)
	case errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect"):
		return transient(hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, protoHTTP, err)
	case isTLSHandshake(err):
		return transient(hresult.BG_E_CONNECT_FAILURE, bits.ContextGeneralTransport, protoHTTP, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return transient(hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, protoHTTP, err)
	case strings.Contains(err.Error(), "malformed HTTP"):
		return transient(hresult.BG_E_INVALID_SERVER_RESPONSE, bits.ContextGeneralTransport, protoHTTP, err)
	}
	return transient(hresult.BG_E_CONNECTION_CLOSED, bits.ContextGeneralTransport, protoHTTP, err)
}

// isTLSHandshake reports whether err is a TLS failure other than certificate validation (an
// alert from the server, a record that is not TLS, ...).
func isTLSHandshake(err error) bool {
	var (
		alert  tls.AlertError
		record tls.RecordHeaderError
	)
	return errors.As(err, &alert) || errors.As(err, &record) || strings.Contains(err.Error(), "tls: ")
}

// localError classifies a failure to write or truncate the temporary file (context LOCAL_FILE):
//
//	disk full or quota exceeded            ERROR_DISK_FULL   transient (space may be freed; the
//	                                                          no-progress timeout bounds the retries)
//	permission denied, read-only file      E_ACCESSDENIED    fatal
//	  system, file not open for writing
//	anything else                          E_FAIL            fatal
func localError(err error, proto string) *Error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		runtime.GOOS == "windows" && errors.As(err, &errno) && errno == errWin32DiskFull:
		return transient(hresult.ERROR_DISK_FULL, bits.ContextLocalFile, proto, err)
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EBADF), errors.Is(err, syscall.EROFS):
		return fatal(hresult.E_ACCESSDENIED, bits.ContextLocalFile, proto, err)
	}
	return fatal(hresult.E_FAIL, bits.ContextLocalFile, proto, err)
}

// ctxErr returns ctx's error when ctx has ended, so that a cancelled fetch returns ctx.Err()
// whatever failure the cancellation caused on its way.
func ctxErr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	return err
}
