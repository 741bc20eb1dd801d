package hresult

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Code is an HRESULT: a 32-bit Windows status value whose top bit says whether it reports a
// failure. The named constants of this package are Codes. A Code implements error, so it can be
// returned directly and matched with errors.Is.
type Code uint32

// Layout of the HRESULT ranges this package treats specially.
const (
	severityBit       Code = 0x80000000
	httpBase          Code = 0x80190000 // facility 0x19 (HTTP) with the severity bit set
	win32Base         Code = 0x80070000 // facility 7 (Win32) with the severity bit set
	httpMin                = 100
	httpMax                = 599
	httpAnyMax             = 999
	httpPrefix             = "BG_E_HTTP_ERROR_"
	win32Prefix            = "HRESULT_FROM_WIN32("
	unknownPrefix          = "HRESULT 0x"
	unknownFormat          = "HRESULT 0x%08X"
	valueFormat            = "0x%08X"
	unknownFailMsg         = "unrecognised HRESULT failure code"
	unknownOKMsg           = "unrecognised HRESULT success code"
	httpMsgFormat          = "the server replied with HTTP status %d"
	httpMsgTextFormat      = "the server replied with HTTP status %d (%s)"
)

// Failed reports whether c is a failure code, that is whether its severity bit (0x80000000) is
// set.
func (c Code) Failed() bool { return c&severityBit != 0 }

// Succeeded reports whether c is a success code (S_OK, S_FALSE, BG_S_* and the like), that is
// whether its severity bit is clear.
func (c Code) Succeeded() bool { return !c.Failed() }

// Name returns the symbolic name of c as BITS and the Windows headers spell it, for example
// "BG_E_INVALID_STATE".
//
// Codes in the HTTP range for statuses 100 to 599 are named "BG_E_HTTP_ERROR_nnn" whether or not
// the status has a constant of its own. Codes that wrap a Win32 error are named the way the
// headers build them, for example "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)". Any other value
// is named by its number: "HRESULT 0x8020FFFF".
func (c Code) Name() string {
	if e, ok := byCode[c]; ok {
		return e.name
	}
	if s, ok := c.HTTPStatus(); ok {
		return httpPrefix + strconv.Itoa(s)
	}
	return fmt.Sprintf(unknownFormat, uint32(c))
}

// Message returns a one-line English description of c, written for bitsemu. HTTP codes mention
// the status and, when net/http knows it, its reason phrase. A code this package does not know
// gets a generic text that only says whether it is a failure or a success code.
func (c Code) Message() string {
	if msg, ok := c.message(); ok {
		return msg
	}
	if c.Failed() {
		return unknownFailMsg
	}
	return unknownOKMsg
}

// message returns the specific text for c, and false when c has none.
func (c Code) message() (string, bool) {
	if e, ok := byCode[c]; ok {
		return e.msg, true
	}
	if s, ok := c.HTTPStatus(); ok {
		return httpMessage(s), true
	}
	return "", false
}

// httpMessage is the text of the HRESULT for an HTTP status.
func httpMessage(status int) string {
	if t := http.StatusText(status); t != "" {
		return fmt.Sprintf(httpMsgTextFormat, status, t)
	}
	return fmt.Sprintf(httpMsgFormat, status)
}

// String returns the name and the hexadecimal value of c, for example
// "BG_E_INVALID_STATE (0x80200002)". A code without a name is shown as its number alone, for
// example "HRESULT 0x8020FFFF".
//
// Because Code is an error, fmt's %v and %s verbs print Error, not String; call String
// explicitly for the short form.
func (c Code) String() string {
	name := c.Name()
	if strings.HasPrefix(name, unknownPrefix) {
		return name
	}
	return name + " (" + fmt.Sprintf(valueFormat, uint32(c)) + ")"
}

// Error returns String followed by the message, for example
// "BG_E_INVALID_STATE (0x80200002): the job's current state does not allow this call".
func (c Code) Error() string { return c.String() + ": " + c.Message() }

// HTTP returns the HRESULT BITS uses for an HTTP status: 0x80190000 plus the status, so HTTP(404)
// is BG_E_HTTP_ERROR_404 (0x80190194). Any status from 0 to 999 is mapped that way, including
// the ones without a constant of their own. A status outside 0..999 is not a valid three-digit
// HTTP status; for it HTTP returns BG_E_INVALID_SERVER_RESPONSE.
func HTTP(status int) Code {
	if status < 0 || status > httpAnyMax {
		return BG_E_INVALID_SERVER_RESPONSE
	}
	return httpBase + Code(status)
}

// HTTPStatus is the inverse of HTTP: for a code 0x80190000 plus a status from 100 to 599 it
// returns the status and true. For every other code it returns 0 and false.
func (c Code) HTTPStatus() (int, bool) {
	if c < httpBase+httpMin || c > httpBase+httpMax {
		return 0, false
	}
	return int(c - httpBase), true
}

// FromWin32 converts a Win32 error code into an HRESULT the way the HRESULT_FROM_WIN32 macro
// does: 0 (ERROR_SUCCESS) becomes S_OK, and any other value becomes 0x80070000 with the low 16
// bits of err. For example FromWin32(2) is ERROR_FILE_NOT_FOUND (0x80070002).
func FromWin32(err uint32) Code {
	if err == 0 {
		return S_OK
	}
	return win32Base | Code(err&0xFFFF)
}

// Lookup returns the code whose Name is name. Besides the names of the constants it accepts
// "BG_E_HTTP_ERROR_nnn" for every status from 100 to 599, the "HRESULT_FROM_WIN32(...)" names
// and the bare constant names of the codes they stand for (both
// "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)" and "ERROR_FILE_NOT_FOUND"), and the
// "HRESULT 0x%08X" form Name gives to a code it does not know, so that Lookup(c.Name()) always
// finds c. The match is case-sensitive.
func Lookup(name string) (Code, bool) {
	if c, ok := byName[name]; ok {
		return c, true
	}
	if rest, ok := strings.CutPrefix(name, httpPrefix); ok && len(rest) == 3 {
		if s, err := strconv.Atoi(rest); err == nil && s >= httpMin && s <= httpMax {
			return HTTP(s), true
		}
	}
	if rest, ok := strings.CutPrefix(name, unknownPrefix); ok && len(rest) == 8 {
		if v, err := strconv.ParseUint(rest, 16, 32); err == nil {
			return Code(v), true
		}
	}
	return 0, false
}

// All returns every named code of the package, sorted by value, in a new slice the caller may
// modify. The HTTP codes in it are the BG_E_HTTP_ERROR_nnn constants only, not every status that
// Name can spell.
func All() []Code {
	out := make([]Code, len(sorted))
	copy(out, sorted)
	return out
}
