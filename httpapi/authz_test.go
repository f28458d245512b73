package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// gatewayAuthorizer is an embedder's Authorizer: a gateway in front of the
// server has authenticated the caller and names them in X-Gateway-User;
// grants are prefixes per user. It is what the seam is for: the handler
// works out what a request needs, this decides.
type gatewayAuthorizer struct {
	mu      sync.Mutex
	grants  map[string][]grant
	changed chan struct{}
}

type grant struct {
	prefix string
	access httpapi.Access
}

type gatewayUser string

func (u gatewayUser) Name() string { return string(u) }

func newGateway(grants map[string][]grant) *gatewayAuthorizer {
	return &gatewayAuthorizer{grants: grants, changed: make(chan struct{})}
}

func (g *gatewayAuthorizer) Authenticate(r *http.Request) (httpapi.Principal, error) {
	name := r.Header.Get("X-Gateway-User")
	if name == "" {
		return nil, httpapi.ErrNoCredentials
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.grants[name]; !ok {
		return nil, httpapi.ErrUnknownCredentials
	}
	return gatewayUser(name), nil
}

func (g *gatewayAuthorizer) Allow(p httpapi.Principal, n httpapi.Need) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, gr := range g.grants[p.Name()] {
		if gr.access.Covers(n.Access) && strings.HasPrefix(n.Key, gr.prefix) {
			return true
		}
	}
	return false
}

// Changed implements httpapi.ChangeNotifier.
func (g *gatewayAuthorizer) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// set replaces the grants of user and tells the handler.
func (g *gatewayAuthorizer) set(user string, grants []grant) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if grants == nil {
		delete(g.grants, user)
	} else {
		g.grants[user] = grants
	}
	close(g.changed)
	g.changed = make(chan struct{})
}

// TestCustomAuthorizer plugs an identity-header Authorizer into the handler
// with WithAuthorizer: no header is 401, an unknown user 401, a known user
// outside their grants 403 forbidden naming the user, access and key (the
// same whether the key exists), inside them the request's normal answer.
func TestCustomAuthorizer(t *testing.T) {
	s := openMem(t)
	s.Put(t.Context(), "team/a", []byte("x"))
	s.Put(t.Context(), "secret/a", []byte("y"))
	gw := newGateway(map[string][]grant{
		"alice": {{"team/", httpapi.Write}},
		"bob":   {{"team/", httpapi.Read}},
	})
	h := httpapi.New(s, httpapi.WithAuthorizer(gw))
	tests := []struct {
		user, method, target, body string
		status                     int
		problem                    string
		reason                     string
	}{
		{"", "GET", "/v1/kv/team/a", "", 401, "unauthorized", "no identity"},
		{"mallory", "GET", "/v1/kv/team/a", "", 401, "unauthorized", "unknown identity"},
		{"alice", "GET", "/v1/kv/team/a", "", 200, "", "inside the grant"},
		{"alice", "PUT", "/v1/kv/team/b", "v", 201, "", "write inside the grant"},
		{"bob", "PUT", "/v1/kv/team/c", "v", 403, "forbidden", "read-only grant"},
		{"alice", "GET", "/v1/kv/secret/a", "", 403, "forbidden", "outside, existing key"},
		{"alice", "GET", "/v1/kv/secret/none", "", 403, "forbidden", "outside, absent key: the same answer"},
		{"alice", "GET", "/v1/kv?prefix=team/", "", 200, "", "list inside"},
		{"alice", "GET", "/v1/kv?prefix=", "", 403, "forbidden", "list of everything"},
		{"alice", "GET", "/v1/backup", "", 403, "forbidden", "backup needs read on every key"},
		{"alice", "POST", "/v1/txn", `{"ops":[{"op":"put","key":"team/t","value":""},{"op":"put","key":"secret/t","value":""}]}`, 403, "forbidden", "txn with one op outside"},
		{"alice", "GET", "/v1/limits", "", 200, "", "limits need a principal only"},
		{"", "GET", "/healthz", "", 200, "", "healthz is public"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.user != "" {
			req.Header.Set("X-Gateway-User", tt.user)
		}
		if tt.method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s: %s %s as %q: %d, want %d; body %s", tt.reason, tt.method, tt.target, tt.user, rec.Code, tt.status, rec.Body)
			continue
		}
		if tt.problem == "" {
			continue
		}
		var p wire.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Name() != tt.problem {
			t.Errorf("%s: problem %s, want %s", tt.reason, rec.Body, tt.problem)
		}
		if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.reason)
		}
		if tt.status == 403 && (p.Principal != tt.user || p.Access == "" || (p.Key == nil) == (p.Prefix == nil)) {
			t.Errorf("%s: 403 problem %s does not name the principal, the access and a key or prefix", tt.reason, rec.Body)
		}
	}
	// The same answer for an absent key as for an existing one, but for
	// the instance and the key.
	a, b := forbiddenAs(t, h, "/v1/kv/secret/a"), forbiddenAs(t, h, "/v1/kv/secret/none")
	a.Instance, a.Key, b.Instance, b.Key = "", nil, "", nil
	a.Detail = strings.Replace(a.Detail, "secret/a", "K", 1)
	b.Detail = strings.Replace(b.Detail, "secret/none", "K", 1)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("403 for an existing and an absent key differ (-existing +absent):\n%s", diff)
	}
	if _, err := s.Get(t.Context(), "team/t"); err == nil {
		t.Errorf("the refused transaction wrote its op inside the grant")
	}
}

func forbiddenAs(t *testing.T, h http.Handler, target string) wire.Problem {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set("X-Gateway-User", "alice")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p wire.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWatchEndsWhenGrantIsLost: an open watch of a principal whose grant is
// taken away (the Authorizer's Changed channel closes) ends within a second
// with an error event carrying 403 forbidden; one whose principal is gone
// ends with 401; a principal that keeps its grant keeps its stream.
func TestWatchEndsWhenGrantIsLost(t *testing.T) {
	s := openMem(t)
	gw := newGateway(map[string][]grant{
		"alice": {{"team/", httpapi.Read}},
		"bob":   {{"team/", httpapi.Read}},
		"carol": {{"", httpapi.Read}},
	})
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithAuthorizer(gw), httpapi.WithHeartbeat(50*time.Millisecond)))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	open := func(user string) *bufioStream {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/watch?prefix=team/&fromVersion=0", nil)
		req.Header.Set("X-Gateway-User", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("watch as %s: %v %v", user, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return newBufioStream(resp.Body)
	}
	alice, bob, carol := open("alice"), open("bob"), open("carol")
	time.Sleep(100 * time.Millisecond) // the streams have started
	start := time.Now()
	gw.set("alice", []grant{{"other/", httpapi.Read}}) // lost the grant
	gw.set("bob", nil)                                 // gone
	for _, c := range []struct {
		name    string
		st      *bufioStream
		problem string
	}{{"alice", alice, "forbidden"}, {"bob", bob, "unauthorized"}} {
		data, err := c.st.errorEvent(2 * time.Second)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var p wire.Problem
		json.Unmarshal([]byte(data), &p)
		if p.Name() != c.problem {
			t.Errorf("%s: error event %s, want %s", c.name, data, c.problem)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: the stream ended %v after the change, want within a second", c.name, d)
		}
	}
	s.Put(t.Context(), "team/x", []byte("1"))
	if got, err := carol.event(2 * time.Second); err != nil || !strings.Contains(got, `"team/x"`) {
		t.Errorf("carol's stream after the change: %q, %v; want the put of team/x", got, err)
	}
}

// bufioStream reads SSE events line by line in a goroutine.
type bufioStream struct {
	lines chan string
}

func newBufioStream(r io.Reader) *bufioStream {
	b := &bufioStream{lines: make(chan string, 64)}
	go func() {
		defer close(b.lines)
		buf := make([]byte, 4096)
		var pending []byte
		for {
			n, err := r.Read(buf)
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				b.lines <- string(pending[:i])
				pending = pending[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	return b
}

// event returns the data of the next put or delete event.
func (b *bufioStream) event(d time.Duration) (string, error) {
	return b.next("put", d)
}

// errorEvent returns the data of the next error event.
func (b *bufioStream) errorEvent(d time.Duration) (string, error) {
	return b.next("error", d)
}

func (b *bufioStream) next(name string, d time.Duration) (string, error) {
	timeout := time.After(d)
	ev := ""
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				return "", errors.New("the stream ended without a " + name + " event")
			}
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && ev == name {
				return v, nil
			}
		case <-timeout:
			return "", errors.New("no " + name + " event within " + d.String())
		}
	}
}
