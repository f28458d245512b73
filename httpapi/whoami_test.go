package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// listingGateway is the gateway Authorizer of authz_test.go that also lists
// its grants (httpapi.GrantLister).
type listingGateway struct{ *gatewayAuthorizer }

func (g listingGateway) Grants(p httpapi.Principal) ([]httpapi.Grant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []httpapi.Grant
	for _, gr := range g.grants[p.Name()] {
		out = append(out, httpapi.Grant{Prefix: gr.prefix, Access: gr.access})
	}
	return out, true
}

// TestWhoami checks GET /v1/whoami for each kind of Authorizer: none
// (everything allowed), WithToken's (write on ""), one that lists grants
// (a prefix that is not UTF-8 in prefixBase64, a grant of no access left
// out) and one that cannot (grantsKnown false); and that the answer never
// holds the token or its hash.
func TestWhoami(t *testing.T) {
	const token = "s3cret-token-value"
	sum := sha256.Sum256([]byte(token))
	gw := map[string][]grant{
		"alice": {{"app/", httpapi.Read}, {"app/w/", httpapi.Write}, {"bin/\xff", httpapi.Read}, {"none/", 0}},
		"bob":   {},
	}
	for _, tc := range []struct {
		name   string
		opt    httpapi.Option
		header []string
		status int
		want   wire.Whoami
		reason string
	}{
		{name: "auth off", status: 200,
			want:   wire.Whoami{GrantsKnown: true, Grants: []wire.Grant{{Prefix: "", Access: "write"}}},
			reason: "without authentication everything is allowed"},
		{name: "token", opt: httpapi.WithToken(token), header: []string{"Authorization", "Bearer " + token}, status: 200,
			want:   wire.Whoami{Authentication: true, Principal: "token", GrantsKnown: true, Grants: []wire.Grant{{Prefix: "", Access: "write"}}},
			reason: "WithToken's principal has write on every key"},
		{name: "no token", opt: httpapi.WithToken(token), status: 401, reason: "a principal is needed"},
		{name: "wrong token", opt: httpapi.WithToken(token), header: []string{"Authorization", "Bearer " + token + "x"}, status: 401,
			reason: "an unknown token is refused"},
		{name: "lister", opt: httpapi.WithAuthorizer(listingGateway{newGateway(gw)}), header: []string{"X-Gateway-User", "alice"}, status: 200,
			want: wire.Whoami{Authentication: true, Principal: "alice", GrantsKnown: true, Grants: []wire.Grant{
				{Prefix: "app/", Access: "read"}, {Prefix: "app/w/", Access: "write"},
				{Prefix: "bin/\ufffd", PrefixBase64: []byte("bin/\xff"), Access: "read"}}},
			reason: "the grants as listed; a prefix not UTF-8 in prefixBase64; a grant of no access left out"},
		{name: "lister, no grants", opt: httpapi.WithAuthorizer(listingGateway{newGateway(gw)}), header: []string{"X-Gateway-User", "bob"}, status: 200,
			want:   wire.Whoami{Authentication: true, Principal: "bob", GrantsKnown: true, Grants: []wire.Grant{}},
			reason: "a principal without grants may still ask"},
		{name: "not a lister", opt: httpapi.WithAuthorizer(newGateway(gw)), header: []string{"X-Gateway-User", "alice"}, status: 200,
			want:   wire.Whoami{Authentication: true, Principal: "alice", Grants: []wire.Grant{}},
			reason: "an Authorizer that cannot list grants: grantsKnown false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := httpapi.New(openMem(t), tc.opt)
			resp := send(h, get("/v1/whoami", tc.header...))
			if resp.Code != tc.status {
				t.Fatalf("GET /v1/whoami: status %d, want %d (%s)\n%s", resp.Code, tc.status, tc.reason, resp.Body)
			}
			body := resp.Body.String()
			for _, secret := range []string{token, hex.EncodeToString(sum[:]), strings.ToUpper(hex.EncodeToString(sum[:]))} {
				if strings.Contains(body, secret) || strings.Contains(resp.Header().Get("WWW-Authenticate"), secret) {
					t.Errorf("GET /v1/whoami: the answer holds a credential %q:\n%s", secret, body)
				}
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct, cc := resp.Header().Get("Content-Type"), resp.Header().Get("Cache-Control"); ct != ctJSON || cc != "no-store" {
				t.Errorf("GET /v1/whoami: Content-Type %q, Cache-Control %q; want %q, no-store", ct, cc, ctJSON)
			}
			var got wire.Whoami
			dec := json.NewDecoder(strings.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("GET /v1/whoami: %v\n%s", err, body)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GET /v1/whoami (%s) (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
