//go:build !windows

package upload

import (
	"errors"
	"io/fs"
	"net/http"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bitsemu/bitsemu/hresult"
)

// TestIOFailure maps file-system errors to what the client gets: a full disk is
// ERROR_DISK_FULL with 500 ([MC-BUP 2.2.1.2]), a refused permission E_ACCESSDENIED with 403.
func TestIOFailure(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   hresult.Code
	}{
		{&fs.PathError{Op: "write", Path: "data", Err: syscall.ENOSPC}, http.StatusInternalServerError, hresult.ERROR_DISK_FULL},
		{&fs.PathError{Op: "write", Path: "data", Err: syscall.EDQUOT}, http.StatusInternalServerError, hresult.ERROR_DISK_FULL},
		{&fs.PathError{Op: "open", Path: "data", Err: syscall.EACCES}, http.StatusForbidden, hresult.E_ACCESSDENIED},
		{errors.New("other"), http.StatusInternalServerError, hresult.E_FAIL},
	}
	for _, tt := range tests {
		status, f := ioFailure(tt.err)
		assert.Equal(t, tt.status, status, "%v", tt.err)
		assert.Equal(t, tt.code, f.code, "%v", tt.err)
	}
}
