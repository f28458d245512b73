package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var consoleRE = regexp.MustCompile(`msg=console url=(\S+)`)

// serveForConsole runs vkv serve in the process with args and returns its
// base URL and its log; the server stops at the end of the test.
func serveForConsole(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0", "-dir", filepath.Join(t.TempDir(), "data"), "-nosync"}, args...), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := servingRE.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1], logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not listen within 30s; log:\n%s", logs)
		}
	}
}

// TestServeConsole checks the -ui flag: on by default, the console at /ui/
// with its security headers, / redirecting to it, its address logged; off
// with -ui=false, the API unchanged either way.
func TestServeConsole(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	get := func(url string) *http.Response {
		t.Helper()
		resp, err := noRedirect.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	base, logs := serveForConsole(t)
	if resp := get(base + "/"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d to %q; want 302 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp := get(base + "/ui/kv/app%2Fconfig")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /ui/kv/app%%2Fconfig = %d %v; want the console's page with its security headers", resp.StatusCode, resp.Header)
	}
	if resp := get(base + "/v1/kv/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/kv/nothing = %d beside the console; want 404 from the API", resp.StatusCode)
	}
	m := consoleRE.FindStringSubmatch(logs.String())
	if m == nil || m[1] != base+"/ui/" {
		t.Errorf("the log does not give the console's address %s/ui/:\n%s", base, logs)
	}

	base, logs = serveForConsole(t, "-ui=false")
	for _, path := range []string{"/", "/ui/"} {
		if resp := get(base + path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("-ui=false: GET %s = %d; want 404", path, resp.StatusCode)
		}
	}
	if consoleRE.MatchString(logs.String()) {
		t.Errorf("-ui=false: the log names a console:\n%s", logs)
	}
}

// TestConsoleURL checks the address logged for each kind of listener.
func TestConsoleURL(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080/ui/"},
		{"0.0.0.0:8080", false, "http://localhost:8080/ui/"},
		{"[::]:8443", true, "https://localhost:8443/ui/"},
		{"[::1]:8080", false, "http://[::1]:8080/ui/"},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := consoleURL(a, tt.tls); got != tt.want {
			t.Errorf("consoleURL(%s, tls=%v) = %s; want %s", tt.addr, tt.tls, got, tt.want)
		}
	}
}
