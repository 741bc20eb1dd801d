// Package bup holds the definitions that the client and the server side of the BITS upload
// protocol share: the BITS_POST method, the packet types, the header names, the protocol GUID,
// and the parsers and formatters of the header values (Content-Range, BITS-Received-Content-Range,
// BITS-Error-Code, BITS-Error-Context, BITS-Supported-Protocols).
//
// The protocol is described by Microsoft in two places that mostly agree: the packet pages of the
// BITS documentation ("BITS Upload Protocol", "Ping", "Create-Session", "Fragment",
// "Close-Session", "Cancel-Session" and their "Ack for ..." pages) and the open specification
// [MC-BUP]. Every request is an HTTP/1.1 request with the method BITS_POST and a
// BITS-Packet-Type header; every answer carries "BITS-Packet-Type: Ack", whatever its status.
//
// Where the two sources name a thing differently, this package sends the name of the packet pages
// and accepts both: the error header is BITS-Error-Code on the packet pages and BITS-Error in
// [MC-BUP]; packet types are written "Create-Session" by the packet pages and Windows clients and
// "CREATE-SESSION" in [MC-BUP], so they are compared without regard to case.
//
// Parsers are strict: a value that does not follow the grammar is an error, never a guess.
package bup

import (
	"strings"
)

// Method is the HTTP method of every upload request [MC-BUP 2.2.1].
const Method = "BITS_POST"

// Protocol is the GUID of the BITS 1.5 upload protocol, the only protocol BITS defines
// ("Create-Session": BITS-Supported-Protocols). A server names it in BITS-Protocol when it
// accepts a session.
const Protocol = "{7df0354d-249b-430f-820d-3d2a9bef4931}"

// MaxSessionIDLen is the longest session identifier a server may hand out: any HTTP-legal string
// of up to 100 characters ("Ack for Create-Session").
const MaxSessionIDLen = 100

// MaxHeaderValueLen is the longest header value a BITS server accepts; a longer value is answered
// 400 with E_INVALIDARG [MC-BUP 2.2.1 and 2.2.1.2].
const MaxHeaderValueLen = 4096

// MaxProtocols is the number of GUIDs in BITS-Supported-Protocols that a Windows server reads at
// most [MC-BUP 6, note 6].
const MaxProtocols = 100

// Header names of the upload protocol. The BITS-specific ones come from the packet pages and
// [MC-BUP 2.2]; the Content-* ones are standard HTTP headers with the meaning the packet pages
// give them.
const (
	HeaderPacketType            = "BITS-Packet-Type"              // every request and every answer
	HeaderSupportedProtocols    = "BITS-Supported-Protocols"      // Create-Session: protocol GUIDs, most preferred first
	HeaderProtocol              = "BITS-Protocol"                 // Ack for Create-Session: the GUID the server chose
	HeaderSessionID             = "BITS-Session-Id"               // every packet after Create-Session, and their Acks
	HeaderHostID                = "BITS-Host-Id"                  // Ack for Create-Session: the host to send later packets to
	HeaderHostIDFallbackTimeout = "BITS-Host-Id-Fallback-Timeout" // Ack for Create-Session: seconds before falling back
	HeaderReceivedContentRange  = "BITS-Received-Content-Range"   // Ack for Fragment: the next offset the server expects
	HeaderReplyURL              = "BITS-Reply-URL"                // Ack for the last Fragment of an upload-reply
	HeaderErrorCode             = "BITS-Error-Code"               // failed Acks: the HRESULT, in hexadecimal
	HeaderError                 = "BITS-Error"                    // [MC-BUP]'s name for BITS-Error-Code; accepted, never sent
	HeaderErrorContext          = "BITS-Error-Context"            // failed Acks: 0x5 or 0x7, see ErrorContext
	HeaderContentName           = "Content-Name"                  // Create-Session and Fragment: the client's file name
	HeaderContentRange          = "Content-Range"                 // Fragment: "bytes first-last/total"
	HeaderContentLength         = "Content-Length"                // every request and every Ack
	HeaderContentEncoding       = "Content-Encoding"              // Fragment: only when not identity
	HeaderAcceptEncoding        = "Accept-Encoding"               // Ack for Create-Session: "Identity"
)

// Header names of the notification a BITS server sends to its server application when an upload
// is complete ("Notification Protocol for Server Applications"; [MC-BUP 2.2.12, 2.2.13]).
const (
	HeaderOriginalRequestURL    = "BITS-Original-Request-URL"     // request: the URL the client uploaded to
	HeaderRequestDataFileName   = "BITS-Request-DataFile-Name"    // request, by reference: path of the uploaded file
	HeaderResponseDataFileName  = "BITS-Response-DataFile-Name"   // request, by reference: path where the reply goes
	HeaderStaticResponseURL     = "BITS-Static-Response-URL"      // response: an absolute URL to use as the reply
	HeaderCopyFileToDestination = "BITS-Copy-File-To-Destination" // response: also publish the upload under its name
)

// IdentityEncoding is the only content encoding a BITS server accepts for fragments; the server
// names it in the Accept-Encoding header of its Ack for Create-Session ("Ack for Create-Session").
const IdentityEncoding = "Identity"

// PacketType is the value of the BITS-Packet-Type header. The constants are spelled the way
// Windows clients send them; ParsePacketType accepts any case.
type PacketType string

// The packet types. Ping, CreateSession, Fragment, CloseSession and CancelSession are requests;
// Ack is every answer.
const (
	Ping          PacketType = "Ping"
	CreateSession PacketType = "Create-Session"
	Fragment      PacketType = "Fragment"
	CloseSession  PacketType = "Close-Session"
	CancelSession PacketType = "Cancel-Session"
	Ack           PacketType = "Ack"
)

var packetTypes = []PacketType{Ping, CreateSession, Fragment, CloseSession, CancelSession, Ack}

// ParsePacketType returns the packet type named by s, compared without regard to case
// ("CREATE-SESSION" in [MC-BUP], "Create-Session" from Windows clients). It reports false for
// any other value, including one with surrounding spaces.
func ParsePacketType(s string) (PacketType, bool) {
	for _, p := range packetTypes {
		if equalFoldASCII(s, string(p)) {
			return p, true
		}
	}
	return "", false
}

// IsRequest reports whether p is a packet a client sends (every type but Ack).
func (p PacketType) IsRequest() bool {
	switch p {
	case Ping, CreateSession, Fragment, CloseSession, CancelSession:
		return true
	}
	return false
}

// ParseSupportedProtocols splits the value of BITS-Supported-Protocols into its GUIDs, in the
// client's order of preference. The list is delimited by spaces or commas ([MC-BUP 2.2.2.2]);
// empty items are skipped. At most MaxProtocols items are returned.
func ParseSupportedProtocols(s string) []string {
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(items) > MaxProtocols {
		items = items[:MaxProtocols]
	}
	return items
}

// SupportsProtocol reports whether the BITS-Supported-Protocols value s names Protocol. GUIDs are
// compared without regard to case.
func SupportsProtocol(s string) bool {
	for _, p := range ParseSupportedProtocols(s) {
		if equalFoldASCII(p, Protocol) {
			return true
		}
	}
	return false
}

// equalFoldASCII reports whether a and b are equal when ASCII letters are compared without
// regard to case. Unlike strings.EqualFold it folds nothing else, so "AcK" with a Kelvin sign
// is not "Ack".
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
