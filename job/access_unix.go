//go:build unix

package job

import (
	"errors"
	"os"
	"syscall"

	"github.com/bitsemu/bitsemu/hresult"
)

// probeDir checks with one system call that dir is a directory the process may write in.
func probeDir(dir string) (hresult.Code, error) {
	err := syscall.Access(dir+string(os.PathSeparator)+".", 2 /* W_OK */)
	if err == nil {
		return hresult.S_OK, nil
	}
	cause := &os.PathError{Op: "access", Path: dir, Err: err}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) {
		return hresult.E_ACCESSDENIED, cause
	}
	return hresult.ERROR_PATH_NOT_FOUND, cause
}
