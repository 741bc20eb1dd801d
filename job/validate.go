package job

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bitsemu/bitsemu/hresult"
)

// wlen returns the length of s in UTF-16 code units, the unit BITS limits are stated in. It is
// never more than len(s): each UTF-8 sequence is at least as long as its UTF-16 form.
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

// tooLong reports whether s is longer than max UTF-16 code units, counting only when it could be.
func tooLong(s string, max int) bool { return len(s) > max && wlen(s) > max }

// badText reports whether s cannot be a BITS string: not valid UTF-8, or containing a NUL (a
// wide C string would end there).
func badText(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }

// checkString validates a string argument outside any job: bad text → E_INVALIDARG, longer than
// max → tooLongCode.
func checkString(opName, s string, max int, tooLongCode hresult.Code) error {
	if badText(s) {
		return &hresult.Error{Op: opName, Code: hresult.E_INVALIDARG}
	}
	if tooLong(s, max) {
		return &hresult.Error{Op: opName, Code: tooLongCode}
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
	if hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://") {
		// URL bytes are ASCII without NUL: valid text, as many characters as bytes.
		if len(s) > MaxRemoteName {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if !urlBytes[s[i]] {
				return 0, false
			}
		}
		if !httpURLOK(s[strings.Index(s, "://")+3:]) {
			return 0, false
		}
		return remoteHTTP, true
	}
	if s == "" || badText(s) || tooLong(s, MaxRemoteName) {
		return 0, false
	}
	switch {
	case hasPrefixFold(s, "file://"):
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
		if hasWildcard(s) {
			return 0, false
		}
		return remoteFile, segmentsOK(s, string(filepath.Separator))
	}
	return 0, false
}

// httpURLOK checks what follows "http://" or "https://": a non-empty host (a name, an IPv4
// address or a bracketed IPv6 address) with an optional user and numeric port, then a path whose
// segments are at most MAX_PATH characters, and only well-formed %-escapes. The caller has
// checked that every byte is a URL byte.
func httpURLOK(rest string) bool {
	for i := strings.IndexByte(rest, '%'); i >= 0; {
		if i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
			return false
		}
		next := strings.IndexByte(rest[i+1:], '%')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	auth, path := rest, ""
	if end := indexAny(rest, pathEnd); end >= 0 {
		auth, path = rest[:end], rest[end:]
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return false
		}
		host, port = auth[1:end], auth[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else if c := strings.LastIndexByte(auth, ':'); c >= 0 {
		host, port = auth[:c], auth[c+1:]
	}
	if host == "" || indexAny(host, brackets) >= 0 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	if end := indexAny(path, queryEnd); end >= 0 {
		path = path[:end]
	}
	return segmentsOK(path, "/")
}

// byteSet is a set of bytes, for scanning without strings.IndexAny's per-call set building.
type byteSet [256]bool

func setOf(chars string) *byteSet {
	var t byteSet
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return &t
}

var (
	pathEnd  = setOf("/?#")
	queryEnd = setOf("?#")
	brackets = setOf("[]")
)

// indexAny returns the index of the first byte of s in set, or -1.
func indexAny(s string, set *byteSet) int {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return i
		}
	}
	return -1
}

// hasWildcard reports whether s has a '*' or a '?'.
func hasWildcard(s string) bool {
	return strings.IndexByte(s, '*') >= 0 || strings.IndexByte(s, '?') >= 0
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// urlBytes marks the bytes that may appear unescaped in a URL (RFC 3986 unreserved, reserved
// and '%').
var urlBytes = func() (t [256]bool) {
	for b := 'a'; b <= 'z'; b++ {
		t[b], t[b-'a'+'A'] = true, true
	}
	for b := '0'; b <= '9'; b++ {
		t[b] = true
	}
	for _, b := range []byte("-._~:/?#[]@!$&'()*+,;=%") {
		t[b] = true
	}
	return t
}()

// segmentsOK reports whether every sep-separated segment of p is at most MAX_PATH characters.
func segmentsOK(p, sep string) bool {
	if len(p) <= MaxPath {
		return true // no part of it can be longer
	}
	for p != "" {
		seg, rest, _ := strings.Cut(p, sep)
		if tooLong(seg, MaxPath) {
			return false
		}
		p = rest
	}
	return true
}

// checkLocal validates a local file name: an absolute path of at most MAX_PATH characters, with
// no wildcards, no NTFS stream suffix and no \\?\ prefix, whose directory exists. It returns the
// HRESULT to fail with and the underlying cause, if any. wall is the current wall-clock time; who
// is "" to check the directory with the process's rights, or the SID of the owner whose
// file-system rights the calling thread has (Env.FilesAs).
func checkLocal(s string, wall time.Time, who string) (hresult.Code, error) {
	if s == "" || badText(s) || tooLong(s, MaxPath) || !filepath.IsAbs(s) {
		return hresult.E_INVALIDARG, nil
	}
	if hasWildcard(s) || strings.HasPrefix(s, `\\?\`) || strings.HasSuffix(s, string(filepath.Separator)) {
		return hresult.E_INVALIDARG, nil
	}
	// The directory as written (the system resolves "." and ".." in it) and the file name.
	cut := strings.LastIndexByte(s, filepath.Separator)
	if filepath.Separator != '/' {
		cut = max(cut, strings.LastIndexByte(s, '/'))
	}
	dir, base := s[:cut], s[cut+1:]
	if dir == "" || (len(dir) == 2 && dir[1] == ':') {
		dir = s[:cut+1] // the root
	}
	if base == "." || base == ".." || strings.Contains(streamPart(s), ":") {
		return hresult.E_INVALIDARG, nil
	}
	return checkDir(dir, wall, who)
}

// dirTTL is how long a directory that passed checkDir is taken to still pass it. AddFile is
// often called for many files of one directory; the check costs a system call each time.
const dirTTL = time.Second

// dirCache remembers the directories that passed checkDir in the last dirTTL (monotonic wall
// time: it is a cache, not a BITS timer), for whom they passed: a directory one user may write
// is not one another may.
var dirCache = struct {
	sync.Mutex
	ok map[dirKey]time.Time
}{ok: make(map[dirKey]time.Time)}

// dirKey is a directory and whose rights it was checked with ("" for the process's).
type dirKey struct{ dir, who string }

// dirLast is the directory that last passed the check with a system call, and until when it is
// trusted: files are mostly added to one directory after another, and that one is found here
// without the cache's lock or a hash of its name.
var dirLast atomic.Pointer[dirPass]

// dirPass is a directory that passed checkDir, trusted until a wall-clock time.
type dirPass struct {
	key   dirKey
	until time.Time
}

// checkDir reports, at wall-clock time now, whether dir exists, is a directory and can be
// written, by the process when who is "", else by the owner whose file-system rights the
// calling thread has: ERROR_PATH_NOT_FOUND or E_ACCESSDENIED, with the cause, when not.
func checkDir(dir string, now time.Time, who string) (hresult.Code, error) {
	key := dirKey{dir, who}
	if p := dirLast.Load(); p != nil && p.key == key && now.Before(p.until) {
		return hresult.S_OK, nil
	}
	dirCache.Lock()
	until, hit := dirCache.ok[key]
	dirCache.Unlock()
	if hit && now.Before(until) {
		return hresult.S_OK, nil
	}
	code, err := probeDir(dir, who != "")
	if code == hresult.S_OK {
		dirCache.Lock()
		if len(dirCache.ok) >= 256 {
			clear(dirCache.ok)
		}
		until := now.Add(dirTTL)
		dirCache.ok[key] = until
		dirCache.Unlock()
		dirLast.Store(&dirPass{key, until})
	}
	return code, err
}

// streamPart returns the part of a path where a colon would name an NTFS stream: everything
// after a drive letter.
func streamPart(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p[2:]
	}
	return p
}
