package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkvstore/vkv/internal/testcert"
)

// inProcess is a vkv serve run in the test's process.
type inProcess struct {
	addr string // host:port
	logs *syncBuffer
}

// serveInProcess runs vkv serve with args on a free loopback port and a new
// directory, and stops it (expecting exit 0) at the test's cleanup.
func serveInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	all := append([]string{"serve", "-addr", "127.0.0.1:0", "-dir", filepath.Join(t.TempDir(), "data"), "-nosync"}, args...)
	go func() { done <- run(ctx, all, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("vkv serve exited with %d; log:\n%s", code, logs)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("vkv serve did not stop; log:\n%s", logs)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if m := servingRE.FindStringSubmatch(logs.String()); m != nil {
			return &inProcess{addr: m[1], logs: logs}
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("vkv serve exited with %d before listening; log:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not listen within 30s; log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tlsClient returns an HTTP client trusting ca, presenting certs, over
// HTTP/2 when h2 is set and else HTTP/1.1 only.
func tlsClient(t *testing.T, roots *x509.CertPool, h2 bool, certs ...tls.Certificate) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots}
	if len(certs) > 0 {
		// Present the certificate whatever CAs the server names, so that
		// the server is the one to refuse it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestServeTLS serves over TLS on a loopback listener with a certificate
// made by the test: HTTP/2 is negotiated by ALPN, HTTP/1.1 still served,
// TLS 1.1 refused, and a plain HTTP request gets no data at all.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "vkv test CA")
	certFile, keyFile := ca.Server(t, "vkv server").Write(t, dir, "server")
	s := serveInProcess(t, "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.Contains(s.logs.String(), "tls=true") {
		t.Errorf("the serving line does not say tls=true:\n%s", s.logs)
	}
	base := "https://" + s.addr

	tests := []struct {
		name      string
		h2        bool
		wantProto string
		wantALPN  string
	}{
		{name: "h2 by ALPN", h2: true, wantProto: "HTTP/2.0", wantALPN: "h2"},
		{name: "HTTP/1.1", h2: false, wantProto: "HTTP/1.1", wantALPN: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tlsClient(t, ca.Pool(), tt.h2).Get(base + "/healthz")
			if err != nil {
				t.Fatalf("GET /healthz: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Proto != tt.wantProto || resp.TLS.NegotiatedProtocol != tt.wantALPN {
				t.Errorf("GET /healthz: %d %s ALPN %q, want 200 %s ALPN %q", resp.StatusCode, resp.Proto,
					resp.TLS.NegotiatedProtocol, tt.wantProto, tt.wantALPN)
			}
			if resp.TLS.Version < tls.VersionTLS12 {
				t.Errorf("TLS version %x, want 1.2 or later", resp.TLS.Version)
			}
		})
	}

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		c, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})

	t.Run("plain HTTP gets no data", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /v1/kv/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if len(got) != 0 {
			t.Errorf("a plain HTTP request to the TLS port got %q", got)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("the server kept the connection open: %v", err)
		}
	})

	t.Run("unknown authority", func(t *testing.T) {
		_, err := tlsClient(t, testcert.NewCA(t, "other").Pool(), true).Get(base + "/healthz")
		if err == nil {
			t.Fatal("a client that does not trust the server's CA connected")
		}
	})
}

// TestServeMutualTLS serves with -tls-client-ca: a client without a
// certificate, with one from another CA, and with an expired one are all
// refused at the handshake; one from the CA gets its answer.
func TestServeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "vkv test CA")
	clientCA := testcert.NewCA(t, "vkv client CA")
	other := testcert.NewCA(t, "another CA")
	certFile, keyFile := ca.Server(t, "vkv server").Write(t, dir, "server")
	s := serveInProcess(t, "-tls-cert", certFile, "-tls-key", keyFile, "-tls-client-ca", clientCA.WriteCA(t, dir, "clientca"))
	base := "https://" + s.addr

	tests := []struct {
		name   string
		certs  []tls.Certificate
		wantOK bool
	}{
		{name: "no certificate", certs: nil},
		{name: "another CA", certs: []tls.Certificate{other.Client(t, "svc", time.Time{}, time.Time{}).TLS(t)}},
		{name: "expired", certs: []tls.Certificate{clientCA.Client(t, "svc", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)).TLS(t)}},
		{name: "not yet valid", certs: []tls.Certificate{clientCA.Client(t, "svc", time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)).TLS(t)}},
		{name: "from the client CA", certs: []tls.Certificate{clientCA.Client(t, "svc", time.Time{}, time.Time{}).TLS(t)}, wantOK: true},
	}
	for _, tt := range tests {
		for _, h2 := range []bool{true, false} {
			t.Run(tt.name+map[bool]string{true: "/h2", false: "/http1"}[h2], func(t *testing.T) {
				resp, err := tlsClient(t, ca.Pool(), h2, tt.certs...).Get(base + "/healthz")
				if resp != nil {
					resp.Body.Close()
				}
				switch {
				case tt.wantOK && err != nil:
					t.Fatalf("GET /healthz: %v", err)
				case tt.wantOK && resp.StatusCode != 200:
					t.Fatalf("GET /healthz: %d", resp.StatusCode)
				case !tt.wantOK && err == nil:
					t.Fatalf("GET /healthz answered %d, want the handshake refused", resp.StatusCode)
				case !tt.wantOK:
					t.Logf("refused: %v", err)
				}
			})
		}
	}
}

// TestServeTLSFlags checks the flags that do not go together and files that
// do not load: each is a usage error (exit 2) naming the problem.
func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "vkv test CA")
	certFile, keyFile := ca.Server(t, "vkv server").Write(t, dir, "server")
	otherCert, _ := ca.Server(t, "other").Write(t, dir, "other")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"-tls-cert", certFile}, "-tls-cert and -tls-key go together"},
		{"client CA without TLS", []string{"-tls-client-ca", certFile}, "-tls-client-ca needs -tls-cert"},
		{"missing cert", []string{"-tls-cert", filepath.Join(dir, "nope"), "-tls-key", keyFile}, "-tls-cert " + filepath.Join(dir, "nope")},
		{"key of another certificate", []string{"-tls-cert", otherCert, "-tls-key", keyFile}, "private key does not match public key"},
		{"client CA not PEM", []string{"-tls-cert", certFile, "-tls-key", keyFile, "-tls-client-ca", keyFile}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			args := append([]string{"serve", "-addr", "127.0.0.1:0", "-dir", filepath.Join(t.TempDir(), "d")}, tt.args...)
			if code := run(t.Context(), args, io.Discard, &stderr); code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, &stderr)
			}
		})
	}
}

// TestWarnExposed checks the warnings at start: beyond loopback, without TLS
// or without authentication.
func TestWarnExposed(t *testing.T) {
	tests := []struct {
		name      string
		ip        net.IP
		tls, auth bool
		want      []string
	}{
		{"loopback", net.IPv4(127, 0, 0, 1), false, false, nil},
		{"loopback v6", net.IPv6loopback, false, false, nil},
		{"any, nothing", net.IPv4zero, false, false, []string{"without TLS", "without authentication"}},
		{"any, TLS only", net.IPv4zero, true, false, []string{"without authentication"}},
		{"any, auth only", net.IPv6unspecified, false, true, []string{"without TLS"}},
		{"LAN, both", net.IPv4(10, 0, 0, 1), true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b syncBuffer
			warnExposed(newTestLogger(&b), &net.TCPAddr{IP: tt.ip, Port: 8080}, tt.tls, tt.auth)
			if n := strings.Count(b.String(), "level=WARN"); n != len(tt.want) {
				t.Errorf("%d warnings, want %d:\n%s", n, len(tt.want), &b)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("no warning %q:\n%s", w, &b)
				}
			}
		})
	}
}

// newTestLogger returns a text logger writing to w.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
