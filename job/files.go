package job

import (
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

type fileCore struct {
	remote, local string
	kind          remoteKind
	ranges        []bits.FileRange
	total         uint64
	transferred   uint64
	done          bool
	validated     bool
	validationSet bool
	tempName      string
	tempCreated   bool   // the temporary file was created and not removed since
	kept          bool   // Complete renamed the temporary file to the local name
	validator     string // the remote file's version (SetFileValidator)
	durable       uint64 // of transferred, the bytes the service reported on disk (FileSynced)
	headers       string
	tempID        fileID // the temporary file's identity; zero until created (or unknown)
}

// oneFile returns a job's files slice holding one new file, made in one allocation with it: most
// jobs have one file.
func oneFile() ([]*fileCore, *fileCore) {
	o := new(struct {
		slot [1]*fileCore
		fc   fileCore
	})
	o.slot[0] = &o.fc
	return o.slot[:], &o.fc
}

// setTransferred records that the temporary file holds n bytes of the output; those on disk
// stay on disk only up to n.
func (fc *fileCore) setTransferred(n uint64) {
	fc.transferred = n
	fc.durable = min(fc.durable, n)
}

// File is a handle to one file of a job (IBackgroundCopyFile through IBackgroundCopyFile5).
type File struct {
	j *Job
	f *fileCore
}

// Index returns the file's position in the job, counting from 0, or -1 if it is not there.
func (f *File) index() int {
	for i, fc := range f.j.c.files {
		if fc == f.f {
			return i
		}
	}
	return -1
}

// AddFile appends one file to the job (IBackgroundCopyJob::AddFile). See AddFileSet for the rules.
func (j *Job) AddFile(remoteURL, localName string) error {
	return j.addFiles(state.AddFile, "AddFile", []bits.FileInfo{{RemoteName: remoteURL, LocalName: localName}}, nil)
}

// AddFileSet appends several files at once (IBackgroundCopyJob::AddFileSet). Either every file
// is added or none is.
//
// Remote names are http:// or https:// URLs, file:// URLs, UNC names or absolute paths, at most
// 2,200 characters; local names are absolute paths of at most MAX_PATH (260) characters in a
// directory that exists and can be written. Errors: E_INVALIDARG for a bad name or unsupported
// scheme, ERROR_PATH_NOT_FOUND when the local directory does not exist, E_ACCESSDENIED when it
// cannot be written, BG_E_INVALID_STATE for a final job, BG_E_TOO_MANY_FILES when an upload job
// would get more than one file, BG_E_TOO_MANY_FILES_IN_JOB over the MaxFilesPerJob limit. An
// empty set succeeds and changes nothing.
func (j *Job) AddFileSet(files []bits.FileInfo) error {
	return j.addFiles(state.AddFileSet, "AddFileSet", files, nil)
}

// AddFileWithRanges appends a file of which only the given byte ranges are downloaded, written
// back to back in the local file (IBackgroundCopyJob3::AddFileWithRanges). Ranges need an
// http or https remote name. Errors beyond AddFile's: E_INVALIDARG for no ranges, E_NOTIMPL for
// an upload job, BG_E_INVALID_RANGE for a zero length, an offset of LengthToEOF or a range that
// runs past 2^64, BG_E_OVERLAPPING_RANGES for ranges that share a byte, BG_E_TOO_MANY_RANGES_IN_FILE
// over the MaxRangesPerFile limit, BG_E_UNSUPPORTED_JOB_CONFIGURATION when the job uses dynamic
// content or on-demand mode.
func (j *Job) AddFileWithRanges(remoteURL, localName string, ranges []bits.FileRange) error {
	if len(ranges) == 0 {
		// Still check access first, like every other call.
		var o op
		if err := j.begin(&o, state.AddFileWithRanges, "AddFileWithRanges"); err != nil {
			return err
		}
		err := o.fail(hresult.E_INVALIDARG)
		o.end()
		return err
	}
	return j.addFiles(state.AddFileWithRanges, "AddFileWithRanges",
		[]bits.FileInfo{{RemoteName: remoteURL, LocalName: localName}}, ranges)
}

func (j *Job) addFiles(m state.Method, name string, files []bits.FileInfo, ranges []bits.FileRange) (err error) {
	var o op
	if err := j.beginChange(&o, m, name); err != nil {
		return err
	}
	defer o.commit(&err)
	c := j.c
	// One reading of the clock serves the modification time and, when the service runs on the
	// real clock, the directory check's cache.
	now := c.env.Clock.Now()
	wall := now
	if !clock.IsReal(c.env.Clock) {
		wall = time.Now()
	}
	// Arguments. The owner must be able to write in the local names' directories (Adding Files
	// to a Job page): with Env.FilesAs they are checked with the owner's rights, all in one call.
	var one [1]remoteKind // AddFile's one file needs no allocation
	kinds := one[:min(len(files), 1)]
	if len(files) > 1 {
		kinds = make([]remoteKind, len(files))
	}
	upload, ranged := c.typ != bits.Download, ranges != nil
	var r checked
	if c.env.FilesAs == nil {
		r = checkEach(c.env, files, kinds, upload, ranged, "", wall)
	} else if len(files) > 0 {
		// What goes to FilesAs leaves the stack: copies, so that without FilesAs the caller's
		// files and kinds stay where they are.
		fc := fileCheck{env: c.env, files: slices.Clone(files), kinds: make([]remoteKind, len(files)),
			upload: upload, ranged: ranged, who: ownerKey(c), wall: wall}
		if r, err = asOwner(c.env, c.owner, checkFiles, fc); err != nil {
			return o.failErr(hresult.E_ACCESSDENIED, err)
		}
		copy(kinds, fc.kinds)
	}
	if r.code != hresult.S_OK {
		return o.failErr(r.code, r.cause)
	}
	if ranges != nil {
		sorted, code := checkRanges(ranges)
		if code != hresult.S_OK {
			return o.fail(code)
		}
		ranges = sorted
	}
	// State and type.
	if _, err := o.check(); err != nil {
		return err
	}
	if len(files) == 0 {
		return nil
	}
	if c.typ != bits.Download && len(c.files)+len(files) > 1 {
		return o.fail(hresult.BG_E_TOO_MANY_FILES)
	}
	var total uint64
	if ranges != nil {
		if c.props.dynamicContent || c.props.onDemand {
			return o.fail(hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION)
		}
		total = rangesTotal(ranges)
	}
	// Limits.
	exempt := j.caller.id.Exempt()
	if lim := c.env.Limits.MaxFilesPerJob; lim > 0 && !exempt && len(c.files)+len(files) > lim {
		return o.fail(hresult.BG_E_TOO_MANY_FILES_IN_JOB)
	}
	if lim := c.env.Limits.MaxRangesPerFile; lim > 0 && !exempt && len(ranges) > lim {
		return o.fail(hresult.BG_E_TOO_MANY_RANGES_IN_FILE)
	}
	if ranges == nil {
		total = bits.SizeUnknown
	}
	for i, fi := range files {
		var fc *fileCore
		if len(c.files) == 0 && len(files) == 1 {
			c.files, fc = oneFile()
		} else {
			fc = new(fileCore)
			c.files = append(c.files, fc)
		}
		*fc = fileCore{remote: fi.RemoteName, local: fi.LocalName, kind: kinds[i], ranges: ranges, total: total}
	}
	c.modified = now
	o.emit(Change{Kind: FilesAdded, Files: len(files)})
	return nil
}

// fileCheck is what checkFiles checks: the files of an AddFile-like call, whose remote kinds it
// fills in (checkEach's arguments).
type fileCheck struct {
	env            *Env
	files          []bits.FileInfo
	kinds          []remoteKind
	upload, ranged bool   // an upload or upload-reply job; a file with ranges
	who            string // whose rights the local names are checked with (nameCheck)
	wall           time.Time
}

// checked is the outcome of a check: S_OK, or the HRESULT to fail with and its cause.
type checked struct {
	code  hresult.Code
	cause error
}

// checkFiles is checkEach for asOwner.
func checkFiles(fc fileCheck) checked {
	return checkEach(fc.env, fc.files, fc.kinds, fc.upload, fc.ranged, fc.who, fc.wall)
}

// checkEach checks each file in turn, its remote name and then its local name (checkName), and
// returns the first failure. It fills in kinds. (Its arguments stay apart, not in a fileCheck:
// the caller's files then stay on its stack.)
func checkEach(env *Env, files []bits.FileInfo, kinds []remoteKind, upload, ranged bool, who string, wall time.Time) checked {
	for i, fi := range files {
		kind, ok := parseRemote(fi.RemoteName)
		if !ok || upload && kind != remoteHTTP || ranged && kind != remoteHTTP {
			// Uploads go over HTTP only; no ranges over SMB since BITS 3.0.
			return checked{code: hresult.E_INVALIDARG}
		}
		kinds[i] = kind
		if r := checkName(nameCheck{env: env, name: fi.LocalName, who: who, wall: wall}); r.code != hresult.S_OK {
			return r
		}
	}
	return checked{}
}

// ownerKey is whose rights a job's local names are checked with (nameCheck.who): "" for the
// process's, without Env.FilesAs, else its owner's. Called with the job locked.
func ownerKey(c *core) string {
	if c.env.FilesAs == nil {
		return ""
	}
	return "owner " + c.owner.SID
}

// nameCheck is a local name to check, at wall-clock time wall, with the rights of who (a SID,
// with Env.FilesAs) or the process's ("").
type nameCheck struct {
	env       *Env
	name, who string
	wall      time.Time
}

// checkName checks a local name: well formed, in a directory that exists and can be written
// (checkLocal), inside the local roots.
func checkName(n nameCheck) checked {
	if code, cause := checkLocal(n.name, n.wall, n.who); code != hresult.S_OK {
		return checked{code, cause}
	}
	if !n.env.allowsLocal(n.name) {
		return checked{code: hresult.E_ACCESSDENIED}
	}
	return checked{}
}

// checkRanges validates ranges and returns a copy in the order given (BITS writes them back to
// back in that order); the overlap check sorts a second copy by offset.
func checkRanges(ranges []bits.FileRange) ([]bits.FileRange, hresult.Code) {
	for _, r := range ranges {
		if r.InitialOffset == bits.LengthToEOF || r.Length == 0 {
			return nil, hresult.BG_E_INVALID_RANGE
		}
		if r.Length != bits.LengthToEOF && r.InitialOffset+r.Length < r.InitialOffset {
			return nil, hresult.BG_E_INVALID_RANGE
		}
	}
	byOffset := append([]bits.FileRange(nil), ranges...)
	sort.SliceStable(byOffset, func(a, b int) bool { return byOffset[a].InitialOffset < byOffset[b].InitialOffset })
	for i := 1; i < len(byOffset); i++ {
		prev := byOffset[i-1]
		if prev.Length == bits.LengthToEOF || prev.InitialOffset+prev.Length > byOffset[i].InitialOffset {
			return nil, hresult.BG_E_OVERLAPPING_RANGES
		}
	}
	return append([]bits.FileRange(nil), ranges...), hresult.S_OK
}

// rangesTotal is the byte total of ranges, or SizeUnknown when one runs to the end of the file.
func rangesTotal(ranges []bits.FileRange) uint64 {
	var t uint64
	for _, r := range ranges {
		if r.Length == bits.LengthToEOF {
			return bits.SizeUnknown
		}
		t += r.Length
	}
	return t
}

// EnumFiles returns an enumerator over a snapshot of the job's files, in the order they were
// added (IBackgroundCopyJob::EnumFiles).
func (j *Job) EnumFiles() (bits.FileEnum, error) {
	var o op
	if err := j.begin(&o, state.EnumFiles, "EnumFiles"); err != nil {
		return nil, err
	}
	defer o.end()
	files := make([]bits.File, len(j.c.files))
	for i, fc := range j.c.files {
		files[i] = &File{j: j, f: fc}
	}
	return NewEnum(files), nil
}

// begin starts a call on a file: the job's access check, under the job lock (Job.begin).
func (f *File) begin(o *op, m state.Method, name string) error {
	return f.j.begin(o, m, "File."+name)
}

// GetRemoteName returns the remote name exactly as it was given (IBackgroundCopyFile::GetRemoteName).
func (f *File) GetRemoteName() (string, error) {
	var o op
	if err := f.begin(&o, 0, "GetRemoteName"); err != nil {
		return "", err
	}
	defer o.end()
	return f.f.remote, nil
}

// GetLocalName returns the local name exactly as it was given (IBackgroundCopyFile::GetLocalName).
func (f *File) GetLocalName() (string, error) {
	var o op
	if err := f.begin(&o, 0, "GetLocalName"); err != nil {
		return "", err
	}
	defer o.end()
	return f.f.local, nil
}

// GetProgress returns the file's progress (IBackgroundCopyFile::GetProgress).
func (f *File) GetProgress() (bits.FileProgress, error) {
	var o op
	if err := f.begin(&o, 0, "GetProgress"); err != nil {
		return bits.FileProgress{}, err
	}
	defer o.end()
	return bits.FileProgress{BytesTotal: f.f.total, BytesTransferred: f.f.transferred, Completed: f.f.done}, nil
}

// GetFileRanges returns the file's ranges in the order given, with S_OK, or nil with S_FALSE when
// the file has none (IBackgroundCopyFile2::GetFileRanges).
func (f *File) GetFileRanges() ([]bits.FileRange, hresult.Code, error) {
	var o op
	if err := f.begin(&o, 0, "GetFileRanges"); err != nil {
		return nil, 0, err
	}
	defer o.end()
	if len(f.f.ranges) == 0 {
		return nil, hresult.S_FALSE, nil
	}
	return append([]bits.FileRange(nil), f.f.ranges...), hresult.S_OK, nil
}

// SetRemoteName points the file at a new URL (IBackgroundCopyFile2::SetRemoteName). The new name
// must use the same kind of transport rules as AddFile. Errors: E_INVALIDARG for a bad name,
// BG_E_INVALID_STATE for a final job, E_NOTIMPL for an upload job. A finished file keeps its data;
// an unfinished one is restarted by the transfer engine if the new server's copy differs.
func (f *File) SetRemoteName(remoteURL string) (err error) {
	var o op
	if err := f.j.beginChange(&o, state.FileSetRemoteName, "File.SetRemoteName"); err != nil {
		return err
	}
	defer o.commit(&err)
	kind, ok := parseRemote(remoteURL)
	if !ok || (len(f.f.ranges) > 0 && kind != remoteHTTP) {
		return o.fail(hresult.E_INVALIDARG)
	}
	if _, err := o.check(); err != nil {
		return err
	}
	f.f.remote, f.f.kind = remoteURL, kind
	o.touch()
	return nil
}

// GetTemporaryName returns the full path of the file's temporary file
// (IBackgroundCopyFile3::GetTemporaryName): a hidden file in the destination directory, which
// receives the data until Complete renames it.
func (f *File) GetTemporaryName() (string, error) {
	var o op
	if err := f.begin(&o, 0, "GetTemporaryName"); err != nil {
		return "", err
	}
	defer o.end()
	if f.f.tempName == "" {
		f.f.tempName = tempNameFor(f.j.c, f.f)
	}
	return f.f.tempName, nil
}

// tempNameFor names the temporary file as BITS does: BIT<hex>.tmp in the destination directory,
// the hex derived from the job id and the file's position so that it is stable. OpenTemp picks
// another name if a file the job did not create is in the way.
func tempNameFor(c *core, fc *fileCore) string {
	idx := 0
	for i, x := range c.files {
		if x == fc {
			idx = i
		}
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("BIT")
	for _, x := range c.id[:8] {
		b.WriteByte(hex[x>>4])
		b.WriteByte(hex[x&0xF])
	}
	b.WriteString(strconv.FormatInt(int64(idx), 16))
	b.WriteString(".tmp")
	return filepath.Join(filepath.Dir(fc.local), b.String())
}

// SetValidationState records the application's verdict on the file's content
// (IBackgroundCopyFile3::SetValidationState). E_PENDING until the file has finished transferring.
// Setting false moves the job to ERROR with BG_E_VALIDATION_FAILED and resets the file's
// progress, so that Resume downloads it again.
func (f *File) SetValidationState(valid bool) (err error) {
	var o op
	if err := f.j.beginChange(&o, state.FileSetValidationState, "File.SetValidationState"); err != nil {
		return err
	}
	defer o.commit(&err)
	c := f.j.c
	facts := c.facts()
	facts.FileTransferred = f.f.done
	out := state.Check(state.FileSetValidationState, c.st, facts)
	if out.Code.Failed() {
		return o.fail(out.Code)
	}
	f.f.validated, f.f.validationSet = valid, true
	o.touch()
	if !valid {
		f.f.done = false
		f.f.setTransferred(0)
		c.errInfo = &errorRecord{ctx: bits.ContextRemoteFile, code: hresult.BG_E_VALIDATION_FAILED, file: f.f, protocol: protocolOf(f.f)}
		c.errorCount++
		o.move(state.Error, 0)
	}
	return nil
}

// GetValidationState returns the verdict set with SetValidationState; false when none was set
// (IBackgroundCopyFile3::GetValidationState).
func (f *File) GetValidationState() (bool, error) {
	var o op
	if err := f.begin(&o, 0, "GetValidationState"); err != nil {
		return false, err
	}
	defer o.end()
	return f.f.validated, nil
}

// IsDownloadedFromPeer reports whether the file came from a peer (IBackgroundCopyFile3); bitsemu
// has no peer caching, so it is always false.
func (f *File) IsDownloadedFromPeer() (bool, error) {
	var o op
	if err := f.begin(&o, 0, "IsDownloadedFromPeer"); err != nil {
		return false, err
	}
	defer o.end()
	return false, nil
}

// GetProperty returns a file property (IBackgroundCopyFile5::GetProperty). The only one is
// FilePropertyHTTPResponseHeaders: the header block of the server's last response for the file,
// "" before any. Other ids give BG_E_UNKNOWN_PROPERTY_ID.
func (f *File) GetProperty(id uint32) (string, error) {
	var o op
	if err := f.begin(&o, 0, "GetProperty"); err != nil {
		return "", err
	}
	defer o.end()
	if id != bits.FilePropertyHTTPResponseHeaders {
		return "", o.fail(hresult.BG_E_UNKNOWN_PROPERTY_ID)
	}
	return f.f.headers, nil
}

func protocolOf(fc *fileCore) string {
	if fc == nil {
		return ""
	}
	if fc.kind == remoteHTTP {
		return "http"
	}
	return "file"
}
