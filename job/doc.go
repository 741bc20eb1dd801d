// Package job models one BITS job: its properties, files, progress, times, error information and
// the state rules of every method, as IBackgroundCopyJob through IBackgroundCopyJob5,
// IBackgroundCopyJobHttpOptions (1–3), IBackgroundCopyFile (1–5) and IBackgroundCopyError define
// them.
//
// Method names are the BITS method names, so each Microsoft reference page maps to one Go method:
// IBackgroundCopyJob::SetNotifyFlags is (*Job).SetNotifyFlags. Out-parameters become results;
// HRESULT failures become errors wrapping an hresult.Code (test them with errors.Is); success
// codes other than S_OK (S_FALSE, BG_S_PARTIAL_COMPLETE, BG_S_UNABLE_TO_DELETE_FILES) are
// returned as an hresult.Code value beside a nil error. A nil Go string stands for a NULL string
// argument where BITS gives NULL a meaning (for example "no custom headers").
//
// Jobs are created and found through package manager; a *Job is a caller's handle. The state
// rules come from package state, which is also where the tables in README come from.
package job
