//go:build !unix

package job

import (
	"os"

	"github.com/bitsemu/bitsemu/hresult"
)

// probeDir checks that dir is a directory. Off Unix whether it can be written (by the process,
// or by the job's owner when effective is set) is left to the moment the temporary file is
// created.
func probeDir(dir string, _ bool) (hresult.Code, error) {
	fi, err := os.Stat(dir)
	switch {
	case err != nil && os.IsPermission(err):
		return hresult.E_ACCESSDENIED, err
	case err != nil:
		return hresult.ERROR_PATH_NOT_FOUND, err
	case !fi.IsDir():
		return hresult.ERROR_PATH_NOT_FOUND, &os.PathError{Op: "stat", Path: dir, Err: os.ErrInvalid}
	}
	return hresult.S_OK, nil
}
