package authfile_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// TestWhoami asks GET /v1/whoami as every principal of the table's auth
// file (by token and by certificate) and checks the grants against the
// file, written out by hand; that no answer holds a token, a tokenSHA256 or
// a certificate's name beyond the principal's; and that a reload shows at
// the next request.
func TestWhoami(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := authfile.Parse([]byte(tableFile))
	if err != nil {
		t.Fatal(err)
	}
	a := authfile.New(c)
	h := httpapi.New(s, httpapi.WithAuthorizer(a))
	r, w := wire.GrantRead, wire.GrantWrite
	want := map[string][]wire.Grant{
		"deployer":    {{Prefix: "app/", Access: w}},
		"dashboards":  {{Prefix: "app/", Access: r}, {Prefix: "flags/", Access: r}},
		"svc-billing": {{Prefix: "billing/", Access: w}},
		"ops":         {{Prefix: "", Access: w}},
		"nobody":      {},
	}
	var secrets []string
	for _, tok := range []string{"tok-deployer", "tok-dashboards", "tok-ops", "tok-nobody"} {
		secrets = append(secrets, tok, authfile.HashToken(tok))
	}
	ask := func(cr cred) (int, string) {
		req := httptest.NewRequest("GET", "/v1/whoami", nil)
		if cr.token != "" {
			req.Header.Set("Authorization", "Bearer "+cr.token)
		}
		if cr.cn != "" {
			req.TLS = verifiedCert(cr.cn)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for who, gs := range want {
		code, body := ask(creds[who])
		if code != 200 {
			t.Errorf("GET /v1/whoami as %s: %d, want 200\n%s", who, code, body)
			continue
		}
		for _, sec := range append(secrets, "tokenSHA256", "certCN") {
			if strings.Contains(body, sec) {
				t.Errorf("GET /v1/whoami as %s: the answer holds %q:\n%s", who, sec, body)
			}
		}
		var got wire.Whoami
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("GET /v1/whoami as %s: %v\n%s", who, err, body)
		}
		if diff := cmp.Diff(wire.Whoami{Authentication: true, Principal: who, GrantsKnown: true, Grants: gs}, got); diff != "" {
			t.Errorf("GET /v1/whoami as %s (-want +got):\n%s", who, diff)
		}
	}
	if code, body := ask(cred{token: "tok-unknown"}); code != 401 {
		t.Errorf("GET /v1/whoami with an unknown token: %d, want 401\n%s", code, body)
	}

	// A reload: the next request sees the new grants.
	c2, err := authfile.Parse([]byte(`{"principals": [{"name": "deployer", "tokenSHA256": "` + authfile.HashToken("tok-deployer") +
		`", "grants": [{"prefix": "app/", "access": "read"}, {"prefix": "new/", "access": "write"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a.Set(c2)
	_, body := ask(creds["deployer"])
	var got wire.Whoami
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /v1/whoami after a reload: %v\n%s", err, body)
	}
	if diff := cmp.Diff([]wire.Grant{{Prefix: "app/", Access: r}, {Prefix: "new/", Access: w}}, got.Grants); diff != "" {
		t.Errorf("GET /v1/whoami after a reload (-want +got):\n%s", diff)
	}
}
