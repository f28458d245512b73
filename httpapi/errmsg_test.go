package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

// problemFacts are the members of a problem TestErrorsSayWhatToDo checks.
type problemFacts struct {
	Type            string       `json:"type"`
	Detail          string       `json:"detail"`
	Instance        string       `json:"instance"`
	ExpectedVersion *vkv.Version `json:"expectedVersion"`
}

// TestErrorsSayWhatToDo checks the problems a new user meets first: each
// names what was wrong and what to send instead. The requests go over TCP
// to httpapi.NewServer, so that the server's own limits (the request-line
// length) are in play.
func TestErrorsSayWhatToDo(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Put(t.Context(), "orders/17", []byte("paid")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(httpapi.New(s, httpapi.WithToken("s3cret")), nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	long := strings.Repeat("k", 5000)
	huge := strings.Repeat("k", 100000)
	rows := []struct {
		name, reason    string
		method, path    string
		header          []string // name, value, ...
		status          int
		problem         string // the problem's name
		detail          string
		instance        string
		expectedVersion *vkv.Version
	}{
		{name: "no token", reason: "a request without credentials is told to send the header, <token> not escaped",
			method: "GET", path: "/v1/kv/orders/17", status: 401, problem: "unauthorized",
			detail: "this request carries no credentials: send the header Authorization: Bearer <token> with the server's token, or a client certificate it knows"},
		{name: "wrong token", reason: "a wrong token is not a missing one",
			method: "GET", path: "/v1/kv/orders/17", header: []string{"Authorization", "Bearer nope"}, status: 401, problem: "unauthorized",
			detail: "the credentials sent are not known to this server: check the token (Authorization: Bearer <token>) or the client certificate"},
		{name: "unquoted If-Match", reason: "If-Match: 2 is told to quote the version",
			method: "PUT", path: "/v1/kv/orders/17", header: []string{"If-Match", "2"}, status: 400, problem: "invalid-version",
			detail: `header If-Match: the version must be quoted, as an entity tag: send If-Match: "2", not If-Match: 2`},
		{name: "weak If-Match on PUT", reason: "a weak tag is told to be sent strong",
			method: "PUT", path: "/v1/kv/orders/17", header: []string{"If-Match", `W/"1"`}, status: 400, problem: "invalid-version",
			detail: `header If-Match: W/"1" is a weak entity tag, which cannot make a write conditional: send If-Match: "1"`},
		{name: "stale If-Match", reason: "the 412 carries expectedVersion, as the 409 does",
			method: "PUT", path: "/v1/kv/orders/17", header: []string{"If-Match", `"7"`}, status: 412, problem: "precondition-failed",
			detail: `the precondition does not hold: key "orders/17" is at version 1, not 7`, expectedVersion: new(vkv.Version(7))},
		{name: "future version", reason: "?version past the store names the store's version",
			method: "GET", path: "/v1/kv/orders/17?version=999999", status: 400, problem: "invalid-version",
			detail: "version 999999 is newer than the store, which is at version 1"},
		{name: "5,000-byte key", reason: "instance is cut like key, not the whole 5 KB path",
			method: "GET", path: "/v1/kv/" + long, status: 400, problem: "invalid-key",
			detail: "the key is invalid: longer than 4096 bytes", instance: "/v1/kv/" + long[:httpapi.MaxProblemInstance-len("/v1/kv/")] + "..."},
		{name: "100,000-byte key", reason: "a key longer than the old header limit (64 KiB; 70,000 bytes over curl got 431) gets a problem, not a plain-text 431",
			method: "GET", path: "/v1/kv/" + huge, status: 400, problem: "invalid-key",
			detail: "the key is invalid: longer than 4096 bytes", instance: "/v1/kv/" + huge[:httpapi.MaxProblemInstance-len("/v1/kv/")] + "..."},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			req, err := http.NewRequest(r.method, base+r.path, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(r.path, "/v1/") && r.name != "no token" && r.name != "wrong token" {
				req.Header.Set("Authorization", "Bearer s3cret")
			}
			for i := 0; i+1 < len(r.header); i += 2 {
				req.Header.Set(r.header[i], r.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != r.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s: status %d, Content-Type %q, want %d and a problem (%s); body %.300s", r.name, resp.StatusCode, resp.Header.Get("Content-Type"), r.status, r.reason, body)
			}
			if bytes.Contains(body, []byte(`\u003c`)) || bytes.Contains(body, []byte(`\u003e`)) {
				t.Errorf("%s: the problem escapes < or >: %s", r.name, body)
			}
			var p problemFacts
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%s: %v; body %.300s", r.name, err, body)
			}
			instance := r.instance
			if instance == "" {
				instance, _, _ = strings.Cut(r.path, "?")
			}
			want := problemFacts{Type: "https://github.com/vkvstore/vkv/blob/main/docs/problems.md#" + r.problem,
				Detail: r.detail, Instance: instance, ExpectedVersion: r.expectedVersion}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("%s (%s): problem differs (-want +got):\n%s", r.name, r.reason, diff)
			}
			if len(body) > 1000 {
				t.Errorf("%s: a %d-byte answer", r.name, len(body))
			}
		})
	}
}
