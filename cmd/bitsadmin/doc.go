// Command bitsadmin is the command line of bitsemu: Microsoft's bitsadmin tool, with its verbs
// and its output, in front of bitsemu's BITS service.
//
// Usage:
//
//	bitsadmin [/store DIR] [/json] [/rawreturn] [/wrap|/nowrap] /VERB [arguments]
//
// Verbs are case-insensitive and start with a slash (a dash works too). Jobs are named by GUID
// ({1AC396AD-BE73-4911-949D-5D75FED62934}, braces and case optional) or by display name; a
// display name that several jobs share is an error that lists them.
//
// # The model
//
// Jobs live in a job store on disk (package store): /store DIR or --store DIR, else
// $BITSEMU_STORE, else "bitsemu" in the user's configuration directory (os.UserConfigDir:
// ~/.config/bitsemu on Linux, ~/Library/Application Support/bitsemu on macOS). A service
// (package service) owns the store and transfers its jobs; every verb talks to it over the
// Unix-domain socket beside the store (package service/client) and starts it, detached, when
// none runs. /RESUME queues a job and exits; the service transfers it with no bitsadmin running,
// and any number of commands (a /MONITOR, a /LIST, a notify command line running
// bitsadmin /COMPLETE) work at once. /SERVICE starts the service, /SERVICE /FOREGROUND runs it in
// this process (for systemd, launchd or a container), /SHUTDOWN stops it.
//
// The caller is the process's uid, as the kernel tells the service: uid n is
// S-1-5-21-<machine>-<1000+n>, root is S-1-5-21-<machine>-500, an elevated administrator (needed
// for /allusers and /TAKEOWNERSHIP; otherwise BITS answers E_ACCESSDENIED).
//
// # Verbs
//
// Transfers:
//
//	/TRANSFER name [/DOWNLOAD|/UPLOAD|/UPLOAD-REPLY] [/PRIORITY p] [/ACLFLAGS ogds] [/DYNAMIC]
//	    [/REPLYFILE path] remote local [remote local...]
//	    the switches in any order before the files; /DYNAMIC: BITS_JOB_PROPERTY_DYNAMIC_CONTENT;
//	    create a job, add every file (a bad one cancels the job), resume it, show progress,
//	    wait, complete it; exit 3 if it ends in ERROR (the job is then cancelled). An upload's
//	    remote name is the URL of a BITS upload server, its local name the file sent (one
//	    file); an upload-reply's reply goes to /REPLYFILE, or to a name beside the local file
//	/WAIT job [/TIMEOUT sec]
//	    wait until the job leaves QUEUED, CONNECTING, TRANSFERRING and TRANSIENT_ERROR and print
//	    its state; exit 0 for TRANSFERRED, 3 otherwise (ERROR, SUSPENDED, timeout)
//	/MONITOR [/ALLUSERS] [/REFRESH sec] [/COUNT n]
//	    show the jobs every sec seconds (5) until Ctrl-C or SIGTERM, or n refreshes
//	/DEMO [/KEEP]
//	    download an embedded 1 MiB file from a loopback server with a real job (in a store of
//	    its own), through a cut connection and a ranged resume, and check it by SHA-256; then,
//	    on a virtual clock, retry a job through a day of server errors in milliseconds and show
//	    two notification rules. The demo's directory is removed unless /KEEP keeps the file
//
// Jobs: /CREATE [/DOWNLOAD|/UPLOAD|/UPLOAD-REPLY] name, /ADDFILE job remote local,
// /ADDFILESET job listfile (lines "remote local"; # starts a comment), /LISTFILES job,
// /RESUME, /SUSPEND, /CANCEL, /COMPLETE job, /RESET [/ALLUSERS] (cancel every job),
// /LIST [/ALLUSERS] [/VERBOSE], /INFO job [/VERBOSE], /TAKEOWNERSHIP job.
//
// Properties: /GETSTATE, /GETPROGRESS, /GETBYTESTOTAL, /GETBYTESTRANSFERRED, /GETFILESTOTAL,
// /GETFILESTRANSFERRED, /GETERROR, /GETERRORCOUNT, /GETDISPLAYNAME, /GETDESCRIPTION, /GETTYPE,
// /GETPRIORITY, /GETOWNER, /GETCREATIONTIME, /GETMODIFICATIONTIME, /GETCOMPLETIONTIME,
// /GETMINRETRYDELAY, /GETNOPROGRESSTIMEOUT, /GETMAXDOWNLOADTIME, /GETNOTIFYFLAGS,
// /GETNOTIFYCMDLINE, /GETPROXYUSAGE, /GETPROXYLIST, /GETPROXYBYPASSLIST, and for upload-reply
// jobs /GETREPLYFILENAME, /GETREPLYPROGRESS ("REPLY: x / y") and /GETREPLYDATA (the reply of a
// TRANSFERRED job, at most 1 MB, as a hexadecimal dump; "reply_data" in hexadecimal with /JSON)
// (each: job); /SETREPLYFILENAME job path (NULL: a name bitsemu chooses);
// /SETDISPLAYNAME job name, /SETDESCRIPTION job text, /SETPRIORITY job FOREGROUND|HIGH|NORMAL|LOW,
// /SETMINRETRYDELAY, /SETNOPROGRESSTIMEOUT, /SETMAXDOWNLOADTIME job seconds,
// /SETNOTIFYFLAGS job flags, /SETNOTIFYCMDLINE job program parameters (NULL NULL removes it),
// /SETCUSTOMHEADERS job "Name: value"... (NULL removes them),
// /SETPROXYSETTINGS job PRECONFIG|AUTODETECT|NO_PROXY, /SETPROXYSETTINGS job OVERRIDE list [bypass]
// (the list comma-separated; NULL for none), /SETCREDENTIALS job SERVER|PROXY scheme user password,
// /REMOVECREDENTIALS job SERVER|PROXY scheme (schemes: BASIC, DIGEST, NTLM, NEGOTIATE, PASSPORT).
//
// Later interfaces: /ADDFILEWITHRANGES job remote local offset:length[,...] (a length may be eof),
// /REPLACEREMOTEPREFIX job old new, /GETCUSTOMHEADERS job, /MAKECUSTOMHEADERSWRITEONLY job,
// /SETSECURITYFLAGS job value, /GETSECURITYFLAGS job, /SETACLFLAG job [o][g][d][s] (also spelled
// /SETACLFLAGS; NULL for none), /GETACLFLAGS job, /SETHTTPMETHOD job method, /GETHTTPMETHOD job,
// /SETPEERCACHINGFLAGS job value, /GETPEERCACHINGFLAGS job, /GETNOTIFYINTERFACE job,
// /GETTEMPORARYNAME job file_index, /GETVALIDATIONSTATE job file_index,
// /SETVALIDATIONSTATE job file_index TRUE|FALSE (file indexes count from 0).
//
// The service: /SERVICE [/FOREGROUND] [/ALLUSERS] (/ALLUSERS: every user of the machine may
// connect, each as their uid), /SHUTDOWN, /VERSION (the version, the service protocol, and
// whether the store's service runs).
//
// /HELP and /? print the usage.
//
// # Output
//
// As bitsadmin prints it: GUIDs upper case in braces, display names in single quotes, BITS state
// names, "FILES: a / b BYTES: x / y" with UNKNOWN for a size not known yet. /JSON (or --json)
// makes every verb print one JSON document instead: read verbs the job (id, name, type, state,
// priority, owner, bytes_total (null when unknown), bytes_transferred, files_total,
// files_transferred, error_count, error {context, code, name, message, file, ...} or null,
// times; /VERBOSE adds the settings and files), /LIST an array, /MONITOR /COUNT n an array of
// refreshes (one object per line without /COUNT), verbs that change a job {id, result, message},
// and a failure {error: {code, name, message, text, operation, job, state} or {usage}, exit_status}
// (its text still goes to standard error). /RAWRETURN prints bare values for scripts: the /GET
// verbs and /CREATE the value alone without a newline, verbs that change a job nothing (or
// their success code when it is not S_OK).
//
// /TRANSFER, /WAIT and /DEMO show progress with the rate and the time left: on a terminal one
// line redrawn in place and cut to the terminal's width, elsewhere plain lines. /MONITOR on a
// terminal redraws its screen within the terminal's width and height. As in bitsadmin, /NOWRAP
// cuts every line of output at the terminal's edge and /WRAP lets the terminal wrap them; every
// verb wraps by default but /MONITOR.
//
// # Exit status
//
//	0  success
//	1  BITS failed the call (the HRESULT's name, value and message are printed on standard
//	   error, for example "BG_E_INVALID_STATE (0x80200002): the job's current state does not
//	   allow this call"), or a display name is ambiguous, or another failure
//	2  the command line does not parse (unknown verb, missing or extra arguments, a malformed
//	   GUID, number, range list or flag letters, an unknown priority); the usage goes to
//	   standard error
//	3  the job /TRANSFER or /WAIT followed did not end TRANSFERRED: ERROR, SUSPENDED, a
//	   /WAIT /TIMEOUT that ran out, or Ctrl-C
//	4  the store's service could not be reached or started
//
// With /JSON every failure is also a document on standard output,
// {"error": {...}, "exit_status": n}. A failed command leaves the store as it was.
package main
