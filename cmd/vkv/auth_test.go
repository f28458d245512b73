package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/internal/testcert"
)

// writeAuthFile writes an auth file of the given principal entries (JSON
// objects) and returns its path.
func writeAuthFile(t *testing.T, dir, name string, entries ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(`{"principals": [`+strings.Join(entries, ",\n")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenEntry(name, token, grants string) string {
	return `{"name": "` + name + `", "tokenSHA256": "` + authfile.HashToken(token) + `", "grants": [` + grants + `]}`
}

// TestTokenNew runs vkv token new, puts the entry it prints into an auth
// file, serves with it, and uses the token it printed: inside the grant
// the request passes, outside it is 403, and an unknown token is 401.
func TestTokenNew(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"token", "new", "-name", "deployer", "-grant", "app/=write", "-grant", "flags/=read"}, &out, &errOut); code != 0 {
		t.Fatalf("vkv token new: exit %d: %s", code, &errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "Token for deployer") || !strings.HasPrefix(lines[3], "Entry for the auth file") {
		t.Fatalf("vkv token new printed:\n%s", &out)
	}
	token, entry := lines[1], lines[4]
	if len(token) < 22 { // 128 bits in base64
		t.Errorf("token %q is shorter than 128 bits", token)
	}
	if strings.Contains(entry, token) {
		t.Errorf("the entry holds the token: %s", entry)
	}
	var e struct {
		Name, TokenSHA256 string
	}
	if err := json.Unmarshal([]byte(entry), &e); err != nil || e.TokenSHA256 != authfile.HashToken(token) {
		t.Errorf("entry %s: %v; want the token's SHA-256", entry, err)
	}
	// Two runs, two tokens.
	var out2 bytes.Buffer
	run(t.Context(), []string{"token", "new", "-name", "x"}, &out2, io.Discard)
	if strings.Contains(out2.String(), token) {
		t.Error("two runs printed the same token")
	}

	dir := t.TempDir()
	s := serveInProcess(t, "-auth-file", writeAuthFile(t, dir, "auth.json", entry))
	if !strings.Contains(s.logs.String(), "auth=auth-file") {
		t.Errorf("the serving line does not say auth=auth-file:\n%s", s.logs)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	c := &client{t: t, hc: hc, base: "http://" + s.addr, token: token}
	c.want(201, "PUT", "/v1/kv/app/x", "v")
	c.want(404, "GET", "/v1/kv/flags/f", "")
	c.want(403, "PUT", "/v1/kv/flags/f", "v")
	c.want(403, "PUT", "/v1/kv/apple", "v")
	c.want(403, "GET", "/v1/kv?prefix=ap", "")
	(&client{t: t, hc: hc, base: c.base, token: token + "x"}).want(401, "GET", "/v1/kv/app/x", "")
	(&client{t: t, hc: hc, base: c.base}).want(401, "GET", "/v1/kv/app/x", "")
	if strings.Contains(s.logs.String(), token) {
		t.Errorf("the log shows the token:\n%s", s.logs)
	}
	for _, want := range []string{`msg="audit: write" request_id=`, `principal=deployer`, `keys=[app/x]`, `version=1`,
		`msg="audit: denied"`, `reason=no-grant`, `reason=unknown-credentials`, `reason=no-credentials`} {
		if !strings.Contains(s.logs.String(), want) {
			t.Errorf("the log has no %s:\n%s", want, s.logs)
		}
	}
}

// TestServeAuthFileRefused: -token-file with -auth-file, and auth files
// that do not parse, are refused at start with exit 2 and the problem named.
func TestServeAuthFileRefused(t *testing.T) {
	dir := t.TempDir()
	good := writeAuthFile(t, dir, "good.json", tokenEntry("a", "t", `{"prefix": "", "access": "write"}`))
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("t\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"both", []string{"-auth-file", good, "-token-file", tokenFile}, "give -token-file or -auth-file, not both"},
		{"missing", []string{"-auth-file", filepath.Join(dir, "nope.json")}, "no such file"},
		{"unknown member", []string{"-auth-file", writeAuthFile(t, dir, "a.json", `{"name": "a", "token": "t"}`)}, `unknown member "token"`},
		{"duplicate name", []string{"-auth-file", writeAuthFile(t, dir, "b.json", tokenEntry("a", "t1", ""), tokenEntry("a", "t2", ""))}, "duplicate name"},
		{"malformed hash", []string{"-auth-file", writeAuthFile(t, dir, "c.json", `{"name": "a", "tokenSHA256": "abc"}`)}, `malformed "tokenSHA256"`},
		{"unknown access", []string{"-auth-file", writeAuthFile(t, dir, "d.json", tokenEntry("a", "t", `{"prefix": "", "access": "admin"}`))}, `unknown access "admin"`},
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

// TestServeCertCN serves with mutual TLS and an auth file whose principal
// is known by its client certificate's Common Name alone: its certificate
// gets its grant and nothing else; a certificate of the CA with another
// name is 401; a token principal still works over the same TLS.
func TestServeCertCN(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "vkv test CA")
	clientCA := testcert.NewCA(t, "client CA")
	certFile, keyFile := ca.Server(t, "server").Write(t, dir, "server")
	auth := writeAuthFile(t, dir, "auth.json",
		`{"name": "svc-billing", "certCN": "svc-billing", "grants": [{"prefix": "billing/", "access": "write"}]}`,
		tokenEntry("ops", "ops-token", `{"prefix": "", "access": "write"}`))
	s := serveInProcess(t, "-tls-cert", certFile, "-tls-key", keyFile, "-tls-client-ca", clientCA.WriteCA(t, dir, "clientca"), "-auth-file", auth)
	base := "https://" + s.addr
	billing := &client{t: t, hc: tlsClient(t, ca.Pool(), true, clientCA.Client(t, "svc-billing", time.Time{}, time.Time{}).TLS(t)), base: base}
	billing.want(201, "PUT", "/v1/kv/billing/b", "v")
	billing.want(200, "GET", "/v1/kv/billing/b", "")
	billing.want(403, "PUT", "/v1/kv/app/x", "v")
	billing.want(403, "GET", "/v1/kv?prefix=", "")
	stranger := &client{t: t, hc: tlsClient(t, ca.Pool(), true, clientCA.Client(t, "svc-other", time.Time{}, time.Time{}).TLS(t)), base: base}
	stranger.want(401, "GET", "/v1/kv/billing/b", "")
	ops := &client{t: t, hc: tlsClient(t, ca.Pool(), false, clientCA.Client(t, "svc-other", time.Time{}, time.Time{}).TLS(t)), base: base, token: "ops-token"}
	ops.want(200, "GET", "/v1/kv/billing/b", "")
}
