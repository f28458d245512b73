package vkvclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/vkvtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve starts a server for a new in-memory store and returns a client for
// it; both are closed when t ends.
func serve(t *testing.T, opts ...httpapi.Option) *vkvclient.Client {
	t.Helper()
	return serveTB(t, opts...)
}

func serveTB(t testing.TB, opts ...httpapi.Option) *vkvclient.Client {
	t.Helper()
	return serveClock(t, nil, opts...)
}

// serveClock is serve with the store and the client on clock (nil: the
// system clock).
func serveClock(t testing.TB, clock vkv.Clock, opts ...httpapi.Option) *vkvclient.Client {
	t.Helper()
	s, err := vkv.Open("", &vkv.Options{InMemory: true, Clock: clock})
	if err != nil {
		t.Fatalf("vkv.Open: %v", err)
	}
	srv := httptest.NewServer(httpapi.New(s, append([]httpapi.Option{httpapi.WithToken("t0ken")}, opts...)...))
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken("t0ken"), vkvclient.WithClock(clock))
	if err != nil {
		t.Fatalf("vkvclient.New: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Store.Close: %v", err)
		}
	})
	return c
}

// TestConformance runs the vkv.KV conformance suite against the client,
// talking to httpapi over an in-memory store, with the store and the client
// on the suite's fake clock: the remote KV has the embedded store's
// semantics.
func TestConformance(t *testing.T) {
	vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV { return serveClock(t, clock) })
}

// TestConformanceRealClock runs the suite over HTTP on the system clock,
// the server's and the client's alike, as they run in production.
func TestConformanceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite on the fake clock (TestConformance) covers -short mode")
	}
	vkvtest.Run(t, func(t *testing.T) vkv.KV { return serve(t) })
}

// TestProblemError checks that a problem with no vkv error of its own comes
// back as a *ProblemError carrying it, and that cancelled contexts and
// Close give the store's errors.
func TestProblemError(t *testing.T) {
	c := serve(t)
	u, err := url.Parse(c.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := vkvclient.New(u.String(), vkvclient.WithToken("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.Get(t.Context(), "k")
	var pe *vkvclient.ProblemError
	if !errors.As(err, &pe) {
		t.Fatalf("Get with a wrong token: %v (%T), want a *vkvclient.ProblemError", err, err)
	}
	// The first call of a Client that sends a key learns the server's
	// limits first: that is the request refused.
	if pe.StatusCode != 401 || pe.Problem.Name() != "unauthorized" || pe.Problem.Instance != "/v1/limits" {
		t.Errorf("Get with a wrong token: %+v, want 401 unauthorized at /v1/limits", pe)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Put(ctx, "k", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	c.Close()
	if _, err := c.Get(t.Context(), "k"); !errors.Is(err, vkv.ErrClosed) {
		t.Errorf("Get after Close: %v, want vkv.ErrClosed", err)
	}
}

func TestNew(t *testing.T) {
	for _, ep := range []string{"", "localhost:8080", "ftp://h", "http://h/?q=1", "http://"} {
		if c, err := vkvclient.New(ep); err == nil {
			c.Close()
			t.Errorf("New(%q) = nil error, want one", ep)
		}
	}
}

// TestUpdateContention has 2, 8 and 64 goroutines each increment one key 500
// times through one Client's Update: no Update may give up, and the counter
// must be exact. The runs per function are logged.
func TestUpdateContention(t *testing.T) {
	for _, g := range []int{2, 8, 64} {
		t.Run(fmt.Sprintf("goroutines=%d", g), func(t *testing.T) {
			t.Log(vkvtest.CheckUpdateContention(t, serve(t), "ctr", g, 500))
		})
	}
}
