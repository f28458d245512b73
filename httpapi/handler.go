package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// Route prefixes whose rest is a key.
const (
	kvPrefix      = "/v1/kv/"
	historyPrefix = "/v1/history/"
)

// versioner is the optional interface a KV offers to tell its newest version
// (the embedded *vkv.Store does). /healthz reports it in Vkv-Store-Version.
type versioner interface {
	CurrentVersion(ctx context.Context) (vkv.Version, error)
}

// handler serves the routes of the contract.
type handler struct {
	kv      vkv.KV
	cfg     config
	limits  vkv.Limits // what the handler accepts: cfg.limitsFor(kv)
	mux     *routeMux  // records the patterns registered
	watches streams    // watch streams, ended when their server shuts down
}

// New returns an http.Handler serving kv as the vkv HTTP contract (v1)
// describes. The handler is safe for concurrent use; it does not close kv.
func New(kv vkv.KV, opts ...Option) http.Handler {
	h := &handler{kv: kv, cfg: defaultConfig(), mux: newRouteMux()}
	for _, o := range opts {
		if o != nil {
			o(&h.cfg)
		}
	}
	h.limits = h.cfg.limitsFor(kv)
	h.mux.HandleFunc("GET /v1/kv/{key...}", h.get)
	h.mux.HandleFunc("PUT /v1/kv/{key...}", h.put)
	h.mux.HandleFunc("DELETE /v1/kv/{key...}", h.delete)
	h.mux.HandleFunc("GET /v1/kv", h.list)
	h.mux.HandleFunc("POST /v1/txn", h.txn)
	h.mux.HandleFunc("GET /v1/history/{key...}", h.history)
	h.mux.HandleFunc("GET /v1/watch", h.watch)
	h.mux.HandleFunc("GET /v1/backup", h.backup)
	h.mux.HandleFunc("GET /v1/limits", h.serveLimits)
	h.mux.HandleFunc("GET /v1/whoami", h.whoami)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /v1/openapi.yaml", h.openapi)
	if h.cfg.metrics != nil {
		h.mux.Handle("GET /metrics", h.cfg.metrics)
	}
	return h
}

// Context keys.
type (
	requestIDKey struct{}
	origPathKey  struct{}
)

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ServeHTTP assigns a request id, logs the request, checks the token and
// dispatches to the routes; unknown paths and methods get problems.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := r.URL.EscapedPath()
	id := r.Header.Get(wire.HeaderRequestID)
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(wire.HeaderRequestID, id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	ctx = context.WithValue(ctx, origPathKey{}, path)
	var authErr error
	if h.cfg.authorizer != nil && !h.public(r) {
		var p Principal
		if p, authErr = h.cfg.authorizer.Authenticate(r); authErr == nil && p == nil {
			authErr = ErrUnknownCredentials
		}
		if authErr == nil {
			ctx = context.WithValue(ctx, principalKey{}, p)
		}
	}
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	if h.cfg.metrics != nil {
		defer func() { h.observe(r, sw, start) }() // after the log, panics included
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.logger.LogAttrs(ctx, slog.LevelError, "panic", slog.String("request_id", id),
				slog.String("panic", fmt.Sprint(v)))
			if sw.status == 0 {
				h.writeError(sw, r, fmt.Errorf("panic: %v", v), errInfo{})
			}
		}
		h.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", path), slog.Int("status", sw.code()),
			slog.Int64("bytes", sw.bytes), slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr))
	}()
	if authErr != nil {
		h.unauthorized(sw, r, authErr)
		return
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// URL.Query drops the pairs it cannot decode: a condition such as
		// version=%zz or version=3;x would silently become no condition.
		h.writeError(sw, r, badRequest(wire.ProblemInvalidRequest,
			"the query string does not parse: bad percent-encoding or a ';' separator"), errInfo{})
		return
	}
	if r.URL.Path == "/v1/kv" && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The mux would redirect to /v1/kv/, the route of the empty key.
		const allow = "GET, HEAD"
		sw.Header().Set("Allow", allow)
		h.writeError(sw, r, &requestError{status: http.StatusMethodNotAllowed, name: wire.ProblemMethodNotAllowed,
			detail: fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow)}, errInfo{})
		return
	}
	// r is the handler's own copy since WithContext: its URL can be
	// replaced without a second copy of the request.
	keyRoute := canonicalKeyPath(r)
	if !keyRoute || !routedKeyMethod(r) {
		// The mux tells a match from a 404 or 405 only by matching once
		// more; a key route with one of its methods always matches.
		if _, pattern := h.mux.Handler(r); pattern == "" {
			h.unmatched(sw, r)
			return
		}
	}
	h.mux.ServeHTTP(sw, r)
}

// routedKeyMethod reports whether a request on a key route (after
// canonicalKeyPath) has a method the route serves, as allowed lists them.
// Such a request always matches a route, since {key...} matches any
// escaped key, the empty one included (TestRoutedKeyMethod checks it
// against the mux).
func routedKeyMethod(r *http.Request) bool {
	for m := range strings.SplitSeq(allowed(r.URL.Path), ", ") {
		if m == r.Method {
			return true
		}
	}
	return false
}

// canonicalKeyPath rewrites the path of a request under /v1/kv/ or
// /v1/history/ so that the key's slashes are escaped: the mux then neither
// cleans nor redirects it, and {key...} is the key exactly as sent. It
// gives r a URL of its own (r must be the caller's copy of the request,
// its URL maybe shared with the original) and reports whether the path was
// a key route's.
func canonicalKeyPath(r *http.Request) bool {
	var prefix string
	switch {
	case strings.HasPrefix(r.URL.Path, kvPrefix):
		prefix = kvPrefix
	case strings.HasPrefix(r.URL.Path, historyPrefix):
		prefix = historyPrefix
	default:
		return false
	}
	key := r.URL.Path[len(prefix):]
	u := *r.URL
	u.Path = prefix + key
	u.RawPath = prefix + wire.EscapeKey(key)
	r.URL = &u
	return true
}

// unmatched answers a request no route matched: 405 with Allow when the path
// exists under another method, else 404; both as problems.
func (h *handler) unmatched(w http.ResponseWriter, r *http.Request) {
	fallback, _ := h.mux.Handler(r)
	rec := &headerRecorder{header: http.Header{}}
	fallback.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		allow := allowed(r.URL.Path)
		if allow == "" {
			allow = rec.header.Get("Allow")
		}
		w.Header().Set("Allow", allow)
		h.writeError(w, r, &requestError{status: http.StatusMethodNotAllowed, name: wire.ProblemMethodNotAllowed,
			detail: fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow)}, errInfo{})
	case http.StatusNotFound, 0:
		h.writeError(w, r, &requestError{status: http.StatusNotFound, name: wire.ProblemNotFound,
			detail: "no route matches this path"}, errInfo{})
	default:
		fallback.ServeHTTP(w, r)
	}
}

// allowed returns the methods of the route at path, for Allow. The mux's
// own Allow for /v1/kv also lists the methods of /v1/kv/{key...}, to which it
// would redirect, so the routes are spelled out here.
func allowed(path string) string {
	switch {
	case path == "/v1/kv", path == "/healthz", strings.HasPrefix(path, historyPrefix):
		return "GET, HEAD"
	case strings.HasPrefix(path, kvPrefix):
		return "DELETE, GET, HEAD, PUT"
	case path == "/v1/txn":
		return "POST"
	}
	return ""
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts client ids of up to 64 printable ASCII characters.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// statusWriter records the status and size of a response, for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	denied string // why the request was refused (401, 403): a Denied... reason
}

// WriteHeader records the first status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes written.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// headerRecorder catches what the mux's own 404 and 405 handlers write.
type headerRecorder struct {
	header http.Header
	status int
}

// Header returns the recorded header.
func (r *headerRecorder) Header() http.Header { return r.header }

// WriteHeader records the first status.
func (r *headerRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Write discards b.
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
