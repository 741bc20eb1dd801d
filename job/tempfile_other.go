//go:build !unix && !windows

package job

import "os"

// openNoFollow opens the file name (one path element) in dir with flag, through os.Root, which
// follows no link out of dir. Anything but a regular file gives errNotRegular.
func openNoFollow(dir *os.Root, name string, flag int) (*os.File, error) {
	f, err := dir.OpenFile(name, flag, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errNotRegular
		}
		return nil, err
	}
	return f, nil
}

// statFile returns the size of an open file. This platform gives no file identity: the zero
// fileID means unknown.
func statFile(f *os.File) (tempStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return tempStat{}, err
	}
	return tempStat{size: uint64(fi.Size()), regular: fi.Mode().IsRegular()}, nil
}
