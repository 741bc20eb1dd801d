package hresult_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
)

const (
	testJob      = "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}"
	invalidState = "BG_E_INVALID_STATE (0x80200002): the job's current state does not allow this call"
)

func TestErrorFormatting(t *testing.T) {
	cause := &os.PathError{Op: "open", Path: "/tmp/x", Err: fs.ErrNotExist}
	tests := []struct {
		name string
		err  *hresult.Error
		want string
	}{
		{
			name: "all parts",
			err:  &hresult.Error{Op: "Resume", Job: testJob, State: "CANCELLED", Code: hresult.BG_E_INVALID_STATE},
			want: "Resume " + testJob + ": job is CANCELLED: " + invalidState,
		},
		{
			name: "code only",
			err:  &hresult.Error{Code: hresult.BG_E_INVALID_STATE},
			want: invalidState,
		},
		{
			name: "op only",
			err:  &hresult.Error{Op: "CreateJob", Code: hresult.BG_E_TOO_MANY_JOBS_PER_USER},
			want: "CreateJob: BG_E_TOO_MANY_JOBS_PER_USER (0x80200049): the user already has as many jobs as allowed",
		},
		{
			name: "job without op",
			err:  &hresult.Error{Job: testJob, Code: hresult.BG_E_INVALID_STATE},
			want: testJob + ": " + invalidState,
		},
		{
			name: "state without op or job",
			err:  &hresult.Error{State: "ACKNOWLEDGED", Code: hresult.BG_E_INVALID_STATE},
			want: "job is ACKNOWLEDGED: " + invalidState,
		},
		{
			name: "with cause",
			err:  &hresult.Error{Op: "AddFile", Job: testJob, Code: hresult.ERROR_FILE_NOT_FOUND, Err: cause},
			want: "AddFile " + testJob + ": HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) (0x80070002): the file does not exist: open /tmp/x: file does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("disk exploded")
	withCause := &hresult.Error{Op: "Complete", Code: hresult.ERROR_DISK_FULL, Err: cause}
	assert.Equal(t, []error{hresult.ERROR_DISK_FULL, cause}, withCause.Unwrap())

	bare := &hresult.Error{Op: "Complete", Code: hresult.E_FAIL}
	assert.Equal(t, []error{hresult.E_FAIL}, bare.Unwrap())
}

func TestErrorsIs(t *testing.T) {
	pathErr := &os.PathError{Op: "open", Path: "/nope", Err: fs.ErrNotExist}
	e := &hresult.Error{Op: "AddFile", Job: testJob, Code: hresult.ERROR_FILE_NOT_FOUND, Err: pathErr}
	wrapped := fmt.Errorf("engine: %w", e)

	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"direct code", e, hresult.ERROR_FILE_NOT_FOUND, true},
		{"direct cause", e, fs.ErrNotExist, true},
		{"direct other code", e, hresult.BG_E_FILE_NOT_FOUND, false},
		{"wrapped code", wrapped, hresult.ERROR_FILE_NOT_FOUND, true},
		{"wrapped cause", wrapped, fs.ErrNotExist, true},
		{"wrapped other", wrapped, fs.ErrPermission, false},
		{"bare code", hresult.BG_E_INVALID_STATE, hresult.BG_E_INVALID_STATE, true},
		{"bare code via %w", fmt.Errorf("x: %w", hresult.BG_E_EMPTY), hresult.BG_E_EMPTY, true},
		{"bare code differs", hresult.BG_E_EMPTY, hresult.BG_E_NOT_FOUND, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errors.Is(tt.err, tt.target))
		})
	}

	var pe *os.PathError
	require.ErrorAs(t, wrapped, &pe)
	assert.Equal(t, "/nope", pe.Path)

	var he *hresult.Error
	require.ErrorAs(t, wrapped, &he)
	assert.Equal(t, "AddFile", he.Op)
}

func TestOf(t *testing.T) {
	inner := &hresult.Error{Op: "Suspend", Code: hresult.BG_E_INVALID_STATE}
	tests := []struct {
		name string
		err  error
		want hresult.Code
	}{
		{"nil", nil, hresult.S_OK},
		{"code", hresult.BG_E_NOT_FOUND, hresult.BG_E_NOT_FOUND},
		{"success code passes through", hresult.BG_S_PARTIAL_COMPLETE, hresult.BG_S_PARTIAL_COMPLETE},
		{"Error", inner, hresult.BG_E_INVALID_STATE},
		{"wrapped Error", fmt.Errorf("job: %w", inner), hresult.BG_E_INVALID_STATE},
		{"wrapped code", fmt.Errorf("job: %w", hresult.E_INVALIDARG), hresult.E_INVALIDARG},
		{
			"outer code wins over a code in the cause",
			&hresult.Error{Code: hresult.BG_E_TOO_LARGE, Err: hresult.E_OUTOFMEMORY},
			hresult.BG_E_TOO_LARGE,
		},
		{"plain error", errors.New("boom"), hresult.E_FAIL},
		{"plain wrapped error", fmt.Errorf("x: %w", fs.ErrNotExist), hresult.E_FAIL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, hresult.Of(tt.err))
		})
	}
}
