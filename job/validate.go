package job

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bitsemu/bitsemu/hresult"
)

// wlen returns the length of s in UTF-16 code units, the unit BITS limits are stated in.
func wlen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// badText reports whether s cannot be a BITS string: not valid UTF-8, or containing a NUL (a
// wide C string would end there).
func badText(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }

// checkString validates a string argument outside any job: bad text → E_INVALIDARG, longer than
// max → tooLong.
func checkString(opName, s string, max int, tooLong hresult.Code) error {
	if badText(s) {
		return &hresult.Error{Op: opName, Code: hresult.E_INVALIDARG}
	}
	if wlen(s) > max {
		return &hresult.Error{Op: opName, Code: tooLong}
	}
	return nil
}

// remoteKind is the transport a remote name selects.
type remoteKind uint8

const (
	remoteHTTP remoteKind = iota + 1 // http:// or https://
	remoteFile                       // file:// URL, UNC path or absolute local path (BITS's "SMB")
)

// parseRemote checks a remote name the way BG_FILE_INFO describes: at most 2,200 characters, each
// segment at most MAX_PATH, an http, https or file URL, a UNC name or an absolute path, no
// wildcards in file names, only characters legal in a URL (BITS escapes nothing).
func parseRemote(s string) (remoteKind, bool) {
	if s == "" || badText(s) || wlen(s) > MaxRemoteName {
		return 0, false
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		for i := 0; i < len(s); i++ {
			if !urlByte(s[i]) {
				return 0, false
			}
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
			return 0, false
		}
		if !segmentsOK(u.EscapedPath(), "/") {
			return 0, false
		}
		return remoteHTTP, true
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(s)
		if err != nil || u.Path == "" || strings.ContainsAny(u.Path, "*?") || u.RawQuery != "" || u.Fragment != "" {
			return 0, false
		}
		if !segmentsOK(u.Path, "/") {
			return 0, false
		}
		return remoteFile, true
	case strings.HasPrefix(s, `\\`):
		rest := s[2:]
		if strings.ContainsAny(rest, "*?<>|\"") || strings.Count(rest, `\`) < 1 || strings.HasPrefix(rest, `?\`) {
			return 0, false
		}
		return remoteFile, segmentsOK(rest, `\`)
	case strings.Contains(s, "://"):
		return 0, false // a scheme BITS does not support
	case filepath.IsAbs(s):
		if strings.ContainsAny(s, "*?") {
			return 0, false
		}
		return remoteFile, segmentsOK(s, string(filepath.Separator))
	}
	return 0, false
}

// urlByte reports whether b may appear unescaped in a URL (RFC 3986 unreserved, reserved and '%').
func urlByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", b) >= 0
}

func segmentsOK(p, sep string) bool {
	for _, seg := range strings.Split(p, sep) {
		if wlen(seg) > MaxPath {
			return false
		}
	}
	return true
}

// checkLocal validates a local file name: an absolute path of at most MAX_PATH characters, with
// no wildcards, no NTFS stream suffix and no \\?\ prefix, whose directory exists. It returns the
// HRESULT to fail with and the underlying cause, if any.
func checkLocal(s string) (hresult.Code, error) {
	if s == "" || badText(s) || wlen(s) > MaxPath || !filepath.IsAbs(s) {
		return hresult.E_INVALIDARG, nil
	}
	if strings.ContainsAny(s, "*?") || strings.HasPrefix(s, `\\?\`) || strings.HasSuffix(s, string(filepath.Separator)) {
		return hresult.E_INVALIDARG, nil
	}
	base := filepath.Base(s)
	if base == "." || base == ".." || strings.Contains(streamPart(s), ":") {
		return hresult.E_INVALIDARG, nil
	}
	dir := filepath.Dir(s)
	fi, err := os.Stat(dir)
	if err != nil {
		if os.IsPermission(err) {
			return hresult.E_ACCESSDENIED, err
		}
		return hresult.ERROR_PATH_NOT_FOUND, err
	}
	if !fi.IsDir() {
		return hresult.ERROR_PATH_NOT_FOUND, &os.PathError{Op: "stat", Path: dir, Err: errNotDir}
	}
	if !writable(dir) {
		return hresult.E_ACCESSDENIED, &os.PathError{Op: "access", Path: dir, Err: os.ErrPermission}
	}
	return hresult.S_OK, nil
}

// streamPart returns the part of a path where a colon would name an NTFS stream: everything
// after a drive letter.
func streamPart(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p[2:]
	}
	return p
}

type notDirError struct{}

func (notDirError) Error() string { return "not a directory" }

var errNotDir error = notDirError{}
