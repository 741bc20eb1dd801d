package transfer

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/clock"
)

// Defaults for the zero values of Config.
const (
	defaultStallTimeout = 2 * time.Minute
	defaultChunkSize    = 256 << 10
	maxRedirects        = 10
)

// state is what a Client shares between its fetches: HTTP transports (so connections are
// reused across files and jobs) and a pool of chunk buffers. Fetches whose BG_SSL_IGNORE_*
// flags differ use different transports, so that a connection whose certificate was let
// through by one set of flags never serves a fetch with another set.
type state struct {
	clk   clock.Clock
	stall time.Duration
	chunk int
	frag  uint64          // the upload fragment size
	tr    *http.Transport // for fetches without BG_SSL_IGNORE_* flags
	bufs  sync.Pool       // *[]byte of len chunk
	// Direct writes (direct.go): the least bytes a fetch writes directly (negative: none),
	// their chunk size, and a pool of *[]byte of that size aligned for O_DIRECT.
	directMin int64
	dchunk    int
	dbufs     sync.Pool
	conns     conns // every connection the transports opened

	mu  sync.Mutex
	lax map[uint32]*http.Transport // by the fetch's BG_SSL_IGNORE_* flags
}

// New returns a Client configured by cfg. The zero Config is usable: system TLS roots, the wall
// clock, a 2-minute stall timeout, 256 KiB chunks, and direct writes of 4 MiB chunks for a fetch
// that extends its file by 16 MiB or more (Config.DirectIOMin).
func New(cfg Config) *Client {
	c := &Client{cfg: cfg}
	c.clk = cfg.Clock
	if c.clk == nil {
		c.clk = clock.Real()
	}
	c.stall = cfg.StallTimeout
	if c.stall <= 0 {
		c.stall = defaultStallTimeout
	}
	c.chunk = cfg.ChunkSize
	if c.chunk <= 0 {
		c.chunk = defaultChunkSize
	}
	c.frag = DefaultFragmentSize
	if cfg.FragmentSize > 0 {
		c.frag = uint64(max(cfg.FragmentSize, MinFragmentSize))
	}
	size := c.chunk
	c.bufs.New = func() any {
		b := make([]byte, size)
		return &b
	}
	c.directMin = cfg.DirectIOMin
	if c.directMin == 0 {
		c.directMin = defaultDirectIOMin
	}
	c.dchunk = directChunk
	if cfg.ChunkSize > 0 {
		c.dchunk = (cfg.ChunkSize + directAlign - 1) / directAlign * directAlign
	}
	dsize := c.dchunk
	c.dbufs.New = func() any {
		b := alignedBuf(dsize)
		return &b
	}
	c.tr = c.newTransport(cfg, 0)
	return c
}

// Quiet reports whether the Client's side of every connection it has open waits on the peer: a
// connection is open, none is being dialed, a read is under way on each, and (on Linux, where the
// system tells) no byte that arrived waits unread. A connection being set up, or a handshake
// being checked, is not quiet. A transfer that
// waits on its peer while Quiet holds and Reads does not change has heard nothing: its peer is
// silent.
func (c *Client) Quiet() bool { return c.conns.quiet() }

// Reads counts the reads of the Client's connections that brought bytes.
func (c *Client) Reads() uint64 { return c.conns.reads.Load() }

// Close closes the Client's idle connections. Fetches still running keep their connections; the
// Client stays usable.
func (c *Client) Close() {
	c.tr.CloseIdleConnections()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tr := range c.lax {
		tr.CloseIdleConnections()
	}
}

// transport returns the transport for a fetch with the given security flags: the shared strict
// one, or one made for the fetch's BG_SSL_IGNORE_* flags.
func (c *Client) transport(flags uint32) *http.Transport {
	ignore := flags & sslIgnoreMask
	if ignore == 0 {
		return c.tr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tr := c.lax[ignore]
	if tr == nil {
		if c.lax == nil {
			c.lax = make(map[uint32]*http.Transport)
		}
		tr = c.newTransport(c.cfg, ignore)
		c.lax[ignore] = tr
	}
	return tr
}

// newTransport builds the Client's HTTP transport. It speaks HTTP/1.1 only (what BITS's server
// requirements are written for), never asks for compressed answers (the bytes on the wire are
// the file's bytes, so Content-Length and Content-Range count them), chooses the proxy per
// request from the fetch's Options, and has no timeouts of its own: the stall timeout, measured
// on Config.Clock, covers connecting, waiting for answers and reading bodies alike. ignore are
// the BG_SSL_IGNORE_* flags its certificate checks honour (see laxTLS).
func (c *Client) newTransport(cfg Config, ignore uint32) *http.Transport {
	var protos http.Protocols
	protos.SetHTTP1(true)
	var dial dialFunc = cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	dial = c.conns.wrap(dial)
	tr := &http.Transport{
		Proxy:                  proxyForRequest,
		OnProxyConnectResponse: proxyConnectResponse,
		DialContext:            dial,
		TLSClientConfig:        cfg.TLS.Clone(),
		Protocols:              &protos,
		DisableCompression:     true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
	}
	if ignore != 0 {
		laxTLS(tr, cfg.TLS, dial, ignore)
	}
	return tr
}

// fetch sends spec to the transport its remote name calls for.
func (c *Client) fetch(ctx context.Context, spec Spec, opt Options, dst *os.File, obs Observer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := parseRemote(spec.Remote)
	if err != nil {
		return err
	}
	if src.url != nil {
		r := &httpRun{run: c.newRun(ctx, spec, opt, dst, obs, protoHTTP), url: src.url}
		return r.fetch()
	}
	r := &fileRun{run: c.newRun(ctx, spec, opt, dst, obs, protoFile), path: src.path}
	return r.fetch()
}
