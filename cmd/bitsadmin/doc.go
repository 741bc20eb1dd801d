// Command bitsadmin is the command line of bitsemu: Microsoft's bitsadmin tool, with its verbs
// and its output, in front of bitsemu's BITS service.
//
// Usage:
//
//	bitsadmin [/store DIR] [/json] /VERB [arguments]
//
// Verbs are case-insensitive and start with a slash (a dash works too). Jobs are named by GUID
// ({1AC396AD-BE73-4911-949D-5D75FED62934}, braces and case optional) or by display name; a
// display name that several jobs share is an error that lists them.
//
// # The model
//
// Jobs live in a job store on disk (package store): /store DIR or --store DIR, else
// $BITSEMU_STORE, else "bitsemu" in the user's configuration directory (os.UserConfigDir:
// ~/.config/bitsemu on Linux, ~/Library/Application Support/bitsemu on macOS, %AppData%\bitsemu
// on Windows). There is no background service: jobs transfer only while a bitsadmin process
// hosts the service on the store, as /TRANSFER, /WAIT and /MONITOR do. Every other verb opens
// the store with the transfer engine off, makes its change (written to disk before it returns)
// and exits; /RESUME queues a job, which then transfers during the next /WAIT or /MONITOR. One
// process at a time holds a store: while a /MONITOR runs, other commands wait for the store up to
// $BITSEMU_STORE_WAIT (a duration, 5s by default) and then fail with a message saying so.
//
// The caller is the SID in $BITSEMU_SID (by default S-1-5-21-<uid>, or the user's own SID on
// Windows), an elevated administrator when $BITSEMU_ADMIN is 1 (needed for /allusers and
// /TAKEOWNERSHIP; otherwise BITS answers E_ACCESSDENIED).
//
// # Verbs
//
// Transfers, each hosting the service while it runs:
//
//	/TRANSFER name [/DOWNLOAD|/UPLOAD|/UPLOAD-REPLY] [/PRIORITY p] [/REPLYFILE path] remote local [remote local...]
//	    create a job, add every file (a bad one cancels the job), resume it, show progress,
//	    wait, complete it; exit 1 if it ends in ERROR (the job is then cancelled). An upload's
//	    remote name is the URL of a BITS upload server, its local name the file sent (one
//	    file); an upload-reply's reply goes to /REPLYFILE, or to a name beside the local file
//	/WAIT job [/TIMEOUT sec]
//	    wait until the job leaves QUEUED, CONNECTING, TRANSFERRING and TRANSIENT_ERROR and print
//	    its state; exit 0 for TRANSFERRED, 1 otherwise (ERROR, SUSPENDED, timeout)
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
// refreshes (one object per line without /COUNT), verbs that change a job {id, result, message}.
// /TRANSFER, /WAIT and /DEMO redraw a progress line when standard output is a terminal and
// print plain lines otherwise.
//
// # Exit status
//
// 0 for success; 1 when BITS fails the call (the HRESULT's name, value and message are printed
// on standard error, for example "BG_E_INVALID_STATE (0x80200002): the job's current state does
// not allow this call"), a display name is ambiguous, the store stays held by another process,
// or a job does not end TRANSFERRED; 2 for a command line that does not parse (unknown verb,
// missing or extra arguments, a malformed GUID or number, an unknown priority), with the usage
// on standard error. A failed command leaves the store as it was.
package main
