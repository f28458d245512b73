package wire

import "time"

// RouteUnmatched is the Route of a RequestRecord for a request that matched
// no route (404 or 405).
const RouteUnmatched = "unmatched"

// RequestRecord describes one request a server answered, for metrics: what
// httpapi reports to its Metrics (httpapi.WithMetrics) and package metrics
// counts. It holds no key, value or other part of the request's path or
// body, so that metrics built from it cannot leak data.
type RequestRecord struct {
	// Route is the ServeMux pattern of the route that served the request,
	// as the handler registered it ("GET /v1/kv/{key...}"; a HEAD request
	// counts for its GET route), or RouteUnmatched. A request refused before
	// it reached its route (401 without the token, a query string that does
	// not parse) has the route its path and method would have reached.
	Route string
	// Status is the HTTP status of the response.
	Status int
	// Duration is the time from the request's arrival at the handler to the
	// end of its response.
	Duration time.Duration
	// Denied is why the request was refused, for a 401 or 403: one of
	// DeniedNoCredentials, DeniedUnknownCredentials, DeniedNoGrant; "" for
	// a request that was not refused. It never holds a credential.
	Denied string
}

// Reasons of RequestRecord.Denied.
const (
	// DeniedNoCredentials: 401, the request carried no credentials.
	DeniedNoCredentials = "no-credentials"
	// DeniedUnknownCredentials: 401, credentials that match no principal.
	DeniedUnknownCredentials = "unknown-credentials"
	// DeniedNoGrant: 403, a known principal without the access needed.
	DeniedNoGrant = "no-grant"
)
