package transfer_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/transfer"
)

// proxy is a test forward proxy: it relays absolute-URI requests and tunnels CONNECT, and keeps
// what it received. With refuse set it answers every request with that status.
type proxy struct {
	mu       sync.Mutex
	requests []seen
	refuse   int
	tr       *http.Transport
	wg       sync.WaitGroup
	// dial opens tunnels; nil means net.Dial's "tcp".
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newProxy(t *testing.T) (*proxy, *httptest.Server) {
	p := &proxy{tr: &http.Transport{DisableCompression: true}}
	srv := serve(t, p)
	t.Cleanup(func() {
		p.wg.Wait()
		p.tr.CloseIdleConnections()
	})
	return p, srv
}

func (p *proxy) log() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.requests...)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, seen{Method: r.Method, URI: r.RequestURI, Range: r.Header.Get("Range"), Header: r.Header.Clone()})
	refuse := p.refuse
	p.mu.Unlock()
	if refuse != 0 {
		w.WriteHeader(refuse)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	dial := p.dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	upstream, err := dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _ = io.Copy(conn, upstream)
		_ = conn.Close()
	}()
	_, _ = io.Copy(upstream, buf) // buf first: it may hold what the client sent already
	_ = upstream.Close()
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestFetchThroughProxy(t *testing.T) {
	content := pattern(5000, 30)
	o := newOrigin(content)
	origin := serve(t, o)
	p, psrv := newProxy(t)
	proxyHost := strings.TrimPrefix(psrv.URL, "http://")
	c := newClient(t, transfer.Config{})
	creds := []bits.Credentials{
		{Target: bits.TargetProxy, Scheme: bits.SchemeBasic, UserName: "pu", Password: "pp"},
		{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "su", Password: "sp"},
	}

	for _, list := range []string{proxyHost, "http=" + proxyHost, "http://" + proxyHost, "https=127.0.0.1:1 http=http://" + proxyHost, proxyHost + " 127.0.0.1:1"} {
		t.Run(list, func(t *testing.T) {
			before := len(p.log())
			opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: list, ProxyBypass: "*.example.com other", Credentials: creds}
			res := fetch(t, c, wholeSpec(urlOf(origin, "f")), opt, nil)
			require.NoError(t, res.err)
			assert.Equal(t, content, contents(t, res.dst))
			log := p.log()[before:]
			require.Len(t, log, 2)
			for _, s := range log {
				assert.Equal(t, urlOf(origin, "f"), s.URI, "absolute URI")
				assert.Equal(t, basic("pu", "pp"), s.Header.Get("Proxy-Authorization"))
				assert.Equal(t, basic("su", "sp"), s.Header.Get("Authorization"))
			}
		})
	}
}

func TestFetchHTTPSThroughProxy(t *testing.T) {
	content := pattern(5000, 31)
	origin := httptest.NewTLSServer(newOrigin(content))
	t.Cleanup(origin.Close)
	p, psrv := newProxy(t)
	c := newClient(t, transfer.Config{TLS: trusting(origin)})
	opt := transfer.Options{
		ProxyUsage:  bits.ProxyOverride,
		ProxyList:   "https=" + strings.TrimPrefix(psrv.URL, "http://"),
		Credentials: []bits.Credentials{{Target: bits.TargetProxy, Scheme: bits.SchemeBasic, UserName: "pu", Password: "pp"}},
	}
	res := fetch(t, c, wholeSpec(urlOf(origin, "f")), opt, nil)
	require.NoError(t, res.err)
	assert.Equal(t, content, contents(t, res.dst))
	log := p.log()
	require.NotEmpty(t, log)
	assert.Equal(t, http.MethodConnect, log[0].Method)
	assert.Equal(t, strings.TrimPrefix(origin.URL, "https://"), log[0].URI)
	assert.Equal(t, basic("pu", "pp"), log[0].Header.Get("Proxy-Authorization"))
	c.Close() // the tunnel ends with the client's connection

	p.mu.Lock()
	p.refuse = http.StatusProxyAuthRequired
	p.mu.Unlock()
	c2 := newClient(t, transfer.Config{TLS: trusting(origin)})
	res = fetch(t, c2, wholeSpec(urlOf(origin, "f")), opt, nil)
	requireError(t, res.err, hresult.BG_E_HTTP_ERROR_407, bits.ContextRemoteFile, false, "http")
}

func TestFetchProxyBypass(t *testing.T) {
	content := pattern(100, 32)
	o := newOrigin(content)
	origin := serve(t, o)
	p, psrv := newProxy(t)
	proxyHost := strings.TrimPrefix(psrv.URL, "http://")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(origin.URL, "http://"))
	require.NoError(t, err)
	c := newClient(t, transfer.Config{})

	tests := []struct {
		name, remote, list, bypass string
		usage                      bits.ProxyUsage
		viaProxy                   bool
	}{
		{name: "bypassed by name", remote: origin.URL + "/f", list: proxyHost, bypass: "127.0.0.1", usage: bits.ProxyOverride},
		{name: "bypassed by wildcard", remote: origin.URL + "/f", list: proxyHost, bypass: "example.com;*.0.0.1", usage: bits.ProxyOverride},
		{name: "bypassed by host and port", remote: origin.URL + "/f", list: proxyHost, bypass: "127.0.0.1:" + port, usage: bits.ProxyOverride},
		{name: "other port not bypassed", remote: origin.URL + "/f", list: proxyHost, bypass: "127.0.0.1:1", usage: bits.ProxyOverride, viaProxy: true},
		{name: "<local> bypasses a name without a dot", remote: "http://localhost:" + port + "/f", list: proxyHost, bypass: "<local>", usage: bits.ProxyOverride},
		{name: "<local> keeps dotted names", remote: origin.URL + "/f", list: proxyHost, bypass: "<LOCAL>", usage: bits.ProxyOverride, viaProxy: true},
		{name: "no entry for the scheme", remote: origin.URL + "/f", list: "https=" + proxyHost, usage: bits.ProxyOverride},
		{name: "no proxy", remote: origin.URL + "/f", list: proxyHost, usage: bits.ProxyNoProxy},
		{name: "preconfigured never proxies loopback", remote: origin.URL + "/f", usage: bits.ProxyPreconfig},
		{name: "autodetect never proxies loopback", remote: origin.URL + "/f", usage: bits.ProxyAutodetect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeOrigin := len(p.log()), len(o.log())
			opt := transfer.Options{ProxyUsage: tt.usage, ProxyList: tt.list, ProxyBypass: tt.bypass}
			res := fetch(t, c, wholeSpec(tt.remote), opt, nil)
			require.NoError(t, res.err)
			assert.Equal(t, content, contents(t, res.dst))
			assert.Len(t, o.log()[beforeOrigin:], 2)
			if tt.viaProxy {
				assert.Len(t, p.log()[before:], 2)
			} else {
				assert.Empty(t, p.log()[before:])
			}
		})
	}
}

func TestFetchMalformedProxyList(t *testing.T) {
	o := newOrigin(pattern(10, 33))
	srv := serve(t, o)
	c := newClient(t, transfer.Config{})
	tests := []struct{ list, bypass string }{
		{list: ""},
		{list: "   "},
		{list: "ftp=proxy:80"},
		{list: "socks://proxy:1080"},
		{list: "proxy:notaport"},
		{list: "proxy:0"},
		{list: "proxy:65536"},
		{list: "proxy:"},
		{list: "http="},
		{list: "http://"},
		{list: "user@proxy:80"},
		{list: "proxy:80/path"},
		{list: "pro%xy"},
		{list: "[::1"},
		{list: "[nothex]:80"},
		{list: "proxy:80", bypass: "a*b.example.com"},
		{list: "proxy:80", bypass: "<local"},
	}
	for _, tt := range tests {
		t.Run(tt.list+"|"+tt.bypass, func(t *testing.T) {
			opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: tt.list, ProxyBypass: tt.bypass}
			res := fetch(t, c, wholeSpec(urlOf(srv, "f")), opt, nil)
			requireError(t, res.err, hresult.BG_E_INVALID_PROXY_INFO, bits.ContextGeneralTransport, false, "http")
		})
	}
	assert.Empty(t, o.log(), "no request is made with a malformed list")

	t.Run("well-formed lists", func(t *testing.T) {
		for _, list := range []string{"proxy", "proxy:8080", "HTTP=HTTPS://proxy.example.com:443/", "[::1]:3128", "[::1]", "10.0.0.1"} {
			opt := transfer.Options{ProxyUsage: bits.ProxyOverride, ProxyList: list, ProxyBypass: "*"}
			res := fetch(t, c, wholeSpec(urlOf(srv, "f")), opt, nil)
			assert.NoError(t, res.err, list)
		}
	})
}
