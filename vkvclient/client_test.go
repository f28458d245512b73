package vkvclient_test

import (
	"net/http/httptest"
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
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatalf("vkv.Open: %v", err)
	}
	srv := httptest.NewServer(httpapi.New(s, append([]httpapi.Option{httpapi.WithToken("t0ken")}, opts...)...))
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken("t0ken"))
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
// talking to httpapi over an in-memory store: the remote KV has the
// embedded store's semantics.
func TestConformance(t *testing.T) {
	vkvtest.Run(t, func(t *testing.T) vkv.KV { return serve(t) })
}
