//go:build unix

package job

import (
	"errors"
	"os"
	"syscall"

	"github.com/bitsemu/bitsemu/hresult"
)

// probeDir checks with one system call that dir is a directory that may be written in: by the
// process (its real ids, access(2)), or, when effective is set, by the file-system identity of
// the calling thread (Env.FilesAs gave it the job owner's; accessFS).
func probeDir(dir string, effective bool) (hresult.Code, error) {
	p := dir + string(os.PathSeparator) + "."
	var err error
	if effective {
		err = accessFS(p)
	} else {
		err = syscall.Access(p, 2 /* W_OK */)
	}
	if err == nil {
		return hresult.S_OK, nil
	}
	cause := &os.PathError{Op: "access", Path: dir, Err: err}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) {
		return hresult.E_ACCESSDENIED, cause
	}
	return hresult.ERROR_PATH_NOT_FOUND, cause
}
