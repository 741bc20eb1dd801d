// Package wine records where Wine's BITS departs from Microsoft's documentation, as observed by
// the winbits tests run under Wine 8.0 (Debian's wine64 package, whose qmgr service is Wine's
// implementation of BITS).
//
// The records are facts to know, not rules to copy: bitsemu follows the documentation. The
// winbits tests expect the documented result on Windows and the recorded one under Wine, so a
// record that stops being true fails them; the table is also rendered into winbits/WINE.md
// (go test ./internal/wine -update rewrites it), and differential scenarios that run one program
// against bitsemu and against Wine use Lookup to tell a known difference from a new one.
package wine

import (
	"github.com/bitsemu/bitsemu/hresult"
)

// Departure is one observed difference between Wine's BITS and Microsoft's documentation.
type Departure struct {
	// ID is the key tests look the record up by: the method name, and after a dot the case
	// when one method has several records ("AddFile.relative").
	ID string
	// Method is the COM method or interface, as the documentation names it.
	Method string
	// Case is the call that was made.
	Case string
	// Documented is what the documentation says the call does.
	Documented string
	// Page is the title of the documentation page that says it.
	Page string
	// Observed is what Wine did instead.
	Observed string
	// Code is the HRESULT Wine returned.
	Code hresult.Code
}

// Departures lists every departure observed, in the order of the interfaces' methods.
var Departures = []Departure{
	{ID: "GetErrorDescription", Method: "IBackgroundCopyManager::GetErrorDescription",
		Case: "BG_E_EMPTY, language 0x409", Documented: "S_OK and the message text",
		Page: "IBackgroundCopyManager::GetErrorDescription method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetJob.cancelled", Method: "IBackgroundCopyManager::GetJob",
		Case: "a cancelled job", Documented: "BG_E_NOT_FOUND: Cancel removed the job from the transfer queue",
		Page: "IBackgroundCopyJob::Cancel method (bits.h)", Observed: "S_OK and the job, in state CANCELLED", Code: hresult.S_OK},
	{ID: "EnumJobs.cancelled", Method: "IBackgroundCopyManager::EnumJobs",
		Case: "with a cancelled job", Documented: "the job is not listed: Cancel removed it from the transfer queue",
		Page: "IBackgroundCopyJob::Cancel method (bits.h)", Observed: "the job is listed, in state CANCELLED", Code: hresult.S_OK},
	{ID: "AddFile.relative", Method: "IBackgroundCopyJob::AddFile",
		Case: "a relative local name", Documented: "E_INVALIDARG",
		Page: "IBackgroundCopyJob::AddFile method (bits.h)", Observed: "S_OK; the file is added", Code: hresult.S_OK},
	{ID: "AddFile.scheme", Method: "IBackgroundCopyJob::AddFile",
		Case: "an ftp:// remote name", Documented: "E_INVALIDARG (unsupported protocol)",
		Page: "IBackgroundCopyJob::AddFile method (bits.h)", Observed: "S_OK; the job goes to ERROR when it runs", Code: hresult.S_OK},
	{ID: "AddFile.upload", Method: "IBackgroundCopyJob::AddFile",
		Case: "a second file on an upload job", Documented: "BG_E_TOO_MANY_FILES",
		Page: "IBackgroundCopyJob::AddFile method (bits.h)", Observed: "S_OK", Code: hresult.S_OK},
	{ID: "Suspend", Method: "IBackgroundCopyJob::Suspend",
		Case: "a new or an active job", Documented: "S_OK; the job is SUSPENDED",
		Page: "IBackgroundCopyJob::Suspend method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "Cancel.untransferred", Method: "IBackgroundCopyJob::Cancel",
		Case: "a job with a file that never finished", Documented: "S_OK; the temporary files are deleted",
		Page:     "IBackgroundCopyJob::Cancel method (bits.h)",
		Observed: "BG_S_UNABLE_TO_DELETE_FILES: Wine tries to delete the local file, which does not exist", Code: hresult.BG_S_UNABLE_TO_DELETE_FILES},
	{ID: "GetTimes", Method: "IBackgroundCopyJob::GetTimes",
		Case: "any job", Documented: "S_OK and the creation, modification and completion times",
		Page: "IBackgroundCopyJob::GetTimes method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetOwner", Method: "IBackgroundCopyJob::GetOwner",
		Case: "any job", Documented: "S_OK and the owner's SID",
		Page: "IBackgroundCopyJob::GetOwner method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "SetDisplayName", Method: "IBackgroundCopyJob::SetDisplayName",
		Case: "a valid name", Documented: "S_OK",
		Page: "IBackgroundCopyJob::SetDisplayName method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetDescription.new", Method: "IBackgroundCopyJob::GetDescription",
		Case: "a job whose description was never set", Documented: "S_OK",
		Page:     "IBackgroundCopyJob::GetDescription method (bits.h)",
		Observed: "HRESULT_FROM_WIN32(ERROR_NOACCESS); after SetDescription it works", Code: hresult.FromWin32(998)},
	{ID: "SetPriority.invalid", Method: "IBackgroundCopyJob::SetPriority",
		Case: "priority 9", Documented: "E_NOTIMPL",
		Page: "IBackgroundCopyJob::SetPriority method (bits.h)", Observed: "S_OK", Code: hresult.S_OK},
	{ID: "GetPriority", Method: "IBackgroundCopyJob::GetPriority",
		Case: "any job", Documented: "S_OK and the priority, NORMAL for a new job",
		Page: "IBackgroundCopyJob::GetPriority method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetMinimumRetryDelay", Method: "IBackgroundCopyJob::GetMinimumRetryDelay",
		Case: "a new job, and after SetMinimumRetryDelay(100)", Documented: "600 for a new job, then the value set",
		Page: "IBackgroundCopyJob::SetMinimumRetryDelay method (bits.h)", Observed: "always 30; SetMinimumRetryDelay returns S_OK and changes nothing", Code: hresult.S_OK},
	{ID: "GetNoProgressTimeout", Method: "IBackgroundCopyJob::GetNoProgressTimeout",
		Case: "a new job, and after SetNoProgressTimeout(30)", Documented: "1,209,600 (14 days) for a new job, then the value set",
		Page: "IBackgroundCopyJob::SetNoProgressTimeout method (bits.h)", Observed: "always 900; SetNoProgressTimeout returns S_OK and changes nothing", Code: hresult.S_OK},
	{ID: "GetErrorCount", Method: "IBackgroundCopyJob::GetErrorCount",
		Case: "any job", Documented: "S_OK and the count",
		Page: "IBackgroundCopyJob::GetErrorCount method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "SetProxySettings", Method: "IBackgroundCopyJob::SetProxySettings",
		Case: "OVERRIDE with a proxy list, or PRECONFIG with none", Documented: "S_OK",
		Page: "IBackgroundCopyJob::SetProxySettings method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetProxySettings", Method: "IBackgroundCopyJob::GetProxySettings",
		Case: "any job", Documented: "S_OK; PRECONFIG and no lists for a new job",
		Page: "IBackgroundCopyJob::GetProxySettings method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "TakeOwnership", Method: "IBackgroundCopyJob::TakeOwnership",
		Case: "the owner's own job", Documented: "S_OK",
		Page: "IBackgroundCopyJob::TakeOwnership method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "SetNotifyCmdLine", Method: "IBackgroundCopyJob2::SetNotifyCmdLine",
		Case: "an absolute program and its parameters", Documented: "S_OK",
		Page: "IBackgroundCopyJob2::SetNotifyCmdLine method (bits1_5.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetNotifyCmdLine", Method: "IBackgroundCopyJob2::GetNotifyCmdLine",
		Case: "any job", Documented: "S_OK",
		Page: "IBackgroundCopyJob2::GetNotifyCmdLine method (bits1_5.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetReplyProgress", Method: "IBackgroundCopyJob2::GetReplyProgress",
		Case: "an upload-reply job", Documented: "S_OK",
		Page: "IBackgroundCopyJob2::GetReplyProgress method (bits1_5.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "RemoveCredentials.none", Method: "IBackgroundCopyJob2::RemoveCredentials",
		Case: "a target and scheme with no credentials", Documented: "S_FALSE",
		Page: "IBackgroundCopyJob2::RemoveCredentials method (bits1_5.h)", Observed: "S_OK", Code: hresult.S_OK},
	{ID: "ReplaceRemotePrefix.nomatch", Method: "IBackgroundCopyJob3::ReplaceRemotePrefix",
		Case: "a prefix no remote name starts with", Documented: "S_FALSE",
		Page: "IBackgroundCopyJob3::ReplaceRemotePrefix method (bits2_0.h)", Observed: "S_OK", Code: hresult.S_OK},
	{ID: "ReplaceRemotePrefix", Method: "IBackgroundCopyJob3::ReplaceRemotePrefix",
		Case: "a prefix the remote name starts with", Documented: "S_OK; the remote name now starts with the new prefix",
		Page: "IBackgroundCopyJob3::ReplaceRemotePrefix method (bits2_0.h)", Observed: "S_OK; the remote name is unchanged", Code: hresult.S_OK},
	{ID: "GetFileACLFlags", Method: "IBackgroundCopyJob3::GetFileACLFlags",
		Case: "after SetFileACLFlags(BG_COPY_FILE_OWNER)", Documented: "the flags set",
		Page: "IBackgroundCopyJob3::GetFileACLFlags method (bits2_0.h)", Observed: "0; SetFileACLFlags returns S_OK and changes nothing", Code: hresult.S_OK},
	{ID: "GetPeerCachingFlags", Method: "IBackgroundCopyJob4::GetPeerCachingFlags",
		Case: "any job", Documented: "S_OK and the flags",
		Page: "IBackgroundCopyJob4::GetPeerCachingFlags method (bits3_0.h)", Observed: "E_NOTIMPL (SetPeerCachingFlags returns S_OK)", Code: hresult.E_NOTIMPL},
	{ID: "GetOwnerIntegrityLevel", Method: "IBackgroundCopyJob4::GetOwnerIntegrityLevel",
		Case: "any job", Documented: "S_OK and the level",
		Page: "IBackgroundCopyJob4::GetOwnerIntegrityLevel method (bits3_0.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetOwnerElevationState", Method: "IBackgroundCopyJob4::GetOwnerElevationState",
		Case: "any job", Documented: "S_OK and the state",
		Page: "IBackgroundCopyJob4::GetOwnerElevationState method (bits3_0.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "GetMaximumDownloadTime", Method: "IBackgroundCopyJob4::GetMaximumDownloadTime",
		Case: "any job", Documented: "S_OK; 7,776,000 (90 days) for a new job",
		Page: "IBackgroundCopyJob4::GetMaximumDownloadTime method (bits3_0.h)", Observed: "E_NOTIMPL (SetMaximumDownloadTime returns S_OK)", Code: hresult.E_NOTIMPL},
	{ID: "IBackgroundCopyJob5", Method: "IBackgroundCopyJob5",
		Case: "QueryInterface on a job", Documented: "available from Windows 8 (BITS 5.0)",
		Page: "IBackgroundCopyJob5 interface (bits5_0.h)", Observed: "E_NOINTERFACE", Code: hresult.E_NOINTERFACE},
	{ID: "SetSecurityFlags.invalid", Method: "IBackgroundCopyJobHttpOptions::SetSecurityFlags",
		Case: "flags 0xFFFF", Documented: "E_NOTIMPL for flags BITS does not define",
		Page: "IBackgroundCopyJobHttpOptions::SetSecurityFlags method (bits2_5.h)", Observed: "S_OK", Code: hresult.S_OK},
	{ID: "IBackgroundCopyJobHttpOptions2", Method: "IBackgroundCopyJobHttpOptions2",
		Case: "QueryInterface on a job", Documented: "available from Windows 10, version 1809",
		Page: "IBackgroundCopyJobHttpOptions2 interface (bits10_2.h)", Observed: "E_NOINTERFACE", Code: hresult.E_NOINTERFACE},
	{ID: "IBackgroundCopyJobHttpOptions3", Method: "IBackgroundCopyJobHttpOptions3",
		Case: "QueryInterface on a job", Documented: "available from Windows 10, version 2004",
		Page: "IBackgroundCopyJobHttpOptions3 interface (bits10_3.h)", Observed: "E_NOINTERFACE", Code: hresult.E_NOINTERFACE},
	{ID: "GetFileRanges", Method: "IBackgroundCopyFile2::GetFileRanges",
		Case: "a file added without ranges", Documented: "S_FALSE, no ranges",
		Page: "IBackgroundCopyFile2::GetFileRanges method (bits2_0.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "SetRemoteName", Method: "IBackgroundCopyFile2::SetRemoteName",
		Case: "a valid URL on a suspended download job", Documented: "S_OK",
		Page: "IBackgroundCopyFile2::SetRemoteName method (bits2_0.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "IBackgroundCopyFile3", Method: "IBackgroundCopyFile3",
		Case: "QueryInterface on a file", Documented: "available from Windows Vista (BITS 3.0)",
		Page: "IBackgroundCopyFile3 interface (bits3_0.h)", Observed: "E_NOINTERFACE", Code: hresult.E_NOINTERFACE},
	{ID: "IBackgroundCopyFile5", Method: "IBackgroundCopyFile5",
		Case: "QueryInterface on a file", Documented: "available from Windows 8 (BITS 5.0)",
		Page: "IBackgroundCopyFile5 interface (bits5_0.h)", Observed: "E_NOINTERFACE", Code: hresult.E_NOINTERFACE},
	{ID: "GetProtocol", Method: "IBackgroundCopyError::GetProtocol",
		Case: "the error of a download whose server answered 404", Documented: "S_OK and the protocol (\"http\")",
		Page:     "IBackgroundCopyError::GetProtocol method (bits.h)",
		Observed: "HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER): Wine returns no string and the marshaller refuses it", Code: hresult.FromWin32(1780)},
	{ID: "IEnumBackgroundCopyFiles.Clone", Method: "IEnumBackgroundCopyFiles::Clone",
		Case: "any enumerator", Documented: "S_OK and a copy at the same position",
		Page: "IEnumBackgroundCopyFiles::Clone method (bits.h)", Observed: "E_NOTIMPL", Code: hresult.E_NOTIMPL},
	{ID: "JobError", Method: "IBackgroundCopyCallback::JobError",
		Case: "a download job whose server answers 404, BG_NOTIFY_JOB_ERROR set", Documented: "called when the job enters ERROR",
		Page: "IBackgroundCopyCallback::JobError method (bits.h)", Observed: "never called; the job sits in ERROR", Code: hresult.S_OK},
	{ID: "JobModification", Method: "IBackgroundCopyCallback::JobModification",
		Case: "BG_NOTIFY_JOB_MODIFICATION set, the job transfers", Documented: "called as the job's state and progress change",
		Page: "IBackgroundCopyCallback::JobModification method (bits.h)", Observed: "never called", Code: hresult.S_OK},
	{ID: "FileTransferred", Method: "IBackgroundCopyCallback2::FileTransferred",
		Case: "BG_NOTIFY_FILE_TRANSFERRED set, a callback that implements IBackgroundCopyCallback2", Documented: "called as each file finishes",
		Page: "IBackgroundCopyCallback2::FileTransferred method (bits3_0.h)", Observed: "never called", Code: hresult.S_OK},
}

// Lookup returns the departure recorded under id.
func Lookup(id string) (Departure, bool) {
	for _, d := range Departures {
		if d.ID == id {
			return d, true
		}
	}
	return Departure{}, false
}
