package bup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed is the error every parser of this package wraps when a header value does not follow
// its grammar; errors.Is(err, ErrMalformed) tells a malformed value from other failures.
var ErrMalformed = errors.New("malformed BITS header value")

// Range is the Content-Range of a Fragment: bytes First to Last, both included and counted from 0,
// of an upload of Total bytes ("Fragment"; RFC 9110 section 14.4).
//
// The zero Range with Total 0 stands for the whole of an empty upload, written "bytes */0": an
// empty file has no byte to name, and the unsatisfied-range form of RFC 9110 is the only
// Content-Range that says "nothing, of 0 bytes". It is the only Range whose Len is 0.
type Range struct {
	First, Last, Total uint64
}

const (
	rangeUnit  = "bytes"
	emptyRange = "*/0"
)

// ParseContentRange parses a Fragment's Content-Range header: "bytes first-last/total" with
// decimal numbers, first <= last < total, or "bytes */0" for an empty upload. The unit "bytes" is
// compared without regard to case (the "Fragment" page writes it "Bytes") and is followed by
// exactly one space; nothing else may surround or separate the parts. Any other value, an
// unknown total ("bytes 0-9/*"), and numbers that overflow 64 bits are errors wrapping
// ErrMalformed.
func ParseContentRange(s string) (Range, error) {
	bad := func(why string) (Range, error) {
		return Range{}, fmt.Errorf("%w: Content-Range %q: %s", ErrMalformed, s, why)
	}
	if len(s) <= len(rangeUnit) || !equalFoldASCII(s[:len(rangeUnit)], rangeUnit) || s[len(rangeUnit)] != ' ' {
		return bad(`want "bytes first-last/total"`)
	}
	spec := s[len(rangeUnit)+1:]
	if spec == emptyRange {
		return Range{}, nil
	}
	span, total, ok := strings.Cut(spec, "/")
	if !ok {
		return bad("no total length")
	}
	first, last, ok := strings.Cut(span, "-")
	if !ok {
		return bad("no range")
	}
	var r Range
	var err error
	if r.First, err = parseOffset(first); err != nil {
		return bad("first byte: " + err.Error())
	}
	if r.Last, err = parseOffset(last); err != nil {
		return bad("last byte: " + err.Error())
	}
	if r.Total, err = parseOffset(total); err != nil {
		return bad("total length: " + err.Error())
	}
	if r.First > r.Last {
		return bad("first byte after last byte")
	}
	if r.Last >= r.Total {
		return bad("last byte not before the total length")
	}
	return r, nil
}

// parseOffset parses a non-empty run of decimal digits that fits in 64 bits.
func parseOffset(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// String formats r as a Content-Range value: "bytes first-last/total", or "bytes */0" for the
// empty upload. ParseContentRange(r.String()) gives r back for every valid r.
func (r Range) String() string {
	if r.Total == 0 {
		return rangeUnit + " " + emptyRange
	}
	return rangeUnit + " " + strconv.FormatUint(r.First, 10) + "-" + strconv.FormatUint(r.Last, 10) +
		"/" + strconv.FormatUint(r.Total, 10)
}

// Len is the number of bytes r covers: Last-First+1, or 0 for the empty upload.
func (r Range) Len() uint64 {
	if r.Total == 0 {
		return 0
	}
	return r.Last - r.First + 1
}

// End is the offset just after r: Last+1, or 0 for the empty upload. It is what a server sends
// in BITS-Received-Content-Range after storing r.
func (r Range) End() uint64 {
	if r.Total == 0 {
		return 0
	}
	return r.Last + 1
}

// IsLast reports whether r reaches the end of the upload: its last byte is byte Total-1
// ("Ack for Fragment"), or the upload is empty.
func (r Range) IsLast() bool { return r.End() == r.Total }

// ParseReceivedContentRange parses BITS-Received-Content-Range: the offset, in decimal, of the
// next byte the server expects ("Ack for Fragment"; after bytes 128-212 it is 213). Anything but
// a run of decimal digits that fits in 64 bits is an error wrapping ErrMalformed.
func ParseReceivedContentRange(s string) (uint64, error) {
	n, err := parseOffset(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: %v", ErrMalformed, HeaderReceivedContentRange, s, err)
	}
	return n, nil
}

// FormatReceivedContentRange formats next as a BITS-Received-Content-Range value.
func FormatReceivedContentRange(next uint64) string { return strconv.FormatUint(next, 10) }
