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
	"github.com/vkvstore/vkv/console"
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
	tokenFile := fs.String("token-file", "", "`file` holding the bearer token every /v1 request must carry: one principal with write on every key; reloaded on SIGHUP (default: no authentication)")
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
	withUI := fs.Bool("ui", true, "serve the web console at /ui/ (GET / redirects there), on the same listener, TLS and authentication as the API (see docs/console.md)")
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
	if *tokenFile != "" {
		// The token file is an auth file of one principal, so that it
		// reloads on SIGHUP as an auth file does.
		c, err := tokenFileConfig(*tokenFile)
		if err != nil {
			return err
		}
		auth = authfile.New(c)
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
	opts := []httpapi.Option{httpapi.WithLogger(logger)}
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
	var root http.Handler = httpapi.New(store, opts...)
	if *withUI {
		root = console.Mount(root)
	}
	srv := httpapi.NewServer(root, logger)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	authMode := "none"
	switch {
	case *tokenFile != "":
		authMode = "token"
	case auth != nil:
		authMode = "auth-file"
	}
	warnExposed(logger, ln.Addr(), stls != nil, authMode != "none")
	mtls := tf.clientCA != ""
	if auth != nil {
		warnCertPrincipals(logger, auth.Config(), mtls)
	}
	// SIGHUP is caught before the server says it serves: until Notify, its
	// default action would end the process, and a script may send it as
	// soon as it sees the line.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	logger.Info("serving", append(append([]any{"addr", ln.Addr().String()}, backend...),
		"tls", stls != nil, "mtls", tf.clientCA != "", "auth", authMode, "metrics", *withMetrics)...)
	if *withUI {
		logger.Info("console", "url", consoleURL(ln.Addr(), stls != nil))
	}

	serveErr := make(chan error, 1)
	if stls != nil {
		srv.TLSConfig = stls.config()
		go func() { serveErr <- srv.ServeTLS(tlsOnlyListener{ln}, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	for running := true; running; {
		select {
		case <-hup:
			reload(logger, stls, auth, *tokenFile)
			if auth != nil {
				warnCertPrincipals(logger, auth.Config(), mtls)
			}
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
func reload(logger *slog.Logger, stls *serverTLS, auth *authfile.Authorizer, tokenFile string) {
	logger.Info("SIGHUP: reloading")
	ok := true
	if tokenFile != "" {
		if c, err := tokenFileConfig(tokenFile); err != nil {
			ok = false
			logger.Error("reload failed; the previous token stays in force", "err", err)
		} else {
			auth.Set(c)
			logger.Info("reloaded the token file")
		}
	} else if auth != nil {
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

// warnCertPrincipals warns of the principals of c identified by a client
// certificate when the server does not ask for client certificates
// (-tls-client-ca): they can never authenticate.
func warnCertPrincipals(logger *slog.Logger, c *authfile.Config, mtls bool) {
	if mtls {
		return
	}
	var names []string
	for _, p := range c.Principals() {
		if p.CertCN() != "" {
			names = append(names, p.Name())
		}
	}
	if len(names) > 0 {
		logger.Warn("the auth file has principals identified by a client certificate (certCN), but the server asks for none, so they cannot sign in; give -tls-client-ca FILE (with -tls-cert and -tls-key)", "principals", strings.Join(names, ","))
	}
}

// tokenFileConfig reads the token file of -token-file and returns its auth
// configuration: one principal, "token", with write on every key.
func tokenFileConfig(path string) (*authfile.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return nil, fmt.Errorf("token file %s is empty: write a token in it (vkv token new makes one)", path)
	}
	entry, err := authfile.Entry("token", authfile.HashToken(token), []authfile.Grant{{Prefix: "", Access: httpapi.Write}})
	if err != nil {
		return nil, err
	}
	return authfile.Parse([]byte(`{"principals": [` + string(entry) + `]}`))
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

// consoleURL returns the address of the web console on a server listening
// at addr, to open in a browser: an unspecified host (":8080", "[::]:8080")
// becomes localhost.
func consoleURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + console.Prefix
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + console.Prefix
}
