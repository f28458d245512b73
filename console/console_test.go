package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vkvstore/vkv/console"
)

// TestHandlerRoutes checks what each address answers, without a browser.
func TestHandlerRoutes(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		io.WriteString(w, "api "+r.Method+" "+r.URL.EscapedPath())
	})
	h := console.Mount(api)
	type answer struct {
		Status      int
		ContentType string
		Location    string
		FromAPI     bool
		CSP         bool
	}
	page := answer{Status: 200, ContentType: "text/html; charset=utf-8", CSP: true}
	tests := []struct {
		method, path string
		want         answer
		reason       string
	}{
		{"GET", "/", answer{Status: 302, Location: "/ui/", CSP: true}, "the root redirects to the console"},
		{"HEAD", "/", answer{Status: 302, Location: "/ui/", CSP: true}, "HEAD as GET"},
		{"GET", "/ui", answer{Status: 302, Location: "/ui/", CSP: true}, "the console without its slash"},
		{"POST", "/", answer{Status: 200, FromAPI: true}, "only GET and HEAD of / are the console's"},
		{"GET", "/ui/", page, "the listing"},
		{"GET", "/ui/?prefix=app/", page, "a listing of a prefix"},
		{"GET", "/ui/kv/app%2Fconfig", page, "a key page"},
		{"GET", "/ui/kv/a/b/c", page, "a key page with plain slashes"},
		{"GET", "/ui/kv/app?version=3", page, "an old version"},
		{"GET", "/ui/new?prefix=app/", page, "the new-key page"},
		{"GET", "/ui/kv/", answer{Status: 404, ContentType: "text/plain; charset=utf-8", CSP: true}, "a key page needs a key"},
		{"GET", "/ui/other", answer{Status: 404, ContentType: "text/plain; charset=utf-8", CSP: true}, "no such page"},
		{"GET", "/ui/assets/app.js", answer{Status: 200, ContentType: "text/javascript; charset=utf-8", CSP: true}, "a module"},
		{"GET", "/ui/assets/console.css", answer{Status: 200, ContentType: "text/css; charset=utf-8", CSP: true}, "the style sheet"},
		{"GET", "/ui/assets/vendor/jsdiff/LICENSE", answer{Status: 200, ContentType: "text/plain; charset=utf-8", CSP: true}, "the vendored library's license is served with it"},
		{"GET", "/ui/assets/nope.js", answer{Status: 404, ContentType: "text/plain; charset=utf-8", CSP: true}, "no such asset"},
		{"GET", "/ui/assets/index.html", answer{Status: 404, ContentType: "text/plain; charset=utf-8", CSP: true}, "the page only at its addresses"},
		{"POST", "/ui/", answer{Status: 405, ContentType: "text/plain; charset=utf-8", CSP: true}, "the console only reads"},
		{"GET", "/v1/kv/a//b", answer{Status: 200, FromAPI: true}, "the API gets its paths uncleaned"},
		{"GET", "/v1/kv/%2E%2E", answer{Status: 200, FromAPI: true}, "escaped dots reach the API"},
		{"GET", "/healthz", answer{Status: 200, FromAPI: true}, "everything else is the API's"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		hd := rec.Result().Header
		got := answer{Status: rec.Code, ContentType: hd.Get("Content-Type"), Location: hd.Get("Location"),
			FromAPI: hd.Get("X-From") == "api", CSP: hd.Get("Content-Security-Policy") == console.ContentSecurityPolicy}
		if got.FromAPI || got.Status == 302 {
			got.ContentType = ""
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %s (%s): (-want +got)\n%s", tt.method, tt.path, tt.reason, diff)
		}
		if got.CSP && hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options = %q; want nosniff", tt.method, tt.path, hd.Get("X-Content-Type-Options"))
		}
	}
}

// TestContentSecurityPolicy checks the policy's directives that the issue
// fixes: same-origin scripts and connections only, no framing.
func TestContentSecurityPolicy(t *testing.T) {
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(console.ContentSecurityPolicy, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", console.ContentSecurityPolicy, d)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(console.ContentSecurityPolicy, bad) {
			t.Errorf("Content-Security-Policy %q allows %q", console.ContentSecurityPolicy, bad)
		}
	}
}

// TestAssetsAreSafe reads the console's own files (not the vendored
// library) for what would put data into the page as HTML, evaluate
// strings as code, keep the token beyond the tab, or load from elsewhere;
// and the page for inline script and style.
func TestAssetsAreSafe(t *testing.T) {
	forbidden := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(['"]|localStorage\.setItem|document\.cookie|https?://`)
	err := filepath.WalkDir("assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "vendor") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(path, ".svg") && strings.Contains(line, "http://www.w3.org/2000/svg") {
				continue // the SVG namespace, not a request
			}
			if m := forbidden.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d uses %q: %s", path, i+1, m, strings.TrimSpace(line))
			}
		}
		if strings.HasSuffix(path, ".html") {
			s := string(b)
			if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(s) || strings.Contains(s, "<style") || strings.Contains(s, " style=") || strings.Contains(s, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(s) {
				t.Errorf("%s has inline script, style or an event handler attribute", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
