package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/internal/childproc"
)

// bin is the bitsupload binary the tests run, built once by TestMain (with -race when the
// tests run with it).
var bin string

func TestMain(m *testing.M) {
	os.Exit(childproc.BuildAndRun(m, "bitsupload", &bin))
}

// server is a running bitsupload process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{} // closed when the process has exited and its output is read
	client *http.Client
}

var listening = regexp.MustCompile(`receiving into .* at (https?://\S+)`)

// start runs bitsupload with args (and -addr 127.0.0.1:0) and waits until it listens.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{t: t, cmd: cmd, done: make(chan struct{}), client: &http.Client{}}
	urls := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	select {
	case s.url = <-urls:
	case <-s.done:
		t.Fatalf("bitsupload exited before listening:\n%s", s.output())
	}
	return s
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// stop sends SIGTERM and returns the exit status.
func (s *server) stop() int {
	s.t.Helper()
	if runtime.GOOS == "windows" {
		s.t.Skip("no SIGTERM on Windows")
	}
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGTERM))
	<-s.done
	return s.cmd.ProcessState.ExitCode()
}

// packet sends a raw BITS_POST packet to path.
func (s *server) packet(path string, pt bup.PacketType, body []byte, kv ...string) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(bup.Method, s.url+path, bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set(bup.HeaderPacketType, string(pt))
	for i := 0; i < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := s.client.Do(req)
	require.NoError(s.t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// upload sends data as one session in fragments of n bytes and returns the Ack of the last
// fragment; it does not close the session.
func (s *server) upload(path string, data []byte, n int) (string, *http.Response) {
	s.t.Helper()
	resp := s.packet(path, bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "Create-Session %s", resp.Header.Get(bup.HeaderErrorCode))
	id := resp.Header.Get(bup.HeaderSessionID)
	for first := 0; first < len(data); first += n {
		last := min(first+n, len(data)) - 1
		resp = s.packet(path, bup.Fragment, data[first:last+1], bup.HeaderSessionID, id,
			bup.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
		require.Equal(s.t, http.StatusOK, resp.StatusCode, "fragment: %s", resp.Header.Get(bup.HeaderErrorCode))
	}
	return id, resp
}

func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13) ^ seed
	}
	return b
}

// TestServeUploadsAndStop runs the server, uploads with raw packets, checks a limit, and stops
// it with SIGTERM: it exits 0 and leaves the open session on disk for the next run, which
// finishes it.
func TestServeUploadsAndStop(t *testing.T) {
	dir := t.TempDir()
	s := start(t, "-dir", dir, "-max-size", "1K")
	assert.Equal(t, http.StatusOK, s.packet("/x", bup.Ping, nil).StatusCode)

	data := content(1000, 1)
	id, _ := s.upload("/report.bin", data, 300)
	resp := s.packet("/report.bin", bup.CloseSession, nil, bup.HeaderSessionID, id)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	got, err := os.ReadFile(filepath.Join(dir, "report.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)

	resp = s.packet("/big.bin", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	big := content(1025, 2)
	resp = s.packet("/big.bin", bup.Fragment, big[:100], bup.HeaderSessionID, resp.Header.Get(bup.HeaderSessionID),
		bup.HeaderContentRange, "bytes 0-99/1025")
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, bup.FormatErrorCode(hresult.BG_E_TOO_LARGE), resp.Header.Get(bup.HeaderErrorCode))

	resp = s.packet("/report.bin", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "no overwrites without -allow-overwrites")

	half := content(800, 3)
	resp = s.packet("/half.bin", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	id = resp.Header.Get(bup.HeaderSessionID)
	resp = s.packet("/half.bin", bup.Fragment, half[:400], bup.HeaderSessionID, id, bup.HeaderContentRange, "bytes 0-399/800")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.client.CloseIdleConnections()

	assert.Equal(t, 0, s.stop(), s.output())
	assert.Contains(t, s.output(), "bitsupload: stopped")

	s = start(t, "-dir", dir, "-max-size", "1K")
	resp = s.packet("/half.bin", bup.Fragment, half[400:], bup.HeaderSessionID, id, bup.HeaderContentRange, "bytes 400-799/800")
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Header.Get(bup.HeaderErrorCode))
	assert.Equal(t, http.StatusOK, s.packet("/half.bin", bup.CloseSession, nil, bup.HeaderSessionID, id).StatusCode)
	got, err = os.ReadFile(filepath.Join(dir, "half.bin"))
	require.NoError(t, err)
	assert.Equal(t, half, got)
}

// TestUploadReply posts complete uploads to the -reply-url application, by value, and serves
// its reply.
func TestUploadReply(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d bytes", len(b))
	}))
	defer app.Close()
	dir := t.TempDir()
	s := start(t, "-dir", dir, "-reply-url", app.URL+"/app", "-notify-type", "2")
	id, resp := s.upload("/job.dat", content(5000, 4), 2048)
	replyURL := resp.Header.Get(bup.HeaderReplyURL)
	require.NotEmpty(t, replyURL)
	reply, err := s.client.Get(replyURL)
	require.NoError(t, err)
	b, _ := io.ReadAll(reply.Body)
	reply.Body.Close()
	assert.Equal(t, "got 5000 bytes", string(b))
	assert.Equal(t, http.StatusOK, s.packet("/job.dat", bup.CloseSession, nil, bup.HeaderSessionID, id).StatusCode)
}

// TestTLS serves HTTPS with the certificate and key given.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	dir := t.TempDir()
	s := start(t, "-dir", dir, "-tls-cert", certFile, "-tls-key", keyFile, "-allow-overwrites")
	require.True(t, strings.HasPrefix(s.url, "https://"), s.url)
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	data := content(3000, 5)
	id, _ := s.upload("/secure.bin", data, 1000)
	assert.Equal(t, http.StatusOK, s.packet("/secure.bin", bup.CloseSession, nil, bup.HeaderSessionID, id).StatusCode)
	got, err := os.ReadFile(filepath.Join(dir, "secure.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key, and returns their
// files and a pool that trusts it.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestUsage exits 2 for a bad command line and 1 when it cannot serve.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "-dir is required"},
		{[]string{"-dir", dir, "extra"}, 2, "unexpected argument"},
		{[]string{"-dir", dir, "-max-size", "lots"}, 2, "-max-size"},
		{[]string{"-dir", dir, "-reply-url", "http://h/app", "-notify-type", "3"}, 2, "-notify-type"},
		{[]string{"-dir", dir, "-tls-cert", "c.pem"}, 2, "go together"},
		{[]string{"-dir", dir, "-max-sessions", "0"}, 2, "-max-sessions"},
		{[]string{"-dir", filepath.Join(dir, "none")}, 1, "none"},
		{[]string{"-dir", dir, "-reply-url", "not a url"}, 1, "NotifyURL"},
		{[]string{"-dir", dir, "-addr", "256.0.0.1:bad"}, 1, ""},
	} {
		var out bytes.Buffer
		cmd := exec.Command(bin, c.args...)
		cmd.Stderr = &out
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%q", c.args)
		assert.Equal(t, c.code, ee.ExitCode(), "%q: %s", c.args, out.String())
		assert.Contains(t, out.String(), c.msg, "%q", c.args)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "1000": 1000, "1K": 1 << 10, "30m": 30 << 20, "2G": 2 << 30, "1T": 1 << 40} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "K", "-1", "1.5M", "1KB", "99999999999T"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
}
