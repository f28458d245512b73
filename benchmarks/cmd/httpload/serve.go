package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/etcdkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/metrics"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// The server side: each server runs in a child process of its own (this
// binary re-executed with childEnv set and -serve KIND), so that the parent
// can read the server's CPU time from /proc/PID/stat apart from the load
// generator's. The child opens its store in -dir, preloads one key per
// connection, starts listening on 127.0.0.1, writes one line of JSON
// (readyLine) to stdout and serves until its stdin closes, then shuts down
// and closes the store.

// childEnv marks a child process; its arguments are then serveMain's.
const childEnv = "HTTPLOAD_CHILD"

// Server kinds.
const (
	kindBare = "bare" // net/http handler answering a fixed copy of vkv's GET answer
	kindVKV  = "vkv"  // httpapi over vkv.Open
	// kindVKVServe is vkv with what vkv serve adds by default: a request log
	// at level Info (text, here to a file in the data directory) and
	// Prometheus metrics.
	kindVKVServe = "vkv-serve"
	kindBadger   = "badger" // a minimal CAS handler over raw Badger with vkv's Badger profile
	// kindVKVTLS is kindVKV served over TLS (HTTP/1.1 keep-alive, a
	// self-signed ECDSA P-256 certificate, Go's default suites), to set
	// TLS's cost against plain HTTP.
	kindVKVTLS = "vkv-tls"
	kindEtcd   = "etcd" // embedded etcd, reached through its JSON (grpc-gateway) API
	// kindEtcdKV is vkv serve -etcd (the real binary) over one embedded
	// etcd member; kindEtcdKV2 is two such replicas over one member.
	kindEtcdKV  = "vkv-etcd"
	kindEtcdKV2 = "vkv-etcd2"
	// kindEtcdNode is the child of the vkv-etcd kinds: an embedded etcd
	// member whose keys etcdkv preloaded under etcdPrefix; it hands out
	// its client address.
	kindEtcdNode = "etcd-node"
)

// etcdPrefix is the -etcd-prefix of the vkv serve replicas.
const etcdPrefix = "vkv/"

// replicasOf is how many vkv serve processes a server kind runs over its
// etcd member (0: the kind is not over etcdkv).
func replicasOf(kind string) int {
	switch kind {
	case kindEtcdKV:
		return 1
	case kindEtcdKV2:
		return 2
	}
	return 0
}

// readyLine is what a child writes to stdout once it serves: its address and
// the version each preloaded key is at (vkv: store versions; Badger: the
// key's own counter; etcd: mod revisions).
type readyLine struct {
	Addr     string   `json:"addr"`
	Versions []uint64 `json:"versions"`
	CA       []byte   `json:"ca,omitempty"` // TLS: the server's self-signed certificate (DER)
}

// bareSpec is the answer the bare handler gives to every request: a copy of
// one of vkv's GET answers.
type bareSpec struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// keyName is the i-th benchmark key: "key" and 13 digits, 16 bytes.
func keyName(i int) string { return fmt.Sprintf("key%013d", i) }

// valueOf returns a value of n bytes.
func valueOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'v'
	}
	return b
}

// serveMain is the child's main; it returns the exit code.
func serveMain(args []string) int {
	fs := flag.NewFlagSet("httpload -serve", flag.ContinueOnError)
	kind := fs.String("serve", "", "server kind: bare, vkv, vkv-serve, badger, etcd, etcd-node")
	dir := fs.String("dir", "", "data directory (created by the parent, empty)")
	sync := fs.Bool("sync", true, "fsync every commit")
	nkeys := fs.Int("keys", 64, "keys to preload")
	vsize := fs.Int("value-size", 100, "bytes per value")
	bare := fs.String("bare", "", "bare: the answer to give, as JSON (bareSpec)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole child to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "httpload -serve %s: %v\n", *kind, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "httpload -serve %s: %v\n", *kind, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	code := 0
	if err := serve(*kind, *dir, *sync, *nkeys, valueOf(*vsize), *bare); err != nil {
		fmt.Fprintf(os.Stderr, "httpload -serve %s: %v\n", *kind, err)
		code = 1
	}
	return code
}

// server is a running child server.
type server struct {
	addr     string
	versions []uint64
	ca       []byte       // TLS: the certificate to trust (DER); nil for plain HTTP
	stop     func() error // ends serving and closes the store
}

func serve(kind, dir string, sync bool, nkeys int, value []byte, bare string) error {
	var (
		s   *server
		err error
	)
	switch kind {
	case kindBare:
		var spec bareSpec
		if err := json.Unmarshal([]byte(bare), &spec); err != nil {
			return fmt.Errorf("-bare: %w", err)
		}
		s, err = startHTTP(bareHandler(spec), nil, make([]uint64, nkeys), nil)
	case kindVKV, kindVKVServe, kindVKVTLS:
		s, err = startVKV(dir, sync, nkeys, value, kind == kindVKVServe, kind == kindVKVTLS)
	case kindBadger:
		s, err = startBadger(dir, sync, nkeys, value)
	case kindEtcd:
		s, err = startEtcd(dir, sync, nkeys, value, false)
	case kindEtcdNode:
		s, err = startEtcd(dir, sync, nkeys, value, true)
	default:
		return fmt.Errorf("unknown server kind %q", kind)
	}
	if err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(readyLine{Addr: s.addr, Versions: s.versions, CA: s.ca}); err != nil {
		s.stop()
		return err
	}
	// Serve until the parent closes our stdin (or dies: Pdeathsig).
	r := bufio.NewReader(os.Stdin)
	for {
		if _, err := r.ReadByte(); err != nil {
			break
		}
	}
	return s.stop()
}

// startHTTP serves h on a free loopback port with the *http.Server settings
// of vkv serve (httpapi.NewServer), so that only the handlers differ; closer
// runs after the server has stopped. With cert, it serves TLS with it.
func startHTTP(h http.Handler, closer func() error, versions []uint64, cert *tls.Certificate) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if closer != nil {
			closer()
		}
		return nil, err
	}
	srv := httpapi.NewServer(h, nil)
	done := make(chan error, 1)
	var ca []byte
	if cert != nil {
		// As vkv serve -tls-cert configures it (cmd/vkv/tls.go): TLS 1.2
		// at least, Go's default suites, h2 and HTTP/1.1 by ALPN.
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		ca = cert.Certificate[0]
		go func() { done <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { done <- srv.Serve(ln) }()
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if closer != nil {
			if cerr := closer(); err == nil {
				err = cerr
			}
		}
		return err
	}
	return &server{addr: ln.Addr().String(), versions: versions, ca: ca, stop: stop}, nil
}

// selfSigned returns a self-signed ECDSA P-256 certificate for 127.0.0.1.
func selfSigned() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "httpload"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// bareHandler answers every request with spec: the same status, headers and
// body as vkv's GET of a key, without looking at the request.
func bareHandler(spec bareSpec) http.Handler {
	body := spec.Body
	hdr := spec.Header.Clone()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hdr {
			h[k] = v
		}
		w.WriteHeader(spec.Status)
		w.Write(body)
	})
}

// startVKV serves vkv's HTTP API (httpapi.New with its defaults) over a store
// opened with vkv.Open and default options but NoSync.
//
// With asServed it adds what vkv serve adds by default (serve.go and ops.go
// of cmd/vkv): a text request log at level Info, written to a file in dir,
// and the metrics package's handler over a registry with the Go and process
// collectors.
func startVKV(dir string, sync bool, nkeys int, value []byte, asServed, withTLS bool) (*server, error) {
	st, err := vkv.Open(dir, &vkv.Options{NoSync: !sync})
	if err != nil {
		return nil, err
	}
	versions, err := preloadKV(st, nkeys, 100, value)
	if err != nil {
		st.Close()
		return nil, err
	}
	closer := st.Close
	var opts []httpapi.Option
	if asServed {
		logFile, err := os.Create(filepath.Join(dir, "requests.log"))
		if err != nil {
			st.Close()
			return nil, err
		}
		closer = func() error { logFile.Close(); return st.Close() }
		logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		m, err := metrics.NewHandler(reg, st)
		if err != nil {
			closer()
			return nil, err
		}
		opts = append(opts, httpapi.WithLogger(logger), httpapi.WithMetrics(m))
	}
	var cert *tls.Certificate
	if withTLS {
		if cert, err = selfSigned(); err != nil {
			closer()
			return nil, err
		}
	}
	return startHTTP(httpapi.New(st, opts...), closer, versions, cert)
}

// preloadKV writes keys 0 to nkeys-1 through kv in transactions of batch
// puts and returns the version each key is at.
func preloadKV(kv vkv.KV, nkeys, batch int, value []byte) ([]uint64, error) {
	versions := make([]uint64, nkeys)
	for lo := 0; lo < nkeys; lo += batch {
		hi := min(lo+batch, nkeys)
		ver, err := kv.Update(context.Background(), func(tx vkv.Txn) error {
			for i := lo; i < hi; i++ {
				if err := tx.Put(keyName(i), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			versions[i] = uint64(ver)
		}
	}
	return versions, nil
}

// badgerOptions is vkv's Badger profile (store.go, badgerOptions, with the
// defaults of vkv.Options, the lean profile): 8 MB memtables of which one
// may wait for its flush, no block cache, no compression,
// checksums verified on every read. Unlike vkv, Badger's own conflict
// detection stays on: the handler's CAS relies on Badger's transactions.
func badgerOptions(dir string, sync bool) badger.Options {
	const mem = vkv.DefaultMemTableSize
	return badger.DefaultOptions(dir).
		WithSyncWrites(sync).
		WithLogger(nil).
		WithMemTableSize(mem).
		WithNumMemtables(1).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(vkv.DefaultValueLogSize).
		WithBlockCacheSize(vkv.DefaultBlockCacheSize).
		WithIndexCacheSize(0).
		WithCompression(options.None).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true).
		WithValueThreshold(min(16<<10, 15*mem/100))
}

// startBadger serves a minimal CAS API over raw Badger: PUT /kv/KEY with
// If-Match: "V" writes the body if KEY is at version V (an 8-byte big-endian
// prefix of the stored value) and answers 200 with the new version as ETag,
// or 409 with the current one.
func startBadger(dir string, sync bool, nkeys int, value []byte) (*server, error) {
	db, err := badger.Open(badgerOptions(dir, sync))
	if err != nil {
		return nil, err
	}
	versions := make([]uint64, nkeys)
	for lo := 0; lo < nkeys; lo += 1000 {
		err = db.Update(func(txn *badger.Txn) error {
			for i := lo; i < min(lo+1000, nkeys); i++ {
				versions[i] = 1
				if err := txn.Set([]byte(keyName(i)), versioned(1, value)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	return startHTTP(badgerHandler(db), db.Close, versions, nil)
}

var errMismatch = errors.New("version mismatch")

func versioned(v uint64, value []byte) []byte {
	b := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(b, v)
	return append(b, value...)
}

func badgerHandler(db *badger.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/kv/")
		if !ok || r.Method != http.MethodPut {
			http.Error(w, "PUT /kv/KEY only", http.StatusNotFound)
			return
		}
		expected, err := strconv.ParseUint(strings.Trim(r.Header.Get("If-Match"), `"`), 10, 64)
		if err != nil {
			http.Error(w, "If-Match: \"VERSION\" needed", http.StatusBadRequest)
			return
		}
		if r.ContentLength < 0 || r.ContentLength > 1<<20 {
			http.Error(w, "Content-Length of at most 1 MiB needed", http.StatusLengthRequired)
			return
		}
		body := make([]byte, 8+r.ContentLength)
		if _, err := io.ReadFull(r.Body, body[8:]); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var cur uint64
		err = db.Update(func(txn *badger.Txn) error {
			item, err := txn.Get([]byte(key))
			if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			if err == nil {
				if err := item.Value(func(v []byte) error {
					if len(v) < 8 {
						return errors.New("stored value shorter than its version")
					}
					cur = binary.BigEndian.Uint64(v)
					return nil
				}); err != nil {
					return err
				}
			}
			if cur != expected {
				return errMismatch
			}
			cur++
			binary.BigEndian.PutUint64(body, cur)
			return txn.Set([]byte(key), body)
		})
		switch {
		case err == nil:
			w.Header().Set("ETag", `"`+strconv.FormatUint(cur, 10)+`"`)
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, errMismatch), errors.Is(err, badger.ErrConflict):
			w.Header().Set("ETag", `"`+strconv.FormatUint(cur, 10)+`"`)
			w.WriteHeader(http.StatusConflict)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// startEtcd starts a single-node etcd on loopback (the configuration of
// cmd/peers), preloads the keys through its gRPC client, and hands out its
// client URL: the load generator talks to its JSON gateway (/v3/kv/txn,
// /v3/kv/range). With viaEtcdKV the keys are preloaded through etcdkv under
// etcdPrefix instead, for vkv serve -etcd replicas to serve.
func startEtcd(dir string, sync bool, nkeys int, value []byte, viaEtcdKV bool) (*server, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)}
	cfg := embed.NewConfig()
	cfg.Name = "bench"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal"
	cfg.UnsafeNoFsync = !sync
	cfg.EnableGRPCGateway = true // the default; the JSON API is what is measured
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		srv.Close()
		return nil, errors.New("etcd: not ready after 60s")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{clientURL.String()},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		srv.Close()
		return nil, err
	}
	if viaEtcdKV {
		// Transactions of 50 puts: etcdkv allows 63 by default.
		kv, err := etcdkv.New(cli, etcdPrefix, &etcdkv.Options{NoReaper: true})
		if err == nil {
			var versions []uint64
			versions, err = preloadKV(kv, nkeys, 50, value)
			kv.Close()
			if err == nil {
				cli.Close()
				return &server{addr: clientURL.Host, versions: versions, stop: func() error { srv.Close(); return nil }}, nil
			}
		}
		cli.Close()
		srv.Close()
		return nil, err
	}
	// Transactions of at most 100 puts (etcd allows 128 ops by default).
	versions := make([]uint64, nkeys)
	for i := 0; i < nkeys; i += 100 {
		end := min(i+100, nkeys)
		var ops []clientv3.Op
		for j := i; j < end; j++ {
			ops = append(ops, clientv3.OpPut(keyName(j), string(value)))
		}
		resp, err := cli.Txn(context.Background()).Then(ops...).Commit()
		if err != nil {
			cli.Close()
			srv.Close()
			return nil, err
		}
		for j := i; j < end; j++ {
			versions[j] = uint64(resp.Header.Revision)
		}
	}
	cli.Close()
	stop := func() error { srv.Close(); return nil }
	return &server{addr: clientURL.Host, versions: versions, stop: stop}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
