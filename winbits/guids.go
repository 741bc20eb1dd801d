//go:build windows

package winbits

import "golang.org/x/sys/windows"

// Class and interface identifiers, as the Windows SDK headers bits.h through bits10_3.h define
// them.
var (
	clsidBackgroundCopyManager = windows.GUID{Data1: 0x4991d34b, Data2: 0x80a1, Data3: 0x4291, Data4: [8]byte{0x83, 0xb6, 0x33, 0x28, 0x36, 0x6b, 0x90, 0x97}}

	iidIUnknown                = windows.GUID{Data1: 0x00000000, Data2: 0x0000, Data3: 0x0000, Data4: [8]byte{0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}}
	iidBackgroundCopyManager   = windows.GUID{Data1: 0x5ce34c0d, Data2: 0x0dc9, Data3: 0x4c1f, Data4: [8]byte{0x89, 0x7c, 0xda, 0xa1, 0xb7, 0x8c, 0xee, 0x7c}}
	iidBackgroundCopyJob       = windows.GUID{Data1: 0x37668d37, Data2: 0x507e, Data3: 0x4160, Data4: [8]byte{0x93, 0x16, 0x26, 0x30, 0x6d, 0x15, 0x0b, 0x12}}
	iidBackgroundCopyJob2      = windows.GUID{Data1: 0x54b50739, Data2: 0x686f, Data3: 0x45eb, Data4: [8]byte{0x9d, 0xff, 0xd6, 0xa9, 0xa0, 0xfa, 0xa9, 0xaf}}
	iidBackgroundCopyJob3      = windows.GUID{Data1: 0x443c8934, Data2: 0x90ff, Data3: 0x48ed, Data4: [8]byte{0xbc, 0xde, 0x26, 0xf5, 0xc7, 0x45, 0x00, 0x42}}
	iidBackgroundCopyJob4      = windows.GUID{Data1: 0x659cdeae, Data2: 0x489e, Data3: 0x11d9, Data4: [8]byte{0xa9, 0xcd, 0x00, 0x0d, 0x56, 0x96, 0x52, 0x51}}
	iidBackgroundCopyJob5      = windows.GUID{Data1: 0xe847030c, Data2: 0xbbba, Data3: 0x4657, Data4: [8]byte{0xaf, 0x6d, 0x48, 0x4a, 0xa4, 0x2b, 0xf1, 0xfe}}
	iidJobHttpOptions          = windows.GUID{Data1: 0xf1bd1079, Data2: 0x9f01, Data3: 0x4bdc, Data4: [8]byte{0x80, 0x36, 0xf0, 0x9b, 0x70, 0x09, 0x50, 0x66}}
	iidJobHttpOptions2         = windows.GUID{Data1: 0xb591a192, Data2: 0xa405, Data3: 0x4fc3, Data4: [8]byte{0x83, 0x23, 0x4c, 0x5c, 0x54, 0x25, 0x78, 0xfc}}
	iidJobHttpOptions3         = windows.GUID{Data1: 0x8a9263d3, Data2: 0xfd4c, Data3: 0x4eda, Data4: [8]byte{0x9b, 0x28, 0x30, 0x13, 0x2a, 0x4d, 0x4e, 0x3c}}
	iidBackgroundCopyFile      = windows.GUID{Data1: 0x01b7bd23, Data2: 0xfb88, Data3: 0x4a77, Data4: [8]byte{0x84, 0x90, 0x58, 0x91, 0xd3, 0xe4, 0x65, 0x3a}}
	iidBackgroundCopyFile2     = windows.GUID{Data1: 0x83e81b93, Data2: 0x0873, Data3: 0x474d, Data4: [8]byte{0x8a, 0x8c, 0xf2, 0x01, 0x8b, 0x1a, 0x93, 0x9c}}
	iidBackgroundCopyFile3     = windows.GUID{Data1: 0x659cdeaa, Data2: 0x489e, Data3: 0x11d9, Data4: [8]byte{0xa9, 0xcd, 0x00, 0x0d, 0x56, 0x96, 0x52, 0x51}}
	iidBackgroundCopyFile4     = windows.GUID{Data1: 0xef7e0655, Data2: 0x7888, Data3: 0x4960, Data4: [8]byte{0xb0, 0xe5, 0x73, 0x08, 0x46, 0xe0, 0x34, 0x92}}
	iidBackgroundCopyFile5     = windows.GUID{Data1: 0x85c1657f, Data2: 0xdafc, Data3: 0x40e8, Data4: [8]byte{0x88, 0x34, 0xdf, 0x18, 0xea, 0x25, 0x71, 0x7e}}
	iidBackgroundCopyCallback  = windows.GUID{Data1: 0x97ea99c7, Data2: 0x0186, Data3: 0x4ad4, Data4: [8]byte{0x8d, 0xf9, 0xc5, 0xb4, 0xe0, 0xed, 0x6b, 0x22}}
	iidBackgroundCopyCallback2 = windows.GUID{Data1: 0x659cdeac, Data2: 0x489e, Data3: 0x11d9, Data4: [8]byte{0xa9, 0xcd, 0x00, 0x0d, 0x56, 0x96, 0x52, 0x51}}
	iidBackgroundCopyCallback3 = windows.GUID{Data1: 0x98c97bd2, Data2: 0xe32b, Data3: 0x4ad8, Data4: [8]byte{0xa5, 0x28, 0x95, 0xfd, 0x8b, 0x16, 0xbd, 0x42}}
)

// Vtable slots: the position of each method in its interface's table of function pointers,
// counting IUnknown's QueryInterface, AddRef and Release as 0, 1 and 2. A derived interface
// (IBackgroundCopyJob2 from IBackgroundCopyJob, ...) continues its base's numbering.
const (
	slotQueryInterface = 0
	slotAddRef         = 1
	slotRelease        = 2

	// IBackgroundCopyManager.
	mgrCreateJob           = 3
	mgrGetJob              = 4
	mgrEnumJobs            = 5
	mgrGetErrorDescription = 6

	// IBackgroundCopyJob.
	jobAddFileSet             = 3
	jobAddFile                = 4
	jobEnumFiles              = 5
	jobSuspend                = 6
	jobResume                 = 7
	jobCancel                 = 8
	jobComplete               = 9
	jobGetId                  = 10
	jobGetType                = 11
	jobGetProgress            = 12
	jobGetTimes               = 13
	jobGetState               = 14
	jobGetError               = 15
	jobGetOwner               = 16
	jobSetDisplayName         = 17
	jobGetDisplayName         = 18
	jobSetDescription         = 19
	jobGetDescription         = 20
	jobSetPriority            = 21
	jobGetPriority            = 22
	jobSetNotifyFlags         = 23
	jobGetNotifyFlags         = 24
	jobSetNotifyInterface     = 25
	jobGetNotifyInterface     = 26
	jobSetMinimumRetryDelay   = 27
	jobGetMinimumRetryDelay   = 28
	jobSetNoProgressTimeout   = 29
	jobGetNoProgressTimeout   = 30
	jobGetErrorCount          = 31
	jobSetProxySettings       = 32
	jobGetProxySettings       = 33
	jobTakeOwnership          = 34
	job2SetNotifyCmdLine      = 35
	job2GetNotifyCmdLine      = 36
	job2GetReplyProgress      = 37
	job2GetReplyData          = 38
	job2SetReplyFileName      = 39
	job2GetReplyFileName      = 40
	job2SetCredentials        = 41
	job2RemoveCredentials     = 42
	job3ReplaceRemotePrefix   = 43
	job3AddFileWithRanges     = 44
	job3SetFileACLFlags       = 45
	job3GetFileACLFlags       = 46
	job4SetPeerCachingFlags   = 47
	job4GetPeerCachingFlags   = 48
	job4GetOwnerIntegrity     = 49
	job4GetOwnerElevation     = 50
	job4SetMaximumDownload    = 51
	job4GetMaximumDownload    = 52
	job5SetProperty           = 53
	job5GetProperty           = 54
	httpSetCustomHeaders      = 7 // after the four client-certificate methods
	httpGetCustomHeaders      = 8
	httpSetSecurityFlags      = 9
	httpGetSecurityFlags      = 10
	http2SetHttpMethod        = 11
	http2GetHttpMethod        = 12
	http3MakeHeadersWriteOnly = 14 // after SetServerCertificateValidationInterface

	// IBackgroundCopyFile.
	fileGetRemoteName         = 3
	fileGetLocalName          = 4
	fileGetProgress           = 5
	file2GetFileRanges        = 6
	file2SetRemoteName        = 7
	file3GetTemporaryName     = 8
	file3SetValidationState   = 9
	file3GetValidationState   = 10
	file3IsDownloadedFromPeer = 11
	file5GetProperty          = 14 // after GetPeerDownloadStats (IBackgroundCopyFile4) and SetProperty

	// IBackgroundCopyError.
	errGetError                   = 3
	errGetFile                    = 4
	errGetErrorDescription        = 5
	errGetErrorContextDescription = 6
	errGetProtocol                = 7

	// IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles.
	enumNext     = 3
	enumSkip     = 4
	enumReset    = 5
	enumClone    = 6
	enumGetCount = 7

	// IBackgroundCopyCallback through IBackgroundCopyCallback3.
	cbJobTransferred        = 3
	cbJobError              = 4
	cbJobModification       = 5
	cbFileTransferred       = 6
	cbFileRangesTransferred = 7
)
