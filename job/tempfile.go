package job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bitsemu/bitsemu/hresult"
)

// Every use of a local or temporary name goes through an os.Root: the directory the name is in,
// opened below the local root that holds it when the manager has local roots, so that no
// symbolic link, however it got there, leads a write, a rename or a removal outside them. The
// temporary file itself is reopened only without following a link in its place, and only when
// it is the file the job created (same device and inode, or volume and file index on Windows).

// fileID identifies a file on its device; the zero fileID means unknown.
type fileID struct {
	dev, ino uint64
}

// tempStat is what an open file says about itself.
type tempStat struct {
	id      fileID
	size    uint64
	regular bool
}

var (
	// errNotRegular: something other than a regular file has the name.
	errNotRegular = errors.New("not a regular file")
	// errTempChanged: the temporary file is not the one the job wrote (a link, another file,
	// a shorter or longer file, or none at all). BG_E_LOCAL_FILE_CHANGED.
	errTempChanged = errors.New("the temporary file is not the one the job wrote")
	// errOutsideRoots: the directory cannot be reached inside the local roots. E_ACCESSDENIED.
	errOutsideRoots = errors.New("outside the local roots")
	// errOwnerRights: the owner's file-system rights could not be taken (Env.FilesAs failed).
	// E_ACCESSDENIED.
	errOwnerRights = errors.New("cannot act with the job owner's rights")
)

// asOwner returns f(a), run with the file-system rights of owner through Env.FilesAs: a job's
// owner must be able to write in the directories its files go to (Adding Files to a Job page),
// and BITS creates, renames and removes a job's local files as that user. Without FilesAs it is
// a plain call. Nothing a caller passes in a needs to leave its stack unless there is a FilesAs
// (a holds pointers to the job's heap objects only), so the default costs nothing. When FilesAs
// fails, f did not run and the error wraps errOwnerRights.
func asOwner[A, R any](e *Env, owner Identity, f func(A) R, a A) (R, error) {
	if e.FilesAs == nil {
		return f(a), nil
	}
	return asOwnerVia(e.FilesAs, owner, f, a)
}

func asOwnerVia[A, R any](as func(Identity, func()) error, owner Identity, f func(A) R, a A) (r R, err error) {
	if err := as(owner, func() { r = f(a) }); err != nil {
		var zero R
		return zero, fmt.Errorf("%s: %w: %w", owner.SID, errOwnerRights, err)
	}
	return r, nil
}

// fileCode maps an error of a file operation to its HRESULT: BG_E_LOCAL_FILE_CHANGED for a
// temporary file that is not the job's, E_ACCESSDENIED for a name outside the local roots or an
// owner whose rights cannot be taken, and
// DiskCode otherwise.
func fileCode(err error) hresult.Code {
	switch {
	case errors.Is(err, errTempChanged):
		return hresult.BG_E_LOCAL_FILE_CHANGED
	case errors.Is(err, errOutsideRoots), errors.Is(err, errOwnerRights):
		return hresult.E_ACCESSDENIED
	}
	return DiskCode(err)
}

// changed wraps errTempChanged with the file's name and what was found.
func changed(name, what string) error {
	return fmt.Errorf("%s: %s: %w", name, what, errTempChanged)
}

// openDir opens the directory of the local file name local. With local roots it is opened
// below the root that holds it, through os.Root: a directory on the way that became a link
// leading out of the root gives errOutsideRoots.
func (e *Env) openDir(local string) (*os.Root, error) {
	dir := filepath.Dir(local)
	if len(e.LocalRoots) == 0 {
		return os.OpenRoot(dir)
	}
	r, ok, err := e.openBelowRoots(dir)
	if !ok {
		// AddFile resolved links in the name's directory; a link outside the roots is the
		// host's, as it was then.
		if real, rerr := filepath.EvalSymlinks(dir); rerr == nil {
			r, ok, err = e.openBelowRoots(real)
		}
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", dir, errOutsideRoots)
	}
	return r, err
}

// openBelowRoots opens dir below the first local root that holds it by name; ok is false when
// none does.
func (e *Env) openBelowRoots(dir string) (*os.Root, bool, error) {
	for _, root := range e.LocalRoots {
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			continue
		}
		rt, err := os.OpenRoot(root)
		if err != nil || rel == "." {
			return rt, true, err
		}
		defer rt.Close()
		sub, err := rt.OpenRoot(rel)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.ENOTDIR) {
			err = fmt.Errorf("%s: %w (%w)", dir, errOutsideRoots, err)
		}
		return sub, true, err
	}
	return nil, false, nil
}

// openOwnTemp opens fc's temporary file in dir with flag, without following a link, and checks
// that it is the file the job created. A record from before identities were kept has none: the
// regular file found is adopted (the caller records st.id). The error wraps fs.ErrNotExist when nothing has the name, and
// errTempChanged when something else has it.
func openOwnTemp(dir *os.Root, fc *fileCore, flag int) (*os.File, tempStat, error) {
	base := filepath.Base(fc.tempName)
	f, err := openNoFollow(dir, base, flag)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, tempStat{}, err
		}
		if errors.Is(err, errNotRegular) || isLink(dir, base) {
			return nil, tempStat{}, changed(fc.tempName, "not a regular file")
		}
		return nil, tempStat{}, err
	}
	st, err := statFile(f)
	if err == nil && fc.tempID != (fileID{}) && st.id != fc.tempID {
		err = changed(fc.tempName, "another file")
	}
	if err != nil {
		f.Close()
		return nil, tempStat{}, err
	}
	return f, st, nil
}

// isLink reports whether name in dir is a symbolic link (or another non-regular file).
func isLink(dir *os.Root, name string) bool {
	fi, err := dir.Lstat(name)
	return err == nil && !fi.Mode().IsRegular()
}

// createIn creates name in dir exclusively with owner-only permissions (never through a link:
// O_EXCL refuses any existing name) and returns it with its identity.
func createIn(dir *os.Root, name string) (*os.File, tempStat, error) {
	f, err := dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, tempPerm)
	if err != nil {
		return nil, tempStat{}, err
	}
	st, err := statFile(f)
	if err != nil {
		f.Close()
		_ = dir.Remove(name)
		return nil, tempStat{}, err
	}
	return f, st, nil
}
