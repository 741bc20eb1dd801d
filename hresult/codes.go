package hresult

import (
	"slices"
	"strconv"
)

// The constants below deliberately keep the exact spelling of the BITS and Windows headers
// (BG_E_INVALID_STATE, E_INVALIDARG, ...) rather than Go's MixedCaps, so that a name seen in
// Microsoft's documentation, in a log or in a client program can be found here unchanged.

// Standard COM success codes.
const (
	// S_OK is plain success.
	S_OK Code = 0x00000000
	// S_FALSE is success with a qualification: BITS returns it when an enumerator hands back fewer
	// items than asked for, or when there was nothing to remove or report (no custom headers, no
	// client certificate, no matching credentials).
	S_FALSE Code = 0x00000001
)

// BITS success codes (facility 0x20, severity clear).
const (
	BG_S_ERROR_CONTEXT_NONE     Code = 0x00200006 // no error context applies to the error
	BG_S_PARTIAL_COMPLETE       Code = 0x00200017 // Complete kept only the files that finished and removed the rest
	BG_S_UNABLE_TO_DELETE_FILES Code = 0x0020001A // Cancel or Complete worked, but some temporary files could not be removed
	BG_S_PROXY_CHANGED          Code = 0x0020002A // the proxy server in use changed
	BG_S_OVERRIDDEN_BY_POLICY   Code = 0x00200055 // a setting was saved, but Group Policy overrides it
)

// BITS failure codes (facility 0x20).
const (
	BG_E_NOT_FOUND                                 Code = 0x80200001 // GetJob was given an identifier no job has
	BG_E_INVALID_STATE                             Code = 0x80200002 // the method is not allowed in the job's current state
	BG_E_EMPTY                                     Code = 0x80200003 // Resume on a job that has no files
	BG_E_FILE_NOT_AVAILABLE                        Code = 0x80200004 // the error object's GetFile: the error is not tied to a file
	BG_E_PROTOCOL_NOT_AVAILABLE                    Code = 0x80200005 // the error object's GetProtocol: the error is not tied to a protocol
	BG_E_ERROR_CONTEXT_UNKNOWN                     Code = 0x80200007 // error context: the origin of the error is unknown
	BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER       Code = 0x80200008 // error context: the queue manager raised the error
	BG_E_ERROR_CONTEXT_LOCAL_FILE                  Code = 0x80200009 // error context: the error concerns the local file
	BG_E_ERROR_CONTEXT_REMOTE_FILE                 Code = 0x8020000A // error context: the error concerns the remote file
	BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT           Code = 0x8020000B // error context: the transport layer raised the error
	BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION  Code = 0x8020000C // error context: the error arose while notifying the client
	BG_E_DESTINATION_LOCKED                        Code = 0x8020000D // the destination volume is locked
	BG_E_VOLUME_CHANGED                            Code = 0x8020000E // the destination volume was replaced by another
	BG_E_ERROR_INFORMATION_UNAVAILABLE             Code = 0x8020000F // GetError when the job has no error to report
	BG_E_NETWORK_DISCONNECTED                      Code = 0x80200010 // no network is available; jobs wait in TRANSIENT_ERROR
	BG_E_MISSING_FILE_SIZE                         Code = 0x80200011 // the server sent no Content-Length, as for generated content
	BG_E_INSUFFICIENT_HTTP_SUPPORT                 Code = 0x80200012 // the server does not speak HTTP/1.1
	BG_E_INSUFFICIENT_RANGE_SUPPORT                Code = 0x80200013 // the server or a proxy does not honour byte ranges (Content-Range)
	BG_E_REMOTE_NOT_SUPPORTED                      Code = 0x80200014 // BITS was used remotely, which it does not support
	BG_E_NEW_OWNER_DIFF_MAPPING                    Code = 0x80200015 // TakeOwnership: the new owner maps drives differently
	BG_E_NEW_OWNER_NO_FILE_ACCESS                  Code = 0x80200016 // TakeOwnership: the new owner cannot reach the temporary files
	BG_E_PROXY_LIST_TOO_LARGE                      Code = 0x80200018 // SetProxySettings: the proxy list is too long
	BG_E_PROXY_BYPASS_LIST_TOO_LARGE               Code = 0x80200019 // SetProxySettings: the bypass list is too long
	BG_E_INVALID_SERVER_RESPONSE                   Code = 0x8020001B // the server broke the protocol, for example by merging ranges
	BG_E_TOO_MANY_FILES                            Code = 0x8020001C // a second file was added to an upload job
	BG_E_LOCAL_FILE_CHANGED                        Code = 0x8020001D // the upload source changed during the transfer
	BG_E_ERROR_CONTEXT_REMOTE_APPLICATION          Code = 0x8020001E // error context: the server application raised the error
	BG_E_SESSION_NOT_FOUND                         Code = 0x8020001F // the upload server does not know the session
	BG_E_TOO_LARGE                                 Code = 0x80200020 // an upload over the server's limit, or GetReplyData on a reply over 1 MB
	BG_E_STRING_TOO_LONG                           Code = 0x80200021 // a string argument is over its length limit
	BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH           Code = 0x80200022 // client and server found no common upload protocol
	BG_E_SERVER_EXECUTE_ENABLE                     Code = 0x80200023 // the upload directory on the server may run scripts or programs
	BG_E_NO_PROGRESS                               Code = 0x80200024 // the job is not advancing; the server may be misconfigured
	BG_E_USERNAME_TOO_LARGE                        Code = 0x80200025 // SetCredentials: the user name is too long
	BG_E_PASSWORD_TOO_LARGE                        Code = 0x80200026 // SetCredentials: the password is too long
	BG_E_INVALID_AUTH_TARGET                       Code = 0x80200027 // SetCredentials: the target is not a known value
	BG_E_INVALID_AUTH_SCHEME                       Code = 0x80200028 // SetCredentials: the scheme is not a known value
	BG_E_FILE_NOT_FOUND                            Code = 0x80200029 // the named file is not in the job
	BG_E_INVALID_RANGE                             Code = 0x8020002B // a byte range is invalid or lies outside the file
	BG_E_OVERLAPPING_RANGES                        Code = 0x8020002C // byte ranges repeat or overlap
	BG_E_CONNECT_FAILURE                           Code = 0x8020002D // a connection to the server could not be made
	BG_E_CONNECTION_CLOSED                         Code = 0x8020002E // the connection to the server was closed
	BG_E_BLOCKED_BY_POLICY                         Code = 0x8020003E // a bandwidth policy (MaxInternetBandwidth 0) blocks transfers
	BG_E_INVALID_PROXY_INFO                        Code = 0x8020003F // the proxy or bypass list is malformed, found when the transfer runs
	BG_E_INVALID_CREDENTIALS                       Code = 0x80200040 // the credentials are malformed
	BG_E_INVALID_HASH_ALGORITHM                    Code = 0x80200041 // the hash algorithm is not supported
	BG_E_RECORD_DELETED                            Code = 0x80200042 // the peer-cache record was deleted
	BG_E_COMMIT_IN_PROGRESS                        Code = 0x80200043 // a peer-cache commit is already running
	BG_E_DISCOVERY_IN_PROGRESS                     Code = 0x80200044 // peer discovery is already running
	BG_E_UPNP_ERROR                                Code = 0x80200045 // the Internet gateway device reported a UPnP error
	BG_E_TEST_OPTION_BLOCKED_DOWNLOAD              Code = 0x80200046 // a test option blocked the download
	BG_E_PEERCACHING_DISABLED                      Code = 0x80200047 // peer caching is turned off
	BG_E_BUSYCACHERECORD                           Code = 0x80200048 // the peer-cache record is in use
	BG_E_TOO_MANY_JOBS_PER_USER                    Code = 0x80200049 // CreateJob when the user already has MaxJobsPerUser jobs
	BG_E_TOO_MANY_JOBS_PER_MACHINE                 Code = 0x80200050 // CreateJob when the machine already has MaxJobsPerMachine jobs
	BG_E_TOO_MANY_FILES_IN_JOB                     Code = 0x80200051 // AddFile or AddFileSet past MaxFilesPerJob
	BG_E_TOO_MANY_RANGES_IN_FILE                   Code = 0x80200052 // AddFileWithRanges past MaxRangesPerFile
	BG_E_VALIDATION_FAILED                         Code = 0x80200053 // SetValidationState(FALSE) on content from the origin server
	BG_E_MAXDOWNLOAD_TIMEOUT                       Code = 0x80200054 // the job ran past its maximum download time
	BG_E_TOKEN_REQUIRED                            Code = 0x80200056 // the job needs a helper token; it goes to ERROR
	BG_E_UNKNOWN_PROPERTY_ID                       Code = 0x80200057 // SetProperty or GetProperty with an unknown property ID
	BG_E_READ_ONLY_PROPERTY                        Code = 0x80200058 // SetProperty on a property that cannot be set
	BG_E_BLOCKED_BY_COST_TRANSFER_POLICY           Code = 0x80200059 // the network cost policy blocks the transfer
	BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY Code = 0x80200060 // the property exists only for download jobs
	BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE          Code = 0x80200061 // the property is fixed once a file has been added
	BG_E_READ_ONLY_PROPERTY_AFTER_RESUME           Code = 0x80200062 // the property is fixed once the job has been resumed
	BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE           Code = 0x80200063 // the maximum download size must be 1 or more
	BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED           Code = 0x80200064 // the download exceeds the job's maximum download size
	BG_E_STANDBY_MODE                              Code = 0x80200065 // transfers are paused to save power
	BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED      Code = 0x80200066 // stored credentials were asked for a target other than the proxy
	BG_E_BLOCKED_BY_BATTERY_POLICY                 Code = 0x80200067 // the battery policy blocks transfers
	BG_E_BLOCKED_BY_BATTERY_SAVER                  Code = 0x80200068 // battery saver blocks transfers
	BG_E_WATCHDOG_TIMEOUT                          Code = 0x80200069 // the transfer was stopped by a watchdog timer
	BG_E_APP_PACKAGE_NOT_FOUND                     Code = 0x8020006A // the owning app package was not found
	BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED        Code = 0x8020006B // the call is not supported for app packages
	BG_E_DATABASE_CORRUPT                          Code = 0x8020006C // the job database is damaged
	BG_E_RANDOM_ACCESS_NOT_SUPPORTED               Code = 0x8020006D // random-access file methods on a job that does not allow them
	BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY       Code = 0x8020006E // the background access policy blocks transfers
	BG_E_BLOCKED_BY_GAME_MODE                      Code = 0x8020006F // game mode blocks transfers
	BG_E_BLOCKED_BY_SYSTEM_POLICY                  Code = 0x80200070 // a system policy blocks transfers
	BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD     Code = 0x80200071 // the call conflicts with a custom HTTP method on the job
	BG_E_UNSUPPORTED_JOB_CONFIGURATION             Code = 0x80200072 // the job's combination of settings is not supported
	BG_E_REMOTE_FILE_CHANGED                       Code = 0x80200073 // the remote file changed mid-transfer; Resume retries it
	BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED Code = 0x80200074 // a server certificate callback is needed but none is set
	BG_E_READ_ONLY_WHEN_JOB_ACTIVE                 Code = 0x80200075 // the setting needs the job in SUSPENDED, ERROR or TRANSFERRED
	BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK Code = 0x80200076 // error context: the server certificate callback raised the error
)

// HTTP status codes as HRESULTs (facility 0x19): BG_E_HTTP_ERROR_nnn is 0x80190000 plus the
// status nnn. BITS reports the status of a failed request this way, in the REMOTE_FILE error
// context. These are the statuses the BITS headers define; HTTP and Name cover the rest.
const (
	BG_E_HTTP_ERROR_100 Code = 0x80190064 // 100 Continue
	BG_E_HTTP_ERROR_101 Code = 0x80190065 // 101 Switching Protocols
	BG_E_HTTP_ERROR_200 Code = 0x801900C8 // 200 OK
	BG_E_HTTP_ERROR_201 Code = 0x801900C9 // 201 Created
	BG_E_HTTP_ERROR_202 Code = 0x801900CA // 202 Accepted
	BG_E_HTTP_ERROR_203 Code = 0x801900CB // 203 Non-Authoritative Information
	BG_E_HTTP_ERROR_204 Code = 0x801900CC // 204 No Content
	BG_E_HTTP_ERROR_205 Code = 0x801900CD // 205 Reset Content
	BG_E_HTTP_ERROR_206 Code = 0x801900CE // 206 Partial Content
	BG_E_HTTP_ERROR_300 Code = 0x8019012C // 300 Multiple Choices
	BG_E_HTTP_ERROR_301 Code = 0x8019012D // 301 Moved Permanently
	BG_E_HTTP_ERROR_302 Code = 0x8019012E // 302 Found
	BG_E_HTTP_ERROR_303 Code = 0x8019012F // 303 See Other
	BG_E_HTTP_ERROR_304 Code = 0x80190130 // 304 Not Modified
	BG_E_HTTP_ERROR_305 Code = 0x80190131 // 305 Use Proxy
	BG_E_HTTP_ERROR_307 Code = 0x80190133 // 307 Temporary Redirect
	BG_E_HTTP_ERROR_400 Code = 0x80190190 // 400 Bad Request
	BG_E_HTTP_ERROR_401 Code = 0x80190191 // 401 Unauthorized: credentials are missing or wrong
	BG_E_HTTP_ERROR_402 Code = 0x80190192 // 402 Payment Required
	BG_E_HTTP_ERROR_403 Code = 0x80190193 // 403 Forbidden
	BG_E_HTTP_ERROR_404 Code = 0x80190194 // 404 Not Found: the remote file does not exist
	BG_E_HTTP_ERROR_405 Code = 0x80190195 // 405 Method Not Allowed
	BG_E_HTTP_ERROR_406 Code = 0x80190196 // 406 Not Acceptable
	BG_E_HTTP_ERROR_407 Code = 0x80190197 // 407 Proxy Authentication Required
	BG_E_HTTP_ERROR_408 Code = 0x80190198 // 408 Request Timeout
	BG_E_HTTP_ERROR_409 Code = 0x80190199 // 409 Conflict
	BG_E_HTTP_ERROR_410 Code = 0x8019019A // 410 Gone
	BG_E_HTTP_ERROR_411 Code = 0x8019019B // 411 Length Required
	BG_E_HTTP_ERROR_412 Code = 0x8019019C // 412 Precondition Failed
	BG_E_HTTP_ERROR_413 Code = 0x8019019D // 413 Content Too Large
	BG_E_HTTP_ERROR_414 Code = 0x8019019E // 414 URI Too Long
	BG_E_HTTP_ERROR_415 Code = 0x8019019F // 415 Unsupported Media Type
	BG_E_HTTP_ERROR_416 Code = 0x801901A0 // 416 Range Not Satisfiable
	BG_E_HTTP_ERROR_417 Code = 0x801901A1 // 417 Expectation Failed
	BG_E_HTTP_ERROR_449 Code = 0x801901C1 // 449 Retry With (a Microsoft extension)
	BG_E_HTTP_ERROR_500 Code = 0x801901F4 // 500 Internal Server Error
	BG_E_HTTP_ERROR_501 Code = 0x801901F5 // 501 Not Implemented
	BG_E_HTTP_ERROR_502 Code = 0x801901F6 // 502 Bad Gateway
	BG_E_HTTP_ERROR_503 Code = 0x801901F7 // 503 Service Unavailable
	BG_E_HTTP_ERROR_504 Code = 0x801901F8 // 504 Gateway Timeout
	BG_E_HTTP_ERROR_505 Code = 0x801901F9 // 505 HTTP Version Not Supported
)

// BITS event-log message identifiers (0x80194000-0x8019400B). BITS writes these to its event
// log rather than returning them from methods; they are listed so that every value of the BITS
// message table has a name.
const (
	BITS_MC_JOB_CANCELLED             Code = 0x80194000 // event: a job was cancelled
	BITS_MC_FILE_DELETION_FAILED      Code = 0x80194001 // event: a job's file could not be deleted
	BITS_MC_FILE_DELETION_FAILED_MORE Code = 0x80194002 // event: several of a job's files could not be deleted
	BITS_MC_JOB_PROPERTY_CHANGE       Code = 0x80194003 // event: a job property was changed
	BITS_MC_JOB_TAKE_OWNERSHIP        Code = 0x80194004 // event: a job was taken over by another user
	BITS_MC_JOB_SCAVENGED             Code = 0x80194005 // event: a stale job was removed automatically
	BITS_MC_JOB_NOTIFICATION_FAILURE  Code = 0x80194006 // event: a job notification could not be delivered
	BITS_MC_STATE_FILE_CORRUPT        Code = 0x80194007 // event: the saved job state was damaged
	BITS_MC_FAILED_TO_START           Code = 0x80194008 // event: the service could not start
	BITS_MC_FATAL_IGD_ERROR           Code = 0x80194009 // event: the Internet gateway device failed fatally
	BITS_MC_PEERCACHING_PORT          Code = 0x8019400A // event: about the network port used for peer caching
	BITS_MC_WSD_PORT                  Code = 0x8019400B // event: about the network port used for device discovery
)

// Standard COM and Windows failure codes that BITS methods also return.
const (
	E_NOTIMPL                Code = 0x80004001 // also BITS's answer to unsupported flag, priority or security values
	E_NOINTERFACE            Code = 0x80004002 // QueryInterface for an interface the object lacks
	E_POINTER                Code = 0x80004003 // a required out-pointer was NULL
	E_ABORT                  Code = 0x80004004 // the operation was aborted
	E_FAIL                   Code = 0x80004005 // unspecified failure; Of maps errors without a Code to it
	E_UNEXPECTED             Code = 0x8000FFFF // an internal failure that should not happen
	E_PENDING                Code = 0x8000000A // File3 methods on a file that has not finished transferring
	E_ACCESSDENIED           Code = 0x80070005 // the caller is not the job owner or lacks the privilege
	E_HANDLE                 Code = 0x80070006 // a handle was not valid
	E_OUTOFMEMORY            Code = 0x8007000E // an allocation failed
	E_INVALIDARG             Code = 0x80070057 // an argument is invalid: bad URL, empty name, out-of-range value
	RPC_X_NULL_REF_POINTER   Code = 0x800706F4 // a NULL was passed where the interface requires a reference
	RPC_X_BAD_STUB_DATA      Code = 0x800706F7 // the marshalled call data was malformed
	CRYPT_E_NOT_FOUND        Code = 0x80092004 // SetClientCertificate: the certificate is not in the store
	CO_E_FAILEDTOIMPERSONATE Code = 0x80010123 // the service could not impersonate the caller
	RPC_E_DISCONNECTED       Code = 0x80010108 // the object's client has disconnected: a handle used after its application closed

	// ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED is returned when the server asks for a client
	// certificate and the job has none.
	ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED Code = 0x80072F0C
	// ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY is returned when the job's client
	// certificate is set but its private key cannot be used.
	ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY Code = 0x80072F9A
	// ERROR_WINHTTP_TIMEOUT is returned when a request timed out: the server stopped sending.
	ERROR_WINHTTP_TIMEOUT Code = 0x80072EE2
	// ERROR_WINHTTP_SECURE_FAILURE is returned when the server's certificate failed validation.
	ERROR_WINHTTP_SECURE_FAILURE Code = 0x80072F8F
)

// Win32 errors wrapped as HRESULTs, each named after the Win32 error it carries; the value is
// FromWin32 of that error. Name spells them "HRESULT_FROM_WIN32(ERROR_...)".
const (
	ERROR_FILE_NOT_FOUND          Code = 0x80070002 // Win32 error 2: a local file does not exist
	ERROR_PATH_NOT_FOUND          Code = 0x80070003 // Win32 error 3: a directory on a local path does not exist
	ERROR_SHARING_VIOLATION       Code = 0x80070020 // Win32 error 32: a local file is open elsewhere in a conflicting mode
	ERROR_FILE_EXISTS             Code = 0x80070050 // Win32 error 80: a local file already exists
	ERROR_DISK_FULL               Code = 0x80070070 // Win32 error 112: the destination disk has no space left
	ERROR_INVALID_NAME            Code = 0x8007007B // Win32 error 123: a local file name or path is malformed
	ERROR_ALREADY_EXISTS          Code = 0x800700B7 // Win32 error 183: the object to be created already exists
	ERROR_DIRECTORY               Code = 0x8007010B // Win32 error 267: the name is not a valid directory
	ERROR_MR_MID_NOT_FOUND        Code = 0x8007013D // Win32 error 317: Description has no text for the code
	ERROR_SERVICE_DISABLED        Code = 0x80070422 // Win32 error 1058: the BITS service is disabled
	ERROR_CANCELLED               Code = 0x800704C7 // Win32 error 1223: the operation was cancelled
	ERROR_RESOURCE_LANG_NOT_FOUND Code = 0x80070717 // Win32 error 1815: Description has no text in the language asked for
)

// HTTP redirect statuses wrapped as Win32 errors. BITS puts a download job in ERROR with one of
// these when the server redirects and the job's redirect policy (SetSecurityFlags) forbids
// following it. Name spells them "HRESULT_FROM_WIN32(HTTP_STATUS_...)".
const (
	HTTP_STATUS_AMBIGUOUS          Code = 0x8007012C // FromWin32(300): the server offered multiple choices
	HTTP_STATUS_MOVED              Code = 0x8007012D // FromWin32(301): the resource moved permanently
	HTTP_STATUS_REDIRECT           Code = 0x8007012E // FromWin32(302): the resource is found elsewhere
	HTTP_STATUS_REDIRECT_METHOD    Code = 0x8007012F // FromWin32(303): the server redirected with a change of method
	HTTP_STATUS_REDIRECT_KEEP_VERB Code = 0x80070133 // FromWin32(307): the server redirected and the method is kept
)

// entry is one row of the code table.
type entry struct {
	code  Code
	ident string // the Go constant name, as the headers spell it
	win32 bool   // Name wraps ident in HRESULT_FROM_WIN32(...)
	msg   string // "" for HTTP rows: the message comes from httpMessage
	name  string // filled in by init: the Name of code
}

// table is the single list of named codes: Name, Message, Lookup and All are all derived from it.
var table = []entry{
	{code: S_OK, ident: "S_OK", msg: "the operation succeeded"},
	{code: S_FALSE, ident: "S_FALSE", msg: "the operation succeeded but did less than asked, or found nothing to do"},

	{code: BG_S_ERROR_CONTEXT_NONE, ident: "BG_S_ERROR_CONTEXT_NONE", msg: "no error context applies"},
	{code: BG_S_PARTIAL_COMPLETE, ident: "BG_S_PARTIAL_COMPLETE", msg: "the job was completed with only the files that finished; the others were removed"},
	{code: BG_S_UNABLE_TO_DELETE_FILES, ident: "BG_S_UNABLE_TO_DELETE_FILES", msg: "the call succeeded but some temporary files could not be removed"},
	{code: BG_S_PROXY_CHANGED, ident: "BG_S_PROXY_CHANGED", msg: "the proxy server in use has changed"},
	{code: BG_S_OVERRIDDEN_BY_POLICY, ident: "BG_S_OVERRIDDEN_BY_POLICY", msg: "the setting was saved but a Group Policy setting takes precedence"},

	{code: BG_E_NOT_FOUND, ident: "BG_E_NOT_FOUND", msg: "no job has that identifier"},
	{code: BG_E_INVALID_STATE, ident: "BG_E_INVALID_STATE", msg: "the job's current state does not allow this call"},
	{code: BG_E_EMPTY, ident: "BG_E_EMPTY", msg: "the job has no files to transfer"},
	{code: BG_E_FILE_NOT_AVAILABLE, ident: "BG_E_FILE_NOT_AVAILABLE", msg: "this error is not tied to any file"},
	{code: BG_E_PROTOCOL_NOT_AVAILABLE, ident: "BG_E_PROTOCOL_NOT_AVAILABLE", msg: "this error is not tied to any transfer protocol"},
	{code: BG_E_ERROR_CONTEXT_UNKNOWN, ident: "BG_E_ERROR_CONTEXT_UNKNOWN", msg: "where the error came from is not known"},
	{code: BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, ident: "BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER", msg: "the error came from the transfer queue manager"},
	{code: BG_E_ERROR_CONTEXT_LOCAL_FILE, ident: "BG_E_ERROR_CONTEXT_LOCAL_FILE", msg: "the error came from handling the local file"},
	{code: BG_E_ERROR_CONTEXT_REMOTE_FILE, ident: "BG_E_ERROR_CONTEXT_REMOTE_FILE", msg: "the error came from handling the remote file"},
	{code: BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT, ident: "BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT", msg: "the error came from the network transport layer"},
	{code: BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION, ident: "BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION", msg: "the error came from sending a job notification"},
	{code: BG_E_DESTINATION_LOCKED, ident: "BG_E_DESTINATION_LOCKED", msg: "the destination volume is locked"},
	{code: BG_E_VOLUME_CHANGED, ident: "BG_E_VOLUME_CHANGED", msg: "the destination volume was swapped for a different one"},
	{code: BG_E_ERROR_INFORMATION_UNAVAILABLE, ident: "BG_E_ERROR_INFORMATION_UNAVAILABLE", msg: "the job has no error details to report at this time"},
	{code: BG_E_NETWORK_DISCONNECTED, ident: "BG_E_NETWORK_DISCONNECTED", msg: "no network connection is available"},
	{code: BG_E_MISSING_FILE_SIZE, ident: "BG_E_MISSING_FILE_SIZE", msg: "the server did not report the size of the file, as happens with generated content"},
	{code: BG_E_INSUFFICIENT_HTTP_SUPPORT, ident: "BG_E_INSUFFICIENT_HTTP_SUPPORT", msg: "the server does not support HTTP/1.1"},
	{code: BG_E_INSUFFICIENT_RANGE_SUPPORT, ident: "BG_E_INSUFFICIENT_RANGE_SUPPORT", msg: "the server or a proxy does not handle byte-range requests properly"},
	{code: BG_E_REMOTE_NOT_SUPPORTED, ident: "BG_E_REMOTE_NOT_SUPPORTED", msg: "the transfer service cannot be used from a remote computer"},
	{code: BG_E_NEW_OWNER_DIFF_MAPPING, ident: "BG_E_NEW_OWNER_DIFF_MAPPING", msg: "the new owner's drive mappings differ from the previous owner's"},
	{code: BG_E_NEW_OWNER_NO_FILE_ACCESS, ident: "BG_E_NEW_OWNER_NO_FILE_ACCESS", msg: "the new owner cannot reach the job's temporary files"},
	{code: BG_E_PROXY_LIST_TOO_LARGE, ident: "BG_E_PROXY_LIST_TOO_LARGE", msg: "the proxy list is longer than allowed"},
	{code: BG_E_PROXY_BYPASS_LIST_TOO_LARGE, ident: "BG_E_PROXY_BYPASS_LIST_TOO_LARGE", msg: "the proxy bypass list is longer than allowed"},
	{code: BG_E_INVALID_SERVER_RESPONSE, ident: "BG_E_INVALID_SERVER_RESPONSE", msg: "the server sent a reply that breaks the transfer protocol"},
	{code: BG_E_TOO_MANY_FILES, ident: "BG_E_TOO_MANY_FILES", msg: "an upload job can hold only one file"},
	{code: BG_E_LOCAL_FILE_CHANGED, ident: "BG_E_LOCAL_FILE_CHANGED", msg: "the local file was modified while it was being transferred"},
	{code: BG_E_ERROR_CONTEXT_REMOTE_APPLICATION, ident: "BG_E_ERROR_CONTEXT_REMOTE_APPLICATION", msg: "the error came from the server application that handles uploads"},
	{code: BG_E_SESSION_NOT_FOUND, ident: "BG_E_SESSION_NOT_FOUND", msg: "the server does not recognise the upload session"},
	{code: BG_E_TOO_LARGE, ident: "BG_E_TOO_LARGE", msg: "the upload or the reply is larger than the allowed limit"},
	{code: BG_E_STRING_TOO_LONG, ident: "BG_E_STRING_TOO_LONG", msg: "a string argument is longer than its limit"},
	{code: BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, ident: "BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH", msg: "the client and the server could not agree on an upload protocol"},
	{code: BG_E_SERVER_EXECUTE_ENABLE, ident: "BG_E_SERVER_EXECUTE_ENABLE", msg: "the server refuses uploads to a directory that is allowed to run scripts or programs"},
	{code: BG_E_NO_PROGRESS, ident: "BG_E_NO_PROGRESS", msg: "the job is making no progress, possibly because the server is misconfigured"},
	{code: BG_E_USERNAME_TOO_LARGE, ident: "BG_E_USERNAME_TOO_LARGE", msg: "the user name is longer than allowed"},
	{code: BG_E_PASSWORD_TOO_LARGE, ident: "BG_E_PASSWORD_TOO_LARGE", msg: "the password is longer than allowed"},
	{code: BG_E_INVALID_AUTH_TARGET, ident: "BG_E_INVALID_AUTH_TARGET", msg: "the authentication target is not valid"},
	{code: BG_E_INVALID_AUTH_SCHEME, ident: "BG_E_INVALID_AUTH_SCHEME", msg: "the authentication scheme is not valid"},
	{code: BG_E_FILE_NOT_FOUND, ident: "BG_E_FILE_NOT_FOUND", msg: "the named file is not part of the job"},
	{code: BG_E_INVALID_RANGE, ident: "BG_E_INVALID_RANGE", msg: "a byte range is invalid or reaches past the end of the file"},
	{code: BG_E_OVERLAPPING_RANGES, ident: "BG_E_OVERLAPPING_RANGES", msg: "some byte ranges repeat or overlap"},
	{code: BG_E_CONNECT_FAILURE, ident: "BG_E_CONNECT_FAILURE", msg: "a connection to the server could not be made"},
	{code: BG_E_CONNECTION_CLOSED, ident: "BG_E_CONNECTION_CLOSED", msg: "the connection to the server was closed"},
	{code: BG_E_BLOCKED_BY_POLICY, ident: "BG_E_BLOCKED_BY_POLICY", msg: "a bandwidth policy does not allow transfers at this time"},
	{code: BG_E_INVALID_PROXY_INFO, ident: "BG_E_INVALID_PROXY_INFO", msg: "the proxy list or the bypass list is malformed"},
	{code: BG_E_INVALID_CREDENTIALS, ident: "BG_E_INVALID_CREDENTIALS", msg: "the credentials are malformed"},
	{code: BG_E_INVALID_HASH_ALGORITHM, ident: "BG_E_INVALID_HASH_ALGORITHM", msg: "the hash algorithm is not supported"},
	{code: BG_E_RECORD_DELETED, ident: "BG_E_RECORD_DELETED", msg: "the peer-cache record has been deleted"},
	{code: BG_E_COMMIT_IN_PROGRESS, ident: "BG_E_COMMIT_IN_PROGRESS", msg: "a peer-cache commit is already under way"},
	{code: BG_E_DISCOVERY_IN_PROGRESS, ident: "BG_E_DISCOVERY_IN_PROGRESS", msg: "peer discovery is already under way"},
	{code: BG_E_UPNP_ERROR, ident: "BG_E_UPNP_ERROR", msg: "the Internet gateway device reported a UPnP error"},
	{code: BG_E_TEST_OPTION_BLOCKED_DOWNLOAD, ident: "BG_E_TEST_OPTION_BLOCKED_DOWNLOAD", msg: "a test setting stopped the download"},
	{code: BG_E_PEERCACHING_DISABLED, ident: "BG_E_PEERCACHING_DISABLED", msg: "peer caching is turned off"},
	{code: BG_E_BUSYCACHERECORD, ident: "BG_E_BUSYCACHERECORD", msg: "the peer-cache record is in use"},
	{code: BG_E_TOO_MANY_JOBS_PER_USER, ident: "BG_E_TOO_MANY_JOBS_PER_USER", msg: "the user already has as many jobs as allowed"},
	{code: BG_E_TOO_MANY_JOBS_PER_MACHINE, ident: "BG_E_TOO_MANY_JOBS_PER_MACHINE", msg: "the computer already has as many jobs as allowed"},
	{code: BG_E_TOO_MANY_FILES_IN_JOB, ident: "BG_E_TOO_MANY_FILES_IN_JOB", msg: "the job already has as many files as allowed"},
	{code: BG_E_TOO_MANY_RANGES_IN_FILE, ident: "BG_E_TOO_MANY_RANGES_IN_FILE", msg: "the file already has as many byte ranges as allowed"},
	{code: BG_E_VALIDATION_FAILED, ident: "BG_E_VALIDATION_FAILED", msg: "the downloaded content was marked as not valid"},
	{code: BG_E_MAXDOWNLOAD_TIMEOUT, ident: "BG_E_MAXDOWNLOAD_TIMEOUT", msg: "the job ran longer than its maximum download time"},
	{code: BG_E_TOKEN_REQUIRED, ident: "BG_E_TOKEN_REQUIRED", msg: "the job needs a helper token to reach its files"},
	{code: BG_E_UNKNOWN_PROPERTY_ID, ident: "BG_E_UNKNOWN_PROPERTY_ID", msg: "the property identifier is not recognised"},
	{code: BG_E_READ_ONLY_PROPERTY, ident: "BG_E_READ_ONLY_PROPERTY", msg: "the property cannot be changed"},
	{code: BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, ident: "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY", msg: "the network cost policy does not allow this transfer at this time"},
	{code: BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, ident: "BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", msg: "the property applies to download jobs only"},
	{code: BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE, ident: "BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE", msg: "the property cannot be changed once files have been added"},
	{code: BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, ident: "BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", msg: "the property cannot be changed once the job has been resumed"},
	{code: BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, ident: "BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE", msg: "the maximum download size must be at least one byte"},
	{code: BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, ident: "BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED", msg: "the download is bigger than the job's maximum download size"},
	{code: BG_E_STANDBY_MODE, ident: "BG_E_STANDBY_MODE", msg: "transfers are paused while the computer saves power"},
	{code: BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, ident: "BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED", msg: "stored credentials can be used for the proxy only"},
	{code: BG_E_BLOCKED_BY_BATTERY_POLICY, ident: "BG_E_BLOCKED_BY_BATTERY_POLICY", msg: "the battery policy does not allow transfers at this time"},
	{code: BG_E_BLOCKED_BY_BATTERY_SAVER, ident: "BG_E_BLOCKED_BY_BATTERY_SAVER", msg: "battery saver does not allow transfers at this time"},
	{code: BG_E_WATCHDOG_TIMEOUT, ident: "BG_E_WATCHDOG_TIMEOUT", msg: "the transfer was stopped because it stopped responding"},
	{code: BG_E_APP_PACKAGE_NOT_FOUND, ident: "BG_E_APP_PACKAGE_NOT_FOUND", msg: "the app package that owns the job could not be found"},
	{code: BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED, ident: "BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED", msg: "this call is not supported for app packages"},
	{code: BG_E_DATABASE_CORRUPT, ident: "BG_E_DATABASE_CORRUPT", msg: "the job database is damaged"},
	{code: BG_E_RANDOM_ACCESS_NOT_SUPPORTED, ident: "BG_E_RANDOM_ACCESS_NOT_SUPPORTED", msg: "the job does not allow random access to its files"},
	{code: BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY, ident: "BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY", msg: "the background access policy does not allow transfers at this time"},
	{code: BG_E_BLOCKED_BY_GAME_MODE, ident: "BG_E_BLOCKED_BY_GAME_MODE", msg: "transfers are paused while game mode is on"},
	{code: BG_E_BLOCKED_BY_SYSTEM_POLICY, ident: "BG_E_BLOCKED_BY_SYSTEM_POLICY", msg: "a system policy does not allow transfers at this time"},
	{code: BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, ident: "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", msg: "this is not supported for a job that uses a custom HTTP method"},
	{code: BG_E_UNSUPPORTED_JOB_CONFIGURATION, ident: "BG_E_UNSUPPORTED_JOB_CONFIGURATION", msg: "the job's combination of settings is not supported"},
	{code: BG_E_REMOTE_FILE_CHANGED, ident: "BG_E_REMOTE_FILE_CHANGED", msg: "the remote file changed during the transfer, so the job must be resumed to start again"},
	{code: BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED, ident: "BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED", msg: "the job needs a server certificate validation callback but none is set"},
	{code: BG_E_READ_ONLY_WHEN_JOB_ACTIVE, ident: "BG_E_READ_ONLY_WHEN_JOB_ACTIVE", msg: "the setting can be changed only while the job is suspended, in error or transferred"},
	{code: BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, ident: "BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK", msg: "the error came from the server certificate validation callback"},

	httpRow(BG_E_HTTP_ERROR_100), httpRow(BG_E_HTTP_ERROR_101),
	httpRow(BG_E_HTTP_ERROR_200), httpRow(BG_E_HTTP_ERROR_201), httpRow(BG_E_HTTP_ERROR_202),
	httpRow(BG_E_HTTP_ERROR_203), httpRow(BG_E_HTTP_ERROR_204), httpRow(BG_E_HTTP_ERROR_205),
	httpRow(BG_E_HTTP_ERROR_206),
	httpRow(BG_E_HTTP_ERROR_300), httpRow(BG_E_HTTP_ERROR_301), httpRow(BG_E_HTTP_ERROR_302),
	httpRow(BG_E_HTTP_ERROR_303), httpRow(BG_E_HTTP_ERROR_304), httpRow(BG_E_HTTP_ERROR_305),
	httpRow(BG_E_HTTP_ERROR_307),
	httpRow(BG_E_HTTP_ERROR_400), httpRow(BG_E_HTTP_ERROR_401), httpRow(BG_E_HTTP_ERROR_402),
	httpRow(BG_E_HTTP_ERROR_403), httpRow(BG_E_HTTP_ERROR_404), httpRow(BG_E_HTTP_ERROR_405),
	httpRow(BG_E_HTTP_ERROR_406), httpRow(BG_E_HTTP_ERROR_407), httpRow(BG_E_HTTP_ERROR_408),
	httpRow(BG_E_HTTP_ERROR_409), httpRow(BG_E_HTTP_ERROR_410), httpRow(BG_E_HTTP_ERROR_411),
	httpRow(BG_E_HTTP_ERROR_412), httpRow(BG_E_HTTP_ERROR_413), httpRow(BG_E_HTTP_ERROR_414),
	httpRow(BG_E_HTTP_ERROR_415), httpRow(BG_E_HTTP_ERROR_416), httpRow(BG_E_HTTP_ERROR_417),
	httpRow(BG_E_HTTP_ERROR_449),
	httpRow(BG_E_HTTP_ERROR_500), httpRow(BG_E_HTTP_ERROR_501), httpRow(BG_E_HTTP_ERROR_502),
	httpRow(BG_E_HTTP_ERROR_503), httpRow(BG_E_HTTP_ERROR_504), httpRow(BG_E_HTTP_ERROR_505),

	{code: BITS_MC_JOB_CANCELLED, ident: "BITS_MC_JOB_CANCELLED", msg: "event-log entry: a job was cancelled"},
	{code: BITS_MC_FILE_DELETION_FAILED, ident: "BITS_MC_FILE_DELETION_FAILED", msg: "event-log entry: a file belonging to a job could not be deleted"},
	{code: BITS_MC_FILE_DELETION_FAILED_MORE, ident: "BITS_MC_FILE_DELETION_FAILED_MORE", msg: "event-log entry: several files belonging to a job could not be deleted"},
	{code: BITS_MC_JOB_PROPERTY_CHANGE, ident: "BITS_MC_JOB_PROPERTY_CHANGE", msg: "event-log entry: a job property was changed"},
	{code: BITS_MC_JOB_TAKE_OWNERSHIP, ident: "BITS_MC_JOB_TAKE_OWNERSHIP", msg: "event-log entry: another user took over a job"},
	{code: BITS_MC_JOB_SCAVENGED, ident: "BITS_MC_JOB_SCAVENGED", msg: "event-log entry: a stale job was removed automatically"},
	{code: BITS_MC_JOB_NOTIFICATION_FAILURE, ident: "BITS_MC_JOB_NOTIFICATION_FAILURE", msg: "event-log entry: a job notification could not be delivered"},
	{code: BITS_MC_STATE_FILE_CORRUPT, ident: "BITS_MC_STATE_FILE_CORRUPT", msg: "event-log entry: the saved job state was found to be damaged"},
	{code: BITS_MC_FAILED_TO_START, ident: "BITS_MC_FAILED_TO_START", msg: "event-log entry: the transfer service could not start"},
	{code: BITS_MC_FATAL_IGD_ERROR, ident: "BITS_MC_FATAL_IGD_ERROR", msg: "event-log entry: the Internet gateway device had a fatal failure"},
	{code: BITS_MC_PEERCACHING_PORT, ident: "BITS_MC_PEERCACHING_PORT", msg: "event-log entry: a note about the network port used for peer caching"},
	{code: BITS_MC_WSD_PORT, ident: "BITS_MC_WSD_PORT", msg: "event-log entry: a note about the network port used for device discovery"},

	{code: E_NOTIMPL, ident: "E_NOTIMPL", msg: "the requested operation or value is not supported"},
	{code: E_NOINTERFACE, ident: "E_NOINTERFACE", msg: "the object does not support the requested interface"},
	{code: E_POINTER, ident: "E_POINTER", msg: "a required pointer argument is null"},
	{code: E_ABORT, ident: "E_ABORT", msg: "the operation was aborted"},
	{code: E_FAIL, ident: "E_FAIL", msg: "the operation failed"},
	{code: E_UNEXPECTED, ident: "E_UNEXPECTED", msg: "an unexpected failure occurred"},
	{code: E_PENDING, ident: "E_PENDING", msg: "the data is not available yet"},
	{code: E_ACCESSDENIED, ident: "E_ACCESSDENIED", msg: "the caller is not allowed to do this"},
	{code: E_HANDLE, ident: "E_HANDLE", msg: "a handle is not valid"},
	{code: E_OUTOFMEMORY, ident: "E_OUTOFMEMORY", msg: "there was not enough memory to complete the operation"},
	{code: E_INVALIDARG, ident: "E_INVALIDARG", msg: "an argument is not valid"},
	{code: RPC_X_NULL_REF_POINTER, ident: "RPC_X_NULL_REF_POINTER", win32: true, msg: "a reference pointer argument was null"},
	{code: RPC_X_BAD_STUB_DATA, ident: "RPC_X_BAD_STUB_DATA", win32: true, msg: "the data passed with the call was malformed"},
	{code: CRYPT_E_NOT_FOUND, ident: "CRYPT_E_NOT_FOUND", msg: "the certificate or object was not found"},
	{code: RPC_E_DISCONNECTED, ident: "RPC_E_DISCONNECTED", msg: "the application that held this object has disconnected from the service"},
	{code: CO_E_FAILEDTOIMPERSONATE, ident: "CO_E_FAILEDTOIMPERSONATE", msg: "the service could not act on behalf of the caller"},
	{code: ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED, ident: "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED", win32: true, msg: "the server requires a client certificate"},
	{code: ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY, ident: "ERROR_WINHTTP_CLIENT_CERT_NO_ACCESS_PRIVATE_KEY", win32: true, msg: "the private key of the client certificate cannot be used"},
	{code: ERROR_WINHTTP_TIMEOUT, ident: "ERROR_WINHTTP_TIMEOUT", win32: true, msg: "the operation timed out"},
	{code: ERROR_WINHTTP_SECURE_FAILURE, ident: "ERROR_WINHTTP_SECURE_FAILURE", win32: true, msg: "the server's certificate is invalid or not trusted"},

	{code: ERROR_FILE_NOT_FOUND, ident: "ERROR_FILE_NOT_FOUND", win32: true, msg: "the file does not exist"},
	{code: ERROR_PATH_NOT_FOUND, ident: "ERROR_PATH_NOT_FOUND", win32: true, msg: "a directory on the path does not exist"},
	{code: ERROR_SHARING_VIOLATION, ident: "ERROR_SHARING_VIOLATION", win32: true, msg: "another process has the file open in a conflicting way"},
	{code: ERROR_FILE_EXISTS, ident: "ERROR_FILE_EXISTS", win32: true, msg: "a file with that name is already there"},
	{code: ERROR_DISK_FULL, ident: "ERROR_DISK_FULL", win32: true, msg: "the disk has no space left"},
	{code: ERROR_INVALID_NAME, ident: "ERROR_INVALID_NAME", win32: true, msg: "the file name or path is malformed"},
	{code: ERROR_ALREADY_EXISTS, ident: "ERROR_ALREADY_EXISTS", win32: true, msg: "the item to be created is already there"},
	{code: ERROR_DIRECTORY, ident: "ERROR_DIRECTORY", win32: true, msg: "the name does not refer to a valid directory"},
	{code: ERROR_MR_MID_NOT_FOUND, ident: "ERROR_MR_MID_NOT_FOUND", win32: true, msg: "there is no text for this message code"},
	{code: ERROR_SERVICE_DISABLED, ident: "ERROR_SERVICE_DISABLED", win32: true, msg: "the service has been disabled"},
	{code: ERROR_CANCELLED, ident: "ERROR_CANCELLED", win32: true, msg: "the operation was cancelled"},
	{code: ERROR_RESOURCE_LANG_NOT_FOUND, ident: "ERROR_RESOURCE_LANG_NOT_FOUND", win32: true, msg: "there is no text in the requested language"},

	{code: HTTP_STATUS_AMBIGUOUS, ident: "HTTP_STATUS_AMBIGUOUS", win32: true, msg: "the server answered with several choices (HTTP 300) and the redirect was not followed"},
	{code: HTTP_STATUS_MOVED, ident: "HTTP_STATUS_MOVED", win32: true, msg: "the server said the file moved permanently (HTTP 301) and the redirect was not followed"},
	{code: HTTP_STATUS_REDIRECT, ident: "HTTP_STATUS_REDIRECT", win32: true, msg: "the server pointed to another location (HTTP 302) and the redirect was not followed"},
	{code: HTTP_STATUS_REDIRECT_METHOD, ident: "HTTP_STATUS_REDIRECT_METHOD", win32: true, msg: "the server pointed to another location with a new method (HTTP 303) and the redirect was not followed"},
	{code: HTTP_STATUS_REDIRECT_KEEP_VERB, ident: "HTTP_STATUS_REDIRECT_KEEP_VERB", win32: true, msg: "the server pointed to another location for the same method (HTTP 307) and the redirect was not followed"},
}

// httpRow is the table row of a BG_E_HTTP_ERROR_nnn constant; its name and message follow the
// rules for the whole HTTP range.
func httpRow(c Code) entry {
	s, _ := c.HTTPStatus()
	return entry{code: c, ident: httpPrefix + strconv.Itoa(s), msg: httpMessage(s)}
}

// Indexes built once from table.
var (
	byCode = map[Code]*entry{}
	byName = map[string]Code{}
	sorted []Code
)

func init() {
	for i := range table {
		e := &table[i]
		e.name = e.ident
		if e.win32 {
			e.name = win32Prefix + e.ident + ")"
		}
		if _, dup := byCode[e.code]; dup {
			panic("hresult: duplicate code " + e.name)
		}
		for _, n := range []string{e.name, e.ident} {
			if c, dup := byName[n]; dup && c != e.code {
				panic("hresult: duplicate name " + n)
			}
			byName[n] = e.code
		}
		byCode[e.code] = e
		sorted = append(sorted, e.code)
	}
	slices.Sort(sorted)
}
