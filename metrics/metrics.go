// Package metrics exposes vkv's metrics to Prometheus: the requests of an
// httpapi handler, and the counters of a store (vkv.Stats).
//
// # Basics
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.NewHandler(reg, store) // store: a *vkv.Store
//	...
//	h := httpapi.New(store, httpapi.WithMetrics(m)) // serves GET /metrics
//
// NewHandler registers the HTTP metrics and, when given a StatsSource, the
// store's collector (NewStoreCollector) with reg, and serves what reg
// gathers. Register the Go runtime and process collectors with reg too
// (package github.com/prometheus/client_golang/prometheus/collectors), as
// vkv serve does. The series, all prefixed vkv_:
//
//	vkv_http_requests_total{route,code}        counter
//	vkv_http_request_duration_seconds{route}   histogram
//	vkv_http_denied_requests_total{reason}     counter (no-credentials, unknown-credentials, no-grant)
//	vkv_store_commits_total                    counter
//	vkv_store_writes_total                     counter
//	vkv_store_conflicts_total                  counter
//	vkv_store_refused_total                    counter
//	vkv_store_expired_total                    counter
//	vkv_store_commit_batch_size                histogram
//	vkv_store_version                          gauge
//	vkv_store_oldest_version                   gauge
//	vkv_store_lsm_size_bytes                   gauge
//	vkv_store_value_log_size_bytes             gauge
//
// route is the ServeMux pattern of the route ("GET /v1/kv/{key...}") or
// "unmatched", never the request's path: no label carries a key, and the
// number of series is bounded by the routes and status codes.
//
// # Caveats
//
// The duration of a watch stream or a backup is the whole time it ran, so
// the histogram of those routes measures stream lengths, not latency.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vkvstore/vkv/wire"
)

// Registry is where NewHandler registers its collectors and what it serves:
// a *prometheus.Registry.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// DurationBuckets are the upper bounds, in seconds, of the buckets of
// vkv_http_request_duration_seconds: from 100 µs (a read from the cache) to
// 10 s.
var DurationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Handler records the requests of an httpapi handler and serves the metrics
// of its registry. It implements httpapi.Metrics (the tests check it;
// package metrics does not import the handler, only package wire, so that
// it can serve any handler that reports a wire.RequestRecord); pass it to
// httpapi.WithMetrics. It is safe for concurrent use.
type Handler struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	denied   *prometheus.CounterVec
	serve    http.Handler
}

// NewHandler registers the HTTP request metrics with reg and, when src is
// not nil, a collector of src's statistics (NewStoreCollector), and returns
// a Handler that serves reg's metrics in the Prometheus text format. It
// fails if reg already holds metrics of the same names.
func NewHandler(reg Registry, src StatsSource) (*Handler, error) {
	m := &Handler{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vkv_http_requests_total",
			Help: "HTTP requests answered, by route (the ServeMux pattern, or \"unmatched\") and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vkv_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by route (for watch streams and backups: their whole length).",
			Buckets: DurationBuckets,
		}, []string{"route"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vkv_http_denied_requests_total",
			Help: "Requests refused by authentication (401) or authorization (403), by reason: no-credentials, unknown-credentials, no-grant.",
		}, []string{"reason"}),
	}
	for _, reason := range []string{wire.DeniedNoCredentials, wire.DeniedUnknownCredentials, wire.DeniedNoGrant} {
		m.denied.WithLabelValues(reason) // the series exist at 0 before the first refusal
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.denied}
	if src != nil {
		cs = append(cs, NewStoreCollector(src))
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, r := range cs[:i] {
				reg.Unregister(r)
			}
			return nil, err
		}
	}
	m.serve = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m, nil
}

// ObserveRequest counts the request and records its duration.
func (m *Handler) ObserveRequest(r wire.RequestRecord) {
	m.requests.WithLabelValues(r.Route, strconv.Itoa(r.Status)).Inc()
	m.duration.WithLabelValues(r.Route).Observe(r.Duration.Seconds())
	if r.Denied != "" {
		m.denied.WithLabelValues(r.Denied).Inc()
	}
}

// ServeHTTP serves the metrics of the registry.
func (m *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.serve.ServeHTTP(w, r)
}
