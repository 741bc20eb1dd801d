package client

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// File is a handle to a file of a job in the service: a bits.File.
type File struct{ object }

var _ bits.File = (*File)(nil)

func (m *Manager) newFile(h uint64) *File { return track(m, &File{object{m, h}}, h) }

func (m *Manager) fileOf(h uint64) bits.File { return m.newFile(h) }

// GetRemoteName returns the remote name (IBackgroundCopyFile::GetRemoteName).
func (f *File) GetRemoteName() (string, error) { return getStr(&f.object, f.m.file.GetRemoteName) }

// GetLocalName returns the local name (IBackgroundCopyFile::GetLocalName).
func (f *File) GetLocalName() (string, error) { return getStr(&f.object, f.m.file.GetLocalName) }

// GetProgress returns the file's progress (IBackgroundCopyFile::GetProgress).
func (f *File) GetProgress() (bits.FileProgress, error) {
	r, err := with(&f.object, f.m.file.GetProgress, f.handle())
	return bits.FileProgress{BytesTotal: r.GetBytesTotal(), BytesTransferred: r.GetBytesTransferred(), Completed: r.GetCompleted()}, err
}

// GetFileRanges returns the file's ranges (IBackgroundCopyFile2::GetFileRanges).
func (f *File) GetFileRanges() ([]bits.FileRange, hresult.Code, error) {
	r, err := with(&f.object, f.m.file.GetFileRanges, f.handle())
	return wire.RangesTo(r.GetRanges()), hresult.Code(r.GetHresult()), err
}

// SetRemoteName changes the remote name (IBackgroundCopyFile2::SetRemoteName).
func (f *File) SetRemoteName(remoteURL string) error {
	return setStr(&f.object, f.m.file.SetRemoteName, remoteURL)
}

// GetTemporaryName returns the temporary file's name (IBackgroundCopyFile3::GetTemporaryName).
func (f *File) GetTemporaryName() (string, error) {
	return getStr(&f.object, f.m.file.GetTemporaryName)
}

// SetValidationState sets the validation state (IBackgroundCopyFile3::SetValidationState).
func (f *File) SetValidationState(valid bool) error {
	_, err := with(&f.object, f.m.file.SetValidationState, &wire.BoolArg{Handle: f.h, Value: valid})
	return err
}

// GetValidationState returns the validation state (IBackgroundCopyFile3::GetValidationState).
func (f *File) GetValidationState() (bool, error) {
	return getBool(&f.object, f.m.file.GetValidationState)
}

// IsDownloadedFromPeer reports whether a peer served the file
// (IBackgroundCopyFile3::IsDownloadedFromPeer).
func (f *File) IsDownloadedFromPeer() (bool, error) {
	return getBool(&f.object, f.m.file.IsDownloadedFromPeer)
}

// GetProperty returns a property of the file (IBackgroundCopyFile5::GetProperty).
func (f *File) GetProperty(id uint32) (string, error) {
	r, err := with(&f.object, f.m.file.GetProperty, &wire.U32Arg{Handle: f.h, Value: id})
	return r.GetValue(), err
}

// Error is a job's error object in the service: a bits.Error.
type Error struct{ object }

var _ bits.Error = (*Error)(nil)

func (m *Manager) newError(h uint64) *Error { return track(m, &Error{object{m, h}}, h) }

// GetError returns the error's context and HRESULT (IBackgroundCopyError::GetError).
func (e *Error) GetError() (bits.ErrorContext, hresult.Code, error) {
	r, err := with(&e.object, e.m.errs.GetError, e.handle())
	return bits.ErrorContext(r.GetContext()), hresult.Code(r.GetHresult()), err
}

// GetFile returns the file the error concerns (IBackgroundCopyError::GetFile).
func (e *Error) GetFile() (bits.File, error) {
	r, err := with(&e.object, e.m.errs.GetFile, e.handle())
	if err != nil {
		return nil, err
	}
	return e.m.newFile(r.GetHandle()), nil
}

// GetErrorDescription returns the error's text (IBackgroundCopyError::GetErrorDescription).
func (e *Error) GetErrorDescription(lang uint16) (string, error) {
	r, err := with(&e.object, e.m.errs.GetErrorDescription, &wire.U32Arg{Handle: e.h, Value: uint32(lang)})
	return r.GetValue(), err
}

// GetErrorContextDescription returns the context's text
// (IBackgroundCopyError::GetErrorContextDescription).
func (e *Error) GetErrorContextDescription(lang uint16) (string, error) {
	r, err := with(&e.object, e.m.errs.GetErrorContextDescription, &wire.U32Arg{Handle: e.h, Value: uint32(lang)})
	return r.GetValue(), err
}

// GetProtocol returns the protocol of the failed transfer (IBackgroundCopyError::GetProtocol).
func (e *Error) GetProtocol() (string, error) { return getStr(&e.object, e.m.errs.GetProtocol) }

// enum is an enumerator in the service, of jobs or of files.
type enum[T any] struct {
	object
	item func(h uint64) T
}

func newEnum[T any](m *Manager, h uint64, item func(uint64) T) bits.Enum[T] {
	return track(m, &enum[T]{object: object{m, h}, item: item}, h)
}

// Next returns up to n items (IEnumBackgroundCopyJobs::Next).
func (e *enum[T]) Next(n uint32) ([]T, hresult.Code, error) {
	r, err := with(&e.object, e.m.enum.Next, &wire.U32Arg{Handle: e.h, Value: n})
	if err != nil {
		return nil, hresult.Code(r.GetHresult()), err
	}
	items := make([]T, len(r.GetHandles()))
	for i, h := range r.GetHandles() {
		items[i] = e.item(h)
	}
	return items, hresult.Code(r.GetHresult()), nil
}

// Skip skips n items (IEnumBackgroundCopyJobs::Skip).
func (e *enum[T]) Skip(n uint32) (hresult.Code, error) {
	return getCode(&e.object, e.m.enum.Skip, &wire.U32Arg{Handle: e.h, Value: n})
}

// Reset goes back to the first item (IEnumBackgroundCopyJobs::Reset).
func (e *enum[T]) Reset() error { return do(&e.object, e.m.enum.Reset) }

// Clone returns an enumerator at the same position (IEnumBackgroundCopyJobs::Clone).
func (e *enum[T]) Clone() (bits.Enum[T], error) {
	r, err := with(&e.object, e.m.enum.Clone, e.handle())
	if err != nil {
		return nil, err
	}
	return newEnum(e.m, r.GetHandle(), e.item), nil
}

// GetCount returns the number of items (IEnumBackgroundCopyJobs::GetCount).
func (e *enum[T]) GetCount() (uint32, error) { return getU32[uint32](&e.object, e.m.enum.GetCount) }
