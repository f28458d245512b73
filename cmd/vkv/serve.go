package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/metrics"
)

// shutdownTimeout bounds the graceful shutdown; the server's own timeouts
// and header limit are httpapi.NewServer's.
const shutdownTimeout = 30 * time.Second

// runServe is "vkv serve".
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vkv serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	dir := fs.String("dir", "./vkv-data", "`directory` of the store, created if missing")
	tokenFile := fs.String("token-file", "", "`file` holding the bearer token every /v1 request must carry: one principal with write on every key (default: no authentication)")
	authFile := fs.String("auth-file", "", "JSON `file` of principals (token hashes or client certificate names) and their grants on key prefixes; reloaded on SIGHUP (see docs/security.md)")
	encKeyFile := fs.String("encryption-key-file", "", "encrypt the store at rest with the AES key in this `file` (64, 48 or 32 hex digits: AES-256, -192 or -128; e.g. openssl rand -hex 32); the store must always be opened with it")
	noSync := fs.Bool("nosync", false, "do not fsync each commit (faster; a machine crash can lose acknowledged writes)")
	profile := fs.String("profile", "lean", "Badger memory `profile`: lean (less memory) or throughput (vkv.ThroughputOptions: more memtables and a larger key cache; see BENCHMARKS.md)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	withMetrics := fs.Bool("metrics", true, "serve Prometheus metrics at GET /metrics, without authentication (see docs/operations.md)")
	var tf tlsFlags
	fs.StringVar(&tf.cert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (a chain allowed; reloaded on SIGHUP)")
	fs.StringVar(&tf.key, "tls-key", "", "the PEM private key `file` of -tls-cert")
	fs.StringVar(&tf.clientCA, "tls-client-ca", "", "require a client certificate that chains to this PEM CA `file` (mutual TLS)")
	var ef etcdFlags
	ef.register(fs)
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof at `address` (keep it on loopback: profiles show memory), apart from the API (default: off)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: vkv serve [flags]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Serve a vkv store over HTTP (see docs/http.md). Stops gracefully on SIGINT or SIGTERM.")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Example:\n\tvkv serve -addr 127.0.0.1:9000 -dir /var/lib/vkv -token-file /etc/vkv/token\n\tvkv serve -etcd http://10.0.0.1:2379,http://10.0.0.2:2379 -etcd-prefix /vkv/\n\nWith -etcd the data lives in the etcd cluster (see \"Running on an etcd cluster\" in the README) and -dir and -nosync do not apply; any number of servers may share the cluster and prefix.\n\nFlags:")
		fs.PrintDefaults()
	}
	serveUsage := func(format string, args ...any) error {
		fmt.Fprintf(stderr, "vkv serve: %s\nUsage: vkv serve [flags]\nRun \"vkv help serve\" for the flags and an example.\n", fmt.Sprintf(format, args...))
		return errUsage
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return serveUsage("%v", err)
	}
	if fs.NArg() > 0 {
		return serveUsage("unexpected arguments %q: vkv serve takes only flags", fs.Args())
	}
	var level slog.Level
	switch strings.ToLower(*logLevel) {
	case "debug", "info", "warn", "error":
		level.UnmarshalText([]byte(*logLevel))
	default:
		return serveUsage("-log-level %q is not a level: use debug, info, warn or error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if err := tf.check(); err != nil {
		fmt.Fprintf(stderr, "vkv serve: %v\n", err)
		return errUsage
	}
	var stls *serverTLS
	if tf.enabled() {
		var err error
		if stls, err = newServerTLS(tf); err != nil {
			fmt.Fprintf(stderr, "vkv serve: %v\n", err)
			return errUsage
		}
	}

	storeOpts := vkv.DefaultOptions()
	switch *profile {
	case "lean":
	case "throughput":
		storeOpts = vkv.ThroughputOptions()
	default:
		return serveUsage("-profile %q is not a profile: use lean or throughput", *profile)
	}

	if *tokenFile != "" && *authFile != "" {
		fmt.Fprintln(stderr, "vkv serve: give -token-file or -auth-file, not both (the token file is one principal with write on every key: add it to the auth file)")
		return errUsage
	}
	var auth *authfile.Authorizer
	if *authFile != "" {
		var err error
		if auth, err = authfile.Load(*authFile); err != nil {
			fmt.Fprintf(stderr, "vkv serve: %v\n", err)
			return errUsage
		}
	}

	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("reading the token: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return fmt.Errorf("token file %s is empty", *tokenFile)
		}
	}

	// Listen first: a port in use is found before the store is created or
	// opened, so that nothing is left behind.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("-addr %s: %w (another process listens there: stop it, or choose another address with -addr)", *addr, err)
		}
		return fmt.Errorf("-addr %s: %w", *addr, err)
	}
	defer ln.Close() // closed already once Serve has returned

	var (
		store   vkv.KV
		stats   metrics.StatsSource
		backend = []any{"dir", *dir, "nosync", *noSync}
	)
	if ef.endpoints != "" {
		if set := setFlags(fs, "dir", "nosync", "encryption-key-file", "profile"); len(set) > 0 {
			fmt.Fprintf(stderr, "vkv serve: -%s does not apply with -etcd: the data lives in the etcd cluster\n", set[0])
			return errUsage
		}
		kv, err := ef.open(logger.With("component", "etcdkv"))
		if err != nil {
			return err
		}
		store = kv
		backend = []any{"etcd", ef.endpoints, "etcd-prefix", ef.prefix}
	} else {
		if err := ef.checkUnused(fs, stderr); err != nil {
			return err
		}
		var encKey []byte
		if *encKeyFile != "" {
			var err error
			if encKey, err = readEncryptionKey(*encKeyFile); err != nil {
				fmt.Fprintf(stderr, "vkv serve: %v\n", err)
				return errUsage
			}
		}
		storeOpts.NoSync, storeOpts.EncryptionKey, storeOpts.Logger = *noSync, encKey, logger.With("component", "store")
		s, err := vkv.Open(*dir, &storeOpts)
		if err != nil {
			return err
		}
		store, stats = s, s
	}
	opts := []httpapi.Option{httpapi.WithToken(token), httpapi.WithLogger(logger)}
	if auth != nil {
		opts = append(opts, httpapi.WithAuthorizer(auth))
	}
	if *withMetrics {
		m, err := newMetrics(stats)
		if err != nil {
			store.Close()
			return err
		}
		opts = append(opts, httpapi.WithMetrics(m))
	}
	stopPprof := func() {}
	if *pprofAddr != "" {
		var err error
		if stopPprof, err = startPprof(*pprofAddr, logger); err != nil {
			store.Close()
			return err
		}
	}
	defer stopPprof()
	srv := httpapi.NewServer(httpapi.New(store, opts...), logger)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	authMode := "none"
	switch {
	case auth != nil:
		authMode = "auth-file"
	case token != "":
		authMode = "token"
	}
	warnExposed(logger, ln.Addr(), stls != nil, authMode != "none")
	logger.Info("serving", append(append([]any{"addr", ln.Addr().String()}, backend...),
		"tls", stls != nil, "mtls", tf.clientCA != "", "auth", authMode, "metrics", *withMetrics)...)

	serveErr := make(chan error, 1)
	if stls != nil {
		srv.TLSConfig = stls.config()
		go func() { serveErr <- srv.ServeTLS(tlsOnlyListener{ln}, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	for running := true; running; {
		select {
		case <-hup:
			reload(logger, stls, auth)
		case err = <-serveErr:
			// Serve failed before any signal.
			running = false
		case <-ctx.Done():
			logger.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			err = srv.Shutdown(sctx)
			cancel()
			if err != nil {
				logger.Warn("shutdown did not finish in time; closing connections", "err", err)
				srv.Close()
			}
			err = <-serveErr
			running = false
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := store.Close(); cerr != nil {
		logger.Error("closing the store", "err", cerr)
		if err == nil {
			err = cerr
		}
	} else {
		logger.Info("store closed")
	}
	return err
}

// reload re-reads what SIGHUP reloads; what fails to load keeps its previous
// configuration, and the error names the file and the problem.
func reload(logger *slog.Logger, stls *serverTLS, auth *authfile.Authorizer) {
	logger.Info("SIGHUP: reloading")
	ok := true
	if auth != nil {
		if err := auth.Reload(); err != nil {
			ok = false
			logger.Error("reload failed; the previous auth file stays in force", "err", err)
		} else {
			logger.Info("reloaded the auth file", "principals", len(auth.Config().Principals()))
		}
	}
	if stls != nil {
		if err := stls.reload(); err != nil {
			ok = false
			logger.Error("reload failed; the previous TLS certificate, key and client CA stay in force", "err", err)
		} else {
			logger.Info("reloaded the TLS certificate, key and client CA")
		}
	}
	if ok {
		logger.Info("reload done")
	}
}

// warnExposed warns when the server listens beyond loopback without TLS or
// without authentication.
func warnExposed(logger *slog.Logger, addr net.Addr, tls, auth bool) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		return
	}
	if !tls {
		logger.Warn("listening on a non-loopback address without TLS: tokens and data cross the network in clear; give -tls-cert and -tls-key", "addr", addr.String())
	}
	if !auth {
		logger.Warn("listening on a non-loopback address without authentication: anyone who can reach it can read, write and back up every key; give -auth-file or -token-file", "addr", addr.String())
	}
}

// readEncryptionKey reads an AES key written in hex (64, 48 or 32 digits).
func readEncryptionKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-encryption-key-file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || (len(key) != 16 && len(key) != 24 && len(key) != 32) {
		return nil, fmt.Errorf("-encryption-key-file %s: want 64, 48 or 32 hex digits (an AES-256, -192 or -128 key), such as openssl rand -hex 32 writes", path)
	}
	return key, nil
}
