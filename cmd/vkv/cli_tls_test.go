package main

import (
	"bytes"
	"context"
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
		{"no client certificate", nil, []string{"get", "-endpoint", endpoint, "-cacert", caFile, "k"}, 1, "requires a client certificate; pass it with -cert FILE -key FILE"},
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
