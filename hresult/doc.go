// Package hresult defines the HRESULT values that bitsemu reports, with the same names and
// numbers as the Background Intelligent Transfer Service (BITS) and the Windows headers.
//
// An HRESULT is a 32-bit status word. Its top bit is the severity: when it is set the value
// reports a failure (for example BG_E_INVALID_STATE, 0x80200002); when it is clear the value
// reports success, possibly with a qualification (S_FALSE, BG_S_PARTIAL_COMPLETE). Bits 16-26
// hold the facility, the part of the system that produced the value: 0x20 for BITS itself, 0x19
// for HTTP status codes (BG_E_HTTP_ERROR_nnn, which is simply 0x80190000 plus the status) and 7
// for Win32 error codes wrapped by HRESULT_FROM_WIN32 (see FromWin32).
//
// The type Code is an HRESULT. It implements error, so a Code can be returned, compared and
// wrapped like any other Go error:
//
//	if errors.Is(err, hresult.BG_E_INVALID_STATE) { ... }
//
// Of goes the other way and turns any error back into the HRESULT that a BITS client would
// see: nil becomes S_OK, an error that carries a Code yields that Code, and anything else becomes
// E_FAIL.
//
// When a failure crosses a layer, wrap it in an *Error, which records the operation, the job and
// the job state alongside the Code and an optional underlying cause. errors.Is and errors.As see
// through it to both the Code and the cause.
//
// Description returns the text that GetErrorDescription hands out for a code and a language
// identifier. bitsemu only has English text, written for this package.
package hresult
