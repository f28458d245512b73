package console_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser half of the end-to-end tests: one headless Chromium for the
// test binary, a tab per test, and helpers that find controls by their accessible
// role and name, as a person with a screen reader would, and use them with
// the keyboard.

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite the screenshots in docs/console from the end-to-end tests")

//go:embed testdata/axe/axe.min.js
var axeSource string

// waitTimeout bounds each wait for the page: generous, for a CI machine
// busy with the race detector; a passing run waits milliseconds.
const waitTimeout = 30 * time.Second

// findChromium returns the path of a Chromium to drive, or "".
func findChromium() string {
	if p := os.Getenv("VKV_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one tab of a headless Chromium, with what it saw: every
// request, every console error and every dialog.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's URL, http://127.0.0.1:port

	mu       sync.Mutex
	requests []string // URLs of every request the page made
	errs     []string // console errors, uncaught exceptions, dialogs
}

// chromium is the one browser of the test binary, started by the first
// test that needs it and stopped by TestMain.
var chromium struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab, left blank
	cancel func()
	err    error
}

// TestMain stops the browser after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if chromium.cancel != nil {
		chromium.cancel()
	}
	os.Exit(code)
}

// newBrowser returns a new tab of the test binary's Chromium, for base;
// it skips the test when there is no Chromium, unless CI=true, where it
// fails.
func newBrowser(t *testing.T, base string) *browser {
	path := findChromium()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (install Debian's chromium package, as .ci/run does): the console's end-to-end tests cannot run")
		}
		t.Skip("no Chromium found: install Debian's chromium package to run the console's end-to-end tests")
	}
	chromium.once.Do(func() {
		opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
		opts = append(opts, chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
			chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1200, 900))
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelB := chromedp.NewContext(actx)
		chromium.ctx = ctx
		chromium.cancel = func() {
			cancelB()
			cancelA()
		}
		chromium.err = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	})
	if chromium.err != nil {
		t.Fatalf("starting Chromium %s: %v", path, chromium.err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx)
	t.Cleanup(cancel)
	return openTab(t, ctx, base)
}

// newTab opens another tab for base: its sessionStorage, and so its
// token, are its own.
func (b *browser) newTab(t *testing.T, base string) *browser {
	return newBrowser(t, base)
}

// openTab starts recording what the tab of ctx does.
func openTab(t *testing.T, ctx context.Context, base string) *browser {
	b := &browser{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	cons := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			if os.Getenv("VKV_E2E_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "%s request %s %s\n", time.Now().Format("15:04:05.000"), ev.Request.Method, ev.Request.URL)
			}
			b.mu.Unlock()
		}
	}()
	go func() {
		for m, err := range cons {
			if err != nil {
				return
			}
			if os.Getenv("VKV_E2E_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "%s console %s\n", time.Now().Format("15:04:05.000"), m)
			}
			// A failed request (a 409 the console expects, say) is logged by
			// the browser with the source "network": not a JavaScript error.
			if (m.Type == chromedp.ConsoleError || m.IsException()) && m.Source != "network" {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.errs = append(b.errs, "a dialog opened: "+ev.Message)
			b.mu.Unlock()
			chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				return err
			}))
		}
	}()
	return b
}

// check fails the test for every console error and every request to
// another host seen so far, and forgets them.
func (b *browser) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		t.Errorf("browser console: %s", e)
	}
	host := strings.TrimPrefix(b.base, "http://")
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme == "about" {
			continue
		}
		if u.Host != host {
			t.Errorf("the page made a request to %s: every request must go to the server %s", r, host)
		}
	}
	b.errs, b.requests = nil, nil
}

// errsSeen returns the console errors since the last check.
func (b *browser) errsSeen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// requestsSeen returns the URLs requested since the last check.
func (b *browser) requestsSeen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// do runs actions, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into v.
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, func(p *runtime.EvaluateParams) { p.AwaitPromise = ptr(true) }))
	if err != nil {
		b.t.Fatalf("evaluating %.80s: %v", expr, err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			b.t.Fatalf("evaluating %.80s: decoding %s: %v", expr, raw, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// waitFor polls the JavaScript expression until it is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 600) : ''`))
		b.t.Fatalf("waiting for %s (%s): %v\npage text: %s\nconsole: %q\nrequests: %q", what, expr, err, got, b.errsSeen(), b.requestsSeen())
	}
}

// visit opens path and waits for its page to show; it signs in with token
// when the server asks.
func (b *browser) visit(path, token string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path))
	b.waitFor("a page at "+path, `(() => { const h = document.querySelector('main h1'); return !!h && document.querySelector('main').dataset.ready === '1'; })()`)
	var h1 string
	b.eval(`document.querySelector('main h1').textContent`, &h1)
	if h1 == "Sign in" {
		b.fill("textbox", "Token", token)
		b.press("button", "Sign in")
		b.waitFor("the page after signing in", `(() => { const h = document.querySelector('main h1'); return !!h && h.textContent !== 'Sign in' && document.querySelector('main').dataset.ready === '1'; })()`)
	}
}

// axNode returns the object of the element with this accessible role and
// name, waiting for it to appear.
func (b *browser) axNode(role, name string) runtime.RemoteObjectID {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var id runtime.RemoteObjectID
		err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			doc, err := cdp.Call(ctx, t, dom.GetDocument, dom.GetDocumentParams{Depth: ptr(int64(0))})
			if err != nil {
				return err
			}
			res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: doc.Root.NodeID, AccessibleName: name, Role: role})
			if err != nil {
				return err
			}
			for _, n := range res.Nodes {
				if n.Ignored || n.BackendDOMNodeID == 0 {
					continue
				}
				obj, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.BackendDOMNodeID})
				if err != nil {
					return err
				}
				id = obj.Object.ObjectID
				return nil
			}
			return nil
		}))
		// The page may replace its document between GetDocument and the
		// query (a navigation, a render): "Could not find node with given
		// id". That is the page moving, not a failure: look again, until
		// the deadline.
		if err != nil && time.Now().After(deadline) {
			b.t.Fatalf("finding the %s %q: %v", role, name, err)
		}
		if err == nil && id != "" {
			return id
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 800)`))
			b.t.Fatalf("no %s named %q on the page; page text:\n%s\nconsole: %q", role, name, text, b.errsSeen())
		}
		time.Sleep(50 * time.Millisecond) // polling the page, not timing it
	}
}

// call calls the JavaScript function fn with this set to the object id.
func (b *browser) call(id runtime.RemoteObjectID, fn string) json.RawMessage {
	b.t.Helper()
	var out json.RawMessage
	err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{FunctionDeclaration: fn, ObjectID: id, ReturnByValue: ptr(true), AwaitPromise: ptr(true)})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return errors.New(res.ExceptionDetails.Text)
		}
		out = json.RawMessage(res.Result.Value)
		return nil
	}))
	if err != nil {
		b.t.Fatalf("calling %s: %v", fn, err)
	}
	return out
}

// focus moves the keyboard focus to the control.
func (b *browser) focus(role, name string) {
	b.t.Helper()
	b.call(b.axNode(role, name), `function() { this.scrollIntoView({block: 'center'}); this.focus(); }`)
}

// press focuses the control and presses Enter on it, as a keyboard user does.
func (b *browser) press(role, name string) {
	b.t.Helper()
	b.focus(role, name)
	b.do("pressing Enter on the "+role+" "+name, chromedp.KeyEvent("\r"))
}

// fill replaces the text of the field with text, typed as input events.
func (b *browser) fill(role, name, text string) {
	b.t.Helper()
	id := b.axNode(role, name)
	b.call(id, `function() { this.scrollIntoView({block: 'center'}); this.focus(); this.select(); }`)
	if text == "" {
		b.do("clearing "+name, chromedp.KeyEvent("\b"))
		return
	}
	b.do("typing into "+name, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	}))
}

// value returns the value of the field.
func (b *browser) value(role, name string) string {
	b.t.Helper()
	var s string
	json.Unmarshal(b.call(b.axNode(role, name), `function() { return this.value; }`), &s)
	return s
}

// location returns the page's path and query.
func (b *browser) location() string {
	var s string
	b.eval(`location.pathname + location.search`, &s)
	return s
}

// axe runs axe-core on the page and fails the test for every serious or
// critical violation.
func (b *browser) axe(t *testing.T, page string) {
	t.Helper()
	var loaded bool
	b.eval(`typeof window.axe === 'object'`, &loaded)
	if !loaded {
		b.eval(axeSource+";true", nil)
	}
	var violations []string
	b.eval(`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ') + ' (' + n.failureSummary + ')').join('; ')))`, &violations)
	for _, v := range violations {
		t.Errorf("axe-core on %s: %s", page, v)
	}
}

// screenshot writes the page to docs/console/name.png when
// -update-screenshots is given.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if !*updateScreenshots {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "docs", "console", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", path)
}
