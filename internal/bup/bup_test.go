package bup_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
)

func TestParsePacketType(t *testing.T) {
	tests := []struct {
		in   string
		want bup.PacketType
		ok   bool
	}{
		{"Ping", bup.Ping, true},
		{"PING", bup.Ping, true},
		{"Create-Session", bup.CreateSession, true},
		{"CREATE-SESSION", bup.CreateSession, true},
		{"fragment", bup.Fragment, true},
		{"Close-Session", bup.CloseSession, true},
		{"CANCEL-SESSION", bup.CancelSession, true},
		{"Ack", bup.Ack, true},
		{"ACK", bup.Ack, true},
		{"", "", false},
		{" Ping", "", false},
		{"Ping ", "", false},
		{"CreateSession", "", false},
		{"Upload", "", false},
		{"Ac\u212a", "", false}, // Kelvin sign, which Unicode folds to k
		{"P\u0130ng", "", false},
	}
	for _, tt := range tests {
		got, ok := bup.ParsePacketType(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestPacketTypeIsRequest(t *testing.T) {
	for _, p := range []bup.PacketType{bup.Ping, bup.CreateSession, bup.Fragment, bup.CloseSession, bup.CancelSession} {
		assert.True(t, p.IsRequest(), p)
	}
	assert.False(t, bup.Ack.IsRequest())
	assert.False(t, bup.PacketType("Other").IsRequest())
}

func TestSupportedProtocols(t *testing.T) {
	tests := []struct {
		in       string
		items    []string
		supports bool
	}{
		{bup.Protocol, []string{bup.Protocol}, true},
		{"{7DF0354D-249B-430F-820D-3D2A9BEF4931}", []string{"{7DF0354D-249B-430F-820D-3D2A9BEF4931}"}, true},
		{"{11111111-1111-1111-1111-111111111111} " + bup.Protocol, []string{"{11111111-1111-1111-1111-111111111111}", bup.Protocol}, true},
		{"{a},{b}, " + bup.Protocol, []string{"{a}", "{b}", bup.Protocol}, true},
		{"  {a}   {b}  ", []string{"{a}", "{b}"}, false},
		{"", nil, false},
		{"7df0354d-249b-430f-820d-3d2a9bef4931", []string{"7df0354d-249b-430f-820d-3d2a9bef4931"}, false},
	}
	for _, tt := range tests {
		got := bup.ParseSupportedProtocols(tt.in)
		if tt.items == nil {
			assert.Empty(t, got, "%q", tt.in)
		} else {
			assert.Equal(t, tt.items, got, "%q", tt.in)
		}
		assert.Equal(t, tt.supports, bup.SupportsProtocol(tt.in), "%q", tt.in)
	}
}

func TestParseSupportedProtocolsKeepsAtMostMax(t *testing.T) {
	s := ""
	for range bup.MaxProtocols {
		s += "{x} "
	}
	assert.False(t, bup.SupportsProtocol(s+bup.Protocol), "the protocol after the first 100 is not read")
	assert.Len(t, bup.ParseSupportedProtocols(s+bup.Protocol), bup.MaxProtocols)
	assert.True(t, bup.SupportsProtocol(s[4:]+bup.Protocol), "the 100th item is read")
}

func TestParseContentRange(t *testing.T) {
	good := []struct {
		in   string
		want bup.Range
	}{
		{"bytes 0-4891/4892", bup.Range{First: 0, Last: 4891, Total: 4892}},
		{"Bytes 128-212/1000", bup.Range{First: 128, Last: 212, Total: 1000}},
		{"BYTES 5-5/6", bup.Range{First: 5, Last: 5, Total: 6}},
		{"bytes 0-0/1", bup.Range{Total: 1}},
		{"bytes 007-009/010", bup.Range{First: 7, Last: 9, Total: 10}},
		{"bytes 0-18446744073709551613/18446744073709551614", bup.Range{Last: 1<<64 - 3, Total: 1<<64 - 2}},
		{"bytes 0-18446744073709551614/18446744073709551615", bup.Range{Last: 1<<64 - 2, Total: 1<<64 - 1}},
		{"bytes */0", bup.Range{}},
	}
	for _, tt := range good {
		got, err := bup.ParseContentRange(tt.in)
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
	bad := []string{
		"",
		"bytes",
		"bytes ",
		"bytes=0-9/10",
		"bytes  0-9/10",
		" bytes 0-9/10",
		"bytes 0-9/10 ",
		"bytes\t0-9/10",
		"octets 0-9/10",
		"bytes 0-9",
		"bytes 0-9/",
		"bytes 0-9/*",
		"bytes */10",
		"bytes */*",
		"bytes *",
		"bytes 9-0/10",
		"bytes 0-10/10",
		"bytes 0-9/9",
		"bytes -1-9/10",
		"bytes 0--9/10",
		"bytes +0-9/10",
		"bytes 0-+9/10",
		"bytes 0-9/+10",
		"bytes 0x0-9/10",
		"bytes 0 -9/10",
		"bytes 0- 9/10",
		"bytes 0-9 /10",
		"bytes 0-9/ 10",
		"bytes 0-9/10/11",
		"bytes 0-9,20-29/30",
		"bytes 1e1-20/30",
		"bytes 0-0/0",
		"bytes 0-18446744073709551615/18446744073709551616",
		"bytes 0-9/99999999999999999999",
		"bytes ٠-٩/١٠",      // Arabic-Indic digits are not decimal digits here
		"byte\u017f 0-9/10", // long s, which Unicode folds to s
	}
	for _, in := range bad {
		_, err := bup.ParseContentRange(in)
		require.Error(t, err, "%q", in)
		assert.ErrorIs(t, err, bup.ErrMalformed, "%q", in)
	}
}

func TestRangeFormatAndSize(t *testing.T) {
	tests := []struct {
		r        bup.Range
		text     string
		len, end uint64
		isLast   bool
	}{
		{bup.Range{First: 0, Last: 4891, Total: 4892}, "bytes 0-4891/4892", 4892, 4892, true},
		{bup.Range{First: 128, Last: 212, Total: 1000}, "bytes 128-212/1000", 85, 213, false},
		{bup.Range{First: 999, Last: 999, Total: 1000}, "bytes 999-999/1000", 1, 1000, true},
		{bup.Range{}, "bytes */0", 0, 0, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.text, tt.r.String())
		assert.Equal(t, tt.len, tt.r.Len(), tt.text)
		assert.Equal(t, tt.end, tt.r.End(), tt.text)
		assert.Equal(t, tt.isLast, tt.r.IsLast(), tt.text)
		back, err := bup.ParseContentRange(tt.r.String())
		require.NoError(t, err)
		assert.Equal(t, tt.r, back)
	}
}

func TestReceivedContentRange(t *testing.T) {
	for _, n := range []uint64{0, 213, 4892, 1<<64 - 1} {
		s := bup.FormatReceivedContentRange(n)
		got, err := bup.ParseReceivedContentRange(s)
		require.NoError(t, err, s)
		assert.Equal(t, n, got)
	}
	assert.Equal(t, "213", bup.FormatReceivedContentRange(213))
	for _, in := range []string{"", " 1", "1 ", "-1", "+1", "0x10", "1-2", "18446744073709551616", "bytes 213"} {
		_, err := bup.ParseReceivedContentRange(in)
		assert.ErrorIs(t, err, bup.ErrMalformed, "%q", in)
	}
}

func TestErrorCode(t *testing.T) {
	assert.Equal(t, "0x8020001F", bup.FormatErrorCode(hresult.BG_E_SESSION_NOT_FOUND))
	assert.Equal(t, "0x80070057", bup.FormatErrorCode(hresult.E_INVALIDARG))
	assert.Equal(t, "0x00000000", bup.FormatErrorCode(hresult.S_OK))
	good := []struct {
		in   string
		want hresult.Code
	}{
		{"0x8020001F", hresult.BG_E_SESSION_NOT_FOUND},
		{"0x8020001f", hresult.BG_E_SESSION_NOT_FOUND},
		{"0X8020001F", hresult.BG_E_SESSION_NOT_FOUND},
		{"8020001f", hresult.BG_E_SESSION_NOT_FOUND},
		{"0x80070057", hresult.E_INVALIDARG},
		{"0x0", hresult.S_OK},
		{"5", hresult.Code(5)},
		{"0xFFFFFFFF", hresult.Code(0xFFFFFFFF)},
	}
	for _, tt := range good {
		got, err := bup.ParseErrorCode(tt.in)
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
	for _, in := range []string{"", "0x", "x8020001F", "0x1FFFFFFFF", "123456789", "-2145386465", "0x8020001G", " 0x1", "0x 1", "0x-1", "0x+1"} {
		_, err := bup.ParseErrorCode(in)
		assert.ErrorIs(t, err, bup.ErrMalformed, "%q", in)
	}
	for _, c := range []hresult.Code{hresult.BG_E_TOO_LARGE, hresult.E_ACCESSDENIED, hresult.HTTP(503)} {
		got, err := bup.ParseErrorCode(bup.FormatErrorCode(c))
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
}

func TestErrorContext(t *testing.T) {
	assert.Equal(t, "0x5", bup.ContextRemoteFile.String())
	assert.Equal(t, "0x7", bup.ContextRemoteApplication.String())
	assert.EqualValues(t, 5, bup.ContextRemoteFile)
	assert.EqualValues(t, 7, bup.ContextRemoteApplication)
	for in, want := range map[string]bup.ErrorContext{"0x5": 5, "0x00000007": 7, "7": 7, "0xa": 10} {
		got, err := bup.ParseErrorContext(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0x", "CONTEXT_SERVER", "0x5 ", "0x123456789"} {
		_, err := bup.ParseErrorContext(in)
		assert.ErrorIs(t, err, bup.ErrMalformed, "%q", in)
	}
}

func TestErrorFromHeaders(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		want *bup.Error
	}{
		{"none", hdr(), nil},
		{"code and context", hdr(bup.HeaderErrorCode, "0x8020001F", bup.HeaderErrorContext, "0x5"),
			&bup.Error{Status: 500, Code: hresult.BG_E_SESSION_NOT_FOUND, Context: bup.ContextRemoteFile}},
		{"MC-BUP name", hdr(bup.HeaderError, "0x80070057", bup.HeaderErrorContext, "0x5"),
			&bup.Error{Status: 500, Code: hresult.E_INVALIDARG, Context: bup.ContextRemoteFile}},
		{"BITS-Error-Code wins", hdr(bup.HeaderErrorCode, "0x80200020", bup.HeaderError, "0x80070057"),
			&bup.Error{Status: 500, Code: hresult.BG_E_TOO_LARGE}},
		{"context only", hdr(bup.HeaderErrorContext, "0x7"), &bup.Error{Status: 500, Context: bup.ContextRemoteApplication}},
		{"spaces around values", hdr(bup.HeaderErrorCode, " 0x80070005 ", bup.HeaderErrorContext, " 0x7 "),
			&bup.Error{Status: 500, Code: hresult.E_ACCESSDENIED, Context: bup.ContextRemoteApplication}},
	}
	for _, tt := range tests {
		got, err := bup.ErrorFromHeaders(500, tt.h)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
	for _, h := range []http.Header{
		hdr(bup.HeaderErrorCode, "oops"),
		hdr(bup.HeaderError, "-1"),
		hdr(bup.HeaderErrorCode, "0x5", bup.HeaderErrorContext, "server"),
	} {
		_, err := bup.ErrorFromHeaders(400, h)
		assert.ErrorIs(t, err, bup.ErrMalformed, "%v", h)
	}
}

func TestErrorValue(t *testing.T) {
	e := &bup.Error{Status: 500, Code: hresult.BG_E_SESSION_NOT_FOUND, Context: bup.ContextRemoteFile}
	var err error = e
	assert.ErrorIs(t, err, hresult.BG_E_SESSION_NOT_FOUND)
	assert.NotErrorIs(t, err, hresult.E_INVALIDARG)
	assert.Equal(t, hresult.BG_E_SESSION_NOT_FOUND, hresult.Of(err))
	assert.Contains(t, e.Error(), "HTTP 500")
	assert.Contains(t, e.Error(), "BG_E_SESSION_NOT_FOUND (0x8020001F)")
	assert.Contains(t, e.Error(), "context 0x5")

	bare := &bup.Error{Status: 416}
	assert.Nil(t, bare.Unwrap())
	assert.Equal(t, "BITS upload: HTTP 416", bare.Error())
	assert.False(t, errors.Is(bare, hresult.S_OK))

	h := http.Header{}
	e.SetHeaders(h)
	assert.Equal(t, "Ack", h.Get(bup.HeaderPacketType))
	assert.Equal(t, "0x8020001F", h.Get(bup.HeaderErrorCode))
	assert.Equal(t, "0x5", h.Get(bup.HeaderErrorContext))
	back, err := bup.ErrorFromHeaders(500, h)
	require.NoError(t, err)
	assert.Equal(t, e, back)
}
