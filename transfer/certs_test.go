package transfer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// pki is a test certificate authority, trusted through roots.
type pki struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	roots *x509.CertPool
	now   time.Time
	last  atomic.Int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{now: time.Now()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bitsemu test CA"},
		NotBefore:             p.now.Add(-10 * 365 * 24 * time.Hour),
		NotAfter:              p.now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	p.ca, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	p.key = key
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.ca)
	p.last.Store(1)
	return p
}

// leafSpec describes a server certificate, and its faults.
type leafSpec struct {
	hosts      []string // DNS names or IP addresses; nil: 127.0.0.1
	expired    bool
	selfSigned bool
	clientOnly bool // extended key usage: client authentication only
}

func (p *pki) leaf(t *testing.T, s leafSpec) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.last.Add(1)),
		Subject:      pkix.Name{CommonName: "server"},
		NotBefore:    p.now.Add(-time.Hour),
		NotAfter:     p.now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.expired {
		tmpl.NotBefore, tmpl.NotAfter = p.now.Add(-48*time.Hour), p.now.Add(-24*time.Hour)
	}
	if s.clientOnly {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	hosts := s.hosts
	if hosts == nil {
		hosts = []string{"127.0.0.1"}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := p.ca, p.key
	if s.selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsOrigin starts an HTTPS origin serving content with cert.
func tlsOrigin(t *testing.T, cert tls.Certificate, content []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(newOrigin(content))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

const (
	ignoreCN    = bits.SSLIgnoreCertCNInvalid
	ignoreDate  = bits.SSLIgnoreCertDateInvalid
	ignoreCA    = bits.SSLIgnoreUnknownCA
	ignoreUsage = bits.SSLIgnoreCertWrongUsage
	ignoreAll   = ignoreCN | ignoreDate | ignoreCA | ignoreUsage
)

// TestFetchSecurityFlags: each BG_SSL_IGNORE_* flag lets exactly its own certificate fault
// through (IBackgroundCopyJobHttpOptions::SetSecurityFlags); every other fault still fails the
// fetch as it does without flags, with a fatal ERROR_WINHTTP_SECURE_FAILURE.
func TestFetchSecurityFlags(t *testing.T) {
	p := newPKI(t)
	content := pattern(20_000, 41)
	certs := []struct {
		name   string
		spec   leafSpec
		needed uint32 // the flags that, together, let it through; 0: a good certificate
	}{
		{"good", leafSpec{}, 0},
		{"unknown CA", leafSpec{selfSigned: true}, ignoreCA},
		{"wrong host", leafSpec{hosts: []string{"other.test"}}, ignoreCN},
		{"expired", leafSpec{expired: true}, ignoreDate},
		{"wrong usage", leafSpec{clientOnly: true}, ignoreUsage},
		{"unknown CA and expired", leafSpec{selfSigned: true, expired: true}, ignoreCA | ignoreDate},
		{"unknown CA and wrong usage", leafSpec{selfSigned: true, clientOnly: true}, ignoreCA | ignoreUsage},
		{"wrong host and expired", leafSpec{hosts: []string{"other.test"}, expired: true}, ignoreCN | ignoreDate},
		{"wrong host and wrong usage", leafSpec{hosts: []string{"other.test"}, clientOnly: true}, ignoreCN | ignoreUsage},
		{"every fault", leafSpec{hosts: []string{"other.test"}, selfSigned: true, expired: true, clientOnly: true}, ignoreAll},
	}
	flagSets := []uint32{0, ignoreCN, ignoreDate, ignoreCA, ignoreUsage,
		ignoreCN | ignoreDate, ignoreCA | ignoreDate, ignoreCA | ignoreUsage, ignoreCN | ignoreUsage,
		ignoreAll &^ ignoreCN, ignoreAll &^ ignoreDate, ignoreAll &^ ignoreCA, ignoreAll &^ ignoreUsage, ignoreAll,
		ignoreAll | bits.SSLEnableCRLCheck | bits.RedirectPolicyAllowReport}

	// One client for everything: fetches with different flags must not share connections.
	c := newClient(t, transfer.Config{TLS: &tls.Config{RootCAs: p.roots}})
	passed, failed := 0, 0
	for _, cert := range certs {
		srv := tlsOrigin(t, p.leaf(t, cert.spec), content)
		for _, flags := range flagSets {
			want := flags&cert.needed == cert.needed
			t.Run(cert.name+"/"+flagNames(flags), func(t *testing.T) {
				res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{SecurityFlags: flags}, nil)
				if want {
					require.NoError(t, res.err)
					assert.Equal(t, content, contents(t, res.dst))
					passed++
					return
				}
				requireError(t, res.err, hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, false, "http")
				assert.Zero(t, res.obs.connects())
				failed++
			})
		}
	}
	assert.Positive(t, passed)
	assert.Positive(t, failed)
}

// TestFetchSecurityFlagsDoNotLeak: a connection a flag let through is not reused by a fetch
// without the flag, on the same Client.
func TestFetchSecurityFlagsDoNotLeak(t *testing.T) {
	p := newPKI(t)
	content := pattern(1000, 42)
	srv := tlsOrigin(t, p.leaf(t, leafSpec{selfSigned: true}), content)
	c := newClient(t, transfer.Config{TLS: &tls.Config{RootCAs: p.roots}})
	for range 2 {
		res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{SecurityFlags: ignoreCA}, nil)
		require.NoError(t, res.err)
		res = fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
		requireError(t, res.err, hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, false, "http")
		res = fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{SecurityFlags: ignoreCN}, nil)
		requireError(t, res.err, hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, false, "http")
	}
}

// TestFetchSecurityFlagsThroughProxy: through an HTTP proxy's CONNECT tunnel the flags apply
// the same way, the host name being the one the client asked the tunnel for.
func TestFetchSecurityFlagsThroughProxy(t *testing.T) {
	p := newPKI(t)
	content := pattern(3000, 43)
	self := tlsOrigin(t, p.leaf(t, leafSpec{hosts: []string{"secure.test"}, selfSigned: true}), content)
	good := tlsOrigin(t, p.leaf(t, leafSpec{hosts: []string{"secure.test"}}), content)
	px, psrv := newProxy(t)
	// The proxy resolves the test's names to the loopback origins.
	px.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if strings.HasSuffix(host, ".test") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c := newClient(t, transfer.Config{TLS: &tls.Config{RootCAs: p.roots}})
	via := func(srv *httptest.Server, host string, flags uint32) error {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
		opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: strings.TrimPrefix(psrv.URL, "http://"), SecurityFlags: flags}
		return fetch(t, c, wholeSpec("https://"+net.JoinHostPort(host, port)+"/f"), opt, nil).err
	}
	assert.NoError(t, via(good, "secure.test", 0))
	assert.NoError(t, via(good, "secure.test", ignoreDate), "a good certificate with a flag")
	assert.NoError(t, via(self, "secure.test", ignoreCA))
	requireError(t, via(self, "secure.test", ignoreCN), hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, false, "http")
	requireError(t, via(good, "other.test", ignoreCA), hresult.ERROR_WINHTTP_SECURE_FAILURE, bits.ContextRemoteFile, false, "http")
	assert.NoError(t, via(good, "other.test", ignoreCN))
	assert.NotEmpty(t, px.log())
}

func flagNames(flags uint32) string {
	if flags == 0 {
		return "strict"
	}
	var names []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{ignoreCN, "CN"}, {ignoreDate, "date"}, {ignoreCA, "CA"}, {ignoreUsage, "usage"}, {bits.SSLEnableCRLCheck, "CRL"}, {bits.RedirectPolicyAllowReport, "report"}} {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "+")
}
