package transfer

import (
	"fmt"
	"strconv"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// segment is a piece of the output: length bytes of the remote file from start, written to the
// output from out.
type segment struct {
	start, length, out uint64
}

// plan maps the spec's ranges onto a remote file of size bytes. Without ranges the output is the
// whole file (no segment for an empty file). A range's LengthToEOF runs to the end of the file.
// A range that is empty, starts at LengthToEOF, or does not lie inside the file gives a fatal
// BG_E_INVALID_RANGE (context REMOTE_FILE): the ranges were checked against each other when the
// file was added, but only now against the file. It returns the segments and the output's size.
func plan(ranges []bits.FileRange, size uint64, proto string) ([]segment, uint64, error) {
	if ranges == nil {
		if size == 0 {
			return nil, 0, nil
		}
		return []segment{{start: 0, length: size, out: 0}}, size, nil
	}
	segs := make([]segment, 0, len(ranges))
	var out uint64
	for _, rg := range ranges {
		length := rg.Length
		if length == bits.LengthToEOF && rg.InitialOffset < size {
			length = size - rg.InitialOffset
		}
		if length == 0 || rg.InitialOffset >= size || length > size-rg.InitialOffset {
			return nil, 0, rangeError(proto, fmt.Errorf("range %s outside a file of %d bytes", fmtRange(rg), size))
		}
		segs = append(segs, segment{start: rg.InitialOffset, length: length, out: out})
		out += length
	}
	return segs, out, nil
}

func fmtRange(rg bits.FileRange) string {
	if rg.Length == bits.LengthToEOF {
		return strconv.FormatUint(rg.InitialOffset, 10) + "+EOF"
	}
	return strconv.FormatUint(rg.InitialOffset, 10) + "+" + strconv.FormatUint(rg.Length, 10)
}

// remaining returns what is left of segs once the first offset bytes of the output are written.
func remaining(segs []segment, offset uint64) []segment {
	for i, s := range segs {
		if s.out+s.length <= offset {
			continue
		}
		rest := append([]segment(nil), segs[i:]...)
		if skip := offset - min(offset, s.out); skip > 0 {
			rest[0].start += skip
			rest[0].length -= skip
			rest[0].out += skip
		}
		return rest
	}
	return nil
}

// startOffset decides where the output resumes, given what the previous attempt recorded
// (spec.Offset, spec.Total, spec.Validator) and what the source says now (total, validator). It
// returns 0 and true when the file must be restarted from byte 0:
//
//   - the recorded validator is set and differs (the file's size, ETag or Last-Modified changed:
//     file transfer consistency);
//   - no validator was recorded, some output was, and the recorded total differs;
//   - the recorded offset lies beyond the output.
//
// With no validator recorded and matching (or unknown) totals the offset is trusted.
func startOffset(spec Spec, total uint64, validator string) (uint64, bool) {
	switch {
	case spec.Validator != "" && spec.Validator != validator:
		return 0, true
	case spec.Validator == "" && spec.Offset > 0 && spec.Total != bits.SizeUnknown && spec.Total != total:
		return 0, true
	case spec.Offset > total:
		return 0, true
	}
	return spec.Offset, false
}

// rangeError is the fatal error for a range outside the remote file.
func rangeError(proto string, err error) *Error {
	return fatal(hresult.BG_E_INVALID_RANGE, bits.ContextRemoteFile, proto, err)
}
