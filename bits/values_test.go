package bits_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bitsemu/bitsemu/bits"
)

// TestNames: each enum prints the BITS name of its value, and an undefined value prints the
// BITS type name with the number, so a log line never hides an unexpected value.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{bits.Download, "DOWNLOAD"},
		{bits.Upload, "UPLOAD"},
		{bits.UploadReply, "UPLOAD_REPLY"},
		{bits.JobType(3), "BG_JOB_TYPE(3)"},
		{bits.Foreground, "FOREGROUND"},
		{bits.High, "HIGH"},
		{bits.Normal, "NORMAL"},
		{bits.Low, "LOW"},
		{bits.Priority(4), "BG_JOB_PRIORITY(4)"},
		{bits.ContextNone, "NONE"},
		{bits.ContextRemoteFile, "REMOTE_FILE"},
		{bits.ContextServerCertificateCallback, "SERVER_CERTIFICATE_CALLBACK"},
		{bits.ErrorContext(9), "BG_ERROR_CONTEXT(9)"},
		{bits.ProxyPreconfig, "PRECONFIG"},
		{bits.ProxyNoProxy, "NO_PROXY"},
		{bits.ProxyOverride, "OVERRIDE"},
		{bits.ProxyAutodetect, "AUTODETECT"},
		{bits.ProxyUsage(4), "BG_JOB_PROXY_USAGE(4)"},
		{bits.PropertyCostFlags, "COST_FLAGS"},
		{bits.PropertyOnDemandMode, "ON_DEMAND_MODE"},
		{bits.PropertyID(6), "BITS_JOB_PROPERTY_ID(6)"},
	} {
		assert.Equal(t, tc.want, tc.v.String())
	}
}

// TestValid: Valid accepts exactly the defined values.
func TestValid(t *testing.T) {
	assert.True(t, bits.UploadReply.Valid())
	assert.False(t, bits.JobType(3).Valid())
	assert.True(t, bits.Low.Valid())
	assert.False(t, bits.Priority(4).Valid())
}

// TestFlagValues: the flag values are BITS's (bits.h), since they cross to Windows unchanged.
func TestFlagValues(t *testing.T) {
	assert.Equal(t, uint32(0x3), bits.DefaultNotifyFlags)
	assert.Equal(t, uint32(0x20), bits.NotifyFileRangesTransferred)
	assert.Equal(t, uint32(0x800), bits.RedirectPolicyAllowHTTPSToHTTP)
	assert.Equal(t, uint32(0x800000FF), bits.TransferPolicyAlways)
	assert.Equal(t, ^uint64(0), bits.SizeUnknown)
}
