package main

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkvstore/vkv/internal/testcert"
)

// TestServeReload builds vkv, serves with TLS, mutual TLS and an auth file,
// and sends SIGHUP: new connections get the new certificate and the new
// client CA at once, a revoked token gets 401, an open watch of a principal
// that lost its grant ends within a second (reconnecting gets 403); then a
// broken auth file and a key that does not match its certificate keep the
// previous configuration in force, and the log names the files and the
// problems.
func TestServeReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := vkvBinary(t)
	ca := testcert.NewCA(t, "server CA")
	clientCA1, clientCA2 := testcert.NewCA(t, "client CA 1"), testcert.NewCA(t, "client CA 2")
	certA := ca.Server(t, "server A")
	certFile, keyFile := certA.Write(t, tmp, "server")
	clientCAFile := clientCA1.WriteCA(t, tmp, "clientca")
	auth := writeAuthFile(t, tmp, "auth.json",
		tokenEntry("alice", "alice-token", `{"prefix": "app/", "access": "write"}`),
		tokenEntry("bob", "bob-token", `{"prefix": "app/", "access": "read"}`))
	srv := start(t, bin, "-dir", filepath.Join(tmp, "data"), "-tls-cert", certFile, "-tls-key", keyFile,
		"-tls-client-ca", clientCAFile, "-auth-file", auth)
	base := strings.Replace(srv.base, "http://", "https://", 1)
	as := func(clientCA *testcert.CA, token string) *client {
		return &client{t: t, hc: tlsClient(t, ca.Pool(), false, clientCertOf(t, clientCA)), base: base, token: token}
	}
	serverSerial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: ca.Pool(),
			Certificates: []tls.Certificate{clientCA2.Client(t, "x", time.Time{}, time.Time{}).TLS(t),
				clientCA1.Client(t, "x", time.Time{}, time.Time{}).TLS(t)}})
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	hup := func(wantLog string, n int) {
		t.Helper()
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(srv.logs.String(), wantLog) < n; {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log 10s after SIGHUP:\n%s", wantLog, srv.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	as(clientCA1, "alice-token").want(201, "PUT", "/v1/kv/app/x", "1")
	if got := serverSerial(); got != certA.Cert.SerialNumber.String() {
		t.Fatalf("serial %s, want certificate A's", got)
	}
	// Bob watches app/.
	bob := as(clientCA1, "bob-token")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/watch?prefix=app/&fromVersion=0", nil)
	req.Header.Set("Authorization", "Bearer bob-token")
	resp, err := bob.hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bob's watch: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- ev
			}
		}
	}()
	if ev := <-events; ev != "put" {
		t.Fatalf("bob's first event %q, want the put of app/x", ev)
	}

	// Reload 1: certificate B, client CA 2, alice revoked, bob's grant
	// moved to other/.
	certB := ca.Server(t, "server B")
	os.WriteFile(certFile, certB.CertPEM, 0o600)
	os.WriteFile(keyFile, certB.KeyPEM, 0o600)
	os.WriteFile(clientCAFile, clientCA2.PEM, 0o600)
	writeAuthFile(t, tmp, "auth.json",
		tokenEntry("bob", "bob-token", `{"prefix": "other/", "access": "read"}`))
	start := time.Now()
	hup("reload done", 1)
	if got := serverSerial(); got != certB.Cert.SerialNumber.String() {
		t.Errorf("after SIGHUP a new connection got serial %s, want certificate B's", got)
	}
	if _, err := as(clientCA1, "bob-token").hc.Get(base + "/healthz"); err == nil {
		t.Errorf("a client certificate of the old client CA was accepted after the reload")
	}
	as(clientCA2, "alice-token").want(401, "GET", "/v1/kv/app/x", "")
	for ev := range events {
		if ev == "error" {
			break
		}
	}
	if d := time.Since(start); d > time.Second+500*time.Millisecond { // the second is counted from the reload; the log wait is included
		t.Errorf("bob's watch ended %v after SIGHUP, want within a second", d)
	} else {
		t.Logf("bob's watch ended %v after SIGHUP (the wait for the log line included)", d)
	}
	bob2 := as(clientCA2, "bob-token")
	bob2.want(403, "GET", "/v1/watch?prefix=app/", "")
	bob2.want(404, "GET", "/v1/kv/other/y", "")

	// Reload 2: a broken auth file and a certificate with another's key:
	// both refused, the previous configuration stays.
	os.WriteFile(auth, []byte(`{"principals": [{"name": "bob", "tokenSHA256": "nothex"}]}`), 0o600)
	certC := ca.Server(t, "server C")
	os.WriteFile(certFile, certC.CertPEM, 0o600) // keyFile still holds B's key
	hup("reload failed", 2)
	logs := srv.logs.String()
	for _, want := range []string{"auth file " + auth, `malformed \"tokenSHA256\"`, "-tls-cert/-tls-key " + certFile, "private key does not match public key",
		"the previous auth file stays in force", "the previous TLS certificate, key and client CA stay in force"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q:\n%s", want, logs)
		}
	}
	if got := serverSerial(); got != certB.Cert.SerialNumber.String() {
		t.Errorf("after a failed reload a new connection got serial %s, want certificate B's", got)
	}
	bob2 = as(clientCA2, "bob-token")
	bob2.want(404, "GET", "/v1/kv/other/y", "")
	bob2.want(403, "GET", "/v1/kv/app/x", "")
	as(clientCA2, "alice-token").want(401, "GET", "/v1/kv/app/x", "")
	if strings.Contains(logs, "bob-token") || strings.Contains(logs, "alice-token") {
		t.Errorf("the log shows a token")
	}
	srv.stop(t)
}

func clientCertOf(t *testing.T, ca *testcert.CA) tls.Certificate {
	return ca.Client(t, "client of "+ca.Cert.Subject.CommonName, time.Time{}, time.Time{}).TLS(t)
}

// TestServeReloadTokenFile rotates the token of -token-file with SIGHUP:
// the old token gets 401 at once, the new one is served, and an empty token
// file keeps the new token in force with the file named in the log. It also
// checks the start warning of an auth file whose certCN principals cannot
// sign in without -tls-client-ca.
func TestServeReloadTokenFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := vkvBinary(t)
	tokenFile := filepath.Join(tmp, "token")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(tokenFile, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old-token\n")
	srv := start(t, bin, "-dir", filepath.Join(tmp, "data"), "-nosync", "-token-file", tokenFile)
	hup := func(wantLog string) {
		t.Helper()
		n := strings.Count(srv.logs.String(), wantLog)
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(srv.logs.String(), wantLog) <= n; {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log 10s after SIGHUP:\n%s", wantLog, srv.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	as := func(token string) *client { return &client{t: t, hc: http.DefaultClient, base: srv.base, token: token} }

	as("old-token").want(201, "PUT", "/v1/kv/k", "1")
	as("new-token").want(401, "GET", "/v1/kv/k", "")

	write("new-token\n")
	hup("reloaded the token file")
	as("old-token").want(401, "GET", "/v1/kv/k", "")
	as("new-token").want(200, "GET", "/v1/kv/k", "")

	write("  \n")
	hup("reload failed; the previous token stays in force")
	if !strings.Contains(srv.logs.String(), tokenFile+" is empty") {
		t.Errorf("the log does not name the empty token file:\n%s", srv.logs)
	}
	as("new-token").want(200, "GET", "/v1/kv/k", "")
	as("").want(401, "GET", "/v1/kv/k", "")

	// An auth file with a certCN principal, served without -tls-client-ca.
	auth := writeAuthFile(t, tmp, "auth.json",
		tokenEntry("ops", "ops-token", `{"prefix": "", "access": "write"}`),
		`{"name": "svc-billing", "certCN": "svc-billing", "grants": [{"prefix": "billing/", "access": "write"}]}`)
	srv2 := start(t, bin, "-dir", filepath.Join(tmp, "data2"), "-nosync", "-auth-file", auth)
	if logs := srv2.logs.String(); !strings.Contains(logs, "cannot sign in; give -tls-client-ca") || !strings.Contains(logs, "principals=svc-billing") {
		t.Errorf("no warning naming the certCN principal svc-billing:\n%s", logs)
	}
}
