package job

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Files on disk. A download goes to a temporary file in the destination directory (adding-files
// page: "BITS downloads into a temporary file in the destination directory"), created exclusively
// with owner-only permissions. Complete renames the temporary files of finished files to their
// local names and removes the others; Cancel removes every temporary file and never touches the
// local names. These operations run under the job lock, so a transfer that opens a temporary
// file (OpenTemp) and a Cancel or Complete never interleave.

// tempPerm is the mode of temporary files: readable and writable by the owner only.
const tempPerm = 0o600

// OpenTemp opens the temporary file of file i for the transfer engine, creating it (exclusively,
// mode 0600) on first use. The file's recorded progress is reconciled with what is on disk: data
// beyond the recorded progress is cut off, and when the file holds less than the record says
// (it was truncated or removed behind the service's back) the progress drops to what is there.
// BG_E_INVALID_STATE for a final job; the temporary file's error, with context, when it cannot
// be opened or created.
func (j *Job) OpenTemp(i int) (*os.File, error) {
	c := j.c
	o := j.beginEngine("OpenTemp")
	defer o.end()
	if i < 0 || i >= len(c.files) {
		return nil, o.fail(hresult.E_INVALIDARG)
	}
	if c.st.Final() {
		return nil, o.fail(hresult.BG_E_INVALID_STATE)
	}
	fc := c.files[i]
	if fc.tempName == "" {
		fc.tempName = tempNameFor(c, fc)
	}
	if !fc.tempCreated {
		f, err := createTemp(fc)
		if err != nil {
			return nil, o.failErr(DiskCode(err), err)
		}
		fc.tempCreated = true
		o.setTransferred(i, 0)
		return f, nil
	}
	f, err := os.OpenFile(fc.tempName, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(fc.tempName, os.O_RDWR|os.O_CREATE|os.O_EXCL, tempPerm)
	}
	if err != nil {
		return nil, o.failErr(DiskCode(err), err)
	}
	st, err := f.Stat()
	if err == nil {
		size := uint64(st.Size())
		switch {
		case size > fc.transferred:
			err = f.Truncate(int64(fc.transferred))
		case size < fc.transferred:
			o.setTransferred(i, size)
		}
	}
	if err != nil {
		f.Close()
		return nil, o.failErr(DiskCode(err), err)
	}
	return f, nil
}

// createTemp creates fc's temporary file exclusively. When a file the job did not create has the
// name, it tries the name with a counter added, and keeps the one it got.
func createTemp(fc *fileCore) (*os.File, error) {
	base := strings.TrimSuffix(fc.tempName, ".tmp")
	name := fc.tempName
	for n := 1; ; n++ {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, tempPerm)
		if err == nil {
			fc.tempName = name
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) || n == 100 {
			return nil, err
		}
		name = base + "-" + strconv.Itoa(n) + ".tmp"
	}
}

// Reconcile makes the recorded progress of every file agree with its temporary file, as the
// service does when it starts again after a crash: bytes past the recorded progress (written
// after the last checkpoint) are cut off, a temporary file shorter than the record lowers the
// progress to what it holds, and a missing one sets it to 0 (for the service).
func (j *Job) Reconcile() error {
	c := j.c
	o := j.beginEngine("Reconcile")
	defer o.end()
	var first error
	for i, fc := range c.files {
		if !fc.tempCreated || fc.kept {
			continue
		}
		st, err := os.Stat(fc.tempName)
		switch {
		case errors.Is(err, fs.ErrNotExist) && fc.done && renamedWhole(fc):
			// A Complete whose end was not recorded (a crash, or a store that refused the
			// write) renamed it already; the next Complete finds it done (completeFiles).
		case errors.Is(err, fs.ErrNotExist):
			fc.tempCreated = false
			o.setTransferred(i, 0)
		case err != nil:
			if first == nil {
				first = o.failErr(DiskCode(err), err)
			}
		case uint64(st.Size()) > fc.transferred:
			if err := os.Truncate(fc.tempName, int64(fc.transferred)); err != nil && first == nil {
				first = o.failErr(DiskCode(err), err)
			}
		case uint64(st.Size()) < fc.transferred:
			o.setTransferred(i, uint64(st.Size()))
		}
	}
	return first
}

// setTransferred records that file i holds n bytes, reporting a change when it differs.
func (o *op) setTransferred(i int, n uint64) {
	fc := o.j.c.files[i]
	if fc.transferred == n {
		return
	}
	fc.transferred = n
	fc.done = fc.done && fc.total == n
	o.emit(Change{Kind: FileProgressed, File: i})
}

// completeFiles makes the finished files available under their local names and returns the
// temporary files of the others, to remove once the job's new state is recorded. It returns the
// first rename failure, after which nothing else changes, so that Complete can be tried again.
// Called with the job locked.
func (c *core) completeFiles() (doomed []*fileCore, renameErr error) {
	for _, fc := range c.files {
		if !fc.done || fc.kept || !fc.tempCreated {
			continue
		}
		if err := os.Rename(fc.tempName, fc.local); err != nil {
			if !renamedBefore(fc, err) {
				return nil, err
			}
		}
		fc.kept, fc.tempCreated = true, false
	}
	return c.temps(), nil
}

// renamedBefore reports whether a failed rename of fc's temporary file finds the work already
// done: the temporary file is gone and the local file is there. That is what a Complete the
// process did not live to record leaves behind; the next Complete finishes it.
func renamedBefore(fc *fileCore, err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if _, err := os.Lstat(fc.tempName); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	st, err := os.Stat(fc.local)
	return err == nil && st.Mode().IsRegular()
}

// renamedWhole reports whether the finished file fc, whose temporary file is gone, is at its
// local name, whole: a regular file of the file's size.
func renamedWhole(fc *fileCore) bool {
	st, err := os.Stat(fc.local)
	return err == nil && st.Mode().IsRegular() && uint64(st.Size()) == fc.total
}

// temps returns the files whose temporary file exists. Called with the job locked.
func (c *core) temps() []*fileCore {
	var out []*fileCore
	for _, fc := range c.files {
		if fc.tempCreated {
			out = append(out, fc)
		}
	}
	return out
}

// removeTemps removes the temporary files of a job that became final, once the change is
// recorded: a crash in between leaves a stray temporary file, never a job whose data is gone.
// It reports whether every file went; a file already gone counts as removed. Called without
// the job's lock.
func (c *core) removeTemps(files []*fileCore) bool {
	ok := true
	for _, fc := range files {
		err := os.Remove(fc.tempName)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			ok = false
			continue
		}
		c.mu.Lock()
		fc.tempCreated = false
		c.mu.Unlock()
	}
	return ok
}

// DiskCode maps a file-system error to the HRESULT BITS reports for it: E_ACCESSDENIED,
// ERROR_PATH_NOT_FOUND, ERROR_FILE_EXISTS, ERROR_DISK_FULL, ERROR_SHARING_VIOLATION, or E_FAIL.
func DiskCode(err error) hresult.Code {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return hresult.E_ACCESSDENIED
	case errors.Is(err, fs.ErrNotExist):
		return hresult.ERROR_PATH_NOT_FOUND
	case errors.Is(err, fs.ErrExist):
		return hresult.ERROR_FILE_EXISTS
	case errors.Is(err, syscall.ENOSPC):
		return hresult.ERROR_DISK_FULL
	case errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ETXTBSY):
		return hresult.ERROR_SHARING_VIOLATION
	}
	return hresult.E_FAIL
}

// TransferView is what the transfer engine needs to know about a job at one moment.
type TransferView struct {
	Type     Type
	State    state.State
	Priority Priority

	Headers        string
	Method         string
	Credentials    []Credentials
	ProxyUsage     ProxyUsage
	ProxyList      string
	ProxyBypass    string
	SecurityFlags  uint32
	DynamicContent bool

	// RetryDelay is the minimum retry delay.
	RetryDelay time.Duration
	// NoProgressDeadline is when the no-progress timeout runs out, counted from the first
	// transient error without progress since; zero when the clock is not running.
	NoProgressDeadline time.Time
	// DownloadTimeLeft is what remains of the maximum download time, counting the time spent
	// in CONNECTING and TRANSFERRING since the last Resume; negative when it ran out. It is
	// meaningless when NoDownloadLimit is set.
	DownloadTimeLeft time.Duration
	// NoDownloadLimit is set when the maximum download time is 0 (no cap).
	NoDownloadLimit bool
	// Modified is the job's last modification: a change of state or property, or progress.
	Modified time.Time

	Files []FileView
}

// FileView is one file of a TransferView.
type FileView struct {
	Remote, Local string
	Ranges        []FileRange
	Total         uint64 // SizeUnknown while unknown
	Transferred   uint64
	Done          bool
	Validator     string // the remote file's version, as the engine last recorded it
}

// TransferView returns the job's transfer settings, state and files (for the service).
func (j *Job) TransferView() TransferView {
	c := j.c
	c.mu.Lock()
	defer c.mu.Unlock()
	v := TransferView{
		Type:           c.typ,
		State:          c.st,
		Priority:       c.priority,
		Headers:        c.headers,
		Method:         c.httpMethod,
		Credentials:    append([]Credentials(nil), c.creds...),
		ProxyUsage:     c.proxyUsage,
		ProxyList:      c.proxyList,
		ProxyBypass:    c.proxyBypass,
		SecurityFlags:  c.security,
		DynamicContent: c.props.dynamicContent,
		RetryDelay:     time.Duration(c.retryDelay) * time.Second,
		Modified:       c.modified,
		Files:          make([]FileView, len(c.files)),
	}
	if !c.noProgressSince.IsZero() {
		v.NoProgressDeadline = c.noProgressSince.Add(time.Duration(c.noProgress) * time.Second)
	}
	if c.maxDownload == 0 {
		v.NoDownloadLimit = true
	} else {
		v.DownloadTimeLeft = time.Duration(c.maxDownload)*time.Second - c.downloadTime(c.env.Clock.Now())
	}
	for i, fc := range c.files {
		v.Files[i] = fc.view()
	}
	return v
}

func (fc *fileCore) view() FileView {
	return FileView{
		Remote: fc.remote, Local: fc.local, Ranges: fc.ranges,
		Total: fc.total, Transferred: fc.transferred, Done: fc.done, Validator: fc.validator,
	}
}

// TransferFile returns file i as TransferView would, and false when there is no such file (for
// the service).
func (j *Job) TransferFile(i int) (FileView, bool) {
	c := j.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.files) {
		return FileView{}, false
	}
	return c.files[i].view(), true
}

// downloadTime is the time spent in CONNECTING and TRANSFERRING since the last Resume.
func (c *core) downloadTime(now time.Time) time.Duration {
	d := c.runSpent
	if state.Running.Has(c.st) {
		d += now.Sub(c.runSince)
	}
	return d
}

// SetFileValidator records the version of file i's remote file as the engine saw it, so that
// the next attempt can tell whether it changed (for the service).
func (j *Job) SetFileValidator(i int, v string) error {
	c := j.c
	o := j.beginEngine("SetFileValidator")
	defer o.end()
	if i < 0 || i >= len(c.files) {
		return o.fail(hresult.E_INVALIDARG)
	}
	c.files[i].validator = v
	return nil
}

// Redirected rewrites file i's remote name to the URL a redirect led to, as BITS does under the
// BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT and DISALLOW policies (for the service).
func (j *Job) Redirected(i int, url string) error {
	c := j.c
	o := j.beginEngine("Redirected")
	defer o.end()
	if i < 0 || i >= len(c.files) {
		return o.fail(hresult.E_INVALIDARG)
	}
	if c.st.Final() {
		return o.fail(hresult.BG_E_INVALID_STATE)
	}
	kind, ok := parseRemote(url)
	if !ok || kind != remoteHTTP {
		return o.fail(hresult.E_INVALIDARG)
	}
	fc := c.files[i]
	if fc.remote != url {
		fc.remote = url
		o.emit(Change{Kind: PropertyChanged})
	}
	return nil
}

// SchedInfo returns the job's type and priority, for the scheduler.
func (j *Job) SchedInfo() (Type, Priority) {
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	return j.c.typ, j.c.priority
}
