package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeKeepsTheTokenOutOfTheLog runs vkv serve in this process with a
// token file, sends requests with the token, with wrong tokens and with
// none, including ones that fail, stops it, and checks that the server's
// whole log (startup, request lines, shutdown) never shows the token or the
// wrong tokens, while it does show the requests.
func TestServeKeepsTheTokenOutOfTheLog(t *testing.T) {
	const token = "serve-token-71c3e9"
	wrong := []string{"serve-token-71c3eX", "guess-0b5d"}
	tmp := t.TempDir()
	tokenFile := filepath.Join(tmp, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-dir", filepath.Join(tmp, "data"),
			"-token-file", tokenFile, "-nosync", "-log-level", "debug"}, io.Discard, logs)
	}()
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := servingRE.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the server did not listen within 30s; log:\n%s", logs)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	c := &client{t: t, hc: hc, base: base, token: token}
	c.want(201, "PUT", "/v1/kv/k?version=0", "v")
	c.want(409, "PUT", "/v1/kv/k?version=0", "v")
	c.want(400, "PUT", "/v1/kv/k?version=%zz", "v")
	c.want(404, "GET", "/v1/kv/absent", "")
	for _, w := range append(wrong, "") {
		bad := &client{t: t, hc: hc, base: base, token: w}
		bad.want(401, "GET", "/v1/kv/k", "")
		bad.want(401, "PUT", "/v1/kv/k", "x")
	}
	// A token in the URL, where a careless client might put it, is not
	// logged either: the request log has the path, not the query.
	(&client{t: t, hc: hc, base: base}).want(401, "GET", "/v1/kv/k?access_token="+token, "")
	tr.CloseIdleConnections()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("vkv serve exited with %d; log:\n%s", code, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("vkv serve did not stop; log:\n%s", logs)
	}
	out := logs.String()
	if n := strings.Count(out, "msg=request "); n < 11 {
		t.Fatalf("the log has %d request lines, want 11: the check below would prove nothing:\n%s", n, out)
	}
	for _, secret := range append(wrong, token) {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
}
