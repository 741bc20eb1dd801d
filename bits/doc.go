// Package bits is the Background Intelligent Transfer Service's client surface as Go interfaces:
// the manager (IBackgroundCopyManager), jobs (IBackgroundCopyJob through IBackgroundCopyJob5 and
// IBackgroundCopyJobHttpOptions), files (IBackgroundCopyFile through IBackgroundCopyFile5), error
// objects (IBackgroundCopyError), enumerators, and the callbacks BITS calls
// (IBackgroundCopyCallback through IBackgroundCopyCallback3), with the value types they use.
//
// Write application code against these interfaces. Pass bitsemu's in-process manager
// (manager.Client) in unit tests and simulations, and the Windows backend (package winbits) in
// production; the same code then runs on both:
//
//	func fetch(m bits.Manager, url, dest string) (uuid.UUID, error) {
//		j, err := m.CreateJob("fetch", bits.Download)
//		...
//	}
//
// Method names are the BITS method names, so each Microsoft reference page maps to one Go
// method: IBackgroundCopyJob::SetNotifyFlags is Job.SetNotifyFlags. Out-parameters become
// results; a failing HRESULT becomes an error that wraps an hresult.Code (test it with
// errors.Is(err, hresult.BG_E_INVALID_STATE)); success codes other than S_OK (S_FALSE,
// BG_S_PARTIAL_COMPLETE, BG_S_UNABLE_TO_DELETE_FILES) are returned as an hresult.Code value beside
// a nil error.
//
// Every implementation is safe for concurrent use. The state rules are the backend's own: real
// BITS applies Microsoft's, bitsemu applies the tables of package state, which follow them.
// Methods of later BITS versions are part of Job and File; a backend whose system lacks the COM
// interface that carries a method returns E_NOINTERFACE from it.
package bits
