// Package upload is the server side of the BITS upload protocol: an [http.Handler] that
// receives BITS upload and upload-reply jobs into a directory, with the semantics of the IIS
// BITS server extension.
//
// A client opens a session with a Create-Session packet sent to the URL of the file it wants
// to create, sends the file in Fragment packets, and ends with Close-Session (or gives up with
// Cancel-Session). The handler keeps each session's bytes in a directory of its own,
// BITS-Sessions/{id} under the destination directory, and publishes the file under its final
// name only when the client closes a complete session: the session's data file, written and
// flushed to disk fragment by fragment, is renamed (or hard-linked, when overwriting is not
// allowed) into place, so no half-written file ever appears under a final name [MC-BUP 3.2.5.2.7].
//
// Names. The destination is the request's URL path, relative to the directory. The name must be
// a plain relative path: no "." or ".." element, no empty element, no backslash, colon or other
// character Windows forbids in a file name, no element ending in a dot or a space, no reserved
// device name (CON, NUL, COM1, ...), and not under BITS-Sessions. The directories on the way must
// already exist and must not be symbolic links, and the directory is opened as an [os.Root], so
// that no name, link or race can make the handler write outside it. The client's Content-Name
// header names its local file and is ignored, as the IIS extension ignores it ([MC-BUP 2.2.1.1]).
//
// Answers. Every answer is an Ack packet ("BITS-Packet-Type: Ack", "Content-Length: 0"); every
// failed one carries BITS-Error-Code with an HRESULT and BITS-Error-Context with 0x5 (the
// server) or 0x7 (the server application):
//
//	malformed packet, unknown packet type,        400  E_INVALIDARG (0x80070057)            0x5
//	  bad Content-Range, bad name, directory
//	unknown or expired session                    500  BG_E_SESSION_NOT_FOUND (0x8020001F)   0x5
//	fragment not starting at the next offset      416  BG_E_HTTP_ERROR_416 (0x801901A0)      0x5
//	                                                   and BITS-Received-Content-Range
//	upload larger than MaxUploadSize              413  BG_E_TOO_LARGE (0x80200020)           0x5
//	destination exists, overwrites not allowed    409  E_ACCESSDENIED (0x80070005)           0x5
//	name through a link, or under BITS-Sessions   403  E_ACCESSDENIED (0x80070005)           0x5
//	directory of the name missing                 404  HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) 0x5
//	too many sessions for one user                503  BG_E_HTTP_ERROR_503 (0x801901F7)      0x5
//	disk full                                     500  HRESULT_FROM_WIN32(ERROR_DISK_FULL)   0x5
//	server application failed                     its status, BG_E_HTTP_ERROR_nnn            0x7
//
// Fragments must follow each other from offset 0; a fragment that overlaps bytes already
// received is accepted and only its new bytes are written ("Fragment").
//
// Upload-reply. With a NotifyURL, the handler hands each complete upload to a server
// application before it acknowledges the last fragment, as the IIS extension does for
// BITSServerNotificationType 1 and 2 ("Notification Protocol for Server Applications"): by
// reference (the path of the uploaded file in BITS-Request-DataFile-Name, and the path where the
// application may write its reply in BITS-Response-DataFile-Name) or by value (the file as the
// request body, the reply as the response body). The reply is kept with the session and served
// by the handler itself, at the URL sent in BITS-Reply-URL, until the session is closed,
// cancelled or expires; an application may instead name a reply of its own with
// BITS-Static-Response-URL. The upload is published under its name too only when the
// application asks for it with BITS-Copy-File-To-Destination.
//
// Restart. A session's state (its name, user, size, the bytes received and its reply) is kept on
// disk in its directory and written, after the data it describes is flushed, before each Ack.
// A new Handler over the same directory picks up every session where the last one left it. One
// directory must be served by one Handler at a time.
//
// Time. Sessions expire after SessionTimeout (14 days by default) without a successfully
// processed packet; their data is removed ([MC-BUP 3.2.6.1]). Timeouts and the application's
// deadline run on the Clock of the [Options], so tests can drive them in virtual time.
//
// Concurrency. A Handler is safe for concurrent use. Packets of one session are processed one
// at a time; sessions do not wait for each other.
package upload
