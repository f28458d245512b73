package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/vkvstore/vkv/wire"
)

// Access is the access a request needs on a key or a range of keys.
type Access uint8

// Access levels. Write includes Read.
const (
	// Read is needed to read a key or its history, and to list or watch a
	// range.
	Read Access = iota + 1
	// Write is needed to put or delete a key, alone or in a transaction.
	Write
)

// String returns "read" or "write".
func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "none"
}

// Covers reports whether access a includes want: write covers read.
func (a Access) Covers(want Access) bool { return a >= want }

// Need is one thing a request needs: Access on the key Key, or, when Prefix
// is set, on every key that starts with Key (the range a list or a watch
// covers; "" with Prefix is every key).
type Need struct {
	Access Access
	Key    string
	Prefix bool
}

// Principal is who sent a request, as an Authorizer identified it.
type Principal interface {
	// Name names the principal in problems, logs and the audit trail. It
	// must not be a secret.
	Name() string
}

// An Authorizer decides who sent a request and what they may do. The
// handler asks it for every request but GET /healthz and GET /metrics:
// first Authenticate, then Allow for each Need of the request. The handler
// works out the needs:
//
//   - GET/HEAD /v1/kv/{key}, GET /v1/history/{key}: Read on the key;
//   - PUT, DELETE /v1/kv/{key}: Write on the key;
//   - GET /v1/kv?prefix=P, GET /v1/watch?prefix=P: Read on the prefix P
//     (the whole range: Allow must say yes for the range, not for some
//     keys of it; the handler never filters an answer);
//   - POST /v1/txn: Read on every condition's key, Write on every op's
//     key; one no and nothing is written;
//   - GET /v1/backup: Read on the prefix "" (a backup holds every key);
//   - GET /v1/limits, GET /v1/whoami, GET /v1/openapi.yaml: no need
//     beyond a principal (GET /v1/whoami lists the principal's grants when
//     the Authorizer is a GrantLister).
//
// An Authorizer must be safe for concurrent use. Allow is called on every
// request, so it should be quick and not allocate.
type Authorizer interface {
	// Authenticate returns the principal r's credentials identify: a bearer
	// token, the verified client certificate of r.TLS, a header set by a
	// trusted gateway. An error wrapping ErrNoCredentials gives 401 with
	// WWW-Authenticate: Bearer; any other error is an unknown or invalid
	// credential, 401 with Bearer error="invalid_token". The error's text is
	// logged: it must not hold the credential.
	Authenticate(r *http.Request) (Principal, error)
	// Allow reports whether p, returned by Authenticate, has need.
	Allow(p Principal, need Need) bool
}

// ChangeNotifier is an optional interface of an Authorizer whose principals
// and grants change while it serves (a reloaded file). Changed returns a
// channel that is closed at the next change. Open watch streams re-check
// their principal when it is closed and end if the principal lost the
// grant; without it, a watch is only checked when it starts.
type ChangeNotifier interface {
	Changed() <-chan struct{}
}

// Errors of Authenticate.
var (
	// ErrNoCredentials is returned by Authenticate when the request carries
	// no credentials at all.
	ErrNoCredentials = errors.New("httpapi: no credentials")
	// ErrUnknownCredentials is returned by Authenticate when the request's
	// credentials match no principal.
	ErrUnknownCredentials = errors.New("httpapi: unknown credentials")
)

// Reasons a request was refused, in the audit log and the metrics
// (RequestRecord.Denied): wire's.
const (
	// DeniedNoCredentials: 401, the request carried no credentials.
	DeniedNoCredentials = wire.DeniedNoCredentials
	// DeniedUnknownCredentials: 401, credentials that match no principal.
	DeniedUnknownCredentials = wire.DeniedUnknownCredentials
	// DeniedNoGrant: 403, a known principal without the access needed.
	DeniedNoGrant = wire.DeniedNoGrant
)

// WithAuthorizer makes the handler ask a for every request but GET /healthz
// and GET /metrics (see Authorizer). It replaces WithToken. nil turns
// authentication off, the default.
func WithAuthorizer(a Authorizer) Option {
	return func(c *config) { c.authorizer = a }
}

// WithToken makes every request except GET /healthz and GET /metrics need
// the header "Authorization: Bearer <token>"; others get 401 unauthorized.
// The token is one principal, named "token", with Write on every key. It is
// compared in constant time. An empty token turns authentication off, the
// default. It replaces WithAuthorizer.
func WithToken(token string) Option {
	return func(c *config) {
		if token == "" {
			c.authorizer = nil
			return
		}
		c.authorizer = newTokenAuthorizer(token)
	}
}

// BearerToken returns the token of r's "Authorization: Bearer <token>"
// header (the scheme in any case, spaces around the token trimmed), and
// whether there is one.
func BearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// HasCredentials reports whether r carries any credentials: an
// Authorization header or a verified client certificate. An Authorizer
// uses it to tell ErrNoCredentials from ErrUnknownCredentials.
func HasCredentials(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || (r.TLS != nil && len(r.TLS.VerifiedChains) > 0)
}

// tokenPrincipal is the one principal of WithToken.
type tokenPrincipal struct{}

// Name returns "token".
func (tokenPrincipal) Name() string { return "token" }

// tokenAuthorizer is WithToken's Authorizer: one token, write on all.
type tokenAuthorizer struct {
	hash [sha256.Size]byte
}

func newTokenAuthorizer(token string) *tokenAuthorizer {
	return &tokenAuthorizer{hash: sha256.Sum256([]byte(token))}
}

// Authenticate checks r's bearer token: the token sent is hashed with
// SHA-256 and the digest compared with the server's in constant time, so
// that neither its content nor its length leaks through timing.
func (a *tokenAuthorizer) Authenticate(r *http.Request) (Principal, error) {
	tok, ok := BearerToken(r)
	if !ok {
		if r.Header.Get("Authorization") == "" {
			return nil, ErrNoCredentials
		}
		return nil, ErrUnknownCredentials
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], a.hash[:]) != 1 {
		return nil, ErrUnknownCredentials
	}
	return tokenPrincipal{}, nil
}

// Allow allows everything: the token has write on every key.
func (a *tokenAuthorizer) Allow(Principal, Need) bool { return true }

// principalKey is the context key of the request's principal.
type principalKey struct{}

// PrincipalFrom returns the principal of the request whose context is ctx,
// as the handler's Authorizer identified it; nil without an Authorizer.
// Handlers wrapped around this package's can use it for their own logs.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// principalName is the name of the request's principal for logs: "" when
// there is no Authorizer.
func principalName(ctx context.Context) string {
	if p := PrincipalFrom(ctx); p != nil {
		return p.Name()
	}
	return ""
}
