package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vkvstore/vkv/internal/testcert"
)

// TestCLITLS runs client commands against a server with mutual TLS: with
// -cacert, -cert and -key, or the same from $VKV_CACERT, $VKV_CERT and
// $VKV_KEY, they work; without the CA or without the client certificate
// they fail with a message that says what to do; https:// to a plain HTTP
// server says to use http://.
func TestCLITLS(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := testcert.NewCA(t, "server CA"), testcert.NewCA(t, "client CA")
	certFile, keyFile := ca.Server(t, "server").Write(t, dir, "server")
	caFile := ca.WriteCA(t, dir, "ca")
	ccert, ckey := clientCA.Client(t, "cli", time.Time{}, time.Time{}).Write(t, dir, "client")
	s := serveInProcess(t, "-tls-cert", certFile, "-tls-key", keyFile, "-tls-client-ca", clientCA.WriteCA(t, dir, "clientca"))
	plain := serveInProcess(t)
	endpoint := "https://" + s.addr

	cli := func(env map[string]string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		ctx := withEnv(context.Background(), &cliEnv{stdin: strings.NewReader(""), getenv: func(k string) string { return env[k] }})
		code := run(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     string // in stdout on success, in stderr on failure
	}{
		{"flags", nil, []string{"put", "-endpoint", endpoint, "-cacert", caFile, "-cert", ccert, "-key", ckey, "k", "v"}, 0, ""},
		{"environment", map[string]string{"VKV_ENDPOINT": endpoint, "VKV_CACERT": caFile, "VKV_CERT": ccert, "VKV_KEY": ckey}, []string{"get", "k"}, 0, "v"},
		{"no CA", nil, []string{"get", "-endpoint", endpoint, "-cert", ccert, "-key", ckey, "k"}, 1, "pass its CA with -cacert"},
		{"no client certificate", nil, []string{"get", "-endpoint", endpoint, "-cacert", caFile, "k"}, 1, "client certificate, pass it with -cert FILE -key FILE"},
		{"cert without key", nil, []string{"get", "-endpoint", endpoint, "-cacert", caFile, "-cert", ccert, "k"}, 2, "-cert and -key go together"},
		{"https to a plain server", nil, []string{"get", "-endpoint", "https://" + plain.addr, "-cacert", caFile, "k"}, 1, "use http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("vkv %q: exit %d, want %d; stderr %s", tt.args, code, tt.wantCode, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("vkv %q: output %q does not say %q", tt.args, got, tt.want)
			}
			if code != 0 {
				t.Logf("%s", strings.TrimSpace(errOut))
			}
		})
	}
}

// TestServeEncryptionKeyFile serves a directory encrypted with
// -encryption-key-file, then refuses it without the key (exit 1, the
// problem named, not "corrupt"), and with a malformed key file (exit 2).
func TestServeEncryptionKeyFile(t *testing.T) {
	dir := t.TempDir()
	data := dir + "/data"
	keyFile := dir + "/key"
	os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	bad := dir + "/bad"
	os.WriteFile(bad, []byte("not hex"), 0o600)
	{
		ctx, cancel := context.WithCancel(context.Background())
		logs := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-dir", data, "-encryption-key-file", keyFile}, io.Discard, logs)
		}()
		for deadline := time.Now().Add(30 * time.Second); !servingRE.MatchString(logs.String()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not serving:\n%s", logs)
			}
		}
		base := "http://" + servingRE.FindStringSubmatch(logs.String())[1]
		(&client{t: t, hc: &http.Client{Timeout: 10 * time.Second}, base: base}).want(201, "PUT", "/v1/kv/k", "secret")
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("exit %d:\n%s", code, logs)
		}
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 1, "wrong or missing encryption key"},
		{[]string{"-encryption-key-file", bad}, 2, "want 64, 48 or 32 hex digits"},
	} {
		var stderr syncBuffer
		code := run(t.Context(), append([]string{"serve", "-addr", "127.0.0.1:0", "-dir", data}, tt.args...), io.Discard, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) || strings.Contains(stderr.String(), "corrupt") {
			t.Errorf("vkv serve %q: exit %d, stderr %s; want exit %d saying %q", tt.args, code, &stderr, tt.code, tt.want)
		}
	}
}
