package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines. Run as vkv or curl (testscript
// puts copies of the test binary under these names on the PATH of
// TestDocTranscripts' scripts), the test binary is that command.
func TestMain(m *testing.M) {
	testscript.Main(leakCheck{m}, map[string]func(){
		"vkv":  main,
		"curl": func() { os.Exit(curlMain(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// leakCheck runs the tests, then fails when goroutines are left over.
type leakCheck struct{ m *testing.M }

// Run runs the tests and checks for leaks as goleak.VerifyTestMain does.
func (l leakCheck) Run() int {
	code := l.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			return 1
		}
	}
	return code
}

// The vkv binary the end-to-end tests run, built once per test binary by
// vkvBinary into binDir (removed after the tests).
var (
	binOnce  sync.Once
	binDir   string
	binPath  string
	binError error
)

// vkvBinary returns the path of a vkv binary built from this package, built
// on the first call.
func vkvBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binError = os.MkdirTemp("", "vkv-test-bin-"); binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "vkv")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// TestHelp checks the subcommand dispatch without starting a server.
func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"help"}, &out, &errOut); code != 0 {
		t.Errorf("vkv help: exit %d, stderr %s", code, &errOut)
	}
	if !strings.Contains(out.String(), "serve") {
		t.Errorf("vkv help does not list serve:\n%s", &out)
	}
	out.Reset()
	if code := run(t.Context(), []string{"help", "serve"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "-token-file") {
		t.Errorf("vkv help serve: exit %d, output:\n%s", code, &out)
	}
	if code := run(t.Context(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Errorf("vkv frobnicate: exit %d, want 2", code)
	}
	if code := run(t.Context(), nil, &out, &errOut); code != 2 {
		t.Errorf("vkv: exit %d, want 2", code)
	}
	if code := run(t.Context(), []string{"serve", "-nope"}, &out, &errOut); code != 2 {
		t.Errorf("vkv serve -nope: exit %d, want 2", code)
	}
}

// server is a running "vkv serve" process.
type server struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan error // the result of cmd.Wait
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// start runs bin serve on a free loopback port and waits until it listens.
func start(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &server{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	scanned := make(chan struct{})
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned // every line is in s.logs before done says the server exited
		s.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(s.logs, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("server exited before listening; log:\n%s", s.logs)
		}
		s.base = "http://" + a
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not listen within 30s; log:\n%s", s.logs)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	s.wait(t)
}

func (s *server) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("server exited with %v; log:\n%s", err, s.logs)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Fatalf("server did not stop within 30s of SIGTERM; log:\n%s", s.logs)
	}
	if !strings.Contains(s.logs.String(), "store closed") {
		t.Errorf("server log does not say the store was closed:\n%s", s.logs)
	}
}

// client sends requests with the token.
type client struct {
	t     *testing.T
	hc    *http.Client
	base  string
	token string
}

func (c *client) do(method, path string, body string, hdr ...string) (*http.Response, string, error) {
	var rd io.Reader
	if body != "" || method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, "", err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// want sends a request and checks its status.
func (c *client) want(status int, method, path, body string, hdr ...string) *http.Response {
	c.t.Helper()
	resp, got, err := c.do(method, path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, got)
	}
	return resp
}

// TestServeEndToEnd builds vkv, serves a directory with a token, runs a CAS
// sequence over plain HTTP, stops the server with SIGTERM while writes are
// in flight, restarts it on the same directory and checks that every
// acknowledged write survived.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := vkvBinary(t)
	dir := filepath.Join(tmp, "data")
	tokenFile := filepath.Join(tmp, "token")
	if err := os.WriteFile(tokenFile, []byte("e2e-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	srv := start(t, bin, "-dir", dir, "-token-file", tokenFile)
	c := &client{t: t, hc: hc, base: srv.base, token: "e2e-token"}

	// Authentication.
	anon := &client{t: t, hc: hc, base: srv.base}
	if resp := anon.want(401, "GET", "/v1/kv/k", ""); resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("401 without WWW-Authenticate: Bearer")
	}
	anon.want(200, "GET", "/healthz", "")

	// A CAS sequence.
	c.want(201, "PUT", "/v1/kv/cas?version=0", "v1")
	c.want(409, "PUT", "/v1/kv/cas?version=0", "again")
	etag := c.want(200, "GET", "/v1/kv/cas", "").Header.Get("ETag")
	if etag != `"1"` {
		t.Fatalf("ETag after create = %q, want \"1\"", etag)
	}
	c.want(200, "PUT", "/v1/kv/cas", "v2", "If-Match", etag)
	c.want(412, "PUT", "/v1/kv/cas", "v3", "If-Match", etag)
	c.want(200, "PUT", "/v1/kv/cas?version=2", "v3")
	c.want(409, "PUT", "/v1/kv/cas?version=2", "v4")

	// Writers in flight while SIGTERM arrives.
	type ack struct{ key, value, version string }
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key, value := fmt.Sprintf("w/%d/%d", g, i), fmt.Sprintf("value %d of %d", i, g)
				resp, _, err := c.do("PUT", "/v1/kv/"+key+"?version=0", value)
				if err != nil {
					// The server is going away: this write is not acknowledged.
					if errors.Is(err, context.Canceled) {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, ack{key, value, resp.Header.Get("Vkv-Version")})
					mu.Unlock()
					if i == 5 {
						started <- struct{}{}
					}
				}
			}
		}()
	}
	for range 8 {
		<-started
	}
	srv.stop(t)
	cancel()
	wg.Wait()
	if len(acked) < 8*5 {
		t.Fatalf("only %d writes acknowledged before shutdown", len(acked))
	}
	tr.CloseIdleConnections()

	// Restart on the same directory: every acknowledged write is there.
	srv2 := start(t, bin, "-dir", dir, "-token-file", tokenFile)
	c.base = srv2.base
	resp := c.want(200, "GET", "/v1/kv/cas", "")
	if resp.Header.Get("ETag") != `"3"` {
		t.Errorf("after restart cas has ETag %q, want \"3\"", resp.Header.Get("ETag"))
	}
	for _, a := range acked {
		resp, got, err := c.do("GET", "/v1/kv/"+a.key, "")
		if err != nil {
			t.Fatalf("GET %s after restart: %v", a.key, err)
		}
		if resp.StatusCode != 200 || got != a.value || resp.Header.Get("Vkv-Version") != a.version {
			t.Errorf("acknowledged write %s = %q at version %s lost: after restart %d %q version %s",
				a.key, a.value, a.version, resp.StatusCode, got, resp.Header.Get("Vkv-Version"))
		}
	}
	// Versions go on growing after the restart.
	resp = c.want(201, "PUT", "/v1/kv/after-restart", "x")
	t.Logf("%d acknowledged writes survived the restart; next version %s", len(acked), resp.Header.Get("Vkv-Version"))
	srv2.stop(t)
}
