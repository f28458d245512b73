package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/docs"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/metrics"
	"github.com/vkvstore/vkv/wire"
)

// The tests in this file hold docs/openapi.yaml and the handler to each
// other:
//
//   - TestOpenAPIRoutes: the routes the handler registers (httpapi.Patterns
//     of a handler with every option that adds a route) are exactly the
//     documented operations;
//   - TestOpenAPIDocument: every $ref resolves, every example fits its
//     schema, the problem types are the handler's, and every header of the
//     API is documented;
//   - TestOpenAPIConformance: every documented operation, sent with its
//     documented examples, with each optional parameter, with each integer
//     parameter malformed, without the token and with a wrong Content-Type,
//     answers with a documented status, the documented Content-Type, the
//     required headers and a body that fits the documented schema.

// oaToken is the token of the servers of the conformance test.
const oaToken = "openapi-token"

// oaDoc is docs/openapi.yaml, decoded: mappings as map[string]any, numbers
// as float64 (as encoding/json decodes them).
type oaDoc struct {
	root map[string]any
}

func loadOpenAPI(t testing.TB) *oaDoc {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(docs.OpenAPI), &v); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	root, ok := oaNormalize(v).(map[string]any)
	if !ok {
		t.Fatalf("docs/openapi.yaml is not a mapping")
	}
	return &oaDoc{root: root}
}

// oaNormalize makes every mapping a map[string]any and every number a
// float64.
func oaNormalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = oaNormalize(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = oaNormalize(e)
		}
		return m
	case []any:
		for i := range v {
			v[i] = oaNormalize(v[i])
		}
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return v
}

// pointer returns what the local reference ref ("#/components/...") names.
func (d *oaDoc) pointer(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = d.root
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside a mapping", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref follows Reference Objects to the object they name.
func (d *oaDoc) deref(t testing.TB, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = d.pointer(ref); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("a $ref chain longer than 10")
	return nil
}

// walk calls fn for every mapping in v, with its location.
func walk(v any, at string, fn func(at string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(at, v)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walk(v[k], at+"/"+k, fn)
		}
	case []any:
		for i, e := range v {
			walk(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// oaOperation is one documented operation.
type oaOperation struct {
	method string // "GET"
	path   string // "/v1/kv/{key}"
	op     map[string]any
	params []map[string]any // of the path and the operation, dereferenced
}

// oaMethods are the operation fields of a Path Item Object.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns the documented operations, by path and method.
func (d *oaDoc) operations(t testing.TB) []oaOperation {
	t.Helper()
	paths, _ := d.root["paths"].(map[string]any)
	var ops []oaOperation
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := d.deref(t, paths[path])
		var shared []map[string]any
		for _, p := range asList(item["parameters"]) {
			shared = append(shared, d.deref(t, p))
		}
		for _, method := range oaMethods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			o := oaOperation{method: strings.ToUpper(method), path: path, op: op, params: slices.Clone(shared)}
			for _, p := range asList(op["parameters"]) {
				o.params = append(o.params, d.deref(t, p))
			}
			ops = append(ops, o)
		}
	}
	return ops
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// public reports whether the operation needs no token: its security is an
// empty list.
func (o *oaOperation) public() bool {
	sec, ok := o.op["security"]
	return ok && len(asList(sec)) == 0
}

// wildcard matches a ServeMux wildcard of the rest of the path.
var wildcard = regexp.MustCompile(`\{(\w+)\.\.\.\}`)

// TestOpenAPIRoutes checks that the routes the handler registers are exactly
// the operations docs/openapi.yaml documents.
func TestOpenAPIRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	s := openMem(t)
	m, err := metrics.NewHandler(prometheus.NewRegistry(), s)
	if err != nil {
		t.Fatal(err)
	}
	// Every option that adds a route.
	h := httpapi.New(s, httpapi.WithMetrics(m))
	registered := map[string]bool{}
	for _, p := range httpapi.Patterns(h) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("route %q has no method: it answers any method, which the document cannot say", p)
			continue
		}
		registered[method+" "+wildcard.ReplaceAllString(path, "{$1}")] = true
	}
	if len(registered) == 0 {
		t.Fatal("httpapi.Patterns lists no routes")
	}
	documented := map[string]bool{}
	for _, op := range d.operations(t) {
		if op.method == http.MethodHead {
			if !registered["GET "+op.path] {
				t.Errorf("HEAD %s is documented, but GET %s, which would answer it, is not a route", op.path, op.path)
			}
			continue
		}
		documented[op.method+" "+op.path] = true
	}
	if diff := cmp.Diff(registered, documented); diff != "" {
		t.Errorf("routes registered (-) and documented in docs/openapi.yaml (+) differ:\n%s", diff)
	}
}

// TestOpenAPIDocument checks the document itself: its version, its
// references, its examples against their schemas, its problem types against
// the handler's, and that every header of the API appears in it.
func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	walk(d.root, "#", func(at string, m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			if _, err := d.pointer(ref); err != nil {
				t.Errorf("%s: %v", at, err)
			}
		}
	})

	// Every schema uses only keywords the document means to use (a comma
	// in a flow mapping makes a keyword of the rest of a description).
	var checkSchema func(at string, s any)
	checkSchema = func(at string, s any) {
		m, ok := s.(map[string]any)
		if !ok {
			t.Errorf("%s: a schema that is not a mapping", at)
			return
		}
		for k, v := range m {
			switch k {
			case "properties":
				props, _ := v.(map[string]any)
				for name, p := range props {
					checkSchema(at+"/properties/"+name, p)
				}
			case "items":
				checkSchema(at+"/items", v)
			case "$ref", "type", "description", "required", "additionalProperties", "enum", "const", "format",
				"minimum", "minLength", "pattern", "contentEncoding", "contentMediaType":
			default:
				t.Errorf("%s: unexpected schema keyword %q", at, k)
			}
		}
	}
	walk(d.root, "#", func(at string, m map[string]any) {
		if s, ok := m["schema"]; ok && !strings.HasSuffix(at, "/properties") {
			checkSchema(at+"/schema", s)
		}
	})
	schemas, _ := d.pointer("#/components/schemas")
	for name, s := range schemas.(map[string]any) {
		checkSchema("#/components/schemas/"+name, s)
	}

	ids := map[string]string{}
	for _, op := range d.operations(t) {
		what := op.method + " " + op.path
		id, _ := op.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", what)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s's", what, id, prev)
		}
		ids[id] = what
		for _, p := range op.params {
			name, _ := p["name"].(string)
			ex, ok := p["example"]
			if !ok {
				if p["in"] == "path" || p["required"] == true {
					t.Errorf("%s: parameter %s has no example; the conformance test needs one", what, name)
				}
				continue
			}
			for _, e := range d.validate(p["schema"], ex, "example") {
				t.Errorf("%s: parameter %s: %s", what, name, e)
			}
		}
		if rb, ok := op.op["requestBody"]; ok {
			content, _ := d.deref(t, rb)["content"].(map[string]any)
			for mt, media := range content {
				m, _ := media.(map[string]any)
				ex, ok := m["example"]
				if !ok {
					t.Errorf("%s: request body %s has no example; the conformance test needs one", what, mt)
					continue
				}
				for _, e := range d.validate(m["schema"], ex, "example") {
					t.Errorf("%s: request body %s: %s", what, mt, e)
				}
			}
		}
		responses, _ := op.op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", what)
		}
		for code, r := range responses {
			if n, err := strconv.Atoi(code); err != nil || n < 100 || n > 599 {
				t.Errorf("%s: response %q is not a status code", what, code)
			}
			content, _ := d.deref(t, r)["content"].(map[string]any)
			for mt := range content {
				if n, _ := strconv.Atoi(code); n >= 400 && mt != "application/problem+json" {
					t.Errorf("%s: response %s is %s, not a problem", what, code, mt)
				}
			}
		}
	}

	// The problem types are the handler's.
	var want []any
	for _, name := range httpapi.ProblemNames() {
		want = append(want, wire.ProblemTypeBase+name)
	}
	problemType, _ := d.pointer("#/components/schemas/Problem/properties/type/enum")
	got := slices.Clone(asList(problemType))
	slices.SortFunc(got, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	slices.SortFunc(want, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem types of the handler (-) and of the Problem schema (+) differ:\n%s", diff)
	}

	// Every header of the API is documented, as a parameter or a response
	// header.
	headers := map[string]bool{}
	walk(d.root, "#", func(at string, m map[string]any) {
		if m["in"] == "header" {
			headers[http.CanonicalHeaderKey(fmt.Sprint(m["name"]))] = true
		}
		if hs, ok := m["headers"].(map[string]any); ok {
			for name := range hs {
				headers[http.CanonicalHeaderKey(name)] = true
			}
		}
	})
	for _, h := range []string{
		wire.HeaderVersion, wire.HeaderCreateVersion, wire.HeaderExpiresAt, wire.HeaderStoreVersion,
		wire.HeaderRequestID, wire.HeaderLastEventID, wire.HeaderBackupSize,
		"ETag", "If-Match", "If-None-Match", "Prefer", "WWW-Authenticate",
	} {
		if !headers[http.CanonicalHeaderKey(h)] {
			t.Errorf("header %s is not in docs/openapi.yaml", h)
		}
	}
	// Allow comes only with the 405 of a method a path does not have, which
	// has no operation to be a response of (and an unused component is a
	// lint warning): info.description says it.
	if info, _ := d.root["info"].(map[string]any); !strings.Contains(fmt.Sprint(info["description"]), "`405 method-not-allowed` with `Allow`") {
		t.Errorf("info.description of docs/openapi.yaml does not say that a 405 comes with Allow")
	}
}

// TestOpenAPIServed checks that GET /v1/openapi.yaml serves the document,
// behind the token.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(openMem(t), httpapi.WithToken(oaToken)))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/openapi.yaml", nil)
	req.Header.Set("Authorization", "Bearer "+oaToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != httpapi.OpenAPIContentType {
		t.Errorf("GET /v1/openapi.yaml: %d %s, want 200 %s", resp.StatusCode, resp.Header.Get("Content-Type"), httpapi.OpenAPIContentType)
	}
	if string(b) != docs.OpenAPI {
		t.Errorf("GET /v1/openapi.yaml: the body (%d bytes) is not docs/openapi.yaml (%d bytes)", len(b), len(docs.OpenAPI))
	}
}

// oaCase is one request the conformance test sends for an operation.
type oaCase struct {
	name        string
	query       url.Values
	header      http.Header
	noAuth      bool
	contentType string // instead of the request body's documented one
	// want is the status the case must get: 0 any documented one, 2 any
	// documented 2xx.
	want int

	// For the cases of oaExtraCases:
	key    *string             // the key in the path, instead of the example
	body   *string             // the body, instead of the example
	wrap   func(vkv.KV) vkv.KV // the KV served, instead of the store
	closed bool                // the store is closed before the request
}

// oaPlainKV hides every optional interface of the KV it holds: no watch, no
// backup, no CurrentVersion.
type oaPlainKV struct{ vkv.KV }

func oaPlain(kv vkv.KV) vkv.KV { return oaPlainKV{kv} }

func oaStr(s string) *string { return &s }

// oaExtraCases are requests beyond those cases derives from the document,
// for the error statuses the examples do not reach. Each must get the
// status it names, and the response must be as documented for it.
var oaExtraCases = map[string][]oaCase{
	"GET /v1/kv/{key}": {
		{name: "a missing key", key: oaStr("orders/99"), want: 404},
		{name: "a future version", query: url.Values{"version": {"99"}}, want: 400},
		{name: "a malformed version", query: url.Values{"version": {"x"}}, want: 400},
		{name: "the latest version", query: url.Values{"version": {"latest"}}, want: 200},
		{name: "the latest version of a missing key", key: oaStr("orders/99"), query: url.Values{"version": {"latest"}}, want: 404},
		{name: "the latest version, not modified", query: url.Values{"version": {"latest"}}, header: http.Header{"If-None-Match": {`"2"`}}, want: 304},
		{name: "the empty key", key: oaStr(""), want: 400},
		{name: "a closed store", closed: true, want: 503},
	},
	"HEAD /v1/kv/{key}": {
		{name: "a missing key", key: oaStr("orders/99"), want: 404},
		{name: "the latest version", query: url.Values{"version": {"latest"}}, want: 200},
		{name: "the latest version of a missing key", key: oaStr("orders/99"), query: url.Values{"version": {"latest"}}, want: 404},
	},
	"PUT /v1/kv/{key}": {
		{name: "a stale version", query: url.Values{"version": {"1"}}, want: 409},
		{name: "a stale If-Match", header: http.Header{"If-Match": {`"1"`}}, want: 412},
		{name: "a new key", key: oaStr("orders/18"), want: 201},
		{name: "a negative ttl", query: url.Values{"ttl": {"-1s"}}, want: 400},
		{name: "a value over the limit", body: oaStr(strings.Repeat("x", httpapi.DefaultMaxBodySize+1)), want: 413},
	},
	"DELETE /v1/kv/{key}": {
		{name: "a missing key", key: oaStr("orders/99"), want: 404},
		{name: "a stale version", query: url.Values{"version": {"1"}}, want: 409},
		{name: "a stale If-Match", header: http.Header{"If-Match": {`"1"`}}, want: 412},
	},
	"POST /v1/txn": {
		{name: "failed conditions", body: oaStr(`{"conditions":[{"key":"orders/17","version":1},{"key":"orders/18","version":4}]}`), want: 409},
		{name: "not JSON", body: oaStr(`{`), want: 400},
		{name: "an unknown op", body: oaStr(`{"ops":[{"op":"frob","key":"a"}]}`), want: 400},
	},
	"GET /v1/watch": {
		{name: "a KV without a change feed", wrap: oaPlain, query: url.Values{"fromVersion": {"0"}}, want: 501},
	},
	"GET /v1/backup": {
		{name: "a KV without backups", wrap: oaPlain, want: 501},
	},
	"GET /healthz": {
		{name: "a closed store", closed: true, want: 503},
	},
}

func (c oaCase) with(name string) oaCase {
	c.name = name
	c.query = maps.Clone(c.query)
	c.header = c.header.Clone()
	return c
}

// set adds the parameter p with value v to c.
func (c *oaCase) set(p map[string]any, v string) {
	name := fmt.Sprint(p["name"])
	switch p["in"] {
	case "query":
		c.query.Set(name, v)
	case "header":
		c.header.Set(name, v)
	}
}

// oaString is how an example travels in a query or header.
func oaString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// cases returns the requests to send for op: its examples; each optional
// parameter added; each integer parameter malformed (400); without the token
// (401, or as with it for a public operation); and, for a body that must be
// JSON, a wrong Content-Type (415).
func (d *oaDoc) cases(t testing.TB, op oaOperation) []oaCase {
	base := oaCase{name: "examples", query: url.Values{}, header: http.Header{}, want: 2}
	for _, p := range op.params {
		if p["in"] != "path" && p["required"] == true {
			base.set(p, oaString(p["example"]))
		}
	}
	cases := []oaCase{base}
	for _, extra := range oaExtraCases[op.method+" "+op.path] {
		c := base.with(extra.name)
		maps.Copy(c.query, extra.query)
		for k, v := range extra.header {
			c.header[k] = v
		}
		c.key, c.body, c.wrap, c.closed, c.want = extra.key, extra.body, extra.wrap, extra.closed, extra.want
		cases = append(cases, c)
	}
	for _, p := range op.params {
		if p["in"] == "path" || p["required"] == true {
			continue
		}
		if ex, ok := p["example"]; ok {
			c := base.with(fmt.Sprintf("with %s=%s", p["name"], oaString(ex)))
			c.set(p, oaString(ex))
			c.want = 0
			cases = append(cases, c)
		}
		if schema := d.deref(t, p["schema"]); schema["type"] == "integer" {
			c := base.with(fmt.Sprintf("with %s=x", p["name"]))
			c.set(p, "x")
			c.want = http.StatusBadRequest
			cases = append(cases, c)
		}
	}
	c := base.with("without the token")
	c.noAuth = true
	if !op.public() {
		c.want = http.StatusUnauthorized
	}
	cases = append(cases, c)
	if rb, ok := op.op["requestBody"]; ok {
		content, _ := d.deref(t, rb)["content"].(map[string]any)
		if _, any := content["*/*"]; !any {
			c := base.with("with Content-Type: text/plain")
			c.contentType = "text/plain"
			c.want = http.StatusUnsupportedMediaType
			cases = append(cases, c)
		}
	}
	return cases
}

// requestBody returns the example body of op and its Content-Type.
func (d *oaDoc) requestBody(t testing.TB, op oaOperation) ([]byte, string) {
	rb, ok := op.op["requestBody"]
	if !ok {
		return nil, ""
	}
	content, _ := d.deref(t, rb)["content"].(map[string]any)
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		ex := content[mt].(map[string]any)["example"]
		switch {
		case mt == "*/*":
			return []byte(oaString(ex)), "application/octet-stream"
		case mt == "application/json":
			b, err := json.Marshal(ex)
			if err != nil {
				t.Fatal(err)
			}
			return b, mt
		default:
			return []byte(oaString(ex)), mt
		}
	}
	return nil, ""
}

// TestOpenAPIConformance sends the requests of cases for every documented
// operation to a fresh store whose key orders/17 (the examples' key) was
// written twice (versions 1 and 2), and checks each response against the
// document.
func TestOpenAPIConformance(t *testing.T) {
	d := loadOpenAPI(t)
	ops := d.operations(t)
	for name := range oaExtraCases {
		if !slices.ContainsFunc(ops, func(op oaOperation) bool { return op.method+" "+op.path == name }) {
			t.Errorf("oaExtraCases has cases for %s, which is not a documented operation", name)
		}
	}
	for _, op := range ops {
		t.Run(op.method+" "+op.path, func(t *testing.T) {
			for _, c := range d.cases(t, op) {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					d.run(t, op, c)
				})
			}
		})
	}
}

// run sends the request of c for op and checks the response.
func (d *oaDoc) run(t *testing.T, op oaOperation, c oaCase) {
	s := openMem(t)
	ctx := t.Context()
	for _, v := range []string{"pending", "paid"} {
		if _, err := s.Put(ctx, "orders/17", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := metrics.NewHandler(prometheus.NewRegistry(), s)
	if err != nil {
		t.Fatal(err)
	}
	var kv vkv.KV = s
	if c.wrap != nil {
		kv = c.wrap(s)
	}
	if c.closed {
		s.Close()
	}
	srv := httptest.NewServer(httpapi.New(kv, httpapi.WithMetrics(m), httpapi.WithToken(oaToken)))
	defer srv.Close()

	path := op.path
	for _, p := range op.params {
		if p["in"] == "path" {
			v := oaString(p["example"])
			if c.key != nil && p["name"] == "key" {
				v = *c.key
			}
			path = strings.ReplaceAll(path, "{"+fmt.Sprint(p["name"])+"}", wire.EscapeKey(v))
		}
	}
	target := srv.URL + path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	body, ct := d.requestBody(t, op)
	if c.body != nil {
		body = []byte(*c.body)
	}
	if c.contentType != "" {
		ct = c.contentType
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, op.method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.header.Clone()
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if !c.noAuth {
		req.Header.Set("Authorization", "Bearer "+oaToken)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b []byte
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		// A stream does not end: its status and headers are what is
		// checked.
		if b, err = io.ReadAll(resp.Body); err != nil {
			t.Fatalf("reading the body: %v", err)
		}
	}
	d.check(t, op, c, resp, b)
}

// check holds resp (with body b) to what the document says of op.
func (d *oaDoc) check(t *testing.T, op oaOperation, c oaCase, resp *http.Response, b []byte) {
	code := strconv.Itoa(resp.StatusCode)
	responses, _ := op.op["responses"].(map[string]any)
	rv, ok := responses[code]
	if !ok {
		t.Fatalf("status %s is not documented (documented: %v); body %.300s", code, slices.Sorted(maps.Keys(responses)), b)
	}
	switch {
	case c.want == 2 && resp.StatusCode/100 != 2:
		t.Errorf("status %s, want a 2xx; body %.300s", code, b)
	case c.want > 2 && resp.StatusCode != c.want:
		t.Errorf("status %s, want %d; body %.300s", code, c.want, b)
	}
	r := d.deref(t, rv)

	docHeaders, _ := r["headers"].(map[string]any)
	documented := map[string]bool{}
	for name, hv := range docHeaders {
		documented[http.CanonicalHeaderKey(name)] = true
		h := d.deref(t, hv)
		vals := resp.Header.Values(name)
		if len(vals) == 0 {
			vals = resp.Trailer.Values(name)
		}
		if len(vals) == 0 {
			if h["required"] == true {
				t.Errorf("%s: the required header %s is missing", code, name)
			}
			continue
		}
		for _, e := range d.validate(h["schema"], vals[0], name) {
			t.Errorf("%s: header %s", code, e)
		}
	}
	for _, hd := range []http.Header{resp.Header, resp.Trailer} {
		for name := range hd {
			if strings.HasPrefix(name, "Vkv-") && !documented[name] {
				t.Errorf("%s: the header %s is not documented for this response", code, name)
			}
		}
	}

	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(b) > 0 {
			t.Errorf("%s: documented without a body, but has %d bytes", code, len(b))
		}
		return
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if err != nil || !ok {
		t.Errorf("%s: Content-Type %q, documented: %v", code, resp.Header.Get("Content-Type"), slices.Sorted(maps.Keys(content)))
		return
	}
	if op.method == http.MethodHead || (mt != "application/json" && mt != "application/problem+json") {
		return
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: the body is not JSON: %v\n%s", code, err, b)
	}
	for _, e := range d.validate(media["schema"], v, "body") {
		t.Errorf("%s: %s\nbody: %s", code, e, b)
	}
	if mt == "application/problem+json" {
		if st, _ := v.(map[string]any)["status"].(float64); int(st) != resp.StatusCode {
			t.Errorf("%s: the problem's status is %v", code, st)
		}
	}
}

// validate checks v, decoded from JSON, against the JSON Schema s, as far
// as the keywords the document uses go ($ref, type, const, enum, required,
// properties, additionalProperties, items, pattern, minLength, minimum,
// format date-time and uri, contentEncoding base64). It returns what does
// not fit, each prefixed with at.
func (d *oaDoc) validate(s any, v any, at string) []string {
	m, ok := s.(map[string]any)
	if !ok {
		return nil
	}
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, at+": "+fmt.Sprintf(format, args...))
	}
	if ref, ok := m["$ref"].(string); ok {
		target, err := d.pointer(ref)
		if err != nil {
			fail("%v", err)
			return errs
		}
		errs = append(errs, d.validate(target, v, at)...)
	}
	if ty, ok := m["type"]; ok {
		types := []string{fmt.Sprint(ty)}
		if l, ok := ty.([]any); ok {
			types = types[:0]
			for _, x := range l {
				types = append(types, fmt.Sprint(x))
			}
		}
		if !slices.ContainsFunc(types, func(ty string) bool { return jsonTypeIs(v, ty) }) {
			fail("%.60v is not of type %v", v, types)
			return errs
		}
	}
	if c, ok := m["const"]; ok && !reflect.DeepEqual(c, v) {
		fail("%v is not %v", v, c)
	}
	if e, ok := m["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, v) }) {
		fail("%v is none of %v", v, e)
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range asList(m["required"]) {
			if _, ok := v[fmt.Sprint(r)]; !ok {
				fail("member %s is missing", r)
			}
		}
		props, _ := m["properties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			ps, ok := props[k]
			if !ok {
				if m["additionalProperties"] == false {
					fail("member %q is not documented", k)
				}
				continue
			}
			errs = append(errs, d.validate(ps, v[k], at+"."+k)...)
		}
	case []any:
		for i, e := range v {
			errs = append(errs, d.validate(m["items"], e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case string:
		if p, ok := m["pattern"].(string); ok {
			if ok, err := regexp.MatchString(p, v); err != nil || !ok {
				fail("%q does not match %s", v, p)
			}
		}
		if n, ok := m["minLength"].(float64); ok && float64(len([]rune(v))) < n {
			fail("%q is shorter than %v", v, n)
		}
		if m["contentEncoding"] == "base64" {
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				fail("%q is not base64", v)
			}
		}
		switch m["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				fail("%q is not an RFC 3339 time", v)
			}
		case "uri":
			if u, err := url.Parse(v); err != nil || !u.IsAbs() {
				fail("%q is not an absolute URI", v)
			}
		}
	case float64:
		if min, ok := m["minimum"].(float64); ok && v < min {
			fail("%v is below %v", v, min)
		}
	}
	return errs
}

// jsonTypeIs reports whether v, decoded from JSON, is of the JSON Schema
// type ty.
func jsonTypeIs(v any, ty string) bool {
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

// TestOpenAPIValidate checks the schema checker of the conformance test on
// bodies that do not fit, so that a checker that accepts everything fails.
func TestOpenAPIValidate(t *testing.T) {
	d := loadOpenAPI(t)
	problem := map[string]any{"$ref": "#/components/schemas/Problem"}
	tests := []struct {
		schema any
		body   string
		want   int // errors
		reason string
	}{
		{problem, `{"type":"https://github.com/vkvstore/vkv/blob/main/docs/problems.md#conflict","title":"t","status":409,"detail":"d","instance":"/v1/txn","conflicts":[{"key":"a","expectedVersion":1,"currentVersion":2}]}`, 0, "a valid problem"},
		{problem, `{"type":"https://example.com/x","title":"t","status":409,"detail":"d","instance":"/"}`, 1, "a type not in the enum"},
		{problem, `{"title":"t","status":409,"detail":"d","instance":"/"}`, 1, "type missing"},
		{problem, `{"type":"https://github.com/vkvstore/vkv/blob/main/docs/problems.md#conflict","title":"t","status":409,"detail":"d","instance":"/","extra":1}`, 1, "an undocumented member"},
		{problem, `{"type":"https://github.com/vkvstore/vkv/blob/main/docs/problems.md#conflict","title":"t","status":"409","detail":"d","instance":"/"}`, 1, "status as a string"},
		{problem, `{"type":"https://github.com/vkvstore/vkv/blob/main/docs/problems.md#conflict","title":"t","status":409,"detail":"d","instance":"/","conflicts":[{"key":"a","expectedVersion":-1,"currentVersion":2}]}`, 1, "a negative version in an item"},
		{map[string]any{"$ref": "#/components/schemas/HistoryVersion"}, `{"version":3,"value":null,"deleted":true}`, 0, "null value of a delete"},
		{map[string]any{"$ref": "#/components/schemas/HistoryVersion"}, `{"version":3.5,"value":"!!","deleted":true}`, 2, "a fraction and bad base64"},
		{map[string]any{"$ref": "#/components/schemas/Item"}, `{"key":"a","version":1,"value":"","expiresAt":"tomorrow"}`, 1, "a bad time"},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
			t.Fatal(err)
		}
		if errs := d.validate(tt.schema, v, "body"); len(errs) != tt.want {
			t.Errorf("%s: %d errors, want %d: %q", tt.reason, len(errs), tt.want, errs)
		}
	}
}
