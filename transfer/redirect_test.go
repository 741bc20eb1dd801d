package transfer_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// redirector answers every request for /old with status and a Location to target.
func redirector(status int, target string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			w.Header().Set("Location", target)
			w.WriteHeader(status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// trusting returns a TLS configuration that trusts srv's certificate.
func trusting(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func TestFetchRedirectPolicy(t *testing.T) {
	content := pattern(1000, 20)
	tests := []struct {
		status  int
		policy  uint32
		code    hresult.Code // 0: followed
		wantURL bool         // Progress.URL is the new location
	}{
		{status: 301, policy: bits.RedirectPolicyAllowSilent},
		{status: 302, policy: bits.RedirectPolicyAllowSilent},
		{status: 303, policy: bits.RedirectPolicyAllowSilent},
		{status: 307, policy: bits.RedirectPolicyAllowSilent},
		{status: 308, policy: bits.RedirectPolicyAllowSilent},
		{status: 300, policy: bits.RedirectPolicyAllowSilent},
		{status: 301, policy: bits.RedirectPolicyAllowReport, wantURL: true},
		{status: 307, policy: bits.RedirectPolicyAllowReport, wantURL: true},
		{status: 300, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_AMBIGUOUS, wantURL: true},
		{status: 301, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_MOVED, wantURL: true},
		{status: 302, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_REDIRECT, wantURL: true},
		{status: 303, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_REDIRECT_METHOD, wantURL: true},
		{status: 307, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_REDIRECT_KEEP_VERB, wantURL: true},
		{status: 308, policy: bits.RedirectPolicyDisallow, code: hresult.HTTP_STATUS_MOVED, wantURL: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d policy %#x", tt.status, tt.policy), func(t *testing.T) {
			o := newOrigin(content)
			srv := serve(t, redirector(tt.status, "/new", o))
			c := newClient(t, transfer.Config{})
			res := fetch(t, c, wholeSpec(urlOf(srv, "old")), transfer.Options{SecurityFlags: tt.policy}, nil)
			wantURL := ""
			if tt.wantURL {
				wantURL = urlOf(srv, "new")
			}
			if tt.code != 0 {
				requireError(t, res.err, tt.code, bits.ContextRemoteFile, false, "http")
				require.NotEmpty(t, res.obs.all(), "the new location is reported")
				assert.Equal(t, wantURL, res.obs.last().URL)
				assert.Empty(t, o.log(), "not followed")
				assert.Equal(t, 0, res.obs.connects())
				return
			}
			require.NoError(t, res.err)
			assert.Equal(t, content, contents(t, res.dst))
			for _, p := range res.obs.all() {
				assert.Equal(t, wantURL, p.URL)
			}
			// The HEAD found the new location; the GET goes there directly.
			log := o.log()
			require.Len(t, log, 2)
			assert.Equal(t, "/new", log[1].URI)
			assert.Equal(t, http.MethodGet, log[1].Method)
		})
	}
}

func TestFetchRedirectOnGet(t *testing.T) {
	content := pattern(1000, 21)
	o := newOrigin(content)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/f" && r.Method != http.MethodHead {
			w.Header().Set("Location", "/g")
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		o.ServeHTTP(w, r)
	}))
	c := newClient(t, transfer.Config{})
	res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{Method: "FETCH", SecurityFlags: bits.RedirectPolicyAllowReport}, nil)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))
	log := o.log()
	require.Len(t, log, 2)
	assert.Equal(t, "/g", log[1].URI)
	assert.Equal(t, http.MethodGet, log[1].Method, "303 turns the custom verb into GET")
	assert.Equal(t, "bytes=0-999", log[1].Range)
	assert.Equal(t, urlOf(srv, "g"), res.obs.last().URL)
	assert.Empty(t, res.obs.all()[0].URL, "reported once the redirect happened")
}

func TestFetchRedirectRefused(t *testing.T) {
	content := pattern(1000, 22)
	plain := serve(t, newOrigin(content))

	t.Run("https to http", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(redirector(http.StatusFound, urlOf(plain, "f"), newOrigin(content)))
		t.Cleanup(tlsSrv.Close)
		c := newClient(t, transfer.Config{TLS: trusting(tlsSrv)})

		res := fetch(t, c, wholeSpec(urlOf(tlsSrv, "old")), transfer.Options{}, nil)
		requireError(t, res.err, hresult.HTTP_STATUS_REDIRECT, bits.ContextRemoteFile, false, "http")
		assert.Empty(t, res.obs.all(), "a refused redirect rewrites nothing")

		opt := transfer.Options{SecurityFlags: bits.RedirectPolicyAllowReport | bits.RedirectPolicyAllowHTTPSToHTTP}
		res = fetch(t, c, wholeSpec(urlOf(tlsSrv, "old")), opt, nil)
		require.NoError(t, res.err)
		assert.Equal(t, content, contents(t, res.dst))
		assert.Equal(t, urlOf(plain, "f"), res.obs.last().URL)
	})

	t.Run("to a file URL", func(t *testing.T) {
		srv := serve(t, redirector(http.StatusMovedPermanently, "file:///etc/passwd", newOrigin(content)))
		c := newClient(t, transfer.Config{})
		res := fetch(t, c, wholeSpec(urlOf(srv, "old")), transfer.Options{}, nil)
		requireError(t, res.err, hresult.HTTP_STATUS_MOVED, bits.ContextRemoteFile, false, "http")
	})

	t.Run("too many", func(t *testing.T) {
		var n atomic.Int32
		srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, fmt.Sprintf("/hop%d", n.Add(1)), http.StatusTemporaryRedirect)
		}))
		c := newClient(t, transfer.Config{})
		res := fetch(t, c, wholeSpec(urlOf(srv, "old")), transfer.Options{}, nil)
		requireError(t, res.err, hresult.HTTP_STATUS_REDIRECT_KEEP_VERB, bits.ContextRemoteFile, false, "http")
		assert.Equal(t, int32(11), n.Load(), "ten redirects followed, the eleventh refused")
	})

	t.Run("ten is fine", func(t *testing.T) {
		var n atomic.Int32
		o := newOrigin(content)
		srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/end" {
				o.ServeHTTP(w, r)
				return
			}
			hop := n.Add(1)
			target := fmt.Sprintf("/hop%d", hop)
			if hop == 10 {
				target = "/end"
			}
			http.Redirect(w, r, target, http.StatusFound)
		}))
		c := newClient(t, transfer.Config{})
		res := fetch(t, c, wholeSpec(urlOf(srv, "old")), transfer.Options{}, nil)
		require.NoError(t, res.err)
		assert.Equal(t, content, contents(t, res.dst))
	})
}

func TestFetchTLS(t *testing.T) {
	content := pattern(50_000, 23)
	srv := httptest.NewUnstartedServer(newOrigin(content))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)

	c := newClient(t, transfer.Config{TLS: trusting(srv)})
	res := fetch(t, c, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))

	untrusting := newClient(t, transfer.Config{TLS: &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}})
	res = fetch(t, untrusting, wholeSpec(urlOf(srv, "f")), transfer.Options{}, nil)
	requireError(t, res.err, hresult.FromWin32(12175), bits.ContextRemoteFile, false, "http")
	assert.Equal(t, 0, res.obs.connects())
}
