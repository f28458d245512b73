package httpapi

import (
	"net/http"
	"time"

	"github.com/vkvstore/vkv/wire"
)

// Metrics is what WithMetrics takes: a sink for a record of every request
// the handler serves, and the handler of GET /metrics. Package
// github.com/vkvstore/vkv/metrics implements it with Prometheus; httpapi
// itself depends on no metrics library.
type Metrics interface {
	// ServeHTTP serves GET /metrics.
	http.Handler
	// ObserveRequest is called once for every request, when its response
	// is complete (for a watch stream or a backup: when it ends). It must be
	// safe for concurrent use and quick.
	ObserveRequest(RequestRecord)
}

// RequestRecord describes one request the handler served, for metrics; see
// wire.RequestRecord. The alias keeps the name docs/operations.md gives the
// argument of Metrics.ObserveRequest.
type RequestRecord = wire.RequestRecord

// WithMetrics makes the handler report every request to m and serve GET
// /metrics with m, without authentication (like /healthz): scrapers often
// cannot send a token, and the metrics carry no keys or values, only route
// patterns, status codes, counts and sizes. nil turns metrics off, the
// default; then /metrics is not a route.
func WithMetrics(m Metrics) Option {
	return func(c *config) { c.metrics = m }
}

// observe reports the request r, answered through sw, to the metrics.
func (h *handler) observe(r *http.Request, sw *statusWriter, start time.Time) {
	h.cfg.metrics.ObserveRequest(wire.RequestRecord{Route: h.routeOf(r), Status: sw.code(), Duration: time.Since(start), Denied: sw.denied})
}
