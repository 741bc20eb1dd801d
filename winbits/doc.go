// Package winbits is the Windows backend of package bits: the same interfaces, served by the
// system's Background Intelligent Transfer Service through COM. Application code written against
// bits.Manager runs on bitsemu in tests and on BITS in production by choosing the manager:
//
//	m, err := winbits.New() // IBackgroundCopyManager
//	...
//	defer m.Close()
//	err = fetch(m, url, dest) // fetch takes a bits.Manager
//
// The package builds on Windows only; elsewhere it is empty.
//
// # COM
//
// Calls go straight through the COM vtables with golang.org/x/sys/windows; there is no cgo.
// All of the package's COM pointers live in the process's multithreaded apartment (MTA), which
// New keeps alive with CoIncrementMTAUsage. Because the MTA is one per process and its proxies
// may be used from any of its threads, a goroutine needs no thread of its own: each call locks
// the goroutine to its current OS thread and joins that thread to the MTA with
// CoInitializeEx(COINIT_MULTITHREADED) for the call's length. A thread that other code made a
// single-threaded apartment (a GUI thread, or a thread where CoInitialize was called without
// runtime.LockOSThread) cannot join; calls made there fail with RPC_E_CHANGED_MODE.
//
// Interfaces are found by QueryInterface the first time a method needs them: a Job starts as
// IBackgroundCopyJob and asks for IBackgroundCopyJob2 to IBackgroundCopyJob5 and
// IBackgroundCopyJobHttpOptions to IBackgroundCopyJobHttpOptions3, a File for
// IBackgroundCopyFile2 to IBackgroundCopyFile5. When the system lacks one, the method fails with
// E_NOINTERFACE: the bits interfaces list every method of every BITS version.
//
// # Errors
//
// A failing HRESULT is returned as an *hresult.Error whose Code is the HRESULT and whose Op is
// the BITS method, so errors.Is(err, hresult.BG_E_INVALID_STATE) works as with bitsemu. Success
// codes other than S_OK (S_FALSE, BG_S_PARTIAL_COMPLETE, ...) are returned as values where the
// bits method has a code result.
//
// Strings cross as UTF-16. A string with a NUL cannot be passed and gives E_INVALIDARG. For
// arguments that BITS takes as "NULL for none" (proxy lists, the notify command line, custom
// headers, the reply file name, credentials' user name and password) "" is passed as NULL.
// FILETIMEs become time.Time values; the zero FILETIME, BITS's "not yet", is the zero time.Time.
//
// # Lifetimes
//
// Every Job, File, Error and enumerator holds COM references of its own. Release gives them back
// at once; Manager.Close gives back everything the manager handed out; and the garbage collector
// releases what became unreachable, as a backstop only, since it may run late or never. Strings
// and arrays BITS allocates are copied into Go values and freed with CoTaskMemFree before the
// method returns.
//
// # Callbacks
//
// Job.SetNotifyInterface exposes a Go bits.Callback to BITS as a COM object: a vtable of
// functions made with syscall.NewCallback, reference counted with AddRef and Release, answering
// QueryInterface for IUnknown and IBackgroundCopyCallback, and for IBackgroundCopyCallback2 and
// IBackgroundCopyCallback3 only when the Go value implements bits.Callback2 or bits.Callback3.
// BITS calls it on threads of the MTA. The Job, File and Error a callback receives wrap the
// pointers BITS passed, with references of their own (AddRef), so they may be kept after the
// callback returns; calling Complete from JobTransferred works. A callback that returns an
// error, or panics, fails with the error's HRESULT (E_FAIL for a panic), and BITS retries it
// later. When the Manager is closed, the object is disconnected (CoDisconnectObject) and BITS's
// further calls fail.
package winbits
