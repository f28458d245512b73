package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/metrics"
)

// TestDeniedRequests: refused requests are counted by reason in
// vkv_http_denied_requests_total, and no label or value of /metrics holds
// a token.
func TestDeniedRequests(t *testing.T) {
	s := openMem(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHandler(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := authfile.Parse([]byte(`{"principals": [{"name": "app", "tokenSHA256": "` + authfile.HashToken(token) + `", "grants": [{"prefix": "app/", "access": "write"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithMetrics(m), httpapi.WithAuthorizer(authfile.New(c))))
	defer srv.Close()
	for _, r := range []struct {
		auth   string
		path   string
		status int
	}{
		{"", "/v1/kv/app/a", 401},
		{"Bearer wrong-token-1", "/v1/kv/app/a", 401},
		{"Bearer wrong-token-2", "/v1/kv/app/a", 401},
		{"Bearer " + token, "/v1/kv/other", 403},
		{"Bearer " + token, "/v1/kv/app/a", 404},
	} {
		req, _ := http.NewRequest("GET", srv.URL+r.path, nil)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("GET %s with %q: %d, want %d", r.path, r.auth, resp.StatusCode, r.status)
		}
	}
	got := pick(scrape(t, srv), "vkv_http_denied_requests_total")
	want := map[string]float64{
		`vkv_http_denied_requests_total{reason="no-credentials"}`:      1,
		`vkv_http_denied_requests_total{reason="unknown-credentials"}`: 2,
		`vkv_http_denied_requests_total{reason="no-grant"}`:            1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
	for k := range scrape(t, srv) {
		if strings.Contains(k, token) || strings.Contains(k, "wrong-token") {
			t.Errorf("a metric shows a token: %s", k)
		}
	}
}
