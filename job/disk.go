package job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// Files on disk. A download goes to a temporary file in the destination directory (adding-files
// page: "BITS downloads into a temporary file in the destination directory"), created exclusively
// with owner-only permissions. Complete renames the temporary files of finished files to their
// local names and removes the others; Cancel removes every temporary file and never touches the
// local names. These operations run under the job lock, so a transfer that opens a temporary
// file (OpenTemp) and a Cancel or Complete never interleave. Every one of them reaches the file
// through its directory, confined under the local roots, and checks that the temporary file is
// still the one the job created (tempfile.go).

// tempPerm is the mode of temporary files: readable and writable by the owner only.
const tempPerm = 0o600

// OpenTemp opens the temporary file of file i for the transfer engine, creating it (exclusively,
// mode 0600) on first use. The file's recorded progress is reconciled with what is on disk: data
// beyond the recorded progress is cut off, and when the file holds less than the record says
// (it was truncated behind the service's back) the progress drops to what is there; a temporary
// file that was removed is created again, empty. An existing temporary file is opened without
// following a symbolic link and only when it is the file the job created:
// BG_E_LOCAL_FILE_CHANGED when a link, a directory or another file took its place (nothing is
// written then). E_ACCESSDENIED when the directory can no longer be reached inside the local
// roots; BG_E_INVALID_STATE for a final job; the temporary file's error, with context, when it
// cannot be opened or created.
func (e *Engine) OpenTemp(i int) (*os.File, error) {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "OpenTemp")
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
	return o.openTemp(i, fc)
}

// openTemp is OpenTemp for fc, which is file i of the job, or its reply when i is -1. The file
// is created or opened with the owner's rights (Env.FilesAs); the transfer writes through the
// open file. Called with the job locked.
func (o *op) openTemp(i int, fc *fileCore) (*os.File, error) {
	c := o.j.c
	t, err := asOwner(c.env, c.owner, openTempFile, tempUse{env: c.env, fc: fc})
	if err == nil {
		err = t.err
	}
	if err != nil {
		return nil, o.failErr(fileCode(err), err)
	}
	switch {
	case t.created:
		fc.tempCreated = true
		o.setTransferred(i, 0)
	case t.size < fc.transferred:
		o.setTransferred(i, t.size)
	}
	return t.f, nil
}

// tempUse is a file whose temporary file a job uses by name (through asOwner).
type tempUse struct {
	env *Env
	fc  *fileCore
}

// tempFound is what openTempFile and reconcileFile found.
type tempFound struct {
	f       *os.File // the open temporary file (openTempFile)
	created bool     // created, new and empty (openTempFile)
	gone    bool     // no temporary file: the file starts again (reconcileFile)
	leave   bool     // nothing to change (reconcileFile)
	size    uint64   // what the temporary file held before it was cut to the recorded progress
	err     error
}

// openTempFile creates u's temporary file, or opens it again and cuts off what lies beyond the
// recorded progress (OpenTemp). Called with the job locked.
func openTempFile(u tempUse) tempFound {
	fc := u.fc
	dir, err := u.env.openDir(fc.local)
	if err != nil {
		return tempFound{err: err}
	}
	defer dir.Close()
	if !fc.tempCreated {
		f, err := createTemp(dir, fc)
		return tempFound{f: f, created: true, err: err}
	}
	f, st, err := openOwnTemp(dir, fc, os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed behind the service's back: the file starts again, in a new temporary file.
		f, st, err = createIn(dir, filepath.Base(fc.tempName))
	}
	if err != nil {
		return tempFound{err: err}
	}
	fc.tempID = st.id
	if st.size > fc.transferred {
		if err := f.Truncate(int64(fc.transferred)); err != nil {
			f.Close()
			return tempFound{err: err}
		}
	}
	return tempFound{f: f, size: st.size}
}

// createTemp creates fc's temporary file exclusively in dir and records its identity. When a
// file the job did not create has the name, it tries the name with a counter added, and keeps
// the one it got.
func createTemp(dir *os.Root, fc *fileCore) (*os.File, error) {
	folder := filepath.Dir(fc.tempName)
	base := strings.TrimSuffix(filepath.Base(fc.tempName), ".tmp")
	name := filepath.Base(fc.tempName)
	for n := 1; ; n++ {
		f, st, err := createIn(dir, name)
		if err == nil {
			fc.tempName, fc.tempID = filepath.Join(folder, name), st.id
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
// progress to what it holds, and a missing one sets it to 0 (for the service). A temporary file
// that is no longer the job's (see OpenTemp) is left alone: the transfer fails on it.
func (e *Engine) Reconcile() error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "Reconcile")
	defer o.end()
	var first error
	for i, fc := range c.withReply() {
		if !fc.tempCreated || fc.kept {
			continue
		}
		if i == len(c.files) {
			i = replyIndex
		}
		if err := o.reconcile(i, fc); err != nil && first == nil {
			first = o.failErr(fileCode(err), err)
		}
	}
	return first
}

// NeedsReconcile reports whether Reconcile has anything to look at: a file (or the reply) whose
// temporary file was created and has not become its local file. Reconcile does nothing for a
// job without one.
func (e *Engine) NeedsReconcile() bool {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fc := range c.withReply() {
		if fc.tempCreated && !fc.kept {
			return true
		}
	}
	return false
}

// reconcile is Reconcile for fc, file i (replyIndex for the reply), with the owner's rights.
func (o *op) reconcile(i int, fc *fileCore) error {
	c := o.j.c
	t, err := asOwner(c.env, c.owner, reconcileFile, tempUse{env: c.env, fc: fc})
	if err == nil {
		err = t.err
	}
	switch {
	case err != nil:
		return err
	case t.gone:
		fc.tempCreated = false
		o.setTransferred(i, 0)
	case !t.leave && t.size < fc.transferred:
		o.setTransferred(i, t.size)
	}
	return nil
}

// reconcileFile looks at u's temporary file for Reconcile, and cuts off what lies beyond the
// recorded progress. Called with the job locked.
func reconcileFile(u tempUse) tempFound {
	fc := u.fc
	dir, err := u.env.openDir(fc.local)
	if err != nil {
		return tempFound{err: err}
	}
	defer dir.Close()
	f, st, err := openOwnTemp(dir, fc, os.O_RDWR)
	switch {
	case errors.Is(err, fs.ErrNotExist) && fc.done && renamedBefore(dir, fc):
		// A Complete whose end was not recorded (a crash, or a store that refused the write)
		// renamed it already; the next Complete finds it done (completeFiles).
		return tempFound{leave: true}
	case errors.Is(err, fs.ErrNotExist):
		return tempFound{gone: true}
	case errors.Is(err, errTempChanged):
		return tempFound{leave: true}
	case err != nil:
		return tempFound{err: err}
	}
	defer f.Close()
	fc.tempID = st.id
	if st.size > fc.transferred {
		return tempFound{size: st.size, err: f.Truncate(int64(fc.transferred))}
	}
	return tempFound{size: st.size}
}

// setTransferred records that file i (the reply when i is replyIndex) holds n bytes, reporting a
// change when it differs.
func (o *op) setTransferred(i int, n uint64) {
	fc := o.j.c.fileAt(i)
	if fc.transferred == n {
		return
	}
	fc.setTransferred(n)
	fc.done = fc.done && fc.total == n
	o.emit(Change{Kind: FileProgressed, File: i})
}

// keeping is a finished file on its way to its local name.
type keeping struct {
	fc      *fileCore
	dir     *os.Root
	renamed bool // a Complete the process did not live to record renamed it already
}

// completeFiles makes the finished files available under their local names and returns the
// temporary files of the others, to remove once the job's new state is recorded. It first checks
// every finished file's temporary file (no link followed, the job's own file, the size the job
// transferred): when one fails the check it returns the error with verified false, and nothing
// has changed. Then it renames them, inside their directories, and returns the first rename
// failure (verified true), after which nothing else changes, so that Complete can be tried
// again. It works with the owner's rights (Env.FilesAs); when they cannot be taken, nothing has
// changed (verified false). Called with the job locked.
func (c *core) completeFiles() (doomed []*fileCore, verified bool, err error) {
	r, err := asOwner(c.env, c.owner, renameFinished, c)
	if err != nil {
		return nil, false, err
	}
	return r.doomed, r.verified, r.err
}

// completion is what renameFinished did (completeFiles).
type completion struct {
	doomed   []*fileCore
	verified bool
	err      error
}

// renameFinished is completeFiles with the owner's rights.
func renameFinished(c *core) completion {
	doomed, verified, err := c.renameFinished()
	return completion{doomed, verified, err}
}

func (c *core) renameFinished() (doomed []*fileCore, verified bool, err error) {
	var keep []keeping
	dirs := map[string]*os.Root{} // one handle per directory, however many files go there
	defer func() {
		for _, d := range dirs {
			d.Close()
		}
	}()
	for _, fc := range c.withReply() {
		if !fc.done || fc.kept || !fc.tempCreated {
			continue
		}
		dir := dirs[filepath.Dir(fc.local)]
		if dir == nil {
			if dir, err = c.env.openDir(fc.local); err != nil {
				return nil, false, err
			}
			dirs[filepath.Dir(fc.local)] = dir
		}
		keep = append(keep, keeping{fc: fc, dir: dir})
		k := &keep[len(keep)-1]
		f, st, err := openOwnTemp(dir, fc, os.O_RDONLY)
		switch {
		case errors.Is(err, fs.ErrNotExist) && renamedBefore(dir, fc):
			k.renamed = true
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil, false, changed(fc.tempName, "gone")
		case err != nil:
			return nil, false, err
		}
		f.Close()
		if st.size != fc.total {
			return nil, false, changed(fc.tempName, fmt.Sprintf("%d bytes where %d were transferred", st.size, fc.total))
		}
	}
	for _, k := range keep {
		if !k.renamed {
			if err := k.dir.Rename(filepath.Base(k.fc.tempName), filepath.Base(k.fc.local)); err != nil {
				return nil, true, err
			}
		}
		k.fc.kept, k.fc.tempCreated = true, false
	}
	return c.temps(), true, nil
}

// renamedBefore reports whether fc's temporary file, gone, was renamed already: the local file
// is the job's temporary file (same identity and size). That is what a Complete the process did
// not live to record leaves behind; the next Complete finishes it. An older local file never
// passes for the download.
func renamedBefore(dir *os.Root, fc *fileCore) bool {
	if fc.tempID == (fileID{}) {
		return false
	}
	f, err := openNoFollow(dir, filepath.Base(fc.local), os.O_RDONLY)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := statFile(f)
	return err == nil && st.id == fc.tempID && st.size == fc.total
}

// temps returns the files whose temporary file exists. Called with the job locked.
func (c *core) temps() []*fileCore {
	var out []*fileCore
	for _, fc := range c.withReply() {
		if fc.tempCreated {
			out = append(out, fc)
		}
	}
	return out
}

// removeTemps removes the temporary files of a job that became final, once the change is
// recorded: a crash in between leaves a stray temporary file, never a job whose data is gone.
// Only the job's own temporary file is removed, inside its directory: a name that another file,
// a link or a directory took over is left alone and counts as not deleted. It reports whether
// every file went; a file already gone counts as removed. The files are removed with the
// owner's rights (Env.FilesAs); when they cannot be taken, none is. Called without the job's
// lock.
func (c *core) removeTemps(files []*fileCore) bool {
	c.mu.Lock()
	owner := c.owner
	c.mu.Unlock()
	ok, err := asOwner(c.env, owner, removeTempFiles, tempFiles{c, files})
	return ok && err == nil
}

// tempFiles are temporary files of a job (removeTempFiles).
type tempFiles struct {
	c     *core
	files []*fileCore
}

// removeTempFiles is removeTemps with the owner's rights.
func removeTempFiles(t tempFiles) bool {
	c, ok := t.c, true
	for _, fc := range t.files {
		if !c.removeTemp(fc) {
			ok = false
			continue
		}
		c.mu.Lock()
		fc.tempCreated = false
		c.mu.Unlock()
	}
	return ok
}

// removeTemp removes fc's temporary file and reports whether it is gone. The job is final:
// nothing changes the file's name or identity any more.
func (c *core) removeTemp(fc *fileCore) bool {
	dir, err := c.env.openDir(fc.local)
	if err != nil {
		return false
	}
	defer dir.Close()
	f, _, err := openOwnTemp(dir, fc, os.O_RDONLY)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	f.Close()
	err = dir.Remove(filepath.Base(fc.tempName))
	return err == nil || errors.Is(err, fs.ErrNotExist)
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
	Type     bits.JobType
	State    state.State
	Priority bits.Priority
	// Owner is the job's owner, whose rights a local source is read with (manager.WithFilesAs).
	Owner Identity

	Headers        string
	Method         string
	Credentials    []bits.Credentials
	ProxyUsage     bits.ProxyUsage
	ProxyList      string
	ProxyBypass    string
	SecurityFlags  uint32
	DynamicContent bool
	// MaxDownloadSize is the BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE property: the most bytes the
	// job's files may hold together, 0 for no cap.
	MaxDownloadSize uint64

	// RetryDelay is the minimum retry delay.
	RetryDelay time.Duration
	// NoProgressTimeout is the no-progress timeout; 0 means the job never retries.
	NoProgressTimeout time.Duration
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

// Timing is what the service's timers need to know about a job at one moment: its state and
// the times its retry delay, no-progress timeout, maximum download time and inactivity count
// from. It is a TransferView without the files and the transfer settings, and reading it does
// not read the clock.
type Timing struct {
	State state.State
	// Modified is the job's last modification: a change of state or property, or progress.
	Modified time.Time
	// RetryDelay is the minimum retry delay.
	RetryDelay time.Duration
	// NoProgressDeadline is when the no-progress timeout runs out, counted from the first
	// transient error without progress since; zero when the clock is not running.
	NoProgressDeadline time.Time
	// RunningSince is when the job last entered CONNECTING or TRANSFERRING; zero when it is in
	// neither.
	RunningSince time.Time
	// DownloadDeadline is when the maximum download time runs out if the job keeps running
	// (counting the time spent in CONNECTING and TRANSFERRING since the last Resume); zero when
	// the job is not running or has no maximum.
	DownloadDeadline time.Time
}

// Timing returns the job's Timing (for the service).
func (e *Engine) Timing() Timing {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timing()
}

// timing is the job's Timing. Called with the job locked.
func (c *core) timing() Timing {
	t := Timing{State: c.st, Modified: c.modified, RetryDelay: time.Duration(c.retryDelay) * time.Second}
	if !c.noProgressSince.IsZero() {
		t.NoProgressDeadline = c.noProgressSince.Add(time.Duration(c.noProgress) * time.Second)
	}
	if state.Running.Has(c.st) {
		t.RunningSince = c.runSince
		if c.maxDownload != 0 {
			t.DownloadDeadline = c.runSince.Add(time.Duration(c.maxDownload)*time.Second - c.runSpent)
		}
	}
	return t
}

// FileView is one file of a TransferView.
type FileView struct {
	Remote, Local string
	Ranges        []bits.FileRange
	Total         uint64 // SizeUnknown while unknown
	Transferred   uint64
	Done          bool
	Validator     string // the remote file's version, as the engine last recorded it
}

// TransferView returns the job's transfer settings, state and files (for the service).
func (e *Engine) TransferView() TransferView {
	j := &e.Job
	c := j.c
	c.mu.Lock()
	defer c.mu.Unlock()
	v := TransferView{
		Type:              c.typ,
		State:             c.st,
		Priority:          c.priority,
		Owner:             c.owner,
		Headers:           c.headers,
		Method:            c.httpMethod,
		Credentials:       append([]bits.Credentials(nil), c.creds...),
		ProxyUsage:        c.proxyUsage,
		ProxyList:         c.proxyList,
		ProxyBypass:       c.proxyBypass,
		SecurityFlags:     c.security,
		DynamicContent:    c.props.dynamicContent,
		MaxDownloadSize:   c.props.maxDownloadSize,
		RetryDelay:        time.Duration(c.retryDelay) * time.Second,
		NoProgressTimeout: time.Duration(c.noProgress) * time.Second,
		Modified:          c.modified,
		Files:             make([]FileView, len(c.files)),
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
func (e *Engine) TransferFile(i int) (FileView, bool) {
	j := &e.Job
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
func (e *Engine) SetFileValidator(i int, v string) error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "SetFileValidator")
	defer o.end()
	if i < 0 || i >= len(c.files) {
		return o.fail(hresult.E_INVALIDARG)
	}
	c.files[i].validator = v
	return nil
}

// Redirected rewrites file i's remote name to the URL a redirect led to, as BITS does under the
// BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT and DISALLOW policies (for the service).
func (e *Engine) Redirected(i int, url string) error {
	j := &e.Job
	c := j.c
	var o op
	j.beginEngine(&o, "Redirected")
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
func (e *Engine) SchedInfo() (bits.JobType, bits.Priority) {
	j := &e.Job
	j.c.mu.Lock()
	defer j.c.mu.Unlock()
	return j.c.typ, j.c.priority
}

// Activity returns the job's state and its last modification, what an inactivity timeout counts
// from, without the rest of Timing (for the service).
func (e *Engine) Activity() (state.State, time.Time) {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	return e.c.st, e.c.modified
}

// State returns the job's state, without GetState's access check and without the copy a
// TransferView makes (for the service).
func (e *Engine) State() state.State {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	return e.c.st
}
