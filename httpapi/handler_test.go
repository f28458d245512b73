package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// req is one HTTP request of a test row.
type req struct {
	method string
	path   string
	header map[string]string
	body   string
}

// probe is a request sent after the row's request, with what it must give:
// it checks what the row's request wrote (or did not write).
type probe struct {
	req    req
	status int
	body   string // JSON to compare decoded, or the raw value for a GET
}

// row is one line of the contract, as a request and its expected response.
type row struct {
	name   string
	reason string // the contract line the row checks
	opts   []httpapi.Option
	wrap   func(vkv.KV) vkv.KV // wraps the store, to inject errors
	setup  []req               // sent first; each must succeed (2xx)
	req    req
	status int
	// header lists headers to check: a value must match exactly, "*" means
	// present with any value, "" means absent.
	header map[string]string
	// body is the expected body: JSON (compared decoded; a problem's
	// "detail" only needs to be a non-empty string unless given), or, when
	// raw is set, the exact bytes.
	body  string
	raw   bool
	probe []probe
}

const (
	ctJSON    = "application/json"
	ctProblem = "application/problem+json"
	ctOctet   = "application/octet-stream"
)

func put(path, body string, h ...string) req {
	return req{method: "PUT", path: path, body: body, header: hdr(h...)}
}
func get(path string, h ...string) req { return req{method: "GET", path: path, header: hdr(h...)} }
func del(path string, h ...string) req { return req{method: "DELETE", path: path, header: hdr(h...)} }
func txn(body string, h ...string) req {
	return req{method: "POST", path: "/v1/txn", body: body, header: hdr(append([]string{"Content-Type", ctJSON}, h...)...)}
}
func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var titles = map[string]string{
	"conflict": "Version conflict", "precondition-failed": "Precondition failed", "not-found": "Not found",
	"compacted": "Version compacted", "invalid-key": "Invalid key", "invalid-version": "Invalid version",
	"invalid-request": "Invalid request", "payload-too-large": "Payload too large",
	"unsupported-media-type": "Unsupported media type", "method-not-allowed": "Method not allowed",
	"unauthorized": "Unauthorized", "insufficient-storage": "Insufficient storage", "internal": "Internal server error",
}

// prob builds the JSON of a problem: name, status, instance and extension
// members as alternating names and values.
func prob(name string, status int, instance string, ext ...any) string {
	m := map[string]any{
		"type":     "https://github.com/vkvstore/vkv/blob/main/docs/problems.md#" + name,
		"title":    titles[name],
		"status":   status,
		"instance": instance,
	}
	for i := 0; i+1 < len(ext); i += 2 {
		m[ext[i].(string)] = ext[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The single-key rows, in the order of the contract.
var kvRows = []row{
	// Keys and values.
	{name: "PUT creates", reason: "PUT: 201 if the key was created; JSON key and version; ETag and Vkv-Version",
		req: put("/v1/kv/a", "hello"), status: 201,
		header: hdr("Content-Type", ctJSON, "ETag", `"1"`, "Vkv-Version", "1"),
		body:   `{"key":"a","version":1}`},
	{name: "PUT updates", reason: "PUT: 200 when the key existed",
		setup: []req{put("/v1/kv/a", "1")}, req: put("/v1/kv/a", "2"), status: 200,
		header: hdr("ETag", `"2"`, "Vkv-Version", "2"), body: `{"key":"a","version":2}`},
	{name: "PUT re-creates after delete", reason: "PUT: 201 if the key was created (again)",
		setup: []req{put("/v1/kv/a", "1"), del("/v1/kv/a")}, req: put("/v1/kv/a", "2"), status: 201,
		body: `{"key":"a","version":3}`},
	{name: "key with slashes", reason: "a key is the rest of the path; it may contain /",
		req: put("/v1/kv/orders/2024/17", "x"), status: 201, body: `{"key":"orders/2024/17","version":1}`,
		probe: []probe{{req: get("/v1/kv/orders%2F2024%2F17"), status: 200, body: "x"}}},
	{name: "key percent-decoded", reason: "a key is percent-decoded",
		req: put("/v1/kv/a%20b%2F%2Fc", "x"), status: 201, body: `{"key":"a b//c","version":1}`,
		probe: []probe{{req: get("/v1/kv/a%20b%2F%2Fc"), status: 200, body: "x"}}},
	{name: "empty value", reason: "a value is any bytes, empty allowed",
		req: put("/v1/kv/e", ""), status: 201, body: `{"key":"e","version":1}`,
		probe: []probe{{req: get("/v1/kv/e"), status: 200, body: ""}}},
	{name: "empty key", reason: "empty keys are 400 invalid-key",
		req: put("/v1/kv/", "x"), status: 400, header: hdr("Content-Type", ctProblem),
		body: prob("invalid-key", 400, "/v1/kv/", "key", "")},
	{name: "key over limit", reason: "keys over the documented limit are 400 invalid-key",
		opts: []httpapi.Option{httpapi.WithMaxKeySize(4)},
		req:  put("/v1/kv/abcde", "x"), status: 400, header: hdr("Content-Type", ctProblem),
		body: prob("invalid-key", 400, "/v1/kv/abcde", "key", "abcde", "detail", "the key is invalid: longer than 4 bytes")},
	{name: "body over limit", reason: "bodies over the limit get 413 payload-too-large and nothing is written",
		opts: []httpapi.Option{httpapi.WithMaxBodySize(4)},
		req:  put("/v1/kv/big", "12345"), status: 413, header: hdr("Content-Type", ctProblem),
		body:  prob("payload-too-large", 413, "/v1/kv/big", "key", "big", "limit", 4, "code", "value-too-large"),
		probe: []probe{{req: get("/v1/kv/big"), status: 404}}},

	// GET and HEAD.
	{name: "GET", reason: "GET: 200, raw value, Content-Type octet-stream, ETag, Vkv-Version",
		setup: []req{put("/v1/kv/a", "\x00bin\xff")}, req: get("/v1/kv/a"), status: 200,
		header: hdr("Content-Type", ctOctet, "ETag", `"1"`, "Vkv-Version", "1", "Content-Length", "5"),
		body:   "\x00bin\xff", raw: true},
	{name: "GET absent", reason: "GET: 404 not-found if absent",
		req: get("/v1/kv/nope"), status: 404, header: hdr("Content-Type", ctProblem, "ETag", ""),
		body: prob("not-found", 404, "/v1/kv/nope", "key", "nope")},
	{name: "GET deleted", reason: "GET: 404 after a delete",
		setup: []req{put("/v1/kv/a", "1"), del("/v1/kv/a")}, req: get("/v1/kv/a"), status: 404,
		body: prob("not-found", 404, "/v1/kv/a", "key", "a")},
	{name: "If-None-Match current", reason: `If-None-Match: "<v>" equal to the current version gives 304`,
		setup: []req{put("/v1/kv/a", "x")}, req: get("/v1/kv/a", "If-None-Match", `"1"`), status: 304,
		header: hdr("ETag", `"1"`, "Vkv-Version", "1", "Content-Type", ""), body: "", raw: true},
	{name: "If-None-Match other", reason: "If-None-Match with another version gives 200",
		setup: []req{put("/v1/kv/a", "x"), put("/v1/kv/a", "y")}, req: get("/v1/kv/a", "If-None-Match", `"1"`), status: 200,
		header: hdr("ETag", `"2"`), body: "y", raw: true},
	{name: "If-None-Match list", reason: "If-None-Match takes a list (RFC 9110)",
		setup: []req{put("/v1/kv/a", "x")}, req: get("/v1/kv/a", "If-None-Match", `"7", "1"`), status: 304},
	{name: "If-None-Match weak on GET", reason: "GET compares If-None-Match weakly (RFC 9110 §13.1.2)",
		setup: []req{put("/v1/kv/a", "x")}, req: get("/v1/kv/a", "If-None-Match", `W/"1"`), status: 304},
	{name: "If-None-Match malformed", reason: "a malformed tag is 400 invalid-version",
		setup: []req{put("/v1/kv/a", "x")}, req: get("/v1/kv/a", "If-None-Match", `1`), status: 400,
		body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "HEAD", reason: "HEAD works the same without a body",
		setup: []req{put("/v1/kv/a", "hello")}, req: req{method: "HEAD", path: "/v1/kv/a"}, status: 200,
		header: hdr("Content-Type", ctOctet, "ETag", `"1"`, "Vkv-Version", "1", "Content-Length", "5"), body: "", raw: true},
	{name: "HEAD absent", reason: "HEAD of an absent key is 404 without a body",
		req: req{method: "HEAD", path: "/v1/kv/nope"}, status: 404, header: hdr("Content-Type", ctProblem), body: "", raw: true},
	{name: "HEAD If-None-Match", reason: "HEAD with a matching If-None-Match is 304",
		setup: []req{put("/v1/kv/a", "hello")}, req: req{method: "HEAD", path: "/v1/kv/a", header: hdr("If-None-Match", `"1"`)}, status: 304},
	{name: "GET at version", reason: "GET ?version=N: the key as it was at N, same headers",
		setup: []req{put("/v1/kv/a", "one"), put("/v1/kv/b", "x"), put("/v1/kv/a", "three")},
		req:   get("/v1/kv/a?version=2"), status: 200,
		header: hdr("Content-Type", ctOctet, "ETag", `"1"`, "Vkv-Version", "1"), body: "one", raw: true},
	{name: "GET at version before create", reason: "GET ?version=N: 404 if the key did not exist at N",
		setup: []req{put("/v1/kv/b", "x"), put("/v1/kv/a", "y")}, req: get("/v1/kv/a?version=1"), status: 404,
		body: prob("not-found", 404, "/v1/kv/a", "key", "a")},
	{name: "GET at version after delete", reason: "GET ?version=N: 404 if the key was deleted at N",
		setup: []req{put("/v1/kv/a", "x"), del("/v1/kv/a"), put("/v1/kv/a", "y")}, req: get("/v1/kv/a?version=2"), status: 404},
	{name: "GET at compacted version", reason: "GET ?version=N: 410 compacted if N is older than the kept history",
		wrap: failGetAt(&vkv.CompactedError{Key: "a", Requested: 1, Oldest: 5}),
		req:  get("/v1/kv/a?version=1"), status: 410, header: hdr("Content-Type", ctProblem),
		body: prob("compacted", 410, "/v1/kv/a", "key", "a", "oldestVersion", 5)},
	{name: "GET at malformed version", reason: "a malformed version is 400 invalid-version",
		req: get("/v1/kv/a?version=abc"), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "GET at future version", reason: "a version newer than the store is 400 invalid-version",
		setup: []req{put("/v1/kv/a", "x")}, req: get("/v1/kv/a?version=9"), status: 400,
		body: prob("invalid-version", 400, "/v1/kv/a", "key", "a", "code", "future-version")},
	{name: "GET latest", reason: "GET ?version=latest: the key at the store's newest version, which Vkv-Store-Version reports",
		setup: []req{put("/v1/kv/a", "one"), put("/v1/kv/b", "x")}, req: get("/v1/kv/a?version=latest"), status: 200,
		header: hdr("Content-Type", ctOctet, "ETag", `"1"`, "Vkv-Version", "1", "Vkv-Store-Version", "2"), body: "one", raw: true},
	{name: "HEAD latest", reason: "HEAD ?version=latest: the headers of GET",
		setup: []req{put("/v1/kv/a", "one"), put("/v1/kv/b", "x")}, req: req{method: "HEAD", path: "/v1/kv/a?version=latest"}, status: 200,
		header: hdr("Vkv-Version", "1", "Vkv-Store-Version", "2", "Content-Length", "3"), body: "", raw: true},
	{name: "GET latest absent", reason: "GET ?version=latest: 404 for an absent key, still with Vkv-Store-Version",
		setup: []req{put("/v1/kv/a", "x"), del("/v1/kv/a")}, req: get("/v1/kv/a?version=latest"), status: 404,
		header: hdr("Vkv-Store-Version", "2", "ETag", ""), body: prob("not-found", 404, "/v1/kv/a", "key", "a")},
	{name: "GET latest reads at the version it reports", reason: "GET ?version=latest reads at V exactly, as GetAt(key, V), not the key's newest entry",
		wrap:  storeVersionAt(1),
		setup: []req{put("/v1/kv/a", "one"), put("/v1/kv/a", "two")}, req: get("/v1/kv/a?version=latest"), status: 200,
		header: hdr("Vkv-Version", "1", "Vkv-Store-Version", "1"), body: "one", raw: true},
	{name: "GET latest without a store version", reason: "a KV that cannot tell its newest version is read as GET, without Vkv-Store-Version",
		wrap:  oaPlain,
		setup: []req{put("/v1/kv/a", "one"), put("/v1/kv/a", "two")}, req: get("/v1/kv/a?version=latest"), status: 200,
		header: hdr("Vkv-Version", "2", "Vkv-Store-Version", ""), body: "two", raw: true},
	{name: "PUT version=latest", reason: "latest is a version to read at, not a condition: 400 invalid-version",
		req: put("/v1/kv/a?version=latest", "x"), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},

	// Conditions on PUT.
	{name: "PUT version=0 absent", reason: "version=0: the key must not exist; 201",
		req: put("/v1/kv/a?version=0", "x"), status: 201, header: hdr("ETag", `"1"`), body: `{"key":"a","version":1}`},
	{name: "PUT version=0 present", reason: "version=0 on an existing key: 409 conflict, ETag of the current version; nothing written",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a?version=0", "y"), status: 409,
		header: hdr("Content-Type", ctProblem, "ETag", `"1"`),
		body:   prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 0, "currentVersion", 1, "detail", `key "a" already exists at version 1`),
		probe: []probe{{req: get("/v1/history/a"), status: 200,
			body: `{"key":"a","versions":[{"version":1,"value":"eA==","deleted":false,"createVersion":1}]}`}}},
	{name: "PUT version=N matches", reason: "version=N: current version must equal N; 200",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a?version=1", "y"), status: 200, body: `{"key":"a","version":2}`},
	{name: "PUT version=N stale", reason: "version=N stale: 409 conflict with key, expectedVersion, currentVersion",
		setup: []req{put("/v1/kv/orders/17", "x"), put("/v1/kv/orders/17", "y"), put("/v1/kv/orders/17", "z"), put("/v1/kv/b", "_"), put("/v1/kv/orders/17", "w")},
		req:   put("/v1/kv/orders/17?version=3", "v"), status: 409, header: hdr("ETag", `"5"`),
		body: prob("conflict", 409, "/v1/kv/orders/17", "key", "orders/17", "expectedVersion", 3, "currentVersion", 5,
			"detail", `key "orders/17" is at version 5, not 3`),
		probe: []probe{{req: get("/v1/kv/orders/17"), status: 200, body: "w"}}},
	{name: "PUT version=N absent", reason: "conflict: currentVersion is 0 when absent; no ETag",
		req: put("/v1/kv/a?version=3", "x"), status: 409, header: hdr("ETag", ""),
		body:  prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 3, "currentVersion", 0),
		probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "PUT conflict with representation", reason: "Prefer: return=representation adds currentValue (base64) on 409",
		setup: []req{put("/v1/kv/a", "hello")}, req: put("/v1/kv/a?version=0", "y", "Prefer", "return=representation"), status: 409,
		body: prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 0, "currentVersion", 1,
			"currentValue", "aGVsbG8=", "currentCreateVersion", 1)},
	{name: "PUT conflict with representation absent", reason: "currentValue only when the key exists",
		req: put("/v1/kv/a?version=2", "y", "Prefer", "return=representation"), status: 409,
		body: prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 2, "currentVersion", 0)},
	{name: "PUT If-Match matches", reason: `If-Match: "N": current version must equal N`,
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-Match", `"1"`), status: 200,
		header: hdr("ETag", `"2"`), body: `{"key":"a","version":2}`},
	{name: "PUT If-Match stale", reason: `If-Match: "N" failing: 412 precondition-failed with key, expectedVersion (as a 409 has), currentVersion; nothing written`,
		setup: []req{put("/v1/kv/a", "x"), put("/v1/kv/a", "y")}, req: put("/v1/kv/a", "z", "If-Match", `"1"`), status: 412,
		header: hdr("Content-Type", ctProblem, "ETag", `"2"`),
		body:   prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 1, "currentVersion", 2),
		probe:  []probe{{req: get("/v1/kv/a"), status: 200, body: "y"}}},
	{name: "PUT If-Match stale with representation", reason: "Prefer: return=representation adds currentValue on 412",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "z", "If-Match", `"7"`, "Prefer", "return=representation"), status: 412,
		body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 7, "currentVersion", 1, "currentValue", "eA==", "currentCreateVersion", 1)},
	{name: "PUT If-Match absent", reason: `If-Match: "N" on an absent key: 412`,
		req: put("/v1/kv/a", "z", "If-Match", `"1"`), status: 412,
		body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 1, "currentVersion", 0), probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "PUT If-Match list", reason: "If-Match takes a list (RFC 9110)",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-Match", `"4", "1"`), status: 200, body: `{"key":"a","version":2}`},
	{name: "PUT If-Match star present", reason: "If-Match: * — the key must exist",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-Match", "*"), status: 200, body: `{"key":"a","version":2}`},
	{name: "PUT If-Match star absent", reason: "If-Match: * on an absent key: 412; nothing written",
		req: put("/v1/kv/a", "y", "If-Match", "*"), status: 412,
		body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "currentVersion", 0), probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "PUT If-None-Match star absent", reason: "If-None-Match: * — the key must not exist; 201",
		req: put("/v1/kv/a", "y", "If-None-Match", "*"), status: 201, body: `{"key":"a","version":1}`},
	{name: "PUT If-None-Match star present", reason: "If-None-Match: * on an existing key: 412",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-None-Match", "*"), status: 412,
		header: hdr("ETag", `"1"`), body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 0, "currentVersion", 1),
		probe: []probe{{req: get("/v1/kv/a"), status: 200, body: "x"}}},
	{name: "PUT If-Match and version", reason: "both kinds of condition: the header gives 412, the parameter 409",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a?version=5", "y", "If-Match", "*"), status: 409,
		body: prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 5, "currentVersion", 1)},
	{name: "PUT If-Match unquoted", reason: "If-Match: 7 without quotes is 400 invalid-version",
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-Match", "1"), status: 400,
		body: prob("invalid-version", 400, "/v1/kv/a", "key", "a"), probe: []probe{{req: get("/v1/kv/a"), status: 200, body: "x"}}},
	{name: "PUT If-Match weak", reason: `a weak tag W/"7" is 400 invalid-version`,
		setup: []req{put("/v1/kv/a", "x")}, req: put("/v1/kv/a", "y", "If-Match", `W/"1"`), status: 400,
		body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "PUT If-None-Match weak", reason: `a weak tag is 400 invalid-version on PUT`,
		req: put("/v1/kv/a", "y", "If-None-Match", `W/"1"`), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "PUT version=abc", reason: "version=abc is 400 invalid-version",
		req: put("/v1/kv/a?version=abc", "y"), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a"),
		probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "PUT version=-1", reason: "a negative version is 400 invalid-version",
		req: put("/v1/kv/a?version=-1", "y"), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "PUT version=01", reason: "a version with a leading zero is 400 invalid-version",
		req: put("/v1/kv/a?version=01", "y"), status: 400, body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
	{name: "PUT ttl", reason: "ttl (documented choice): the key carries Vkv-Expires-At",
		req: put("/v1/kv/a?ttl=1h", "y"), status: 201, body: `{"key":"a","version":1}`},
	{name: "PUT ttl seconds", reason: "ttl in whole seconds",
		req: put("/v1/kv/a?ttl=3600", "y"), status: 201, body: `{"key":"a","version":1}`},
	{name: "PUT ttl malformed", reason: "a bad ttl is 400 invalid-request",
		req: put("/v1/kv/a?ttl=soon", "y"), status: 400, body: prob("invalid-request", 400, "/v1/kv/a", "key", "a", "code", "invalid-ttl")},
	{name: "PUT ttl negative", reason: "a negative ttl is 400 invalid-request",
		req: put("/v1/kv/a?ttl=-1s", "y"), status: 400, body: prob("invalid-request", 400, "/v1/kv/a", "key", "a", "code", "invalid-ttl")},

	// DELETE.
	{name: "DELETE", reason: "DELETE: 200, JSON key and version of the delete",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a"), status: 200,
		header: hdr("Content-Type", ctJSON), body: `{"key":"a","version":2}`,
		probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "DELETE absent", reason: "DELETE: 404 if absent",
		req: del("/v1/kv/a"), status: 404, body: prob("not-found", 404, "/v1/kv/a", "key", "a")},
	{name: "DELETE version=N", reason: "DELETE with version=N equal to the current version",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a?version=1"), status: 200, body: `{"key":"a","version":2}`},
	{name: "DELETE version=N stale", reason: "DELETE with a stale version=N: 409; nothing written",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a?version=7"), status: 409, header: hdr("ETag", `"1"`),
		body:  prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 7, "currentVersion", 1),
		probe: []probe{{req: get("/v1/kv/a"), status: 200, body: "x"}}},
	{name: "DELETE version=0 present", reason: "DELETE version=0 on an existing key: 409",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a?version=0"), status: 409,
		body: prob("conflict", 409, "/v1/kv/a", "key", "a", "expectedVersion", 0, "currentVersion", 1)},
	{name: "DELETE version=0 absent", reason: "DELETE version=0 on an absent key: the condition holds, the key is absent: 404",
		req: del("/v1/kv/a?version=0"), status: 404, body: prob("not-found", 404, "/v1/kv/a", "key", "a")},
	{name: "DELETE If-Match", reason: `DELETE If-Match: "N" matching`,
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a", "If-Match", `"1"`), status: 200, body: `{"key":"a","version":2}`},
	{name: "DELETE If-Match stale", reason: `DELETE If-Match: "N" failing: 412`,
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a", "If-Match", `"3"`, "Prefer", "return=representation"), status: 412,
		body:  prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 3, "currentVersion", 1, "currentValue", "eA==", "currentCreateVersion", 1),
		probe: []probe{{req: get("/v1/kv/a"), status: 200, body: "x"}}},
	{name: "DELETE If-Match star absent", reason: "DELETE If-Match: * on an absent key: 412",
		req: del("/v1/kv/a", "If-Match", "*"), status: 412, body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "currentVersion", 0)},
	{name: "DELETE If-None-Match star present", reason: "DELETE If-None-Match: * on an existing key: 412",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a", "If-None-Match", "*"), status: 412,
		body: prob("precondition-failed", 412, "/v1/kv/a", "key", "a", "expectedVersion", 0, "currentVersion", 1)},
	{name: "DELETE If-Match weak", reason: "DELETE with a weak tag: 400",
		setup: []req{put("/v1/kv/a", "x")}, req: del("/v1/kv/a", "If-Match", `W/"1"`), status: 400,
		body: prob("invalid-version", 400, "/v1/kv/a", "key", "a")},
}

var listRows = []row{
	{name: "list", reason: "GET /v1/kv: items in byte order, value base64, no next when none remain",
		setup: []req{put("/v1/kv/b", "2"), put("/v1/kv/a", "1"), put("/v1/kv/c", "")},
		req:   get("/v1/kv"), status: 200, header: hdr("Content-Type", ctJSON),
		body: `{"items":[{"key":"a","version":2,"value":"MQ==","createVersion":2},{"key":"b","version":1,"value":"Mg==","createVersion":1},
			{"key":"c","version":3,"value":"","createVersion":3}],"version":3}`},
	{name: "list page", reason: "next (the key to pass as after) only when more remain",
		setup: []req{put("/v1/kv/a", "1"), put("/v1/kv/b", "2"), put("/v1/kv/c", "3")},
		req:   get("/v1/kv?limit=2"), status: 200,
		body:  `{"items":[{"key":"a","version":1,"value":"MQ==","createVersion":1},{"key":"b","version":2,"value":"Mg==","createVersion":2}],"next":"b","version":3}`,
		probe: []probe{{req: get("/v1/kv?limit=2&after=b"), status: 200, body: `{"items":[{"key":"c","version":3,"value":"Mw==","createVersion":3}],"version":3}`}}},
	{name: "list prefix", reason: "prefix filters; deleted keys are absent",
		setup: []req{put("/v1/kv/x/1", "1"), put("/v1/kv/y", "2"), put("/v1/kv/x/2", "3"), del("/v1/kv/x/2")},
		req:   get("/v1/kv?prefix=x%2F"), status: 200,
		body: `{"items":[{"key":"x/1","version":1,"value":"MQ==","createVersion":1}],"version":4}`},
	{name: "list empty", reason: "an empty page has items []",
		req: get("/v1/kv"), status: 200, body: `{"items":[],"version":0}`},
	{name: "list limit capped", reason: "limit is capped at the documented maximum (1000), not refused",
		req: get("/v1/kv?limit=100000"), status: 200, body: `{"items":[],"version":0}`},
	{name: "list limit malformed", reason: "a bad limit is 400 invalid-request",
		req: get("/v1/kv?limit=ten"), status: 400, body: prob("invalid-request", 400, "/v1/kv")},
}

var txnRows = []row{
	{name: "txn", reason: "POST /v1/txn: 200 {version}; every op gets the same version",
		setup: []req{put("/v1/kv/a", "x"), put("/v1/kv/b", "y")},
		req: txn(`{"conditions":[{"key":"a","version":1},{"key":"c","version":0}],
			"ops":[{"op":"put","key":"a","value":"aGVsbG8="},{"op":"delete","key":"b"},{"op":"put","key":"c","value":""}]}`),
		status: 200, header: hdr("Content-Type", ctJSON), body: `{"version":3}`,
		probe: []probe{
			{req: get("/v1/kv"), status: 200, body: `{"items":[{"key":"a","version":3,"value":"aGVsbG8=","createVersion":1},{"key":"c","version":3,"value":"","createVersion":3}],"version":3}`},
			{req: get("/v1/history/b"), status: 200, body: `{"key":"b","versions":[{"version":3,"value":null,"deleted":true,"createVersion":2},{"version":2,"value":"eQ==","deleted":false,"createVersion":2}]}`},
		}},
	{name: "txn charset", reason: "application/json with parameters is JSON",
		req: txn(`{"ops":[{"op":"put","key":"a","value":"eA=="}]}`, "Content-Type", "application/json; charset=utf-8"), status: 200, body: `{"version":1}`},
	{name: "txn conflicts", reason: "a failed condition: 409 conflict whose conflicts lists every failed condition; nothing written",
		setup: []req{put("/v1/kv/a", "x"), put("/v1/kv/b", "y")},
		req: txn(`{"conditions":[{"key":"a","version":2},{"key":"b","version":2},{"key":"c","version":4}],
			"ops":[{"op":"put","key":"a","value":"eg=="},{"op":"put","key":"d","value":"eg=="}]}`),
		status: 409, header: hdr("Content-Type", ctProblem, "ETag", ""),
		body: prob("conflict", 409, "/v1/txn", "key", "a", "expectedVersion", 2, "currentVersion", 1,
			"conflicts", []any{
				map[string]any{"key": "a", "expectedVersion": 2, "currentVersion": 1},
				map[string]any{"key": "c", "expectedVersion": 4, "currentVersion": 0},
			}),
		probe: []probe{
			{req: get("/v1/kv"), status: 200, body: `{"items":[{"key":"a","version":1,"value":"eA==","createVersion":1},{"key":"b","version":2,"value":"eQ==","createVersion":2}],"version":2}`},
			{req: get("/v1/history/d"), status: 200, body: `{"key":"d","versions":[]}`},
		}},
	{name: "txn conflicts with representation", reason: "Prefer: return=representation adds currentValue to each conflict",
		setup: []req{put("/v1/kv/a", "x")},
		req:   txn(`{"conditions":[{"key":"a","version":0}],"ops":[]}`, "Prefer", "return=representation"), status: 409,
		body: prob("conflict", 409, "/v1/txn", "key", "a", "expectedVersion", 0, "currentVersion", 1, "currentValue", "eA==", "currentCreateVersion", 1,
			"conflicts", []any{map[string]any{"key": "a", "expectedVersion": 0, "currentVersion": 1, "currentValue": "eA==", "currentCreateVersion": 1}})},
	{name: "txn range condition", reason: "a range condition that holds: the keys of the range are the count read at version, none newer",
		setup:  []req{put("/v1/kv/j/1", "x"), put("/v1/kv/k", "y")},
		req:    txn(`{"conditions":[{"range":{"prefix":"j/"},"version":1,"count":1}],"ops":[{"op":"put","key":"j/2","value":""}]}`),
		status: 200, body: `{"version":3}`},
	{name: "txn range condition created", reason: "a key created in the range after version: 409 whose item names the range and the key",
		setup:  []req{put("/v1/kv/j/1", "x"), put("/v1/kv/j/3", "y")},
		req:    txn(`{"conditions":[{"key":"j/1","version":2},{"range":{"prefix":"j/","after":"j/0"},"version":1,"count":1}],"ops":[]}`),
		status: 409,
		body: prob("conflict", 409, "/v1/txn", "key", "j/1", "expectedVersion", 2, "currentVersion", 1,
			"conflicts", []any{
				map[string]any{"key": "j/1", "expectedVersion": 2, "currentVersion": 1},
				map[string]any{"key": "j/3", "expectedVersion": 1, "currentVersion": 2, "range": map[string]any{"prefix": "j/", "after": "j/0"}},
			})},
	{name: "txn range condition deleted", reason: "a key deleted in the range after version: 409 naming it, currentVersion 0",
		setup:  []req{put("/v1/kv/j/1", "x"), put("/v1/kv/j/2", "y"), del("/v1/kv/j/1")},
		req:    txn(`{"conditions":[{"range":{"prefix":"j/","last":"j/1"},"version":2,"count":1}],"ops":[]}`),
		status: 409,
		body: prob("conflict", 409, "/v1/txn", "key", "j/1", "expectedVersion", 2, "currentVersion", 0,
			"conflicts", []any{map[string]any{"key": "j/1", "expectedVersion": 2, "currentVersion": 0, "range": map[string]any{"prefix": "j/", "last": "j/1"}}})},
	{name: "txn range condition with a key", reason: "a range condition has no key: 400",
		req: txn(`{"conditions":[{"key":"a","range":{"prefix":"j/"},"version":1,"count":0}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn range condition without count", reason: "a range condition needs its count: 400",
		req: txn(`{"conditions":[{"range":{"prefix":"j/"},"version":1}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn count without range", reason: "a count needs a range: 400",
		req: txn(`{"conditions":[{"key":"a","version":1,"count":1}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn no content type", reason: "Content-Type: application/json required: 415",
		req: req{method: "POST", path: "/v1/txn", body: `{"ops":[]}`}, status: 415, header: hdr("Content-Type", ctProblem),
		body: prob("unsupported-media-type", 415, "/v1/txn")},
	{name: "txn text/plain", reason: "another Content-Type: 415",
		req: txn(`{"ops":[]}`, "Content-Type", "text/plain"), status: 415, body: prob("unsupported-media-type", 415, "/v1/txn")},
	{name: "txn invalid JSON", reason: "invalid JSON: 400",
		req: txn(`{"ops":[`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn unknown member", reason: "unknown members: 400 (documented choice)",
		req: txn(`{"condition":[]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn unknown op", reason: "unknown op: 400",
		req: txn(`{"ops":[{"op":"upsert","key":"a","value":""}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn", "key", "a")},
	{name: "txn bad base64", reason: "bad base64: 400",
		req: txn(`{"ops":[{"op":"put","key":"a","value":"!!"}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn")},
	{name: "txn duplicate key", reason: "a duplicate key in ops: 400; nothing written",
		req: txn(`{"ops":[{"op":"put","key":"a","value":""},{"op":"delete","key":"a"}]}`), status: 400,
		body: prob("invalid-request", 400, "/v1/txn", "key", "a"), probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "txn put without value", reason: "a put needs a value: 400",
		req: txn(`{"ops":[{"op":"put","key":"a"}]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn", "key", "a")},
	{name: "txn condition without version", reason: "a condition needs a version: 400",
		req: txn(`{"conditions":[{"key":"a"}],"ops":[]}`), status: 400, body: prob("invalid-request", 400, "/v1/txn", "key", "a")},
	{name: "txn empty key", reason: "an empty key in a txn: 400 invalid-key",
		req: txn(`{"ops":[{"op":"delete","key":""}]}`), status: 400, body: prob("invalid-key", 400, "/v1/txn", "key", "")},
	{name: "txn too many ops", reason: "more ops than the documented limit: 400",
		opts: []httpapi.Option{httpapi.WithMaxTxnOps(2)},
		req:  txn(`{"ops":[{"op":"delete","key":"a"},{"op":"delete","key":"b"},{"op":"delete","key":"c"}]}`), status: 400,
		body: prob("invalid-request", 400, "/v1/txn", "limit", 2, "code", "too-many-ops")},
	{name: "txn body too large", reason: "a transaction body over its limit: 413; nothing written",
		opts: []httpapi.Option{httpapi.WithMaxTxnBodySize(32)},
		req:  txn(`{"ops":[{"op":"put","key":"a","value":"eHh4eHh4eHh4eHh4eHh4eA=="}]}`), status: 413,
		body:  prob("payload-too-large", 413, "/v1/txn", "limit", 32, "code", "txn-too-large"),
		probe: []probe{{req: get("/v1/kv/a"), status: 404}}},
	{name: "txn ttl", reason: "an op's ttl (documented choice)",
		req: txn(`{"ops":[{"op":"put","key":"a","value":"","ttl":"1h"}]}`), status: 200, body: `{"version":1}`},
}

var otherRows = []row{
	{name: "history", reason: "GET /v1/history: every kept version, newest first, with deletes",
		setup: []req{put("/v1/kv/a", "1"), put("/v1/kv/a", "2"), del("/v1/kv/a"), put("/v1/kv/a", "3")},
		req:   get("/v1/history/a"), status: 200, header: hdr("Content-Type", ctJSON),
		body: `{"key":"a","versions":[{"version":4,"value":"Mw==","deleted":false,"createVersion":4},{"version":3,"value":null,"deleted":true,"createVersion":1},
			{"version":2,"value":"Mg==","deleted":false,"createVersion":1},{"version":1,"value":"MQ==","deleted":false,"createVersion":1}]}`},
	{name: "history limit", reason: "the history depth served (WithHistoryLimit)",
		opts:  []httpapi.Option{httpapi.WithHistoryLimit(1)},
		setup: []req{put("/v1/kv/a", "1"), put("/v1/kv/a", "2")},
		req:   get("/v1/history/a"), status: 200, body: `{"key":"a","versions":[{"version":2,"value":"Mg==","deleted":false,"createVersion":1}]}`},
	{name: "history absent", reason: "a key with no history: 200, versions []",
		req: get("/v1/history/nope"), status: 200, body: `{"key":"nope","versions":[]}`},
	{name: "healthz", reason: "GET /healthz: 200",
		setup: []req{put("/v1/kv/a", "1")}, req: get("/healthz"), status: 200,
		header: hdr("Content-Type", ctJSON, "Vkv-Store-Version", "1"), body: `{"status":"ok"}`},
	{name: "405 on a key", reason: "405 method-not-allowed with Allow",
		req: req{method: "PATCH", path: "/v1/kv/a"}, status: 405,
		header: hdr("Allow", "DELETE, GET, HEAD, PUT", "Content-Type", ctProblem), body: prob("method-not-allowed", 405, "/v1/kv/a")},
	{name: "405 on list", reason: "405 with Allow on /v1/kv",
		req: req{method: "POST", path: "/v1/kv"}, status: 405, header: hdr("Allow", "GET, HEAD"), body: prob("method-not-allowed", 405, "/v1/kv")},
	{name: "405 on txn", reason: "405 with Allow on /v1/txn",
		req: get("/v1/txn"), status: 405, header: hdr("Allow", "POST"), body: prob("method-not-allowed", 405, "/v1/txn")},
	{name: "405 on healthz", reason: "405 with Allow on /healthz",
		req: req{method: "DELETE", path: "/healthz"}, status: 405, header: hdr("Allow", "GET, HEAD"), body: prob("method-not-allowed", 405, "/healthz")},
	{name: "404 path", reason: "an unknown path is a 404 problem",
		req: get("/v2/kv/a"), status: 404, header: hdr("Content-Type", ctProblem), body: prob("not-found", 404, "/v2/kv/a")},
	{name: "401 without token", reason: "-token-file: every /v1 request needs Authorization: Bearer, else 401 with WWW-Authenticate: Bearer",
		opts: []httpapi.Option{httpapi.WithToken("s3cret")},
		req:  get("/v1/kv/a"), status: 401, header: hdr("WWW-Authenticate", "Bearer", "Content-Type", ctProblem),
		body: prob("unauthorized", 401, "/v1/kv/a")},
	{name: "401 wrong token", reason: "a wrong token is 401",
		opts: []httpapi.Option{httpapi.WithToken("s3cret")},
		req:  put("/v1/kv/a", "x", "Authorization", "Bearer s3cret2"), status: 401, header: hdr("WWW-Authenticate", `Bearer error="invalid_token"`),
		body: prob("unauthorized", 401, "/v1/kv/a")},
	{name: "401 other scheme", reason: "another scheme is 401",
		opts: []httpapi.Option{httpapi.WithToken("s3cret")},
		req:  txn(`{"ops":[]}`, "Authorization", "Basic czNjcmV0"), status: 401, body: prob("unauthorized", 401, "/v1/txn")},
	{name: "token accepted", reason: "the right token passes",
		opts: []httpapi.Option{httpapi.WithToken("s3cret")},
		req:  put("/v1/kv/a", "x", "Authorization", "Bearer s3cret"), status: 201, body: `{"key":"a","version":1}`},
	{name: "healthz without token", reason: "/healthz never needs auth",
		opts: []httpapi.Option{httpapi.WithToken("s3cret")},
		req:  get("/healthz"), status: 200, body: `{"status":"ok"}`},
	{name: "500", reason: "unknown errors: 500 internal without internals",
		wrap: failGet(errors.New("badger: /var/lib/vkv/000001.vlog: checksum mismatch")),
		req:  get("/v1/kv/a", "X-Request-Id", "req-42"), status: 500, header: hdr("Content-Type", ctProblem, "X-Request-Id", "req-42"),
		body: prob("internal", 500, "/v1/kv/a", "requestId", "req-42",
			"detail", "the server failed to handle the request; the log has the details under the request id")},
	{name: "507", reason: "insufficient-storage when the disk is full",
		wrap: failGet(fmt.Errorf("write: %w", syscall.ENOSPC)),
		req:  get("/v1/kv/a"), status: 507, body: prob("insufficient-storage", 507, "/v1/kv/a", "key", "a")},
}

// TestContract sends each row's request to a handler over a new in-memory
// store and checks status, headers and body.
func TestContract(t *testing.T) {
	groups := []struct {
		name string
		rows []row
	}{{"kv", kvRows}, {"list", listRows}, {"txn", txnRows}, {"other", otherRows}}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, r := range g.rows {
				t.Run(r.name, func(t *testing.T) {
					t.Parallel()
					runRow(t, r)
				})
			}
		})
	}
}

func runRow(t *testing.T, r row) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatalf("vkv.Open: %v", err)
	}
	defer s.Close()
	var kv vkv.KV = s
	if r.wrap != nil {
		kv = r.wrap(s)
	}
	h := httpapi.New(kv, r.opts...)
	// Setup requests and probes carry the token of the rows that set one.
	for _, sr := range r.setup {
		if sr.header == nil {
			sr.header = map[string]string{}
		}
		sr.header["Authorization"] = "Bearer s3cret"
		resp := send(h, sr)
		if resp.Code/100 != 2 {
			t.Fatalf("setup %s %s: %d %s", sr.method, sr.path, resp.Code, resp.Body)
		}
	}
	resp := send(h, r.req)
	what := r.req.method + " " + r.req.path
	if resp.Code != r.status {
		t.Errorf("%s: status %d, want %d (%s)\nbody: %s", what, resp.Code, r.status, r.reason, resp.Body)
	}
	for name, want := range r.header {
		got, ok := resp.Header()[http.CanonicalHeaderKey(name)]
		switch {
		case want == "" && ok:
			t.Errorf("%s: header %s = %q, want none (%s)", what, name, got, r.reason)
		case want == "*" && !ok:
			t.Errorf("%s: header %s missing (%s)", what, name, r.reason)
		case want != "" && want != "*" && (len(got) != 1 || got[0] != want):
			t.Errorf("%s: header %s = %q, want %q (%s)", what, name, got, want, r.reason)
		}
	}
	if resp.Code >= 400 && r.req.method != "HEAD" && resp.Header().Get("Content-Type") != ctProblem {
		t.Errorf("%s: error response has Content-Type %q, want %s", what, resp.Header().Get("Content-Type"), ctProblem)
	}
	if r.raw || r.status == 304 {
		if got := resp.Body.String(); got != r.body {
			t.Errorf("%s: body %q, want %q (%s)", what, got, r.body, r.reason)
		}
	} else if r.body != "" {
		compareJSON(t, what, r.reason, resp.Body.Bytes(), r.body, resp.Code)
	}
	for _, p := range r.probe {
		p.req.header = hdr("Authorization", "Bearer s3cret")
		presp := send(h, p.req)
		pwhat := "then " + p.req.method + " " + p.req.path
		if presp.Code != p.status {
			t.Errorf("%s: status %d, want %d (%s)\nbody: %s", pwhat, presp.Code, p.status, r.reason, presp.Body)
			continue
		}
		if p.status != 200 {
			continue
		}
		if strings.HasPrefix(presp.Header().Get("Content-Type"), ctJSON) {
			compareJSON(t, pwhat, r.reason, presp.Body.Bytes(), p.body, presp.Code)
		} else if got := presp.Body.String(); got != p.body {
			t.Errorf("%s: body %q, want %q (%s)", pwhat, got, p.body, r.reason)
		}
	}
}

// send serves one request with h.
func send(h http.Handler, r req) *httptest.ResponseRecorder {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, "http://vkv.test"+r.path, body)
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	if r.method == "HEAD" {
		// A real server drops a HEAD body; the recorder keeps it.
		w.Body.Reset()
	}
	return w
}

// compareJSON compares a JSON body with the expected JSON, decoded. A
// problem's detail is checked to be a non-empty string unless want has one.
func compareJSON(t *testing.T, what, reason string, got []byte, want string, status int) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: body is not JSON: %v\n%s", what, err, got)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expected JSON: %v", what, err)
	}
	if gm, ok := g.(map[string]any); ok && status >= 400 {
		if d, ok := gm["detail"].(string); !ok || d == "" {
			t.Errorf("%s: problem without a detail sentence", what)
		}
		if wm, ok := w.(map[string]any); ok {
			if _, ok := wm["detail"]; !ok {
				delete(gm, "detail")
			}
		}
		if s, ok := gm["status"].(float64); !ok || int(s) != status {
			t.Errorf("%s: problem status %v, want the HTTP status %d", what, gm["status"], status)
		}
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s: body mismatch (-want +got) (%s):\n%s", what, reason, diff)
	}
}

// faultyKV is a KV whose Get or GetAt fails with err.
type faultyKV struct {
	vkv.KV
	get, getAt error
}

func (f faultyKV) Get(ctx context.Context, key string) (vkv.Entry, error) {
	if f.get != nil {
		return vkv.Entry{}, f.get
	}
	return f.KV.Get(ctx, key)
}

func (f faultyKV) GetAt(ctx context.Context, key string, v vkv.Version) (vkv.Entry, error) {
	if f.getAt != nil {
		return vkv.Entry{}, f.getAt
	}
	return f.KV.GetAt(ctx, key, v)
}

// versionAt is a KV whose CurrentVersion is v, whatever it holds: the
// store's version as a request saw it before later commits.
type versionAt struct {
	vkv.KV
	v vkv.Version
}

func (k versionAt) CurrentVersion(context.Context) (vkv.Version, error) { return k.v, nil }

func storeVersionAt(v vkv.Version) func(vkv.KV) vkv.KV {
	return func(kv vkv.KV) vkv.KV { return versionAt{KV: kv, v: v} }
}

func failGet(err error) func(vkv.KV) vkv.KV {
	return func(kv vkv.KV) vkv.KV { return faultyKV{KV: kv, get: err} }
}

func failGetAt(err error) func(vkv.KV) vkv.KV {
	return func(kv vkv.KV) vkv.KV { return faultyKV{KV: kv, getAt: err} }
}
