package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/console"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

const testToken = "console-e2e-token"

// api is the test's own client of the server: it writes the changes "made
// elsewhere" and checks the store after each flow, through the HTTP API.
type api struct {
	t     *testing.T
	base  string
	token string
}

// do sends one request and returns the status, the Vkv-Version header and
// the body.
func (a *api) do(method, key string, body []byte, hdr map[string]string) (int, string, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+"/v1/kv/"+wire.EscapeKey(key), bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := noKeepAlive.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, key, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get(wire.HeaderVersion), string(b)
}

// noKeepAlive is the test's client: a connection per request, so that
// closing the browser's connections (CloseClientConnections) leaves it be.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// put writes key unconditionally and returns its new version.
func (a *api) put(key, value string) string {
	a.t.Helper()
	status, v, body := a.do(http.MethodPut, key, []byte(value), nil)
	if status != http.StatusOK && status != http.StatusCreated {
		a.t.Fatalf("PUT %s: %d %s", key, status, body)
	}
	return v
}

// get returns key's value and version, or found false.
func (a *api) get(key string) (value, version string, found bool) {
	a.t.Helper()
	status, v, body := a.do(http.MethodGet, key, nil, nil)
	switch status {
	case http.StatusOK:
		return body, v, true
	case http.StatusNotFound:
		return "", "", false
	}
	a.t.Fatalf("GET %s: %d %s", key, status, body)
	return "", "", false
}

// want checks that the store holds value for key (at version, if not "").
func (a *api) want(key, value, version string) {
	a.t.Helper()
	got, v, found := a.get(key)
	if !found {
		a.t.Fatalf("the store has no key %q; want %q", key, value)
	}
	if got != value {
		a.t.Errorf("the store has %s = %q; want %q", key, got, value)
	}
	if version != "" && v != version {
		a.t.Errorf("the store has %s at version %s; want %s (nothing written since)", key, v, version)
	}
}

// gate refuses watch requests with 503 while closed, to hold the console's
// change feed down for as long as a test needs.
type gate struct {
	closed atomic.Bool
	next   http.Handler
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.closed.Load() && r.URL.Path == "/v1/watch" {
		http.Error(w, "held down by the test", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}

// TestConsole drives the console in headless Chromium through every flow
// of issue 18, one browser and one tab for all of them. After each flow it
// checks the store through the API, and that the page logged no JavaScript
// error and asked no other host for anything; axe-core checks each page.
func TestConsole(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	g := &gate{next: console.Mount(httpapi.New(s, httpapi.WithToken(testToken)))}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close) // after the browser's cleanup: its open watch streams end with it
	b := newBrowser(t, srv.URL)
	a := &api{t: t, base: srv.URL, token: testToken}
	ctx := context.Background()

	for k, v := range map[string]string{
		"app/web/index":  "<h1>home</h1>\n",
		"app/web/style":  "body { color: black }\n",
		"app/api/config": `{"port":8080,"hosts":["a","b"]}`,
		"app/readme":     "read me\n",
		"other/x":        "x",
		"bin/blob":       "\x00\xff\x10binary",
	} {
		if _, err := s.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("SignInAndBrowse", func(t *testing.T) {
		b.t, a.t = t, t
		b.visit("/ui/", testToken)
		var storage []any
		b.eval(`[sessionStorage.getItem('vkv.token'), localStorage.length, document.cookie]`, &storage)
		if fmt.Sprint(storage) != fmt.Sprint([]any{testToken, 0.0, ""}) {
			t.Errorf("token kept as [sessionStorage, localStorage entries, cookie] = %v; want it in sessionStorage only", storage)
		}
		for _, r := range b.requestsSeen() {
			if strings.Contains(r, testToken) {
				t.Errorf("the token is in a URL: %s", r)
			}
		}
		b.axNode("link", "web/index")
		b.axe(t, "the listing")
		b.screenshot("listing")
		b.press("link", "app/")
		b.waitFor("the listing of app/", `location.search === '?prefix=app%2F' && document.querySelector('main').dataset.ready === '1'`)
		b.press("link", "web/")
		b.waitFor("the listing of app/web/", `location.search === '?prefix=app%2Fweb%2F' && document.querySelector('main').dataset.ready === '1'`)
		b.axNode("link", "index")
		b.axNode("link", "style")
		b.press("link", "app/") // the crumb back
		b.waitFor("the listing of app/", `location.search === '?prefix=app%2F' && document.querySelectorAll('tbody tr').length === 4`)
		b.fill("searchbox", "Filter", "we")
		b.waitFor("the filtered listing", `location.search === '?prefix=app%2F&filter=we' && document.querySelectorAll('tbody tr').length === 2`)
		b.axe(t, "the filtered listing")
		b.check(t)
	})

	t.Run("PageThrough1000Keys", func(t *testing.T) {
		b.t, a.t = t, t
		for i := 0; i < 1000; i += 500 {
			if _, err := s.Update(ctx, func(tx vkv.Txn) error {
				for j := i; j < i+500; j++ {
					if err := tx.Put(fmt.Sprintf("page/%04d", j), []byte("v")); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		b.visit("/ui/?prefix=page/", testToken)
		b.waitFor("the first page", `document.querySelector('.pager [role=status]').textContent === 'Keys 1–100, more on the next page'`)
		for p := 2; p <= 10; p++ {
			b.press("button", "Next page")
			b.waitFor(fmt.Sprintf("page %d", p), fmt.Sprintf(`document.querySelector('.pager [role=status]').textContent.startsWith('Keys %d–%d') && document.querySelector('tbody tr:first-child a').textContent === '%04d'`, (p-1)*100+1, p*100, (p-1)*100))
		}
		var last struct {
			Status, First, Last string
			NextDisabled        bool
		}
		b.eval(`({Status: document.querySelector('.pager [role=status]').textContent, First: document.querySelector('tbody tr:first-child a').textContent,
			Last: document.querySelector('tbody tr:last-child a').textContent, NextDisabled: [...document.querySelectorAll('button')].find(x => x.textContent === 'Next page').disabled})`, &last)
		if last.Status != "Keys 901–1000" || last.First != "0900" || last.Last != "0999" || !last.NextDisabled {
			t.Errorf("the last page: %+v; want keys 0900 to 0999 and no next page", last)
		}
		if !strings.Contains(b.location(), "after=page%2F0899") {
			t.Errorf("the last page's address %s does not hold its place (after=page/0899)", b.location())
		}
		b.press("button", "Previous page")
		b.waitFor("page 9", `document.querySelector('.pager [role=status]').textContent.startsWith('Keys 801–900')`)
		b.check(t)
	})

	t.Run("KeyPageHistoryAndDiff", func(t *testing.T) {
		b.t, a.t = t, t
		v1 := a.put("cfg/app", "line1\nline2\nline3\n")
		a.put("cfg/app", "line1\nline2 changed\nline3\n")
		v3 := a.put("cfg/app", "line1\nline2 changed\nline3\nline4\n")
		b.visit("/ui/kv/cfg%2Fapp", testToken)
		if got := b.value("textbox", "Value"); got != "line1\nline2 changed\nline3\nline4\n" {
			t.Errorf("Value = %q; want the latest value", got)
		}
		b.press("button", "Diff version "+v3)
		b.waitFor("the diff", `(() => { const p = document.querySelector('pre.diff'); return !!p && p.innerText.includes('+ line4') && p.innerText.includes('  line3'); })()`)
		prev := fmt.Sprint(mustAtoi(t, v3) - 1)
		b.press("button", "Diff version "+prev)
		b.waitFor("the diff of the version before", `(() => { const p = document.querySelector('pre.diff'); return !!p && p.innerText.includes('- line2') && p.innerText.includes('+ line2 changed'); })()`)
		b.axe(t, "the key page")
		b.screenshot("key")
		b.press("link", "Read version "+v1)
		b.waitFor("version "+v1, fmt.Sprintf(`location.search === '?version=%s' && document.querySelector('main').dataset.ready === '1'`, v1))
		b.waitFor("the old value", `[...document.querySelectorAll('main pre')].some(p => p.textContent === 'line1\nline2\nline3\n')`)
		b.axe(t, "an old version")
		b.press("button", "Restore this version")
		b.waitFor("the latest version's page", `location.pathname === '/ui/kv/cfg%2Fapp' && location.search === '' && document.querySelector('main').dataset.ready === '1'`)
		if got := b.value("textbox", "Value"); got != "line1\nline2\nline3\n" {
			t.Errorf("Value after Restore this version = %q; want version %s's value", got, v1)
		}
		a.want("cfg/app", "line1\nline2 changed\nline3\nline4\n", v3) // nothing written before Save
		b.press("button", "Save")
		b.waitFor("saved", `document.querySelector('main').innerText.includes('Saved at version')`)
		a.want("cfg/app", "line1\nline2\nline3\n", "")
		b.visit("/ui/kv/app%2Fapi%2Fconfig", testToken)
		b.waitFor("formatted JSON", `[...document.querySelectorAll('main pre')].some(p => p.textContent === '{\n  "port": 8080,\n  "hosts": [\n    "a",\n    "b"\n  ]\n}')`)
		b.visit("/ui/kv/bin%2Fblob", testToken)
		b.waitFor("binary as hex", `[...document.querySelectorAll('main pre')].some(p => p.textContent.startsWith('00 ff 10 62'))`)
		b.focus("combobox", "Show binary values as")
		b.do("choosing base64", chromedp.KeyEvent(kb.ArrowDown))
		b.waitFor("binary as base64", `[...document.querySelectorAll('main pre')].some(p => p.textContent === 'AP8QYmluYXJ5')`)
		b.axe(t, "a binary value")

		// A lock, as vkv.AcquireLock writes it: its holder, fencing token and expiry.
		lock, err := vkv.AcquireLock(ctx, s, "locks/report", []byte("worker-7"), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Get(ctx, "locks/report")
		if err != nil {
			t.Fatal(err)
		}
		expires := e.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
		b.visit("/ui/?prefix=locks/", testToken)
		b.waitFor("the lock's expiry in the listing", fmt.Sprintf(`document.querySelector('tbody tr td:last-child').textContent === %q`, expires))
		b.visit("/ui/kv/locks%2Freport", testToken)
		b.waitFor("the lease", fmt.Sprintf(`!!document.querySelector('.lock') && document.querySelector('.lock').textContent.includes('held by "worker-7" since version %d (its fencing token), until %s')`, lock.Token(), expires))
		b.axe(t, "a lock")
		b.check(t)
	})

	t.Run("CreateEditDelete", func(t *testing.T) {
		b.t, a.t = t, t
		b.visit("/ui/new?prefix=new/", testToken)
		if got := b.value("textbox", "Key"); got != "new/" {
			t.Errorf("Key = %q; want the prefix new/", got)
		}
		b.axe(t, "the new-key page")
		b.screenshot("new")
		b.fill("textbox", "Key", "new/one")
		b.fill("textbox", "Value", "hello")
		b.press("button", "Create")
		b.waitFor("the key page", `location.pathname === '/ui/kv/new%2Fone' && document.querySelector('main').dataset.ready === '1'`)
		a.want("new/one", "hello", "")
		b.fill("textbox", "Value", "hello again")
		b.press("button", "Save")
		b.waitFor("saved", `document.querySelector('main').innerText.includes('Saved at version')`)
		a.want("new/one", "hello again", "")
		b.press("button", "Delete")
		b.waitFor("deleted", `document.querySelector('main').innerText.includes('Deleted at version')`)
		if _, _, found := a.get("new/one"); found {
			t.Errorf("new/one is still in the store after Delete")
		}
		b.check(t)
	})

	// conflict opens key at a first value, edits it to mine while the test
	// writes theirs through the API, saves, and waits for the conflict view.
	conflict := func(t *testing.T, key string) (theirsVersion string) {
		a.put(key, "first\nshared\n")
		b.visit("/ui/kv/"+wire.EscapeKey(key), testToken)
		b.fill("textbox", "Value", "mine\nshared\n")
		theirsVersion = a.put(key, "theirs\nshared\n")
		b.press("button", "Save")
		b.axNode("heading", "Conflict: the key changed since you loaded it")
		a.want(key, "theirs\nshared\n", theirsVersion) // nothing written yet
		return theirsVersion
	}

	t.Run("ConflictKeepTheirs", func(t *testing.T) {
		b.t, a.t = t, t
		vT := conflict(t, "conf/keep")
		b.axe(t, "the conflict view")
		b.screenshot("conflict")
		b.press("button", "Keep theirs")
		b.waitFor("the conflict view closed", `!document.getElementById('conflict') && document.querySelector('main').dataset.ready === '1'`)
		a.want("conf/keep", "theirs\nshared\n", vT) // the store first: Keep theirs writes nothing
		b.waitFor("theirs in Value", `document.getElementById('value').value === 'theirs\nshared\n'`)
		b.check(t)
	})

	t.Run("ConflictOverwriteWithMine", func(t *testing.T) {
		b.t, a.t = t, t
		vT := conflict(t, "conf/mine")
		b.press("button", "Overwrite with mine")
		b.waitFor("the conflict view closed", `!document.getElementById('conflict') && document.querySelector('main').innerText.includes('Saved yours')`)
		a.want("conf/mine", "mine\nshared\n", "")
		b.waitFor("mine in Value", `document.getElementById('value').value === 'mine\nshared\n'`)
		if _, v, _ := a.get("conf/mine"); v == vT {
			t.Errorf("conf/mine still at their version %s", vT)
		}
		b.check(t)
	})

	t.Run("ConflictMerge", func(t *testing.T) {
		b.t, a.t = t, t
		vT := conflict(t, "conf/merge")
		b.press("button", "Merge")
		want := "<<<<<<< mine\nmine\n=======\ntheirs\n>>>>>>> theirs (version " + vT + ")\nshared\n"
		if got := b.value("textbox", "Value"); got != want {
			t.Errorf("Value after Merge = %q; want %q", got, want)
		}
		a.want("conf/merge", "theirs\nshared\n", vT) // Merge writes nothing by itself
		b.fill("textbox", "Value", "mine and theirs\nshared\n")
		b.press("button", "Save")
		b.waitFor("saved", `document.querySelector('main').innerText.includes('Saved at version')`)
		a.want("conf/merge", "mine and theirs\nshared\n", "")
		b.check(t)
	})

	t.Run("ConflictMergeConflictsAgain", func(t *testing.T) {
		b.t, a.t = t, t
		conflict(t, "conf/again")
		b.press("button", "Merge")
		b.fill("textbox", "Value", "merged\n")
		vT2 := a.put("conf/again", "theirs again\n")
		b.press("button", "Save")
		b.axNode("heading", "Conflict: the key changed since you loaded it")
		a.want("conf/again", "theirs again\n", vT2)
		b.press("button", "Keep theirs")
		b.waitFor("theirs in Value", `document.getElementById('value').value === 'theirs again\n'`)
		a.want("conf/again", "theirs again\n", vT2)
		b.check(t)
	})

	t.Run("ConflictOnCreate", func(t *testing.T) {
		b.t, a.t = t, t
		vT := a.put("dup/one", "theirs\n")
		b.visit("/ui/new?prefix=dup/", testToken)
		b.fill("textbox", "Key", "dup/one")
		b.fill("textbox", "Value", "mine\n")
		b.press("button", "Create")
		b.axNode("heading", "Conflict: the key changed since you loaded it")
		a.want("dup/one", "theirs\n", vT)
		b.press("button", "Keep theirs")
		b.waitFor("theirs in Value", `document.getElementById('value').value === 'theirs\n' && !document.getElementById('conflict')`)
		a.want("dup/one", "theirs\n", vT)
		b.check(t)
	})

	t.Run("ConflictOnDelete", func(t *testing.T) {
		b.t, a.t = t, t
		// The feed held down: else the page, not being edited, would show
		// their change as it happens, and Delete would delete it.
		g.closed.Store(true)
		srv.CloseClientConnections()
		defer g.closed.Store(false)
		a.put("conf/del", "first\n")
		b.visit("/ui/kv/conf%2Fdel", testToken)
		vT := a.put("conf/del", "theirs\n")
		b.press("button", "Delete")
		b.axNode("heading", "Conflict: the key changed since you loaded it")
		a.want("conf/del", "theirs\n", vT)
		b.press("button", "Keep theirs")
		b.waitFor("theirs in Value", `document.getElementById('value').value === 'theirs\n' && !document.getElementById('conflict')`)
		a.want("conf/del", "theirs\n", vT)
		b.check(t)
	})

	t.Run("Live", func(t *testing.T) {
		b.t, a.t = t, t
		b.visit("/ui/?prefix=live/", testToken)
		b.waitFor("the feed", `document.getElementById('live').textContent.startsWith('Live')`)
		a.put("live/one", "1")
		b.axNode("link", "one")
		// A dropped connection, and a change while the feed is down: the
		// console resumes from the last change it saw (Last-Event-ID).
		g.closed.Store(true)
		srv.CloseClientConnections()
		a.put("live/two", "2")
		b.waitFor("the feed down", `document.getElementById('live').textContent.startsWith('Reconnecting')`)
		g.closed.Store(false)
		b.axNode("link", "two")

		b.visit("/ui/kv/live%2Fone", testToken)
		b.waitFor("the feed", `document.getElementById('live').textContent.startsWith('Live')`)
		a.put("live/one", "changed elsewhere")
		b.waitFor("the new value", `document.getElementById('value').value === 'changed elsewhere'`)
		b.fill("textbox", "Value", "my edit")
		v := a.put("live/one", "changed again")
		b.waitFor("the note", fmt.Sprintf(`[...document.querySelectorAll('[role=alert]')].some(e => !e.hidden && e.textContent.includes('This key changed (version %s) while you were editing'))`, v))
		if got := b.value("textbox", "Value"); got != "my edit" {
			t.Errorf("Value = %q after a change elsewhere; want the edit kept", got)
		}
		b.check(t)
	})

	t.Run("HostileKeyAndValue", func(t *testing.T) {
		b.t, a.t = t, t
		key := `evil/<img src=x onerror=alert(1)>`
		value := `<script>alert(2)</script><img src=y onerror=alert(3)>`
		a.put(key, value)
		b.visit("/ui/?prefix=evil/", testToken)
		b.axNode("link", `<img src=x onerror=alert(1)>`)
		var n int
		b.eval(`document.querySelectorAll('main img, main script').length`, &n)
		if n != 0 {
			t.Errorf("the listing has %d img or script elements: a key was rendered as HTML", n)
		}
		b.press("link", `<img src=x onerror=alert(1)>`)
		b.waitFor("the key page", `document.querySelector('main').dataset.ready === '1' && location.pathname.startsWith('/ui/kv/')`)
		var got struct {
			H1, Value string
			Elements  int
		}
		b.eval(`({H1: document.querySelector('main h1').textContent, Value: document.getElementById('value').value,
			Elements: document.querySelectorAll('main img, main script').length})`, &got)
		if got.H1 != key || got.Value != value || got.Elements != 0 {
			t.Errorf("key page = %+v; want the key and value as text and no img or script element", got)
		}
		b.press("button", "Diff version "+func() string { _, v, _ := a.get(key); return v }())
		b.waitFor("the diff", `!!document.querySelector('pre.diff')`)
		b.eval(`document.querySelectorAll('main img, main script').length`, &n)
		if n != 0 {
			t.Errorf("the diff has %d img or script elements: a value was rendered as HTML", n)
		}
		for _, r := range b.requestsSeen() {
			if strings.HasSuffix(r, "/x") || strings.HasSuffix(r, "/y") {
				t.Errorf("the page loaded %s: an img in a key or value was rendered", r)
			}
		}
		b.check(t)
	})
}

// refusals counts the 403s a handler answers.
type refusals struct {
	n    atomic.Int64
	next http.Handler
}

func (c *refusals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.next.ServeHTTP(&statusSeen{ResponseWriter: w, seen: c}, r)
}

type statusSeen struct {
	http.ResponseWriter
	seen *refusals
}

func (w *statusSeen) WriteHeader(code int) {
	if code == http.StatusForbidden {
		w.seen.n.Add(1)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusSeen) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// noLister hides that an Authorizer can list grants (httpapi.GrantLister),
// as an embedder's own may not: GET /v1/whoami then answers grantsKnown
// false, and the console learns from 403s.
type noLister struct{ a httpapi.Authorizer }

func (n noLister) Authenticate(r *http.Request) (httpapi.Principal, error) {
	return n.a.Authenticate(r)
}
func (n noLister) Allow(p httpapi.Principal, need httpapi.Need) bool { return n.a.Allow(p, need) }

// control returns whether the button is disabled and the text of what its
// aria-describedby names ("" if nothing).
func (b *browser) control(name string) (disabled bool, why string) {
	b.t.Helper()
	var st struct {
		Disabled bool
		Why      string
	}
	raw := b.call(b.axNode("button", name), `function() {
		const ids = (this.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
		return {Disabled: this.disabled, Why: ids.map(id => (document.getElementById(id) || {}).textContent || '').join(' ')};
	}`)
	if err := json.Unmarshal(raw, &st); err != nil {
		b.t.Fatal(err)
	}
	return st.Disabled, st.Why
}

// TestConsoleForbidden signs in as a principal of an auth file that may
// read app/ and write app/w/ only. The console asks GET /v1/whoami and
// shows what the principal may not do disabled, with the reason, before it
// tries: Save and Delete on app/x, Create on a key outside app/w/, the
// listing of other/ and of every key; Save works on app/w/y. No request is
// refused (403) on the way, and nothing outside app/w/ is written. With an
// Authorizer that cannot list grants, the console falls back to explaining
// the 403 and disabling what was refused.
func TestConsoleForbidden(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for _, k := range []string{"app/readme", "app/x", "app/w/y", "other/x"} {
		if _, err := s.Put(ctx, k, []byte("as it was")); err != nil {
			t.Fatal(err)
		}
	}
	const readerToken, opsToken = "reader-token", "ops-token"
	hash := func(tok string) string { sum := sha256.Sum256([]byte(tok)); return hex.EncodeToString(sum[:]) }
	cfg, err := authfile.Parse([]byte(`{"principals": [
		{"name": "reader", "tokenSHA256": "` + hash(readerToken) + `", "grants": [{"prefix": "app/", "access": "read"}, {"prefix": "app/w/", "access": "write"}]},
		{"name": "ops", "tokenSHA256": "` + hash(opsToken) + `", "grants": [{"prefix": "", "access": "write"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	seen := &refusals{next: console.Mount(httpapi.New(s, httpapi.WithAuthorizer(authfile.New(cfg))))}
	srv := httptest.NewServer(seen)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	a := &api{t: t, base: srv.URL, token: opsToken}
	_, vx, _ := a.get("app/x")

	const denyX = `Principal reader has no write grant on the key "app/x"; its grants: read on "app/", write on "app/w/".`
	b.visit("/ui/kv/app%2Fx", readerToken)
	for _, name := range []string{"Save", "Delete"} {
		if disabled, why := b.control(name); !disabled || !strings.Contains(why, denyX) {
			t.Errorf("%s on app/x before trying: disabled %v, described as %q; want disabled, described with %q", name, disabled, why, denyX)
		}
	}
	b.axe(t, "a key page the principal may not write")
	b.screenshot("denied")

	b.visit("/ui/kv/app%2Fw%2Fy", readerToken)
	for _, name := range []string{"Save", "Delete"} {
		if disabled, why := b.control(name); disabled || why != "" {
			t.Errorf("%s on app/w/y: disabled %v, described as %q; want enabled, no reason", name, disabled, why)
		}
	}
	b.fill("textbox", "Value", "written by reader")
	b.press("button", "Save")
	b.waitFor("the save", `[...document.querySelectorAll('main p')].some(e => e.textContent.startsWith('Saved at version'))`)
	a.want("app/w/y", "written by reader", "")

	b.visit("/ui/?prefix=other/", readerToken)
	b.waitFor("the listing refused before asking", `[...document.querySelectorAll('main .notice')].some(e => e.textContent.includes('Principal reader has no read grant on the keys under "other/"'))`)
	b.axe(t, "a listing the principal may not read")
	b.visit("/ui/", readerToken)
	b.waitFor("every key refused, with what may be listed", `[...document.querySelectorAll('main .notice')].some(e => e.textContent.includes('no read grant on every key') && e.textContent.includes('You may list: app/, app/w/'))`)
	b.axNode("link", "app/")
	b.axNode("link", "New key") // app/w/ is under every key: a key may be created there
	b.visit("/ui/?prefix=other/", readerToken)
	if disabled, why := b.control("New key"); !disabled || !strings.Contains(why, `no write grant on any key under "other/"`) {
		t.Errorf("New key under other/: disabled %v, described as %q; want disabled, with the reason", disabled, why)
	}
	b.visit("/ui/?prefix=app/w/", readerToken)
	b.axNode("link", "New key")

	b.visit("/ui/new?prefix=app/", readerToken)
	if disabled, why := b.control("Create"); !disabled || !strings.Contains(why, `no write grant on the key "app/"`) {
		t.Errorf("Create on app/: disabled %v, described as %q; want disabled, with the reason", disabled, why)
	}
	b.fill("textbox", "Key", "app/w/new")
	if disabled, why := b.control("Create"); disabled || why != "" {
		t.Errorf("Create on app/w/new: disabled %v, described as %q; want enabled", disabled, why)
	}
	b.fill("textbox", "Key", "app/zz")
	if disabled, _ := b.control("Create"); !disabled {
		t.Errorf("Create on app/zz: enabled; want disabled")
	}
	b.axe(t, "a new-key page with Create disabled")
	if n := seen.n.Load(); n != 0 {
		t.Errorf("the server refused %d requests (403): the console should not have tried them", n)
	}
	a.want("app/x", "as it was", vx)
	a.want("app/readme", "as it was", "")
	a.want("other/x", "as it was", "")
	b.check(t)

	// The fallback: a server that cannot list grants. Save is tried, the
	// 403 explained, and Save and Delete disabled after it.
	srv2 := httptest.NewServer(console.Mount(httpapi.New(s, httpapi.WithAuthorizer(noLister{authfile.New(cfg)}))))
	t.Cleanup(srv2.Close)
	b2 := newBrowser(t, srv2.URL)
	a2 := &api{t: t, base: srv2.URL, token: opsToken}
	b2.visit("/ui/?prefix=app/", readerToken)
	b2.axNode("link", "readme")
	b2.press("link", "readme")
	b2.waitFor("the key page", `location.pathname === '/ui/kv/app%2Freadme' && document.querySelector('main').dataset.ready === '1'`)
	if disabled, _ := b2.control("Save"); disabled {
		t.Errorf("Save enabled before trying when grants are unknown: disabled")
	}
	b2.fill("textbox", "Value", "changed")
	b2.press("button", "Save")
	b2.waitFor("the 403 explained", `[...document.querySelectorAll('main [role=alert]')].some(e => e.textContent.includes('(principal reader) do not grant write on the key "app/readme"'))`)
	for _, name := range []string{"Save", "Delete"} {
		if disabled, why := b2.control(name); !disabled || !strings.Contains(why, "may read this key but not write it") {
			t.Errorf("%s after a 403: disabled %v, described as %q; want disabled, with the reason", name, disabled, why)
		}
	}
	b2.axe(t, "a key page after a 403")
	a2.want("app/readme", "as it was", "")
	b2.visit("/ui/?prefix=other/", readerToken)
	b2.waitFor("the 403 explained", `[...document.querySelectorAll('main [role=alert]')].some(e => e.textContent.includes('do not grant read on keys under "other/"'))`)
	b2.axe(t, "a listing refused")
	b2.check(t)

	// Another tab is another session: it asks for a token again, and a
	// wrong one is refused.
	b3 := b.newTab(t, srv.URL)
	b3.do("opening the console", chromedp.Navigate(srv.URL+"/ui/"))
	b3.fill("textbox", "Token", "wrong")
	b3.press("button", "Sign in")
	b3.waitFor("the refusal", `[...document.querySelectorAll('main [role=alert]')].some(e => e.textContent === 'The server did not accept this token.')`)
	b3.axe(t, "the sign-in page")
	b3.screenshot("signin")
	b3.check(t)
}

// TestConsoleKeys opens keys that are awkward in a URL: spaces, '?', '#',
// '%', '.', non-ASCII letters, and bytes that are not UTF-8.
func TestConsoleKeys(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(console.Mount(httpapi.New(s)))
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	keys := []string{"odd/a b?c#d%e", "odd/ünïcödé ✓", "odd/x/../y", "odd/\xff\xfe"}
	for i, k := range keys {
		if _, err := s.Put(context.Background(), k, []byte(fmt.Sprintf("value %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		b.visit("/ui/?prefix=odd/", "")
		// The link's name: the key after the listed prefix, and after the
		// link to the prefix odd/x/ for odd/x/../y; each byte that is not
		// UTF-8 shown as U+FFFD.
		name := strings.TrimPrefix(strings.TrimPrefix(strings.ToValidUTF8(k, "\uFFFD\uFFFD"), "odd/"), "x/")
		b.press("link", name)
		b.waitFor("the key page of "+k, fmt.Sprintf(`location.pathname === %q && document.querySelector('main').dataset.ready === '1'`, "/ui/kv/"+wire.EscapeKey(k)))
		if got := b.value("textbox", "Value"); got != fmt.Sprintf("value %d", i) {
			t.Errorf("key %q: Value = %q; want %q", k, got, fmt.Sprintf("value %d", i))
		}
	}
	// A value with CR LF is shown, not edited: a text field would turn it
	// into LF.
	if _, err := s.Put(context.Background(), "crlf", []byte("a\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	b.visit("/ui/kv/crlf", "")
	var crlf struct {
		Shown    bool
		ReadOnly bool
		Save     bool
	}
	b.eval(`({Shown: [...document.querySelectorAll('main pre')].some(p => p.textContent === 'a\r\nb\r\n'),
		ReadOnly: document.getElementById('value').readOnly,
		Save: [...document.querySelectorAll('main button')].find(x => x.textContent === 'Save').disabled})`, &crlf)
	if !crlf.Shown || !crlf.ReadOnly || !crlf.Save {
		t.Errorf("a CR LF value: shown %v, editor read-only %v, Save disabled %v; want all true", crlf.Shown, crlf.ReadOnly, crlf.Save)
	}

	// The keyboard alone: Tab from the top of a key page reaches every
	// control, in the order of the page.
	b.visit("/ui/kv/odd%2Fa%20b%3Fc%23d%25e", "")
	var order []string
	b.eval(`(() => { document.activeElement.blur(); return true; })()`, nil)
	for range 16 {
		b.do("pressing Tab", chromedp.KeyEvent(kb.Tab))
		var name string
		b.eval(`(() => { const e = document.activeElement; return e.id === 'value' ? 'Value' : e.textContent.trim(); })()`, &name)
		order = append(order, name)
	}
	want := []string{"Skip to content", "vkv console", "All keys", "odd/", "Value", "Save", "Delete", "Diff version 1"}
	i := 0
	for _, name := range order {
		if i < len(want) && name == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("Tab order %q does not reach %q in order", order, want)
	}
	b.check(t)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("version %q: %v", s, err)
	}
	return n
}
