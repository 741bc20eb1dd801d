package upload

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// Why a name is refused.
var (
	errBadName   = errors.New("not a plain relative file name")
	errDirectory = errors.New("names a directory")
	errReserved  = errors.New("names the sessions directory")
)

// maxElem is the longest element of a name, in bytes: the limit of common file systems.
const maxElem = 255

// checkName checks the destination p, the handler-relative URL path of a Create-Session with or
// without its leading slash, and returns it without the slash. It refuses every name that is
// not a plain relative path that means the same file on every system (see the package
// documentation).
func checkName(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		return "", errDirectory
	}
	if !utf8.ValidString(p) {
		return "", errBadName
	}
	for i, elem := range strings.Split(p, "/") {
		if !plainElem(elem) {
			return "", errBadName
		}
		if i == 0 && strings.EqualFold(elem, sessionsDir) {
			return "", errReserved
		}
	}
	return p, nil
}

// plainElem reports whether elem can be a file or directory name on every system: not empty,
// "." or "..", none of the characters Windows forbids in a name (the IIS extension applies the
// same list to Content-Name, [MC-BUP 6 note 3]) or control characters, not ending in a dot or
// a space (Windows drops them, so "a." would be "a"), not a reserved device name.
func plainElem(elem string) bool {
	if elem == "" || elem == "." || elem == ".." || len(elem) > maxElem {
		return false
	}
	for i := 0; i < len(elem); i++ {
		c := elem[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(`\/:*?"<>|`, c) >= 0 {
			return false
		}
	}
	if last := elem[len(elem)-1]; last == '.' || last == ' ' {
		return false
	}
	return !reservedDevice(elem)
}

// reservedDevice reports whether elem is a Windows device name (CON, PRN, AUX, NUL, COM0-9,
// LPT0-9, with or without an extension), which Windows opens as the device whatever the
// directory.
func reservedDevice(elem string) bool {
	base, _, _ := strings.Cut(elem, ".")
	base = strings.TrimRight(base, " ")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 {
		prefix := strings.ToUpper(base[:3])
		if (prefix == "COM" || prefix == "LPT") && base[3] >= '0' && base[3] <= '9' {
			return true
		}
	}
	return false
}

// destination checks the name a Create-Session asks for against the directory: a plain name
// whose directories exist and are no links, and that names no directory, nor, unless
// overwrites are allowed, an existing file. status is 0 when the name is good.
func (h *Handler) destination(r *http.Request) (name string, status int, f failure) {
	name, err := checkName(r.URL.Path)
	switch {
	case errors.Is(err, errReserved):
		return "", http.StatusForbidden, errDenied
	case err != nil:
		return "", http.StatusBadRequest, errInvalidArg
	}
	if status, f := h.checkParents(name); status != 0 {
		return "", status, f
	}
	fi, err := h.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return name, 0, failure{}
	case err != nil:
		h.logf("%s: %v", name, err)
		return "", http.StatusForbidden, errDenied
	case fi.IsDir():
		// [MC-BUP 2.2.1.2]: a URL that maps to a directory is an invalid request.
		return "", http.StatusBadRequest, errInvalidArg
	case !h.opts.AllowOverwrites:
		// "Ack for Create-Session": 409, the file exists and cannot be overwritten; the
		// HRESULT is the one [MC-BUP 2.2.1.2] gives for that case.
		return "", http.StatusConflict, errDenied
	}
	return name, 0, failure{}
}

// checkParents checks that every directory on the way to name exists, is a directory, and is
// not a symbolic link. The root keeps the handler inside the directory whatever happens to the
// names after the check; this check keeps it from following links inside it too.
func (h *Handler) checkParents(name string) (int, failure) {
	dir := path.Dir(name)
	if dir == "." {
		return 0, failure{}
	}
	cur := ""
	for _, elem := range strings.Split(dir, "/") {
		cur = path.Join(cur, elem)
		fi, err := h.root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return http.StatusNotFound, errNoPath
		case err != nil:
			return http.StatusForbidden, errDenied
		case fi.Mode()&fs.ModeSymlink != 0:
			return http.StatusForbidden, errDenied
		case !fi.IsDir():
			return http.StatusNotFound, errNoPath
		}
	}
	return 0, failure{}
}

// baseURL returns the URL of the handler's root as the client sees it: PublicURL, or the
// request's scheme and host and the part of its path that was consumed before the handler
// (by http.StripPrefix, say), with no trailing slash.
func (h *Handler) baseURL(r *http.Request) string {
	if h.public != nil {
		return h.public.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	prefix := ""
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			orig, rest := u.EscapedPath(), r.URL.EscapedPath()
			if strings.HasSuffix(orig, rest) {
				prefix = orig[:len(orig)-len(rest)]
			}
		}
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(prefix, "/")
}

// nameURL returns the URL of the name under base, escaped, with the raw query q.
func nameURL(base, name, q string) string {
	elems := strings.Split(name, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	u := base + "/" + strings.Join(elems, "/")
	if q != "" {
		u += "?" + q
	}
	return u
}
