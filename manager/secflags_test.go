package manager_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// A job's security flags reach its transfers (IBackgroundCopyJobHttpOptions::SetSecurityFlags):
// against a self-signed server the manager does not trust, a job is strict by default, and
// each BG_SSL_IGNORE_* flag lets through its own certificate fault and no other. The server's
// certificate names 127.0.0.1 only, so a URL by the name localhost adds a host-name fault.
func TestJobSecurityFlagsAgainstASelfSignedServer(t *testing.T) {
	data := content(9, 20_000)
	srv := bitstest.NewTLSServer(map[string][]byte{"s.bin": data})
	t.Cleanup(srv.Close)
	byIP := srv.URLFor("s.bin")
	require.True(t, strings.HasPrefix(byIP, "https://127.0.0.1:"), byIP)
	byName := strings.Replace(byIP, "127.0.0.1", "localhost", 1)

	const (
		cn    = bits.SSLIgnoreCertCNInvalid
		date  = bits.SSLIgnoreCertDateInvalid
		ca    = bits.SSLIgnoreUnknownCA
		usage = bits.SSLIgnoreCertWrongUsage
	)
	tests := []struct {
		name  string
		url   string
		flags uint32
		ok    bool
	}{
		{"strict by default", byIP, 0, false},
		{"the unknown CA let through", byIP, ca, true},
		{"other faults' flags do not help", byIP, cn | date | usage, false},
		{"a wrong host name is a fault of its own", byName, ca, false},
		{"both faults let through", byName, ca | cn, true},
		{"every flag", byName, ca | cn | date | usage, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, dir := setup(t)
			j := download(t, c, dir, tt.url)
			if tt.flags != 0 {
				require.NoError(t, j.SetSecurityFlags(tt.flags))
			}
			require.NoError(t, j.Resume())
			h.Settle()
			if tt.ok {
				require.Equal(t, state.Transferred, stateOf(t, j))
				assert.Equal(t, data, completeAndRead(t, j, dir, 1)[0])
				return
			}
			require.Equal(t, state.Error, stateOf(t, j))
			ctx, code := jobError(t, j)
			assert.Equal(t, hresult.ERROR_WINHTTP_SECURE_FAILURE, code)
			assert.Equal(t, bits.ContextRemoteFile, ctx)
		})
	}
}
