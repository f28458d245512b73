package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path under which Handler serves the console.
const Prefix = "/ui/"

// ContentSecurityPolicy is the Content-Security-Policy of every response of
// Handler: scripts, styles, images and connections from the server's own
// origin only (so no inline script or style and no eval), and no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; connect-src 'self'; " +
	"style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed assets
var embedded embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the console.
type handler struct {
	assets map[string]asset // by path below assets/
	page   asset            // assets/index.html, the page of every address
}

// Handler returns an http.Handler that serves the console under Prefix:
// the page at /ui/, /ui/kv/{key...} and /ui/new, and the embedded assets
// at /ui/assets/. Other paths get 404 and methods other than GET and HEAD
// get 405. It is safe for concurrent use.
func Handler() http.Handler {
	h := &handler{assets: map[string]asset{}}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case "":
			ct = "text/plain; charset=utf-8" // LICENSE, VERSION
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		h.assets[strings.TrimPrefix(p, "assets/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		// The files are compiled in: a failure here is a broken build.
		panic("console: reading the embedded assets: " + err.Error())
	}
	h.page = h.assets["index.html"]
	return h
}

// setSecurityHeaders sets the headers every response of the console carries.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
}

// ServeHTTP serves a page or an asset.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the console serves GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	var a asset
	switch {
	case rest == "" || rest == "new" || strings.HasPrefix(rest, "kv/") && len(rest) > len("kv/"):
		a = h.page
	case strings.HasPrefix(rest, "assets/"):
		if a, ok = h.assets[strings.TrimPrefix(rest, "assets/")]; !ok || rest == "assets/index.html" {
			http.NotFound(w, r)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// Mount returns a handler that serves the console (Handler) under Prefix,
// redirects GET / and GET /ui to Prefix, and passes every other request to api
// unchanged. The console's pages need no credentials; api keeps checking
// every request it gets.
func Mount(api http.Handler) http.Handler {
	return &mounted{ui: Handler(), api: api}
}

// mounted routes by path prefix, not with an http.ServeMux, so that the API
// sees its paths exactly as sent (a mux would redirect keys such as "a//b"
// to a cleaned path).
type mounted struct {
	ui  http.Handler
	api http.Handler
}

// ServeHTTP dispatches r.
func (m *mounted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, Prefix):
		m.ui.ServeHTTP(w, r)
	case (p == "/" || p == "/ui") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		setSecurityHeaders(w.Header())
		http.Redirect(w, r, Prefix, http.StatusFound)
	default:
		m.api.ServeHTTP(w, r)
	}
}
