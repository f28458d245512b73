package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// problemStatus is the status of each problem name: the contract's table,
// plus unavailable, which docs/problems.md documents.
var problemStatus = map[string]int{
	"conflict":               409,
	"precondition-failed":    412,
	"not-found":              404,
	"compacted":              410,
	"invalid-key":            400,
	"invalid-version":        400,
	"invalid-request":        400,
	"payload-too-large":      413,
	"unsupported-media-type": 415,
	"method-not-allowed":     405,
	"unauthorized":           401,
	"forbidden":              403,
	"insufficient-storage":   507,
	"internal":               500,
	"not-implemented":        501,
	"unavailable":            503,
	"outcome-unknown":        504,
}

var (
	documentedOnce sync.Once
	documented     map[string]bool
	documentedErr  error
)

// documentedProblems returns the problem names docs/problems.md has a
// section for ("## name").
func documentedProblems() (map[string]bool, error) {
	documentedOnce.Do(func() {
		b, err := os.ReadFile("../docs/problems.md")
		if err != nil {
			documentedErr = err
			return
		}
		documented = map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "## "); ok {
				documented[strings.TrimSpace(name)] = true
			}
		}
	})
	return documented, documentedErr
}

// internals matches what a response must never show: Go error chains, file
// paths, stack traces, the storage engine.
var internals = regexp.MustCompile(`(?i)\.go:\d|goroutine \d|runtime error|panic|/tmp/|/home/|/root/|/work/|badger|\.vlog|\.sst|MANIFEST`)

// checkProblem checks that a response with status code, header hd and body
// is a valid problem of the contract: Content-Type application/problem+json;
// the members type (the documented URI form, a name docs/problems.md
// documents, whose status is code), title, status (equal to code), detail
// and instance (equal to instance, when not ""); Allow on 405;
// WWW-Authenticate on 401; no internals in the body. It returns the problem.
func checkProblem(code int, hd http.Header, body []byte, instance string) (*wire.Problem, error) {
	if ct := hd.Get("Content-Type"); ct != "application/problem+json" {
		return nil, fmt.Errorf("status %d with Content-Type %q, want application/problem+json; body %q", code, ct, body)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, fmt.Errorf("status %d: the problem is not a JSON object: %v; body %q", code, err, body)
	}
	for _, m := range []string{"type", "title", "status", "detail", "instance"} {
		if _, ok := members[m]; !ok {
			return nil, fmt.Errorf("status %d: the problem has no member %q: %s", code, m, body)
		}
	}
	var p wire.Problem
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("status %d: the problem does not decode as wire.Problem: %v; body %s", code, err, body)
	}
	name, ok := strings.CutPrefix(p.Type, wire.ProblemTypeBase)
	if !ok || !regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`).MatchString(name) {
		return nil, fmt.Errorf("status %d: problem type %q is not %s<name>", code, p.Type, wire.ProblemTypeBase)
	}
	docs, err := documentedProblems()
	if err != nil {
		return nil, err
	}
	if !docs[name] {
		return nil, fmt.Errorf("status %d: problem %q has no section in docs/problems.md", code, name)
	}
	if want, ok := problemStatus[name]; !ok || want != code {
		return nil, fmt.Errorf("status %d: problem %q belongs with status %d", code, name, want)
	}
	if p.Status != code {
		return nil, fmt.Errorf("status %d: the problem's status member is %d", code, p.Status)
	}
	if p.Title == "" || p.Detail == "" {
		return nil, fmt.Errorf("status %d: empty title or detail: %s", code, body)
	}
	if instance != "" {
		instance = httpapi.CutInstance(instance)
	}
	if p.Instance == "" || (instance != "" && p.Instance != instance) {
		return nil, fmt.Errorf("status %d: instance %q, want %q", code, p.Instance, instance)
	}
	if code == http.StatusMethodNotAllowed && hd.Get("Allow") == "" {
		return nil, fmt.Errorf("405 without Allow")
	}
	if code == http.StatusUnauthorized && !strings.HasPrefix(hd.Get("WWW-Authenticate"), "Bearer") {
		return nil, fmt.Errorf("401 with WWW-Authenticate %q", hd.Get("WWW-Authenticate"))
	}
	if code >= 500 && internals.Match(body) {
		return nil, fmt.Errorf("status %d shows internals: %s", code, body)
	}
	if code == http.StatusInternalServerError && p.RequestID == "" {
		return nil, fmt.Errorf("500 without requestId: %s", body)
	}
	return &p, nil
}

// TestCheckProblemRejects is the negative control of checkProblem: each of
// these responses breaks one rule, and checkProblem must say so.
func TestCheckProblemRejects(t *testing.T) {
	const base = wire.ProblemTypeBase
	good := `{"type":"` + base + `not-found","title":"Not found","status":404,"detail":"no such key","instance":"/v1/kv/a"}`
	pj := http.Header{"Content-Type": {"application/problem+json"}}
	if _, err := checkProblem(404, pj, []byte(good), "/v1/kv/a"); err != nil {
		t.Fatalf("a valid problem is refused: %v", err)
	}
	tests := []struct {
		name     string
		code     int
		header   http.Header
		body     string
		instance string
	}{
		{"plain text", 404, http.Header{"Content-Type": {"text/plain"}}, good, ""},
		{"not JSON", 404, pj, `404 page not found`, ""},
		{"status member differs", 400, pj, good, ""},
		{"instance differs", 404, pj, good, "/v1/kv/b"},
		{"no detail", 404, pj, `{"type":"` + base + `not-found","title":"Not found","status":404,"instance":"/"}`, ""},
		{"empty title", 404, pj, `{"type":"` + base + `not-found","title":"","status":404,"detail":"x","instance":"/"}`, ""},
		{"relative type", 404, pj, `{"type":"not-found","title":"Not found","status":404,"detail":"x","instance":"/"}`, ""},
		{"undocumented name", 404, pj, `{"type":"` + base + `gone-fishing","title":"x","status":404,"detail":"x","instance":"/"}`, ""},
		{"name of another status", 404, pj, `{"type":"` + base + `conflict","title":"x","status":404,"detail":"x","instance":"/"}`, ""},
		{"unknown member", 404, pj, `{"type":"` + base + `not-found","title":"x","status":404,"detail":"x","instance":"/","stack":"x"}`, ""},
		{"405 without Allow", 405, pj, `{"type":"` + base + `method-not-allowed","title":"x","status":405,"detail":"x","instance":"/"}`, ""},
		{"401 without WWW-Authenticate", 401, pj, `{"type":"` + base + `unauthorized","title":"x","status":401,"detail":"x","instance":"/"}`, ""},
		{"500 with internals", 500, pj, `{"type":"` + base + `internal","title":"x","status":500,"detail":"open /tmp/x/000001.vlog: no space","instance":"/","requestId":"1"}`, ""},
		{"500 without requestId", 500, pj, `{"type":"` + base + `internal","title":"x","status":500,"detail":"x","instance":"/"}`, ""},
	}
	for _, tt := range tests {
		if _, err := checkProblem(tt.code, tt.header, []byte(tt.body), tt.instance); err == nil {
			t.Errorf("%s: checkProblem accepts %d %s", tt.name, tt.code, tt.body)
		}
	}
}
