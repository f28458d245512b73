package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/metrics"
)

// Handler is what httpapi.WithMetrics takes, though package metrics does
// not import httpapi.
var _ httpapi.Metrics = (*metrics.Handler)(nil)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "s3cret"

func openMem(t *testing.T) *vkv.Store {
	t.Helper()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// send makes a request to srv and checks its status.
func send(t *testing.T, srv *httptest.Server, method, path, body string, auth bool, status int) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, b)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

// flatten turns metric families into "name{label=value,...}" -> value, with
// a histogram as its _count, _sum and _bucket{le=...} series.
func flatten(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			series := func(suffix string, extra ...string) string {
				ls := append(slices.Clone(labels), extra...)
				if len(ls) == 0 {
					return name + suffix
				}
				return name + suffix + "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[series("")] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[series("")] = m.Gauge.GetValue()
			case m.Histogram != nil:
				h := m.Histogram
				out[series("_count")] = float64(h.GetSampleCount())
				out[series("_sum")] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[series("_bucket", fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// scrape gets /metrics without a token and parses it.
func scrape(t *testing.T, srv *httptest.Server) map[string]float64 {
	t.Helper()
	resp := send(t, srv, http.MethodGet, "/metrics", "", false, http.StatusOK)
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		t.Errorf("GET /metrics: Content-Type %q, want text/plain", resp.Header.Get("Content-Type"))
	}
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), "secret") {
		t.Errorf("GET /metrics shows a key or path:\n%s", b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, b)
	}
	return flatten(fams)
}

// pick returns the series of got whose names start with one of prefixes.
func pick(got map[string]float64, prefixes ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// TestHandler serves a store with metrics, sends requests of each kind and
// checks the request counters, the duration histograms' counts and the
// store's series in what /metrics shows.
func TestHandler(t *testing.T) {
	s := openMem(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHandler(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithMetrics(m), httpapi.WithToken(token)))
	defer srv.Close()

	send(t, srv, "PUT", "/v1/kv/a?version=0", "1", true, 201)
	send(t, srv, "PUT", "/v1/kv/a?version=1", "2", true, 200)
	send(t, srv, "PUT", "/v1/kv/a?version=1", "3", true, 409)
	send(t, srv, "GET", "/v1/kv/a", "", true, 200)
	send(t, srv, "HEAD", "/v1/kv/a", "", true, 200)
	send(t, srv, "GET", "/v1/kv/secret-key", "", true, 404)
	send(t, srv, "DELETE", "/v1/kv/secret-key", "", false, 401)
	send(t, srv, "GET", "/secret/path", "", true, 404)
	send(t, srv, "PATCH", "/v1/kv/a", "", true, 405)
	send(t, srv, "POST", "/v1/txn", `{"ops":[{"op":"put","key":"b","value":""}]}`, true, 200)
	send(t, srv, "GET", "/healthz", "", false, 200)

	got := scrape(t, srv)
	const (
		kvGet = `route="GET /v1/kv/{key...}"`
		kvPut = `route="PUT /v1/kv/{key...}"`
	)
	want := map[string]float64{
		`vkv_http_requests_total{code="201",` + kvPut + `}`:                       1,
		`vkv_http_requests_total{code="200",` + kvPut + `}`:                       1,
		`vkv_http_requests_total{code="409",` + kvPut + `}`:                       1,
		`vkv_http_requests_total{code="200",` + kvGet + `}`:                       2, // GET and HEAD
		`vkv_http_requests_total{code="404",` + kvGet + `}`:                       1,
		`vkv_http_requests_total{code="401",route="DELETE /v1/kv/{key...}"}`:      1,
		`vkv_http_requests_total{code="404",route="unmatched"}`:                   1,
		`vkv_http_requests_total{code="405",route="unmatched"}`:                   1,
		`vkv_http_requests_total{code="200",route="POST /v1/txn"}`:                1,
		`vkv_http_requests_total{code="200",route="GET /healthz"}`:                1,
		`vkv_http_request_duration_seconds_count{` + kvPut + `}`:                  3,
		`vkv_http_request_duration_seconds_count{` + kvGet + `}`:                  3,
		`vkv_http_request_duration_seconds_count{route="DELETE /v1/kv/{key...}"}`: 1,
		`vkv_http_request_duration_seconds_count{route="unmatched"}`:              2,
		`vkv_http_request_duration_seconds_count{route="POST /v1/txn"}`:           1,
		`vkv_http_request_duration_seconds_count{route="GET /healthz"}`:           1,
		// One commit per write request, sent one after the other: the
		// create, the update, the conflict and the transaction.
		`vkv_store_commits_total`:                    4,
		`vkv_store_writes_total`:                     3,
		`vkv_store_conflicts_total`:                  1,
		`vkv_store_refused_total`:                    0,
		`vkv_store_expired_total`:                    0,
		`vkv_store_version`:                          3,
		`vkv_store_oldest_version`:                   0,
		`vkv_store_lsm_size_bytes`:                   0, // in memory
		`vkv_store_value_log_size_bytes`:             0,
		`vkv_store_commit_batch_size_count`:          4,
		`vkv_store_commit_batch_size_sum`:            4,
		`vkv_store_commit_batch_size_bucket{le="1"}`: 4,
	}
	got = pick(got, "vkv_http_requests_total", "vkv_http_request_duration_seconds_count", "vkv_store_")
	for k := range got {
		if strings.HasPrefix(k, "vkv_store_commit_batch_size_bucket") && k != `vkv_store_commit_batch_size_bucket{le="1"}` {
			if got[k] != 4 {
				t.Errorf("%s = %v, want 4 (every commit carried one request)", k, got[k])
			}
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}

	// The first scrape is counted once it is answered.
	got = pick(scrape(t, srv), `vkv_http_requests_total{code="200",route="GET /metrics"}`)
	if diff := cmp.Diff(map[string]float64{`vkv_http_requests_total{code="200",route="GET /metrics"}`: 1}, got); diff != "" {
		t.Errorf("/metrics after a scrape (-want +got):\n%s", diff)
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestNoMetricsRoute checks that without WithMetrics /metrics is no route,
// and needs the token like any other path.
func TestNoMetricsRoute(t *testing.T) {
	s := openMem(t)
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithToken(token)))
	defer srv.Close()
	send(t, srv, "GET", "/metrics", "", false, http.StatusUnauthorized)
	send(t, srv, "GET", "/metrics", "", true, http.StatusNotFound)
}

type fakeStats vkv.Stats

func (f *fakeStats) Stats() vkv.Stats { return vkv.Stats(*f) }

// TestStoreCollector checks every series of the store collector against
// fixed statistics, the batch-size buckets above all.
func TestStoreCollector(t *testing.T) {
	st := &fakeStats{
		Version: 900, OldestVersion: 12,
		Commits: 11, Writes: 40, Conflicts: 2, Refused: 3, Expired: 1, BatchRequests: 43,
		LSMBytes: 1 << 20, ValueLogBytes: 3 << 20,
	}
	// 5 commits of 1 request, 3 of 2, 2 of 5 to 8, 1 of more than 2048.
	st.BatchSizes[0], st.BatchSizes[1], st.BatchSizes[3], st.BatchSizes[12] = 5, 3, 2, 1
	want := `
# HELP vkv_store_commit_batch_size Write requests per commit of the committer.
# TYPE vkv_store_commit_batch_size histogram
vkv_store_commit_batch_size_bucket{le="1"} 5
vkv_store_commit_batch_size_bucket{le="2"} 8
vkv_store_commit_batch_size_bucket{le="4"} 8
vkv_store_commit_batch_size_bucket{le="8"} 10
vkv_store_commit_batch_size_bucket{le="16"} 10
vkv_store_commit_batch_size_bucket{le="32"} 10
vkv_store_commit_batch_size_bucket{le="64"} 10
vkv_store_commit_batch_size_bucket{le="128"} 10
vkv_store_commit_batch_size_bucket{le="256"} 10
vkv_store_commit_batch_size_bucket{le="512"} 10
vkv_store_commit_batch_size_bucket{le="1024"} 10
vkv_store_commit_batch_size_bucket{le="2048"} 10
vkv_store_commit_batch_size_bucket{le="+Inf"} 11
vkv_store_commit_batch_size_sum 43
vkv_store_commit_batch_size_count 11
# HELP vkv_store_commits_total Commits of the store's committer (one fsync each when durable).
# TYPE vkv_store_commits_total counter
vkv_store_commits_total 11
# HELP vkv_store_conflicts_total Write requests whose conditions failed (nothing written).
# TYPE vkv_store_conflicts_total counter
vkv_store_conflicts_total 2
# HELP vkv_store_expired_total Keys deleted by the TTL reaper.
# TYPE vkv_store_expired_total counter
vkv_store_expired_total 1
# HELP vkv_store_lsm_size_bytes Size of Badger's LSM tree on disk, as last measured (every minute).
# TYPE vkv_store_lsm_size_bytes gauge
vkv_store_lsm_size_bytes 1.048576e+06
# HELP vkv_store_oldest_version The oldest version reads at a version answer for (history before it is compacted).
# TYPE vkv_store_oldest_version gauge
vkv_store_oldest_version 12
# HELP vkv_store_refused_total Write requests refused because disk space was low.
# TYPE vkv_store_refused_total counter
vkv_store_refused_total 3
# HELP vkv_store_value_log_size_bytes Size of Badger's value log on disk, as last measured (every minute).
# TYPE vkv_store_value_log_size_bytes gauge
vkv_store_value_log_size_bytes 3.145728e+06
# HELP vkv_store_version The newest version the store has handed out.
# TYPE vkv_store_version gauge
vkv_store_version 900
# HELP vkv_store_writes_total Write requests that succeeded.
# TYPE vkv_store_writes_total counter
vkv_store_writes_total 40
`
	if err := testutil.CollectAndCompare(metrics.NewStoreCollector(st), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestNewHandlerConflict checks that NewHandler fails on a registry that
// already has a store collector, and leaves nothing of its own registered.
func TestNewHandlerConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewStoreCollector(&fakeStats{}))
	_, err := metrics.NewHandler(reg, &fakeStats{})
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("NewHandler with a second store collector: %v, want prometheus.AlreadyRegisteredError", err)
	}
	// The HTTP metrics were unregistered again: a NewHandler without a
	// store now succeeds.
	if _, err := metrics.NewHandler(reg, nil); err != nil {
		t.Fatalf("NewHandler after the failed one: %v", err)
	}
	if _, err := metrics.NewHandler(reg, nil); !errors.As(err, &are) {
		t.Fatalf("NewHandler twice: %v, want prometheus.AlreadyRegisteredError", err)
	}
}
