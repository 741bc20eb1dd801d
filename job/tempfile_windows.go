//go:build windows

package job

import (
	"os"
	"syscall"
)

// openNoFollow opens the file name (one path element) in dir with flag. os.Root opens with
// FILE_FLAG_OPEN_REPARSE_POINT and follows a reparse point only to a place inside dir; the
// identity check that follows every open then refuses any file but the job's own. Anything but
// a regular file gives errNotRegular.
func openNoFollow(dir *os.Root, name string, flag int) (*os.File, error) {
	f, err := dir.OpenFile(name, flag, 0)
	if err != nil {
		return nil, err
	}
	st, err := statFile(f)
	if err == nil && !st.regular {
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// statFile returns the identity (volume serial number and file index) and size of an open
// file.
func statFile(f *os.File) (tempStat, error) {
	var d syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(syscall.Handle(f.Fd()), &d); err != nil {
		return tempStat{}, &os.PathError{Op: "GetFileInformationByHandle", Path: f.Name(), Err: err}
	}
	return tempStat{
		id:      fileID{dev: uint64(d.VolumeSerialNumber), ino: uint64(d.FileIndexHigh)<<32 | uint64(d.FileIndexLow)},
		size:    uint64(d.FileSizeHigh)<<32 | uint64(d.FileSizeLow),
		regular: d.FileAttributes&(syscall.FILE_ATTRIBUTE_DIRECTORY|syscall.FILE_ATTRIBUTE_REPARSE_POINT) == 0,
	}, nil
}
