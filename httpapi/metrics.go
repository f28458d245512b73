package httpapi

import (
	"net/http"
	"time"
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

// RouteUnmatched is the Route of a RequestRecord for a request that matched
// no route (404 or 405).
const RouteUnmatched = "unmatched"

// RequestRecord describes one request the handler served, for metrics. It
// holds no key, value or other part of the request's path or body, so that
// metrics built from it cannot leak data.
type RequestRecord struct {
	// Route is the ServeMux pattern of the route that served the request,
	// as New registered it ("GET /v1/kv/{key...}"; a HEAD request counts for
	// its GET route), or RouteUnmatched. A request refused before it reached
	// its route (401 without the token, a query string that does not parse)
	// has the route its path and method would have reached.
	Route string
	// Status is the HTTP status of the response.
	Status int
	// Duration is the time from the request's arrival at the handler to the
	// end of its response.
	Duration time.Duration
}

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
	route := r.Pattern
	if route == "" {
		// Refused before the mux ran, or unmatched.
		_, route = h.mux.Handler(canonicalKeyPath(r))
		if route == "" {
			route = RouteUnmatched
		}
	}
	h.cfg.metrics.ObserveRequest(RequestRecord{Route: route, Status: sw.code(), Duration: time.Since(start)})
}
