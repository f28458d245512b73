package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRoutedKeyMethod: every request that ServeHTTP lets skip the mux's
// first match (a key route with one of its methods) does match a route,
// and the requests it does not let skip are the ones that may not.
func TestRoutedKeyMethod(t *testing.T) {
	h := New(nil).(*handler)
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPost,
		http.MethodPatch, http.MethodOptions, "BREW"}
	paths := []string{"/v1/kv/", "/v1/kv/a", "/v1/kv/a/b", "/v1/kv/..", "/v1/kv/a/../b", "/v1/kv/%2F..%2F",
		"/v1/kv/a%00b", "/v1/kv//", "/v1/kv/.", "/v1/history/", "/v1/history/x/y", "/v1/history/..", "/v1/kv",
		"/v1/txn", "/v1/historyx", "/v1/kvx/a"}
	skipped := 0
	for _, m := range methods {
		for _, p := range paths {
			r := httptest.NewRequest(m, p, nil)
			keyRoute := canonicalKeyPath(r)
			_, pattern := h.mux.Handler(r)
			skip := keyRoute && routedKeyMethod(r)
			if skip {
				skipped++
			}
			if skip && pattern == "" {
				t.Errorf("%s %s skips the mux's check but matches no route", m, p)
			}
			if keyRoute && !skip && pattern != "" {
				t.Errorf("%s %s matches %q but does not skip the check", m, p, pattern)
			}
		}
	}
	if skipped == 0 {
		t.Fatal("no request skipped the check: the test checks nothing")
	}
}
