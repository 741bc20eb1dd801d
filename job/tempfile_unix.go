//go:build unix

package job

import (
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoFollow opens the file name (one path element) in dir with flag, never following a
// symbolic link in its place and never blocking on a FIFO or device there. Anything but a
// regular file gives errNotRegular.
func openNoFollow(dir *os.Root, name string, flag int) (*os.File, error) {
	d, err := dir.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var fd int
	for {
		fd, err = unix.Openat(int(d.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, errNotRegular
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), nil
}

// statFile returns the identity and size of an open file.
func statFile(f *os.File) (tempStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return tempStat{}, err
	}
	st := tempStat{size: uint64(fi.Size()), regular: fi.Mode().IsRegular()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.id = fileID{dev: uint64(sys.Dev), ino: uint64(sys.Ino)}
	}
	return st, nil
}
