//go:build windows

package winbits

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// File is one file of a BITS job reached through COM: an IBackgroundCopyFile pointer, with
// IBackgroundCopyFile2 through IBackgroundCopyFile5 found by QueryInterface the first time a
// method of theirs is called; a method whose interface the system lacks fails with
// E_NOINTERFACE. Its references are given back by Release, by the Manager's Close, or by the
// garbage collector. A File is safe for concurrent use.
type File struct {
	o *object
}

var _ bits.File = (*File)(nil)

// fileOf wraps o, whose primary interface is IBackgroundCopyFile.
func fileOf(o *object) bits.File {
	f := &File{o: o}
	runtime.AddCleanup(f, (*object).release, o)
	return f
}

// Release gives back the File's COM references at once. Later calls fail with
// RPC_E_DISCONNECTED.
func (f *File) Release() { f.o.release() }

func (f *File) call(iid *windows.GUID, op string, fn func(p unsafe.Pointer) hresult.Code) error {
	return fail(op, "", f.o.use(iid, fn))
}

func (f *File) getString(iid *windows.GUID, op string, slot int) (string, error) {
	var s string
	err := f.call(iid, op, func(p unsafe.Pointer) (c hresult.Code) { s, c = getString(p, slot); return })
	return s, err
}

func (f *File) getBool(iid *windows.GUID, op string, slot int) (bool, error) {
	var b int32
	err := f.call(iid, op, func(p unsafe.Pointer) (c hresult.Code) { b, c = getOut[int32](p, slot); return })
	return boolOf(b), err
}

// GetRemoteName returns the file's URL (IBackgroundCopyFile::GetRemoteName).
func (f *File) GetRemoteName() (string, error) {
	return f.getString(nil, "GetRemoteName", fileGetRemoteName)
}

// GetLocalName returns the file's local path (IBackgroundCopyFile::GetLocalName).
func (f *File) GetLocalName() (string, error) {
	return f.getString(nil, "GetLocalName", fileGetLocalName)
}

// GetProgress returns the file's progress (IBackgroundCopyFile::GetProgress).
func (f *File) GetProgress() (bits.FileProgress, error) {
	var v bgFileProgress
	err := f.call(nil, "GetProgress", func(p unsafe.Pointer) (c hresult.Code) { v, c = getOut[bgFileProgress](p, fileGetProgress); return })
	return bits.FileProgress{BytesTotal: v.bytesTotal, BytesTransferred: v.bytesTransferred, Completed: boolOf(v.completed)}, err
}

// GetFileRanges returns the ranges of the file that are downloaded
// (IBackgroundCopyFile2::GetFileRanges), with the success code BITS gave.
func (f *File) GetFileRanges() ([]bits.FileRange, hresult.Code, error) {
	var out []bits.FileRange
	c := f.o.use(&iidBackgroundCopyFile2, func(p unsafe.Pointer) hresult.Code {
		var n uint32
		var rs *bgFileRange
		r, _, _ := syscall.SyscallN(method(p, file2GetFileRanges), uintptr(p), uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&rs)))
		if rs != nil {
			if code(r).Succeeded() {
				out = rangesOf(unsafe.Slice(rs, n))
			}
			windows.CoTaskMemFree(unsafe.Pointer(rs))
		}
		return code(r)
	})
	if c.Failed() {
		return nil, 0, fail("GetFileRanges", "", c)
	}
	return out, c, nil
}

// SetRemoteName changes the file's URL (IBackgroundCopyFile2::SetRemoteName).
func (f *File) SetRemoteName(remoteURL string) error {
	w, c := wide(remoteURL)
	if c.Failed() {
		return fail("SetRemoteName", "", c)
	}
	return f.call(&iidBackgroundCopyFile2, "SetRemoteName", func(p unsafe.Pointer) hresult.Code {
		return setString(p, file2SetRemoteName, w)
	})
}

// GetTemporaryName returns the path of the file's temporary file
// (IBackgroundCopyFile3::GetTemporaryName).
func (f *File) GetTemporaryName() (string, error) {
	return f.getString(&iidBackgroundCopyFile3, "GetTemporaryName", file3GetTemporaryName)
}

// SetValidationState accepts or rejects the file's downloaded content
// (IBackgroundCopyFile3::SetValidationState).
func (f *File) SetValidationState(valid bool) error {
	return f.call(&iidBackgroundCopyFile3, "SetValidationState", func(p unsafe.Pointer) hresult.Code {
		return callVal(p, file3SetValidationState, winBool(valid))
	})
}

// GetValidationState returns the file's validation state
// (IBackgroundCopyFile3::GetValidationState).
func (f *File) GetValidationState() (bool, error) {
	return f.getBool(&iidBackgroundCopyFile3, "GetValidationState", file3GetValidationState)
}

// IsDownloadedFromPeer reports whether the file came from a peer
// (IBackgroundCopyFile3::IsDownloadedFromPeer).
func (f *File) IsDownloadedFromPeer() (bool, error) {
	return f.getBool(&iidBackgroundCopyFile3, "IsDownloadedFromPeer", file3IsDownloadedFromPeer)
}

// GetProperty returns a file property, such as bits.FilePropertyHTTPResponseHeaders
// (IBackgroundCopyFile5::GetProperty).
func (f *File) GetProperty(id uint32) (string, error) {
	var s string
	err := f.call(&iidBackgroundCopyFile5, "GetProperty", func(p unsafe.Pointer) hresult.Code {
		var v *uint16 // BITS_FILE_PROPERTY_VALUE: a union whose only member is an LPWSTR
		r, _, _ := syscall.SyscallN(method(p, file5GetProperty), uintptr(p), uintptr(id), uintptr(unsafe.Pointer(&v)))
		s = outString(v, code(r))
		return code(r)
	})
	return s, err
}
