package job

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

type errorRecord struct {
	ctx      bits.ErrorContext
	code     hresult.Code
	file     *fileCore
	protocol string
}

// ErrorInfo is a job's error object (IBackgroundCopyError): a snapshot of the error the job
// holds when GetError is called.
type ErrorInfo struct {
	j   *Job
	rec errorRecord
}

// GetError returns the error object of a job that failed (IBackgroundCopyJob::GetError). A job
// holds one from the moment it enters ERROR or TRANSIENT_ERROR until it next enters
// TRANSFERRING; otherwise BG_E_ERROR_INFORMATION_UNAVAILABLE.
func (j *Job) GetError() (bits.Error, error) {
	var o op
	if err := j.begin(&o, state.GetError, "GetError"); err != nil {
		return nil, err
	}
	defer o.end()
	if _, err := o.check(); err != nil {
		return nil, err
	}
	return &ErrorInfo{j: j, rec: *j.c.errInfo}, nil
}

// GetError returns where the error happened and its HRESULT (IBackgroundCopyError::GetError).
// The error is always nil: the object is a snapshot.
func (e *ErrorInfo) GetError() (bits.ErrorContext, hresult.Code, error) {
	return e.rec.ctx, e.rec.code, nil
}

// GetFile returns the file the error concerns, or BG_E_FILE_NOT_AVAILABLE when it concerns none
// (IBackgroundCopyError::GetFile).
func (e *ErrorInfo) GetFile() (bits.File, error) {
	if e.rec.file == nil {
		return nil, &hresult.Error{Op: "IBackgroundCopyError.GetFile", Job: guid(e.j.c.id), Code: hresult.BG_E_FILE_NOT_AVAILABLE}
	}
	return &File{j: e.j, f: e.rec.file}, nil
}

// GetProtocol returns "http" for HTTP and HTTPS errors and "file" for file-system transfers, or
// BG_E_PROTOCOL_NOT_AVAILABLE when the error has nothing to do with a protocol
// (IBackgroundCopyError::GetProtocol).
func (e *ErrorInfo) GetProtocol() (string, error) {
	if e.rec.protocol == "" {
		return "", &hresult.Error{Op: "IBackgroundCopyError.GetProtocol", Job: guid(e.j.c.id), Code: hresult.BG_E_PROTOCOL_NOT_AVAILABLE}
	}
	return e.rec.protocol, nil
}

// GetErrorDescription describes the error's HRESULT in the given language
// (IBackgroundCopyError::GetErrorDescription). E_INVALIDARG for language 0;
// ERROR_RESOURCE_LANG_NOT_FOUND for a language other than English.
func (e *ErrorInfo) GetErrorDescription(lang uint16) (string, error) {
	if lang == 0 {
		return "", &hresult.Error{Op: "IBackgroundCopyError.GetErrorDescription", Code: hresult.E_INVALIDARG}
	}
	return hresult.Description(e.rec.code, lang)
}

// GetErrorContextDescription describes where the error happened, in the given language
// (IBackgroundCopyError::GetErrorContextDescription), with the same errors as GetErrorDescription.
func (e *ErrorInfo) GetErrorContextDescription(lang uint16) (string, error) {
	if lang == 0 {
		return "", &hresult.Error{Op: "IBackgroundCopyError.GetErrorContextDescription", Code: hresult.E_INVALIDARG}
	}
	// Check the language the same way GetErrorDescription does.
	if _, err := hresult.Description(hresult.S_OK, lang); err != nil {
		return "", err
	}
	if int(e.rec.ctx) < len(contextText) {
		return contextText[e.rec.ctx], nil
	}
	return contextText[bits.ContextUnknown], nil
}
