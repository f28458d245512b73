package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

// TestNewServer checks the limits NewServer sets against slow and greedy
// clients: every timeout set, none longer than documented, and a header
// limit.
func TestNewServer(t *testing.T) {
	srv := httpapi.NewServer(http.NotFoundHandler(), nil)
	checks := []struct {
		name     string
		got, max time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 10 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, time.Minute},
		{"WriteTimeout", srv.WriteTimeout, time.Minute},
		{"IdleTimeout", srv.IdleTimeout, 2 * time.Minute},
	}
	for _, c := range checks {
		if c.got <= 0 || c.got > c.max {
			t.Errorf("%s = %v, want in (0, %v]", c.name, c.got, c.max)
		}
	}
	if srv.MaxHeaderBytes != httpapi.ServerMaxHeaderBytes || srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Errorf("MaxHeaderBytes = %d, want %d, below net/http's default %d", srv.MaxHeaderBytes, httpapi.ServerMaxHeaderBytes, http.DefaultMaxHeaderBytes)
	}
	if min := 3*httpapi.DefaultMaxKeySize + 4096; srv.MaxHeaderBytes < min {
		t.Errorf("MaxHeaderBytes = %d cannot hold a percent-encoded key of %d bytes", srv.MaxHeaderBytes, httpapi.DefaultMaxKeySize)
	}
	if srv.ErrorLog == nil {
		t.Errorf("no ErrorLog: net/http's errors would go to the standard logger")
	}
}

// TestSlowClients runs a server built by NewServer with its timeouts cut to
// a fraction of a second, and checks each against a client that is too
// slow: a body sent half and then stalled gets an answer within the read
// timeout and writes nothing, and an idle keep-alive connection is closed
// after the idle timeout. (The hostile table checks the read-header
// timeout against Slowloris.)
func TestSlowClients(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Put(context.Background(), "a", []byte("before")); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = httpapi.NewServer(httpapi.New(s), nil)
	ts.Config.ReadHeaderTimeout = testReadHeaderTimeout
	ts.Config.ReadTimeout = 500 * time.Millisecond
	ts.Config.IdleTimeout = 500 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	addr := ts.Listener.Addr().String()

	t.Run("stalled body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		io.WriteString(conn, "PUT /v1/kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		took := time.Since(start)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if _, perr := checkProblem(resp.StatusCode, resp.Header, body, "/v1/kv/a"); resp.StatusCode != 400 || perr != nil {
				t.Errorf("stalled body: %d %s (%v), want a 400 problem", resp.StatusCode, body, perr)
			}
		}
		if took > 5*time.Second {
			t.Errorf("stalled body answered after %v, want about the read timeout (500ms)", took)
		}
		t.Logf("stalled body: answered or closed after %v (%v)", took.Round(time.Millisecond), err)
		if e, err := s.Get(context.Background(), "a"); err != nil || string(e.Value) != "before" {
			t.Errorf("after a stalled PUT the key is %q, %v; want it untouched", e.Value, err)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		io.WriteString(conn, "GET /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
		}
		start := time.Now()
		n, err := br.Read(make([]byte, 1))
		took := time.Since(start)
		if n != 0 || err == nil {
			t.Fatalf("idle connection read %d bytes, %v; want it closed", n, err)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept the idle connection open for %v", took)
		}
		if took > 5*time.Second {
			t.Errorf("idle connection closed after %v, want about the idle timeout (500ms)", took)
		}
		t.Logf("idle connection closed after %v", took.Round(time.Millisecond))
	})
}

// failingKV fails every call with err, or panics with it when panics is
// set.
type failingKV struct {
	vkv.KV
	err    error
	panics bool
}

func (f failingKV) fail() error {
	if f.panics {
		panic(f.err.Error())
	}
	return f.err
}

func (f failingKV) Get(context.Context, string) (vkv.Entry, error) { return vkv.Entry{}, f.fail() }
func (f failingKV) Put(context.Context, string, []byte, ...vkv.WriteOption) (vkv.Version, error) {
	return 0, f.fail()
}
func (f failingKV) GetAt(context.Context, string, vkv.Version) (vkv.Entry, error) {
	return vkv.Entry{}, f.fail()
}
func (f failingKV) CompareAndSwap(context.Context, string, vkv.Version, []byte, ...vkv.WriteOption) (vkv.Version, error) {
	return 0, f.fail()
}
func (f failingKV) Delete(context.Context, string) (vkv.Version, error) { return 0, f.fail() }
func (f failingKV) CompareAndDelete(context.Context, string, vkv.Version) (vkv.Version, error) {
	return 0, f.fail()
}
func (f failingKV) Update(context.Context, func(vkv.Txn) error) (vkv.Version, error) {
	return 0, f.fail()
}
func (f failingKV) List(context.Context, string, string, int) (vkv.ListResult, error) {
	return vkv.ListResult{}, f.fail()
}
func (f failingKV) ListAt(context.Context, string, string, int, vkv.Version) (vkv.ListResult, error) {
	return vkv.ListResult{}, f.fail()
}
func (f failingKV) History(context.Context, string, int) ([]vkv.Entry, error) {
	return nil, f.fail()
}

// errInternal is what a store might fail with: a file path, a Go error chain
// and the name of the engine, none of which a response may show.
var errInternal = fmt.Errorf("badger: writing /var/lib/vkv/000042.vlog: %w", errors.New("input/output error"))

// TestNoSecretsInResponsesOrLogs drives a handler with a token over failing
// and panicking stores, with the right token, wrong ones, and none. Every
// 5xx must be a problem that shows nothing of the error (checkProblem),
// the log must hold each internal error under the request id the response
// names, and neither the token nor the wrong tokens sent may appear
// anywhere in the log or a response.
func TestNoSecretsInResponsesOrLogs(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stores := []struct {
		name   string
		kv     vkv.KV
		status int
	}{
		{"failing", failingKV{KV: s, err: errInternal}, 500},
		{"panicking", failingKV{KV: s, err: errInternal, panics: true}, 500},
		{"full", failingKV{KV: s, err: fmt.Errorf("%w: /var/lib/vkv: 3 MiB free", vkv.ErrInsufficientStorage)}, 507},
		{"closed", failingKV{KV: s, err: fmt.Errorf("badger at /var/lib/vkv: %w", vkv.ErrClosed)}, 503},
	}
	wrongTokens := []string{"wrong-4f0e1d", hostileToken[:len(hostileToken)-1] + "Z"}
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var responses strings.Builder
	idRE := regexp.MustCompile(`"requestId":"([^"]+)"`)
	for _, st := range stores {
		ts := httptest.NewServer(httpapi.New(st.kv, httpapi.WithToken(hostileToken), httpapi.WithLogger(logger)))
		reqs := []struct{ method, path, body, ctype string }{
			{"GET", "/v1/kv/a", "", ""},
			{"PUT", "/v1/kv/a", "x", ""},
			{"PUT", "/v1/kv/a?version=3", "x", ""},
			{"DELETE", "/v1/kv/a", "", ""},
			{"GET", "/v1/kv/a?version=2", "", ""},
			{"GET", "/v1/kv?prefix=a", "", ""},
			{"GET", "/v1/history/a", "", ""},
			{"POST", "/v1/txn", `{"ops":[{"op":"delete","key":"a"}]}`, "application/json"},
		}
		for _, rq := range reqs {
			for _, tok := range append([]string{hostileToken, ""}, wrongTokens...) {
				req, _ := http.NewRequest(rq.method, ts.URL+rq.path, strings.NewReader(rq.body))
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				if rq.ctype != "" {
					req.Header.Set("Content-Type", rq.ctype)
				}
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				fmt.Fprintf(&responses, "%s %v\n%s\n", resp.Status, resp.Header, body)
				want := st.status
				if tok != hostileToken {
					want = 401
				}
				what := fmt.Sprintf("%s store, %s %s, token %q", st.name, rq.method, rq.path, tok)
				if resp.StatusCode != want {
					t.Errorf("%s: %d, want %d: %s", what, resp.StatusCode, want, body)
					continue
				}
				if _, err := checkProblem(resp.StatusCode, resp.Header, body, strings.SplitN(rq.path, "?", 2)[0]); err != nil {
					t.Errorf("%s: %v", what, err)
				}
				if m := idRE.FindSubmatch(body); want == 500 && (m == nil || !strings.Contains(logs.String(), `"request_id":"`+string(m[1])+`"`)) {
					t.Errorf("%s: the log has no line for the 500's request id: %s", what, body)
				}
			}
		}
		ts.Close()
	}
	if !strings.Contains(logs.String(), "000042.vlog") {
		t.Errorf("the log does not hold the internal error, so operators could not find it:\n%.3000s", logs.String())
	}
	for _, secret := range append([]string{hostileToken}, wrongTokens...) {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows the token %q:\n%s", secret, logs.String())
		}
		if strings.Contains(responses.String(), secret) {
			t.Errorf("a response shows the token %q:\n%s", secret, responses.String())
		}
	}
	if internals.MatchString(responses.String()) {
		t.Errorf("a response shows internals: %s", internals.FindString(responses.String()))
	}
}
