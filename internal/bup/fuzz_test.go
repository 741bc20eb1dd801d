package bup_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bitsemu/bitsemu/internal/bup"
)

// FuzzParseContentRange checks that ParseContentRange accepts exactly the grammar it documents:
// a value it accepts has first <= last < total (or is the empty upload), formats back to a value
// that parses to the same Range, and equals that canonical form unless it used another case of
// "bytes" or leading zeros; a value it rejects is one a plain reading of the grammar rejects too.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-4891/4892", "bytes 128-212/1000", "Bytes 0-0/1", "bytes */0", "bytes 0-9/*",
		"bytes 9-0/10", "bytes 0-18446744073709551614/18446744073709551615", "bytes 01-2/3", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := bup.ParseContentRange(s)
		want, ok := referenceParse(s)
		if (err == nil) != ok {
			t.Fatalf("ParseContentRange(%q) error = %v, reference accepts = %v", s, err, ok)
		}
		if err != nil {
			return
		}
		if r != want {
			t.Fatalf("ParseContentRange(%q) = %+v, reference %+v", s, r, want)
		}
		if r.Total == 0 {
			if r != (bup.Range{}) {
				t.Fatalf("empty upload with bytes: %+v", r)
			}
		} else if r.First > r.Last || r.Last >= r.Total {
			t.Fatalf("ParseContentRange(%q) = %+v breaks first <= last < total", s, r)
		}
		back, err := bup.ParseContentRange(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: %q gives %+v, %v", s, r.String(), back, err)
		}
		if strings.HasPrefix(s, "bytes ") && !hasLeadingZero(s) && r.String() != s {
			t.Fatalf("canonical %q formats as %q", s, r.String())
		}
	})
}

// referenceParse is a second, independent reading of the Content-Range grammar.
func referenceParse(s string) (bup.Range, bool) {
	if len(s) < 6 || strings.ToLower(s[:6]) != "bytes " {
		return bup.Range{}, false
	}
	rest := s[6:]
	if rest == "*/0" {
		return bup.Range{}, true
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return bup.Range{}, false
	}
	dash := strings.IndexByte(rest[:slash], '-')
	if dash < 0 {
		return bup.Range{}, false
	}
	nums := []string{rest[:dash], rest[dash+1 : slash], rest[slash+1:]}
	var v [3]uint64
	for i, n := range nums {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return bup.Range{}, false
		}
		x, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return bup.Range{}, false
		}
		v[i] = x
	}
	if v[0] > v[1] || v[1] >= v[2] {
		return bup.Range{}, false
	}
	return bup.Range{First: v[0], Last: v[1], Total: v[2]}, true
}

func hasLeadingZero(s string) bool {
	for _, part := range strings.FieldsFunc(s[6:], func(r rune) bool { return r == '-' || r == '/' }) {
		if len(part) > 1 && part[0] == '0' {
			return true
		}
	}
	return false
}
