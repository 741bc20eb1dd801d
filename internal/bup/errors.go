package bup

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/hresult"
)

// ErrorContext is the value of BITS-Error-Context: where a server-side error happened. Its
// values are those of BG_ERROR_CONTEXT.
type ErrorContext uint32

// The two contexts an upload server reports ("Ack for Create-Session"; [MC-BUP 2.2.1.2]).
const (
	// ContextRemoteFile (BG_ERROR_CONTEXT_REMOTE_FILE, 0x5) is an error of the BITS server
	// itself; [MC-BUP] calls it CONTEXT_SERVER.
	ContextRemoteFile ErrorContext = 0x5
	// ContextRemoteApplication (BG_ERROR_CONTEXT_REMOTE_APPLICATION, 0x7) is an error of the
	// server application the upload was handed to.
	ContextRemoteApplication ErrorContext = 0x7
)

// String formats c as a BITS-Error-Context value, in hexadecimal: "0x5".
func (c ErrorContext) String() string { return "0x" + strconv.FormatUint(uint64(c), 16) }

// ParseErrorContext parses a BITS-Error-Context value: a hexadecimal number with or without a
// "0x" prefix ("0x5", "0x00000007", "5"). Other values are errors wrapping ErrMalformed. Any
// number is accepted, not only the two a server should send, so that a client can report what
// it got.
func ParseErrorContext(s string) (ErrorContext, error) {
	v, err := parseHex32(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: %v", ErrMalformed, HeaderErrorContext, s, err)
	}
	return ErrorContext(v), nil
}

// FormatErrorCode formats c as a BITS-Error-Code value: "0x" and eight upper-case hexadecimal
// digits, for example "0x8020001F".
func FormatErrorCode(c hresult.Code) string { return fmt.Sprintf("0x%08X", uint32(c)) }

// ParseErrorCode parses a BITS-Error-Code (or BITS-Error) value: one to eight hexadecimal
// digits, in either case, with or without a "0x" prefix ("0x80070057", "8020001f"). Other values,
// including signed or decimal forms, are errors wrapping ErrMalformed.
func ParseErrorCode(s string) (hresult.Code, error) {
	v, err := parseHex32(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: %v", ErrMalformed, HeaderErrorCode, s, err)
	}
	return hresult.Code(v), nil
}

func parseHex32(s string) (uint32, error) {
	digits := s
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits = s[2:]
	}
	if digits == "" || len(digits) > 8 {
		return 0, fmt.Errorf("want 1 to 8 hexadecimal digits")
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, fmt.Errorf("want 1 to 8 hexadecimal digits")
		}
	}
	v, err := strconv.ParseUint(digits, 16, 32)
	if err != nil {
		return 0, err
	}
	return uint32(v), nil
}

// Error is a failed Ack: its HTTP status, the HRESULT of its BITS-Error-Code (or BITS-Error)
// header and its BITS-Error-Context. errors.Is sees through it to Code, so
// errors.Is(err, hresult.BG_E_SESSION_NOT_FOUND) holds for a server that lost the session.
type Error struct {
	Status  int          // HTTP status of the Ack, for example 500
	Code    hresult.Code // the HRESULT; 0 when the Ack carried none
	Context ErrorContext // where the error happened; 0 when the Ack carried none
}

// Error formats e as "BITS upload: HTTP 500, BG_E_SESSION_NOT_FOUND (0x8020001F): ..., context
// 0x5", leaving out what the Ack did not carry.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("BITS upload: HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != 0 {
		b.WriteString(", ")
		b.WriteString(e.Code.Error())
	}
	if e.Context != 0 {
		b.WriteString(", context ")
		b.WriteString(e.Context.String())
	}
	return b.String()
}

// Unwrap returns Code, or nil when the Ack carried no code.
func (e *Error) Unwrap() error {
	if e.Code == 0 {
		return nil
	}
	return e.Code
}

// SetHeaders writes e's BITS-Error-Code and BITS-Error-Context into h, along with
// "BITS-Packet-Type: Ack": the headers of a failed Ack. The status is the caller's to write.
func (e *Error) SetHeaders(h http.Header) {
	h.Set(HeaderPacketType, string(Ack))
	h.Set(HeaderErrorCode, FormatErrorCode(e.Code))
	h.Set(HeaderErrorContext, e.Context.String())
}

// ErrorFromHeaders reads the error that an Ack with the given status and headers reports:
// BITS-Error-Code (or BITS-Error when BITS-Error-Code is absent) and BITS-Error-Context. It
// returns nil, nil when the Ack carries neither header; what a failed status without them means
// is the caller's to judge. A header that is present but malformed is an error wrapping
// ErrMalformed.
func ErrorFromHeaders(status int, h http.Header) (*Error, error) {
	codeText, hasCode := headerValue(h, HeaderErrorCode)
	if !hasCode {
		codeText, hasCode = headerValue(h, HeaderError)
	}
	ctxText, hasCtx := headerValue(h, HeaderErrorContext)
	if !hasCode && !hasCtx {
		return nil, nil
	}
	e := &Error{Status: status}
	var err error
	if hasCode {
		if e.Code, err = ParseErrorCode(strings.TrimSpace(codeText)); err != nil {
			return nil, err
		}
	}
	if hasCtx {
		if e.Context, err = ParseErrorContext(strings.TrimSpace(ctxText)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func headerValue(h http.Header, name string) (string, bool) {
	v, ok := h[http.CanonicalHeaderKey(name)]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}
