package transfer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/bitsemu/bitsemu/bits"
)

// sslIgnoreMask are the BG_SSL_IGNORE_* security flags: each lets one class of certificate
// fault through (IBackgroundCopyJobHttpOptions::SetSecurityFlags). BG_SSL_ENABLE_CRL_CHECK is
// not among them: revocation is not checked.
const sslIgnoreMask = bits.SSLIgnoreCertCNInvalid | bits.SSLIgnoreCertDateInvalid |
	bits.SSLIgnoreUnknownCA | bits.SSLIgnoreCertWrongUsage

// laxTLS makes tr check server certificates itself, letting through the faults named by the
// BG_SSL_IGNORE_* flags in ignore and no others (SetSecurityFlags):
//
//	BG_SSL_IGNORE_CERT_CN_INVALID     the certificate does not name the host
//	BG_SSL_IGNORE_CERT_DATE_INVALID   a certificate of the chain is expired or not yet valid
//	BG_SSL_IGNORE_UNKNOWN_CA          the chain does not lead to a trusted root
//	BG_SSL_IGNORE_CERT_WRONG_USAGE    the certificate is not for server authentication
//
// Go's own check is turned off (InsecureSkipVerify) and replaced by verifier.verify, which
// builds the chain with crypto/x509 and checks the host name separately. Connections made
// directly are made by tr.DialTLSContext, which knows the host being dialed; connections
// through an HTTP proxy's CONNECT tunnel are checked by the configuration's VerifyConnection
// against the name the client sent in SNI, which TLS never carries for an IP address: a remote
// named by an IP address reached through a proxy therefore fails the host-name check unless
// BG_SSL_IGNORE_CERT_CN_INVALID is set. A base configuration that already skips verification
// is kept as it is.
func laxTLS(tr *http.Transport, base *tls.Config, dial func(context.Context, string, string) (net.Conn, error), ignore uint32) {
	cfg := base.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.InsecureSkipVerify {
		tr.TLSClientConfig = cfg
		return
	}
	v := &verifier{roots: cfg.RootCAs, now: cfg.Time, ignore: ignore, also: cfg.VerifyConnection}
	if v.now == nil {
		v.now = time.Now
	}
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return v.verify(cs, cs.ServerName) }
	tr.TLSClientConfig = cfg
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = host
		}
		name := c.ServerName
		c.VerifyConnection = func(cs tls.ConnectionState) error { return v.verify(cs, name) }
		if c.NextProtos == nil {
			c.NextProtos = []string{"http/1.1"}
		}
		tc := tls.Client(raw, c)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
}

// verifier checks server certificates, ignoring the classes of faults its flags name.
type verifier struct {
	roots  *x509.CertPool // nil: the system's
	now    func() time.Time
	ignore uint32
	also   func(tls.ConnectionState) error // the base configuration's own VerifyConnection
}

// verify checks the certificates of cs for host. A failure is a
// *tls.CertificateVerificationError wrapping the x509 error of the first fault not ignored,
// as Go's own check reports it.
func (v *verifier) verify(cs tls.ConnectionState, host string) error {
	certs := cs.PeerCertificates
	fail := func(err error) error {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	if len(certs) == 0 {
		return fail(errors.New("the server sent no certificate"))
	}
	leaf := certs[0]
	opts := x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if v.ignore&bits.SSLIgnoreCertWrongUsage != 0 {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if err := v.chain(certs, opts); err != nil {
		return fail(err)
	}
	if v.ignore&bits.SSLIgnoreCertCNInvalid == 0 {
		if err := leaf.VerifyHostname(host); err != nil {
			return fail(err)
		}
	}
	if v.also != nil {
		return v.also(cs)
	}
	return nil
}

// chain verifies the chain from certs[0] to a trusted root, as x509 does, except for the
// faults ignored.
func (v *verifier) chain(certs []*x509.Certificate, opts x509.VerifyOptions) error {
	leaf := certs[0]
	_, err := leaf.Verify(opts)
	if err == nil {
		return nil
	}
	var invalid x509.CertificateInvalidError
	if v.ignore&bits.SSLIgnoreCertDateInvalid != 0 && errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		// Verify again at a moment when the certificates the server sent are valid: any
		// other fault then shows.
		if t, ok := validMoment(certs, opts.CurrentTime); ok {
			opts.CurrentTime = t
			if _, err = leaf.Verify(opts); err == nil {
				return nil
			}
		}
	}
	var unknown x509.UnknownAuthorityError
	if v.ignore&bits.SSLIgnoreUnknownCA != 0 && errors.As(err, &unknown) {
		// No trusted root: the certificates the server sent are all there is to check.
		return v.untrusted(certs, opts.CurrentTime)
	}
	return err
}

// untrusted checks the certificates of a chain that leads to no trusted root: the dates of
// every one (unless ignored) and the leaf's extended key usage (unless ignored).
func (v *verifier) untrusted(certs []*x509.Certificate, now time.Time) error {
	if v.ignore&bits.SSLIgnoreCertDateInvalid == 0 {
		for _, c := range certs {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return x509.CertificateInvalidError{Cert: c, Reason: x509.Expired}
			}
		}
	}
	leaf := certs[0]
	if v.ignore&bits.SSLIgnoreCertWrongUsage == 0 && (len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0) &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage}
	}
	return nil
}

// validMoment returns the moment closest to now at which every certificate of certs is valid,
// if there is one: the last moment of validity of an expired chain, the first of one not yet
// valid. Being as close to now as can be, it is the moment the roots (which the server does not
// send) are most likely valid at too.
func validMoment(certs []*x509.Certificate, now time.Time) (time.Time, bool) {
	lo, hi := certs[0].NotBefore, certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotBefore.After(lo) {
			lo = c.NotBefore
		}
		if c.NotAfter.Before(hi) {
			hi = c.NotAfter
		}
	}
	switch {
	case lo.After(hi):
		return time.Time{}, false
	case now.Before(lo):
		return lo, true
	case now.After(hi):
		return hi, true
	}
	return now, true
}
