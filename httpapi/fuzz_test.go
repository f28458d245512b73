package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

// FuzzHandler sends arbitrary requests and checks that the handler never
// panics or answers 500, and that every error is a problem.
func FuzzHandler(f *testing.F) {
	f.Add("PUT", "/v1/kv/a", "version=0", `"1"`, "", "x")
	f.Add("GET", "/v1/kv/a", "version=1", "", `W/"1"`, "")
	f.Add("DELETE", "/v1/kv/a%2Fb", "", "*", "*", "")
	f.Add("POST", "/v1/txn", "", "", "", `{"conditions":[{"key":"a","version":0}],"ops":[{"op":"put","key":"a","value":"eA==","ttl":"1s"}]}`)
	f.Add("GET", "/v1/kv", "prefix=a&after=b&limit=3", "", "", "")
	f.Add("GET", "/v1/history/a", "limit=x", "", "", "")
	f.Add("PUT", "/v1/kv/..", "ttl=-5", `"01"`, `"x"`, "")
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	h := httpapi.New(s, httpapi.WithMaxKeySize(64), httpapi.WithMaxTxnOps(8))
	f.Fuzz(func(t *testing.T, method, path, query, ifMatch, ifNoneMatch, body string) {
		switch method {
		case "GET", "HEAD", "PUT", "DELETE", "POST", "PATCH":
		default:
			return
		}
		u, err := url.Parse("http://vkv.test" + path)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		u.RawQuery = query
		r := httptest.NewRequest(method, "http://vkv.test/", strings.NewReader(body))
		r.URL, r.RequestURI = u, u.RequestURI()
		if ifMatch != "" {
			r.Header.Set("If-Match", ifMatch)
		}
		if ifNoneMatch != "" {
			r.Header.Set("If-None-Match", ifNoneMatch)
		}
		if method == "POST" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s?%s: %d with Content-Type %q", method, path, query, w.Code, w.Header().Get("Content-Type"))
		}
		if w.Code == http.StatusOK && method == "GET" && strings.HasPrefix(u.Path, "/v1/kv/") && w.Header().Get("ETag") == "" {
			t.Fatalf("GET %s: 200 without ETag", path)
		}
	})
}
