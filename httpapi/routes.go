package httpapi

import (
	"net/http"
	"strconv"

	"github.com/vkvstore/vkv/docs"
)

// routeMux is the handler's http.ServeMux, which also records the pattern of
// every route registered on it: the list of routes the handler serves has a
// single source, the registrations in New. The OpenAPI test checks that
// docs/openapi.yaml documents each of them.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux {
	return &routeMux{ServeMux: http.NewServeMux()}
}

// HandleFunc registers f for pattern and records pattern.
func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Handle registers h for pattern and records pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// Patterns returns the ServeMux patterns of the routes h serves, in the
// order they were registered ("GET /v1/kv/{key...}", ...), or nil if h was
// not returned by New. A GET route also answers HEAD.
func Patterns(h http.Handler) []string {
	hh, ok := h.(*handler)
	if !ok {
		return nil
	}
	return append([]string(nil), hh.mux.patterns...)
}

// public reports whether r is for a route that needs no token: GET /healthz
// and, when WithMetrics is set, GET /metrics.
func (h *handler) public(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz":
		return true
	case "/metrics":
		return h.cfg.metrics != nil
	}
	return false
}

// OpenAPIContentType is the media type of GET /v1/openapi.yaml (RFC 9512).
const OpenAPIContentType = "application/yaml"

// openapi serves GET /v1/openapi.yaml: docs/openapi.yaml, embedded in the
// binary by package docs.
func (h *handler) openapi(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", OpenAPIContentType)
	hd.Set("Content-Length", strconv.Itoa(len(docs.OpenAPI)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte(docs.OpenAPI))
	}
}
