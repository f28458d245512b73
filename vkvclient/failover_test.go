package vkvclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// failing is a KV whose writes fail with err (reads pass through).
type failing struct {
	vkv.KV
	err error
}

func (f failing) Put(context.Context, string, []byte, ...vkv.WriteOption) (vkv.Version, error) {
	return 0, f.err
}

// counted serves h and counts the requests by method.
type counted struct {
	h    http.Handler
	puts atomic.Int64
	gets atomic.Int64
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		c.puts.Add(1)
	case http.MethodGet:
		c.gets.Add(1)
	}
	c.h.ServeHTTP(w, r)
}

// replicas returns an in-memory store and servers over it, as vkv serve
// replicas over one etcd cluster are.
func replicas(t *testing.T, handlers ...func(vkv.KV) http.Handler) (*vkv.Store, []*httptest.Server) {
	t.Helper()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var srvs []*httptest.Server
	for _, h := range handlers {
		srv := httptest.NewServer(h(s))
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	return s, srvs
}

func plain(kv vkv.KV) http.Handler { return httpapi.New(kv) }

func client(t *testing.T, srvs ...*httptest.Server) *vkvclient.Client {
	t.Helper()
	var urls []string
	for _, s := range srvs {
		urls = append(urls, s.URL)
	}
	c, err := vkvclient.New(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestFailoverServerDown: with the first server down, reads and writes go
// to the second (a refused connection is a request never sent), and the
// client stays there.
func TestFailoverServerDown(t *testing.T) {
	ctx := t.Context()
	_, srvs := replicas(t, plain, plain)
	c := client(t, srvs...)
	if _, err := c.Put(ctx, "k", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if got := c.Endpoint(); got != srvs[0].URL {
		t.Fatalf("Endpoint() = %s, want the first, %s", got, srvs[0].URL)
	}
	srvs[0].Close()
	// A request on a connection kept from before may have been sent when
	// the server went: only a read is retried then. The read moves the
	// client on.
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatalf("Get with the first server down: %v", err)
	}
	v, err := c.Put(ctx, "k", []byte("2"))
	if err != nil {
		t.Fatalf("Put with the first server down: %v", err)
	}
	e, err := c.Get(ctx, "k")
	if err != nil || string(e.Value) != "2" || e.Version != v {
		t.Fatalf("Get = %q at %d, %v; want 2 at %d", e.Value, e.Version, err, v)
	}
	if got := c.Endpoint(); got != srvs[1].URL {
		t.Errorf("Endpoint() = %s after the first went down, want %s", got, srvs[1].URL)
	}
	srvs[1].Close()
	_, err = c.Get(ctx, "k")
	if !errors.Is(err, vkv.ErrUnavailable) || !strings.Contains(err.Error(), "vkv serve") {
		t.Errorf("Get with every server down: %v; want vkv.ErrUnavailable saying to start vkv serve", err)
	}
}

// TestFailoverUnknownOutcome: a write whose connection breaks after it was
// sent is reported as vkv.ErrOutcomeUnknown and is not sent to the other
// server; a read in the same situation is.
func TestFailoverUnknownOutcome(t *testing.T) {
	ctx := t.Context()
	var second *counted
	// cut serves h, except that it drops the connection of a PUT or a
	// GET of a key after reading the request, without an answer.
	cut := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut && !strings.HasPrefix(r.URL.Path, "/v1/kv/") {
				h.ServeHTTP(w, r)
				return
			}
			r.Body.Close()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		})
	}
	_, srvs := replicas(t,
		func(kv vkv.KV) http.Handler { return cut(httpapi.New(kv)) },
		func(kv vkv.KV) http.Handler { second = &counted{h: httpapi.New(kv)}; return second })
	c := client(t, srvs...)
	_, err := c.Put(ctx, "k", []byte("v"))
	if !errors.Is(err, vkv.ErrOutcomeUnknown) {
		t.Errorf("Put whose connection broke: %v, want vkv.ErrOutcomeUnknown", err)
	}
	if n := second.puts.Load(); n != 0 {
		t.Errorf("the write of unknown outcome was sent again to the other server (%d PUTs)", n)
	}
	if got := c.Endpoint(); got != srvs[0].URL {
		t.Errorf("the client moved to %s after a write of unknown outcome; it should stay", got)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Get: %v, want ErrNotFound from the second server", err)
	}
	if n := second.gets.Load(); n == 0 {
		t.Errorf("the read was not retried on the other server")
	}
}

// TestBackendErrors: a backend that is unavailable gives 503 with
// Retry-After and vkv.ErrUnavailable, and the write goes to the other
// replica; one whose outcome is unknown gives 504 and vkv.ErrOutcomeUnknown
// and is not retried.
func TestBackendErrors(t *testing.T) {
	ctx := t.Context()
	var second *counted
	_, srvs := replicas(t,
		func(kv vkv.KV) http.Handler { return httpapi.New(failing{kv, vkv.ErrUnavailable}) },
		func(kv vkv.KV) http.Handler { return httpapi.New(failing{kv, vkv.ErrOutcomeUnknown}) },
		func(kv vkv.KV) http.Handler { second = &counted{h: httpapi.New(kv)}; return second })

	req, _ := http.NewRequest(http.MethodPut, srvs[0].URL+"/v1/kv/k", strings.NewReader("v"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("PUT with the backend unavailable: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	one := client(t, srvs[0])
	if _, err := one.Put(ctx, "k", []byte("v")); !errors.Is(err, vkv.ErrUnavailable) {
		t.Errorf("Put, backend unavailable: %v, want vkv.ErrUnavailable", err)
	}
	unknown := client(t, srvs[1], srvs[2])
	if _, err := unknown.Put(ctx, "k", []byte("v")); !errors.Is(err, vkv.ErrOutcomeUnknown) {
		t.Errorf("Put, outcome unknown: %v, want vkv.ErrOutcomeUnknown", err)
	}
	if n := second.puts.Load(); n != 0 {
		t.Errorf("a write of unknown outcome was sent again (%d PUTs)", n)
	}
	moved := client(t, srvs[0], srvs[2])
	if _, err := moved.Put(ctx, "k", []byte("v")); err != nil {
		t.Errorf("Put with the first replica's backend unavailable: %v, want it done by the second", err)
	}
	if n := second.puts.Load(); n != 1 {
		t.Errorf("the second replica got %d PUTs, want 1", n)
	}
}

// TestWatchMovesOn: a watch whose server goes down resumes on the other
// one from the last version it delivered: no change lost, none twice.
func TestWatchMovesOn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, srvs := replicas(t, plain, plain)
	c := client(t, srvs...)
	var want []vkv.Version
	put := func(v string) {
		ver, err := s.Put(ctx, "w/k", []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ver)
	}
	put("a")
	var got []vkv.Version
	for e, err := range c.Watch(ctx, "w/", 0) {
		if err != nil {
			t.Fatalf("Watch: %v (got %v)", err, got)
		}
		got = append(got, e.Version)
		switch len(got) {
		case 1:
			srvs[0].CloseClientConnections()
			srvs[0].Close()
			put("b")
			put("c")
		}
		if len(got) == 3 {
			break
		}
	}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("watch delivered %v, want %v", got, want)
	}
	if c.Endpoint() != srvs[1].URL {
		t.Errorf("watch did not move to the second server")
	}
}

// TestFailoverNeverSent: a write whose connection cannot be made is sent to
// the next server: it certainly did not reach the first.
func TestFailoverNeverSent(t *testing.T) {
	_, srvs := replicas(t, plain, plain)
	srvs[0].Close() // before the client ever connects: every dial is refused
	c := client(t, srvs...)
	if _, err := c.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatalf("Put with the first server never up: %v", err)
	}
}

func TestEndpointErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8080", "write http://127.0.0.1:8080"},
		{"localhost:8080", "write http://localhost:8080"},
		{"ftp://x:1", "want http://host:port"},
		{"", "no endpoint"},
		{"http://a:1,127.0.0.1:2", "write http://127.0.0.1:2"},
	} {
		_, err := vkvclient.New(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
}

// TestCorruptOverHTTP: damaged data met by the server's store is a 500
// problem with code corrupt, and the client's error matches vkv.ErrCorrupt
// (not a bare internal error) without being sent to another replica.
func TestCorruptOverHTTP(t *testing.T) {
	damaged := fmt.Errorf("vkv: key %q: %w", "k", vkv.ErrCorrupt)
	var second *counted
	_, srvs := replicas(t,
		func(kv vkv.KV) http.Handler { return httpapi.New(failing{kv, damaged}) },
		func(kv vkv.KV) http.Handler { second = &counted{h: httpapi.New(kv)}; return second })

	req, _ := http.NewRequest(http.MethodPut, srvs[0].URL+"/v1/kv/k", strings.NewReader("v"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p wire.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := wire.Problem{Type: wire.ProblemTypeBase + wire.ProblemInternal, Status: http.StatusInternalServerError, Code: wire.CodeCorrupt}
	got := wire.Problem{Type: p.Type, Status: p.Status, Code: p.Code}
	if diff := cmp.Diff(want, got); resp.StatusCode != http.StatusInternalServerError || diff != "" {
		t.Errorf("PUT on a damaged store: status %d, problem (-want +got):\n%s", resp.StatusCode, diff)
	}
	if strings.Contains(p.Detail, damaged.Error()) {
		t.Errorf("the problem carries the store's error: %q", p.Detail)
	}

	c := client(t, srvs...)
	_, err = c.Put(t.Context(), "k", []byte("v"))
	if !errors.Is(err, vkv.ErrCorrupt) {
		t.Errorf("Put on a damaged store: %v, want an error matching vkv.ErrCorrupt", err)
	}
	if n := second.puts.Load(); n != 0 {
		t.Errorf("a write refused for damaged data was sent to another replica (%d PUTs)", n)
	}
}
