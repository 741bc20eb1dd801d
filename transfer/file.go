package transfer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// source is a parsed remote name: an http or https URL, or a local path.
type source struct {
	url  *url.URL
	path string
}

// parseRemote recognises the remote names BITS accepts:
//
//   - http:// and https:// URLs (scheme without case);
//   - file:// URLs: `file:///abs/path` or `file://localhost/abs/path`, percent-escapes decoded
//     (`file:///C:/dir/f` on Windows); `file://server/share/path` is a UNC name;
//   - UNC names `\\server\share\path`: opened as paths on Windows; elsewhere there is no SMB
//     client, so they fail with a fatal HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), context
//     REMOTE_FILE;
//   - absolute paths.
//
// Anything else (relative paths, other schemes) is a fatal E_INVALIDARG, context REMOTE_FILE,
// with no Protocol; AddFile refuses such names before they get here.
func parseRemote(remote string) (source, error) {
	switch {
	case strings.HasPrefix(remote, `\\`):
		return uncSource(remote)
	case filepath.IsAbs(remote):
		return source{path: remote}, nil
	}
	u, err := url.Parse(remote)
	if err != nil {
		return source{}, fatal(hresult.E_INVALIDARG, bits.ContextRemoteFile, "", fmt.Errorf("remote name %q: %w", remote, err))
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			break
		}
		return source{url: u}, nil
	case "file":
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return uncSource(`\\` + u.Host + strings.ReplaceAll(u.Path, "/", `\`))
		}
		p := u.Path
		if runtime.GOOS == "windows" {
			p = filepath.FromSlash(strings.TrimPrefix(p, "/"))
		}
		if filepath.IsAbs(p) {
			return source{path: p}, nil
		}
	}
	return source{}, fatal(hresult.E_INVALIDARG, bits.ContextRemoteFile, "", fmt.Errorf("remote name %q: not an http, https or file URL, UNC name or absolute path", remote))
}

func uncSource(name string) (source, error) {
	if runtime.GOOS == "windows" {
		return source{path: name}, nil
	}
	return source{}, fatal(hresult.ERROR_PATH_NOT_FOUND, bits.ContextRemoteFile, protoFile,
		fmt.Errorf("%s: UNC names need SMB, which bitsemu has only on Windows", name))
}

// fileRun is one fetch of a local file (a file URL, an absolute path, a UNC name on Windows).
//
// The file is opened (Connected then), its size and modification time make the validator, and
// the output is copied with the same rules as HTTP: resume from Spec.Offset when the validator
// is unchanged, else restart from byte 0 (truncate, Progressed with Transferred 0); one
// Progressed with the Total before the first byte; chunks, limiter and Progressed as for HTTP.
// Ranges are honoured, although BITS 3.0 and later refuse ranges for SMB names (the job layer
// enforces that; a local copy can do them at no cost). With DynamicContent the output always
// restarts from byte 0. After the last byte the file is looked at again: if its size or time
// changed meanwhile, the output restarts once; a second change fails with a transient
// BG_E_REMOTE_FILE_CHANGED.
//
// Errors, all context REMOTE_FILE unless about the temporary file:
//
//	no such file                                  ERROR_FILE_NOT_FOUND   fatal
//	a directory on the way missing or not one     ERROR_PATH_NOT_FOUND   fatal
//	permission denied, or the name is a directory E_ACCESSDENIED         fatal
//	outside Options.ReadRoots, or in Options.NoRead E_ACCESSDENIED        fatal
//	a range outside the file                      BG_E_INVALID_RANGE     fatal
//	any other open or read failure                E_FAIL                 transient
type fileRun struct {
	run
	path string
}

// fileInfo is what identifies a file's version.
type fileInfo struct {
	size  uint64
	mtime int64
}

func (f fileInfo) validator() string {
	return "size=" + strconv.FormatUint(f.size, 10) + " mtime=" + strconv.FormatInt(f.mtime, 10)
}

func (r *fileRun) fetch() error {
	f, err := r.open()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.checkNoRead(f); err != nil {
		return err
	}
	if r.opt.DynamicContent {
		r.spec.Offset, r.spec.Validator = 0, ""
	}
	restart := r.opt.DynamicContent
	changes := 0
	for {
		info, err := r.stat(f)
		if err != nil {
			return err
		}
		r.connect()
		validator := info.validator()
		todo, err := r.start(info.size, validator, restart, protoFile)
		if err != nil {
			return err
		}
		for _, s := range todo {
			src := io.NewSectionReader(f, int64(s.start), int64(s.length))
			if err = r.copyOut(src, s.length, false, r.readErr); err != nil {
				break
			}
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		after, serr := r.stat(f)
		if serr != nil {
			return serr
		}
		if after == info && err == nil {
			return nil
		}
		if changes++; changes > 1 {
			return transient(hresult.BG_E_REMOTE_FILE_CHANGED, bits.ContextRemoteFile, protoFile,
				fmt.Errorf("%s changed twice during one fetch", r.path))
		}
		restart = true
	}
}

// open opens the source for reading, through os.Root below the read root that holds it when
// Options.ReadRoots is set, with the owner's rights when Options.ReadAs is set.
func (r *fileRun) open() (f *os.File, err error) {
	if r.opt.ReadAs == nil {
		return r.openIn()
	}
	if aerr := r.opt.ReadAs(func() { f, err = r.openIn() }); aerr != nil {
		if f != nil {
			f.Close()
		}
		return nil, fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile,
			fmt.Errorf("%s: not read with the rights of the job's owner: %w", r.path, aerr))
	}
	return f, err
}

// openIn is open without Options.ReadAs.
func (r *fileRun) openIn() (*os.File, error) {
	if len(r.opt.ReadRoots) == 0 {
		f, err := os.Open(r.path)
		if err != nil {
			return nil, r.openErr(err)
		}
		return f, nil
	}
	f, found, err := openBelow(r.opt.ReadRoots, r.path)
	if !found {
		// A link on the way that lies outside the roots is the host's: resolve it, as AddFile
		// does for local names.
		if real, rerr := filepath.EvalSymlinks(filepath.Dir(r.path)); rerr == nil {
			f, found, err = openBelow(r.opt.ReadRoots, filepath.Join(real, filepath.Base(r.path)))
		}
	}
	if !found {
		return nil, fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile,
			fmt.Errorf("%s: outside the directories the job may read", r.path))
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) {
			return nil, r.openErr(err)
		}
		// A link leading out of the root, an absolute link.
		return nil, fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile,
			fmt.Errorf("%s: not readable inside the directories the job may read: %w", r.path, err))
	}
	return f, nil
}

// openBelow opens name below the first of roots that holds it by name; found is false when
// none does.
func openBelow(roots []string, name string) (f *os.File, found bool, err error) {
	for _, root := range roots {
		rel, err := filepath.Rel(root, name)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			continue
		}
		rt, err := os.OpenRoot(root)
		if err != nil {
			return nil, true, err
		}
		defer rt.Close()
		f, err := rt.Open(rel)
		return f, true, err
	}
	return nil, false, nil
}

// checkNoRead refuses a source that is one of the files of the directories in Options.NoRead,
// whatever name led to it.
func (r *fileRun) checkNoRead(f *os.File) error {
	if len(r.opt.NoRead) == 0 {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return r.openErr(err)
	}
	for _, dir := range r.opt.NoRead {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile,
				fmt.Errorf("%s: cannot tell whether it is a file of %s: %w", r.path, dir, err))
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if other, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(fi, other) {
				return fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile,
					fmt.Errorf("%s: a file of %s, which jobs may not read", r.path, dir))
			}
		}
	}
	return nil
}

func (r *fileRun) stat(f *os.File) (fileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileInfo{}, r.openErr(err)
	}
	if fi.IsDir() {
		return fileInfo{}, fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile, fmt.Errorf("%s is a directory", r.path))
	}
	return fileInfo{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}, nil
}

// openErr classifies a failure to open or stat the source.
func (r *fileRun) openErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(filepath.Dir(r.path)); derr != nil {
			return fatal(hresult.ERROR_PATH_NOT_FOUND, bits.ContextRemoteFile, protoFile, err)
		}
		return fatal(hresult.ERROR_FILE_NOT_FOUND, bits.ContextRemoteFile, protoFile, err)
	case errors.Is(err, syscall.ENOTDIR):
		return fatal(hresult.ERROR_PATH_NOT_FOUND, bits.ContextRemoteFile, protoFile, err)
	case errors.Is(err, fs.ErrPermission):
		return fatal(hresult.E_ACCESSDENIED, bits.ContextRemoteFile, protoFile, err)
	}
	return transient(hresult.E_FAIL, bits.ContextRemoteFile, protoFile, err)
}

// readErr classifies a failure to read the source. A file that ends early is passed through
// (io.ErrUnexpectedEOF): it changed, and fetch looks at it again.
func (r *fileRun) readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return transient(hresult.E_FAIL, bits.ContextRemoteFile, protoFile, err)
}
