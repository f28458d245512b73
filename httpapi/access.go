package httpapi

// How the handler enforces its Authorizer: 401 and 403 problems, the
// checks of each route's needs, and the audit records.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// unauthorized answers a request whose credentials Authenticate refused:
// 401 with WWW-Authenticate, an audit record and the reason for the metrics.
func (h *handler) unauthorized(w *statusWriter, r *http.Request, err error) {
	reason := DeniedUnknownCredentials
	detail := "the credentials sent are not known to this server: check the token (Authorization: Bearer <token>) or the client certificate"
	if errors.Is(err, ErrNoCredentials) {
		reason = DeniedNoCredentials
		detail = "this request carries no credentials: send the header Authorization: Bearer <token> with the server's token, or a client certificate it knows"
		w.Header().Set("WWW-Authenticate", "Bearer")
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.denied = reason
	h.auditDenied(r, "", reason, err.Error())
	h.writeError(w, r, &requestError{status: http.StatusUnauthorized, name: wire.ProblemUnauthorized, detail: detail}, errInfo{})
}

// allow reports whether the request's principal has need; if not, it
// answers 403 forbidden. Without an Authorizer everything is allowed.
func (h *handler) allow(w http.ResponseWriter, r *http.Request, need Need) bool {
	a := h.cfg.authorizer
	if a == nil {
		return true
	}
	p := PrincipalFrom(r.Context())
	if p != nil && a.Allow(p, need) {
		return true
	}
	h.forbidden(w, r, p, need)
	return false
}

// forbiddenProblem is the 403 problem for principal p lacking need.
func forbiddenProblem(p Principal, need Need) *wire.Problem {
	name := "?"
	if p != nil {
		name = p.Name()
	}
	pr := &wire.Problem{Type: wire.ProblemTypeBase + wire.ProblemForbidden, Title: titles[wire.ProblemForbidden],
		Status: http.StatusForbidden, Principal: name, Access: need.Access.String()}
	key := need.Key
	if need.Prefix {
		pr.Prefix, pr.PrefixBase64 = &key, wire.KeyBytes(key)
		if key == "" {
			pr.Detail = fmt.Sprintf("principal %q lacks %s access to every key (prefix \"\")", name, need.Access)
		} else {
			pr.Detail = fmt.Sprintf("principal %q lacks %s access to every key under the prefix %q", name, need.Access, key)
		}
	} else {
		pr.Key, pr.KeyBase64 = &key, wire.KeyBytes(key)
		pr.Detail = fmt.Sprintf("principal %q lacks %s access to the key %q", name, need.Access, key)
	}
	return pr
}

// forbidden answers 403 for principal p lacking need.
func (h *handler) forbidden(w http.ResponseWriter, r *http.Request, p Principal, need Need) {
	if sw, ok := w.(*statusWriter); ok {
		sw.denied = DeniedNoGrant
	}
	pr := forbiddenProblem(p, need)
	h.auditDenied(r, pr.Principal, DeniedNoGrant, pr.Detail)
	writeProblem(w, r, pr)
}

// recheck authenticates r again and checks need, for a watch stream: at
// its start, once it holds the channel of the Authorizer's next change, and
// after each change. It returns nil when the principal has need, else the
// problem (401 or 403) and the reason.
func (h *handler) recheck(r *http.Request, need Need) (*wire.Problem, string) {
	a := h.cfg.authorizer
	if a == nil {
		return nil, ""
	}
	p, err := a.Authenticate(r)
	if err != nil || p == nil {
		reason := DeniedUnknownCredentials
		if errors.Is(err, ErrNoCredentials) {
			reason = DeniedNoCredentials
		}
		h.auditDenied(r, principalName(r.Context()), reason, "the credentials are no longer known")
		return &wire.Problem{Type: wire.ProblemTypeBase + wire.ProblemUnauthorized, Title: titles[wire.ProblemUnauthorized],
			Status: http.StatusUnauthorized, Detail: "the server no longer knows this request's credentials"}, reason
	}
	if a.Allow(p, need) {
		return nil, ""
	}
	pr := forbiddenProblem(p, need)
	h.auditDenied(r, pr.Principal, DeniedNoGrant, pr.Detail)
	return pr, DeniedNoGrant
}

// changes returns the channel closed at the Authorizer's next change, or
// nil (never closed).
func (h *handler) changes() <-chan struct{} {
	if cn, ok := h.cfg.authorizer.(ChangeNotifier); ok {
		return cn.Changed()
	}
	return nil
}

// auditDenied logs the audit record of a refused request (401 or 403). It
// never logs a credential.
func (h *handler) auditDenied(r *http.Request, principal, reason, detail string) {
	h.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "audit: denied",
		slog.String("request_id", requestID(r.Context())),
		slog.String("principal", principal),
		slog.String("remote", r.RemoteAddr),
		slog.String("method", r.Method),
		slog.String("route", h.routeOf(r)),
		slog.String("path", instance(r)),
		slog.String("reason", reason),
		slog.String("detail", detail))
}

// auditWrite logs the audit record of a write that committed: who, from
// where, which keys, at which version.
func (h *handler) auditWrite(ctx context.Context, r *http.Request, keys []string, v vkv.Version) {
	h.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "audit: write",
		slog.String("request_id", requestID(ctx)),
		slog.String("principal", principalName(ctx)),
		slog.String("remote", r.RemoteAddr),
		slog.String("method", r.Method),
		slog.Any("keys", keys),
		slog.Uint64("version", uint64(v)))
}

// routeOf returns the route pattern of r ("GET /v1/kv/{key...}"), also
// before the mux ran, or "unmatched".
func (h *handler) routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	r2 := *r // canonicalKeyPath changes the request it gets
	canonicalKeyPath(&r2)
	if _, route := h.mux.Handler(&r2); route != "" {
		return route
	}
	return wire.RouteUnmatched
}
