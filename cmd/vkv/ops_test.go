package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var pprofRE = regexp.MustCompile(`msg="serving pprof" addr=(\S+)`)

// TestServeOps runs the built vkv serve with a token and -pprof, sends a few
// requests, and checks what /metrics shows without the token (the request
// counters, the store's series, the Go and process collectors) and that
// pprof answers on its own listener and not on the API's. Then it checks
// that -metrics=false removes /metrics.
func TestServeOps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := vkvBinary(t)
	tokenFile := filepath.Join(tmp, "token")
	if err := os.WriteFile(tokenFile, []byte("ops-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "data")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	srv := start(t, bin, "-dir", dir, "-token-file", tokenFile, "-pprof", "127.0.0.1:0")
	c := &client{t: t, hc: hc, base: srv.base, token: "ops-token"}
	anon := &client{t: t, hc: hc, base: srv.base}
	c.want(201, "PUT", "/v1/kv/orders/17?version=0", "pending")
	c.want(200, "PUT", "/v1/kv/orders/17?version=1", "paid")
	c.want(409, "PUT", "/v1/kv/orders/17?version=1", "lost")
	c.want(200, "GET", "/v1/kv/orders/17", "")
	c.want(404, "GET", "/v1/kv/orders/99", "")
	anon.want(401, "GET", "/v1/kv/orders/17", "")

	resp := anon.want(200, "GET", "/metrics", "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q", ct)
	}
	_, body, err := anon.do("GET", "/metrics", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "orders") {
		t.Errorf("/metrics shows a key:\n%s", body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	got := map[string]float64{}
	for _, name := range []string{"vkv_http_requests_total", "vkv_store_writes_total", "vkv_store_conflicts_total", "vkv_store_version"} {
		f, ok := fams[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
			continue
		}
		for _, m := range f.GetMetric() {
			series := name
			for _, l := range m.GetLabel() {
				series += " " + l.GetName() + "=" + l.GetValue()
			}
			if m.Counter != nil {
				got[series] = m.Counter.GetValue()
			} else {
				got[series] = m.Gauge.GetValue()
			}
		}
	}
	want := map[string]float64{
		"vkv_http_requests_total code=201 route=PUT /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=200 route=PUT /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=409 route=PUT /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=200 route=GET /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=404 route=GET /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=401 route=GET /v1/kv/{key...}": 1,
		"vkv_http_requests_total code=200 route=GET /metrics":        1, // the first scrape
		"vkv_store_writes_total":                                     2,
		"vkv_store_conflicts_total":                                  1,
		"vkv_store_version":                                          2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
	// The value log is preallocated when the store opens; tables come with
	// the first memtable flush.
	if f := fams["vkv_store_value_log_size_bytes"]; f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() <= 0 {
		t.Errorf("vkv_store_value_log_size_bytes is not positive: %v", f)
	}
	for _, name := range []string{"vkv_http_request_duration_seconds", "vkv_store_commit_batch_size",
		"vkv_store_lsm_size_bytes", "vkv_store_value_log_size_bytes", "vkv_store_oldest_version",
		"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}

	// pprof on its own listener, not on the API's.
	m := pprofRE.FindStringSubmatch(srv.logs.String())
	if m == nil {
		t.Fatalf("no pprof address in the log:\n%s", srv.logs)
	}
	pp := &client{t: t, hc: hc, base: "http://" + m[1]}
	if _, body, err := pp.do("GET", "/debug/pprof/", ""); err != nil || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/ on %s: %v\n%.300s", m[1], err, body)
	}
	pp.want(200, "GET", "/debug/pprof/heap?debug=1", "")
	c.want(404, "GET", "/debug/pprof/", "")
	srv.stop(t)

	// -metrics=false: /metrics is no route, and needs the token like any.
	srv = start(t, bin, "-dir", dir, "-token-file", tokenFile, "-metrics=false")
	anon = &client{t: t, hc: hc, base: srv.base}
	c = &client{t: t, hc: hc, base: srv.base, token: "ops-token"}
	anon.want(401, "GET", "/metrics", "")
	c.want(404, "GET", "/metrics", "")
	if strings.Contains(srv.logs.String(), "pprof") {
		t.Errorf("pprof is served without -pprof:\n%s", srv.logs)
	}
	srv.stop(t)
}

// TestPprofFlagBadAddress checks that vkv serve fails at once, with the
// store closed again, when the -pprof address cannot be listened on.
func TestPprofFlagBadAddress(t *testing.T) {
	var out strings.Builder
	code := run(t.Context(), []string{"serve", "-dir", t.TempDir(), "-addr", "127.0.0.1:0", "-pprof", "127.0.0.1:99999"}, io.Discard, &out)
	if code != 1 || !strings.Contains(out.String(), "-pprof") {
		t.Errorf("vkv serve -pprof 127.0.0.1:99999: exit %d, stderr:\n%s", code, out.String())
	}
}
