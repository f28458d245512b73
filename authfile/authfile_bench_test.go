package authfile_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
)

// BenchmarkAuthorize is the check the handler makes for a request, with
// 1,000 principals of 10 grants each: Authenticate (hash the bearer token,
// look it up, compare in constant time) and Allow (the grants), for the
// last principal of the file and a key under its last grant.
func BenchmarkAuthorize(b *testing.B) {
	var entries []string
	for i := range 1000 {
		var grants []string
		for j := range 10 {
			grants = append(grants, fmt.Sprintf(`{"prefix": "team%d/app%d/", "access": "write"}`, i, j))
		}
		entries = append(entries, fmt.Sprintf(`{"name": "p%d", "tokenSHA256": "%s", "grants": [%s]}`,
			i, authfile.HashToken(fmt.Sprintf("token-%04d-0123456789abcdef0123456789abcdef", i)), strings.Join(grants, ",")))
	}
	c, err := authfile.Parse([]byte(`{"principals": [` + strings.Join(entries, ",") + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	a := authfile.New(c)
	r := httptest.NewRequest("GET", "/v1/kv/team999/app9/x", nil)
	r.Header.Set("Authorization", "Bearer token-0999-0123456789abcdef0123456789abcdef")
	need := httpapi.Need{Access: httpapi.Write, Key: "team999/app9/x"}
	b.ReportAllocs()
	for b.Loop() {
		p, err := a.Authenticate(r)
		if err != nil || !a.Allow(p, need) {
			b.Fatal("refused")
		}
	}
}
