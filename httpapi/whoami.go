package httpapi

import (
	"net/http"

	"github.com/vkvstore/vkv/wire"
)

// Grant is Access on every key that starts with Prefix, byte for byte ("" is
// every key), and on the listings and watches of every prefix that starts
// with Prefix.
type Grant struct {
	Prefix string
	Access Access
}

// GrantLister is an optional interface of an Authorizer that can tell what
// a principal may do, for GET /v1/whoami (the web console shows what a
// principal may not do before it tries). Grants returns p's grants, and
// true, when Allow(p, need) is true exactly when one of them covers need:
// its Access covers need.Access and its Prefix is a prefix of need.Key. It
// returns false when it cannot say (then clients learn from 403s). The
// result is the caller's; Grants must be safe for concurrent use.
type GrantLister interface {
	Grants(p Principal) ([]Grant, bool)
}

// Grants returns write on "": WithToken's principal may do everything.
func (a *tokenAuthorizer) Grants(Principal) ([]Grant, bool) {
	return []Grant{{Prefix: "", Access: Write}}, true
}

var _ GrantLister = (*tokenAuthorizer)(nil)

// whoami serves GET /v1/whoami: the request's principal and its grants, as
// a wire.Whoami; without an Authorizer, that authentication is off (write
// on every key). The answer names the principal and its prefixes, never a
// credential. Like /v1/limits it needs a principal and no grant: every
// principal may ask what it may do.
func (h *handler) whoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store") // the answer is the caller's, and changes at a reload
	a := h.cfg.authorizer
	if a == nil {
		writeJSON(w, http.StatusOK, wire.Whoami{GrantsKnown: true,
			Grants: []wire.Grant{{Prefix: "", Access: wire.GrantWrite}}})
		return
	}
	p := PrincipalFrom(r.Context())
	body := wire.Whoami{Authentication: true, Principal: p.Name(), Grants: []wire.Grant{}}
	if gl, ok := a.(GrantLister); ok {
		gs, known := gl.Grants(p)
		if known {
			body.GrantsKnown = true
			for _, g := range gs {
				if g.Access != Read && g.Access != Write {
					continue // grants nothing
				}
				body.Grants = append(body.Grants, wire.Grant{Prefix: g.Prefix, PrefixBase64: wire.KeyBytes(g.Prefix), Access: g.Access.String()})
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}
