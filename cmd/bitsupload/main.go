// Command bitsupload is a standalone BITS upload server: it receives BITS upload and
// upload-reply jobs into a directory, with the semantics of the IIS BITS server extension (see
// package upload).
//
// Usage:
//
//	bitsupload -dir DIR [-addr HOST:PORT] [-tls-cert FILE -tls-key FILE]
//	           [-allow-overwrites] [-max-size SIZE] [-session-timeout DURATION]
//	           [-max-sessions N] [-user-header NAME]
//	           [-reply-url URL [-notify-type 1|2] [-notify-timeout DURATION]]
//	           [-public-url URL] [-host-id HOST [-host-id-fallback DURATION]]
//
// A client uploads to the URL of the file it wants to create under DIR, for example
// "bitsadmin /transfer job /upload http://server:8080/reports/may.csv may.csv" stores
// DIR/reports/may.csv; the directory reports must exist. Sizes take the suffixes K, M, G and T
// (powers of 1024). With -reply-url, complete uploads are posted to that server application,
// by reference (-notify-type 1: the file's path in a header, the default) or by value (2: the
// file as the request body), and its reply is served back to the client; the upload is then
// kept under DIR only when the application answers with BITS-Copy-File-To-Destination.
//
// The server prints the address it listens on to standard error, and stops gracefully on
// SIGINT or SIGTERM: it stops accepting connections, lets the requests under way finish (for
// up to -shutdown-timeout), and leaves the sessions on disk for the next run.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bitsemu/bitsemu/upload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// config is what the command line asks for.
type config struct {
	addr, certFile, keyFile string
	dir                     string
	shutdownTimeout         time.Duration
	opts                    upload.Options
}

// run serves until ctx ends and returns the exit status: 0 after a graceful stop, 1 when the
// server fails, 2 for a usage error.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bitsupload:", err)
		return 2
	}
	logger := log.New(stderr, "bitsupload: ", log.LstdFlags)
	cfg.opts.ErrorLog = logger
	h, err := upload.New(cfg.dir, cfg.opts)
	if err != nil {
		fmt.Fprintln(stderr, "bitsupload:", err)
		return 1
	}
	defer h.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintln(stderr, "bitsupload:", err)
		return 1
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          logger,
		// BITS speaks HTTP/1.1; with TLS, do not offer HTTP/2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	scheme := "http"
	if cfg.certFile != "" {
		scheme = "https"
	}
	fmt.Fprintf(stderr, "bitsupload: receiving into %s at %s://%s\n", cfg.dir, scheme, ln.Addr())
	served := make(chan error, 1)
	go func() {
		if cfg.certFile != "" {
			served <- srv.ServeTLS(ln, cfg.certFile, cfg.keyFile)
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		fmt.Fprintln(stderr, "bitsupload:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-served
	if err != nil {
		fmt.Fprintln(stderr, "bitsupload: stopping:", err)
		return 1
	}
	fmt.Fprintln(stderr, "bitsupload: stopped")
	return 0
}

// parse reads the command line.
func parse(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("bitsupload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var maxSize, notifyType, userHeader string
	fs.StringVar(&cfg.dir, "dir", "", "directory to receive files into (required; must exist)")
	fs.StringVar(&cfg.addr, "addr", ":8080", "address to listen on, host:port")
	fs.StringVar(&cfg.certFile, "tls-cert", "", "certificate file (PEM): serve HTTPS")
	fs.StringVar(&cfg.keyFile, "tls-key", "", "private key file (PEM) of -tls-cert")
	fs.BoolVar(&cfg.opts.AllowOverwrites, "allow-overwrites", false, "let uploads replace existing files")
	fs.StringVar(&maxSize, "max-size", "0", "largest upload accepted, in bytes, with an optional K, M, G or T suffix; 0: no limit")
	fs.DurationVar(&cfg.opts.SessionTimeout, "session-timeout", upload.DefaultSessionTimeout, "time a session lives without activity")
	fs.IntVar(&cfg.opts.MaxSessionsPerUser, "max-sessions", upload.DefaultMaxSessionsPerUser, "sessions one user may have open; -1: no limit")
	fs.StringVar(&userHeader, "user-header", "", "take the user from this request header (set by an authenticating proxy) instead of the client's address")
	fs.StringVar(&cfg.opts.NotifyURL, "reply-url", "", "URL of the server application that complete uploads are posted to (upload-reply)")
	fs.StringVar(&notifyType, "notify-type", "1", "how -reply-url gets the upload: 1 the file's path in a header, 2 the file as the body")
	fs.DurationVar(&cfg.opts.NotifyTimeout, "notify-timeout", upload.DefaultNotifyTimeout, "time the server application has to answer")
	fs.StringVar(&cfg.opts.PublicURL, "public-url", "", "URL clients reach this server at, for reply URLs (default: from each request)")
	fs.StringVar(&cfg.opts.HostID, "host-id", "", "host clients must send the rest of a session to (web farms)")
	fs.DurationVar(&cfg.opts.HostIDFallbackTimeout, "host-id-fallback", 0, "time after which clients that cannot reach -host-id fall back")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time requests under way have to finish when stopping")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.dir == "" {
		return nil, errors.New("-dir is required")
	}
	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	n, err := parseSize(maxSize)
	if err != nil {
		return nil, fmt.Errorf("-max-size: %w", err)
	}
	cfg.opts.MaxUploadSize = n
	if cfg.opts.NotifyURL != "" {
		switch notifyType {
		case "1":
			cfg.opts.NotifyType = upload.NotifyByReference
		case "2":
			cfg.opts.NotifyType = upload.NotifyByValue
		default:
			return nil, fmt.Errorf("-notify-type %q: want 1 or 2", notifyType)
		}
	}
	if cfg.opts.SessionTimeout <= 0 || cfg.opts.NotifyTimeout <= 0 {
		return nil, errors.New("timeouts must be positive")
	}
	if cfg.opts.MaxSessionsPerUser == 0 {
		return nil, errors.New("-max-sessions 0 would refuse every upload")
	}
	if userHeader != "" {
		cfg.opts.User = upload.HeaderUser(userHeader)
	}
	return cfg, nil
}

// parseSize reads a size in bytes with an optional K, M, G or T suffix (powers of 1024).
func parseSize(s string) (uint64, error) {
	mult := uint64(1)
	if s != "" {
		switch strings.ToUpper(s[len(s)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		case "T":
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	if n > 0 && mult > ^uint64(0)/n {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
