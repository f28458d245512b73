package vkvclient_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
)

// counter is an http.RoundTripper that records "METHOD /path?query" of
// every request it sends on.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	c.reqs = append(c.reqs, r.Method+" "+target)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// take returns the requests recorded since the last call.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reqs
	c.reqs = nil
	return r
}

// serveCounted serves kv (through wrap, if not nil) and returns a client
// whose requests cnt records. Everything is closed when t ends.
func serveCounted(t *testing.T, kv vkv.KV, wrap func(http.Handler) http.Handler) (*vkvclient.Client, *counter) {
	t.Helper()
	var h http.Handler = httpapi.New(kv, httpapi.WithToken("t0ken"))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	cnt := &counter{next: srv.Client().Transport}
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken("t0ken"), vkvclient.WithHTTPClient(&http.Client{Transport: cnt}))
	if err != nil {
		t.Fatalf("vkvclient.New: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Close()
	})
	return c, cnt
}

func openStore(t *testing.T, opts vkv.Options) *vkv.Store {
	t.Helper()
	opts.InMemory = true
	s, err := vkv.Open("", &opts)
	if err != nil {
		t.Fatalf("vkv.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLimitsLearned checks that a client learns a server's non-default
// limits once, and then refuses what is over them without a request, with
// the very errors the store gives for the same calls.
func TestLimitsLearned(t *testing.T) {
	s := openStore(t, vkv.Options{MaxKeySize: 100, MaxValueSize: 1000, MaxTxnOps: 5})
	c, cnt := serveCounted(t, s, nil)
	ctx := t.Context()

	got, err := c.Limits(ctx)
	if err != nil {
		t.Fatalf("Limits: %v", err)
	}
	if diff := cmp.Diff(s.Limits(), got); diff != "" {
		t.Errorf("Limits: (-store +client):\n%s", diff)
	}
	if _, err := c.Limits(ctx); err != nil {
		t.Fatalf("Limits again: %v", err)
	}
	if diff := cmp.Diff([]string{"GET /v1/limits"}, cnt.take()); diff != "" {
		t.Errorf("requests of two Limits calls (-want +got): the limits are fetched once\n%s", diff)
	}

	long := strings.Repeat("k", 101)
	big := make([]byte, 1001)
	puts := func(n int) func(tx vkv.Txn) error {
		return func(tx vkv.Txn) error {
			for i := range n {
				if err := tx.Put(fmt.Sprintf("k%d", i), nil); err != nil {
					return err
				}
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name   string
		call   func(kv vkv.KV) error
		is     error
		reason string
	}{
		{"Get of a long key", func(kv vkv.KV) error { _, err := kv.Get(ctx, long); return err }, vkv.ErrInvalidKey,
			"a key over MaxKeySize"},
		{"GetAt of a long key", func(kv vkv.KV) error { _, err := kv.GetAt(ctx, long, 1); return err }, vkv.ErrInvalidKey,
			"a key over MaxKeySize"},
		{"History of a long key", func(kv vkv.KV) error { _, err := kv.History(ctx, long, 0); return err }, vkv.ErrInvalidKey,
			"a key over MaxKeySize"},
		{"Put of a long key", func(kv vkv.KV) error { _, err := kv.Put(ctx, long, nil); return err }, vkv.ErrInvalidKey,
			"a key over MaxKeySize"},
		{"Delete of a long key", func(kv vkv.KV) error { _, err := kv.Delete(ctx, long); return err }, vkv.ErrInvalidKey,
			"a key over MaxKeySize"},
		{"Put of a big value", func(kv vkv.KV) error { _, err := kv.Put(ctx, "k", big); return err }, vkv.ErrValueTooLarge,
			"a value over MaxValueSize"},
		{"CompareAndSwap of a big value", func(kv vkv.KV) error { _, err := kv.CompareAndSwap(ctx, "k", 0, big); return err },
			vkv.ErrValueTooLarge, "a value over MaxValueSize"},
		{"Put with a TTL over MaxTTL", func(kv vkv.KV) error {
			_, err := kv.Put(ctx, "k", nil, vkv.WithTTL(vkv.MaxTTL+1))
			return err
		}, vkv.ErrInvalidTTL, "a TTL over vkv.MaxTTL"},
		{"Update of too many puts", func(kv vkv.KV) error { _, err := kv.Update(ctx, puts(6)); return err }, vkv.ErrTxnTooLarge,
			"more writes than MaxTxnOps"},
		{"Update of too many Expects", func(kv vkv.KV) error {
			_, err := kv.Update(ctx, func(tx vkv.Txn) error {
				for i := range 6 {
					if err := tx.Expect(fmt.Sprintf("k%d", i), 0); err != nil {
						return err
					}
				}
				return nil
			})
			return err
		}, vkv.ErrTxnTooLarge, "more conditions than MaxTxnOps"},
		{"Update with a big value", func(kv vkv.KV) error {
			_, err := kv.Update(ctx, func(tx vkv.Txn) error { return tx.Put("k", big) })
			return err
		}, vkv.ErrValueTooLarge, "a value over MaxValueSize in a transaction"},
	} {
		want, got := tc.call(s), tc.call(c)
		if !errors.Is(want, tc.is) {
			t.Fatalf("%s: the store gives %v, want an error matching %v", tc.name, want, tc.is)
		}
		if diff := cmp.Diff(fmt.Sprintf("%T: %v", want, want), fmt.Sprintf("%T: %v", got, got)); diff != "" {
			t.Errorf("%s: (-store +client) (%s):\n%s", tc.name, tc.reason, diff)
		}
		if reqs := cnt.take(); len(reqs) != 0 {
			t.Errorf("%s: the client sent %q, want no request (%s)", tc.name, reqs, tc.reason)
		}
	}
}

// TestLimitsOldServer checks a server without GET /v1/limits: the client
// knows no limits, and the server's own answers give the store's errors.
func TestLimitsOldServer(t *testing.T) {
	s := openStore(t, vkv.Options{MaxKeySize: 100})
	c, cnt := serveCounted(t, s, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/limits" {
				http.NotFound(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := t.Context()
	got, err := c.Limits(ctx)
	if err != nil || got != (vkv.Limits{}) {
		t.Errorf("Limits = %+v, %v; want the zero Limits and no error", got, err)
	}
	if _, err := c.Put(ctx, "k", []byte("v")); err != nil {
		t.Errorf("Put: %v", err)
	}
	_, err = c.Put(ctx, strings.Repeat("k", 101), nil)
	var ke *vkv.KeyError
	if !errors.As(err, &ke) {
		t.Errorf("Put of a long key: %v (%T), want the server's *vkv.KeyError", err, err)
	}
	if diff := cmp.Diff([]string{"GET /v1/limits", "PUT /v1/kv/k", "PUT /v1/kv/" + strings.Repeat("k", 101)}, cnt.take()); diff != "" {
		t.Errorf("requests (-want +got): the limits are asked for once, then the server checks\n%s", diff)
	}
}
