package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

// hostileToken is the token of the server under attack.
const hostileToken = "tok-9d2e41c07b5a"

// testReadHeaderTimeout replaces httpapi.ServerReadHeaderTimeout in tests,
// so that a slow client is cut off in well under a second.
const testReadHeaderTimeout = 300 * time.Millisecond

// rawRequest is one HTTP/1.1 request, written byte for byte on a fresh
// connection, so that it can be as malformed as a hostile client likes.
type rawRequest struct {
	method string
	target string
	header []string // "Name: value" lines
	body   []byte
	// noAuth sends no Authorization header (others send the right token
	// unless header has one).
	noAuth bool
	// noLength sends no Content-Length header: header lines frame the body.
	noLength bool
	// halfClose closes the client's side for writing after the request.
	halfClose bool
	// raw, when set, is sent instead of the fields above.
	raw string
	// slow sends the request line and then one header byte every 50 ms,
	// never ending the headers (Slowloris).
	slow bool
	// headersOnly sends the headers, Content-Length counting the body, and
	// not the body: the server must refuse a declared body over its limit
	// before reading it. (Sending the body too made the server's close
	// with megabytes unread a TCP reset, which could discard the 413 before
	// a slow client read it: a flaky test of TCP, not of the server.)
	headersOnly bool
}

// declaredOnly is r sent as headers only (rawRequest.headersOnly).
func declaredOnly(r rawRequest) rawRequest {
	r.headersOnly = true
	return r
}

func (r rawRequest) bytes() []byte {
	if r.raw != "" {
		return []byte(r.raw)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", r.method, r.target)
	hasAuth := false
	for _, h := range r.header {
		if strings.HasPrefix(strings.ToLower(h), "authorization:") {
			hasAuth = true
		}
	}
	if !r.noAuth && !hasAuth {
		b.WriteString("Authorization: Bearer " + hostileToken + "\r\n")
	}
	for _, h := range r.header {
		b.WriteString(h + "\r\n")
	}
	if !r.noLength && (r.body != nil || r.method == "PUT" || r.method == "POST") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("\r\n")
	if !r.headersOnly {
		b.Write(r.body)
	}
	return b.Bytes()
}

// hostileRow is a hostile request and the answer it must get.
type hostileRow struct {
	name string
	req  rawRequest
	// status is the expected status; 0 means the server closes the
	// connection without answering.
	status int
	// problem is the expected problem name; "" means net/http answers
	// itself, in plain text, before the handler runs.
	problem string
	// code is the expected problem member code, if any.
	code string
	// header lists headers the response must carry with these values.
	header map[string]string
}

func txnReq(body string, header ...string) rawRequest {
	return rawRequest{method: "POST", target: "/v1/txn", body: []byte(body),
		header: append([]string{"Content-Type: application/json"}, header...)}
}

func putReq(target, body string, header ...string) rawRequest {
	return rawRequest{method: "PUT", target: target, body: []byte(body), header: header}
}

func getReq(target string, header ...string) rawRequest {
	return rawRequest{method: "GET", target: target, header: header}
}

// chunked frames body as one chunk.
func chunked(body []byte) []byte {
	return append(append([]byte(fmt.Sprintf("%x\r\n", len(body))), body...), "\r\n0\r\n\r\n"...)
}

// hostileRows returns the table. The store holds the keys of seedHostile:
// "a" at version 3.
func hostileRows() []hostileRow {
	longKey := strings.Repeat("k", httpapi.DefaultMaxKeySize+1)
	overValue := bytes.Repeat([]byte("v"), httpapi.DefaultMaxBodySize+1)
	var manyOps strings.Builder
	manyOps.WriteString(`{"ops":[`)
	for i := range httpapi.DefaultMaxTxnOps + 1 {
		if i > 0 {
			manyOps.WriteByte(',')
		}
		fmt.Fprintf(&manyOps, `{"op":"delete","key":"k%d"}`, i)
	}
	manyOps.WriteString(`]}`)
	hugeTxn := `{"ops":[{"op":"put","key":"a","value":"` +
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), httpapi.DefaultMaxTxnBodySize)) + `"}]}`
	const (
		badReq  = "invalid-request"
		badVer  = "invalid-version"
		badKey  = "invalid-key"
		tooBig  = "payload-too-large"
		noAuthz = "unauthorized"
		noMeth  = "method-not-allowed"
		precond = "precondition-failed"
	)
	return []hostileRow{
		// Bad percent-encoding and bytes net/http refuses in the request line.
		{name: "bad escape in path", req: getReq("/v1/kv/%zz"), status: 400},
		{name: "truncated escape in path", req: putReq("/v1/kv/a%2", "x"), status: 400},
		{name: "control byte in path", req: getReq("/v1/kv/a\x01b"), status: 400},
		{name: "bad escape in query (version)", req: putReq("/v1/kv/a?version=%zz", "x"), status: 400, problem: badReq},
		{name: "semicolon in query (version)", req: putReq("/v1/kv/a?version=3;x=1", "x"), status: 400, problem: badReq},
		{name: "bad escape in query (list)", req: getReq("/v1/kv?prefix=%zz"), status: 400, problem: badReq},
		{name: "bad escape in query (delete)", req: rawRequest{method: "DELETE", target: "/v1/kv/a?version=3&x=%"}, status: 400, problem: badReq},

		// Versions: negative, overflowing, repeated, signed, weak, lists.
		{name: "version=-1", req: putReq("/v1/kv/a?version=-1", "x"), status: 400, problem: badVer},
		{name: "version=2^64", req: putReq("/v1/kv/a?version=18446744073709551616", "x"), status: 400, problem: badVer},
		{name: "GET version=2^64", req: getReq("/v1/kv/a?version=18446744073709551616"), status: 400, problem: badVer},
		{name: "DELETE version of 23 digits", req: rawRequest{method: "DELETE", target: "/v1/kv/a?version=99999999999999999999999"}, status: 400, problem: badVer},
		{name: "version twice", req: putReq("/v1/kv/a?version=1&version=3", "x"), status: 400, problem: badVer},
		{name: "version=+3", req: putReq("/v1/kv/a?version=%2B3", "x"), status: 400, problem: badVer},
		{name: "version=03", req: putReq("/v1/kv/a?version=03", "x"), status: 400, problem: badVer},
		{name: "If-Match weak", req: putReq("/v1/kv/a", "x", `If-Match: W/"3"`), status: 400, problem: badVer},
		{name: "If-Match list with garbage", req: putReq("/v1/kv/a", "x", `If-Match: "3", garbage`), status: 400, problem: badVer},
		{name: "If-Match unquoted", req: putReq("/v1/kv/a", "x", `If-Match: 3`), status: 400, problem: badVer},
		{name: "If-Match empty tag", req: putReq("/v1/kv/a", "x", `If-Match: ""`), status: 400, problem: badVer},
		{name: "If-None-Match garbage on DELETE", req: rawRequest{method: "DELETE", target: "/v1/kv/a", header: []string{`If-None-Match: "3`}}, status: 400, problem: badVer},
		{name: "If-Match stale", req: putReq("/v1/kv/a", "x", `If-Match: "1"`), status: 412, problem: precond, header: map[string]string{"ETag": `"3"`}},
		{name: "If-Match list, none current", req: putReq("/v1/kv/a", "x", `If-Match: "1", "2"`), status: 412, problem: precond},
		{name: "If-None-Match * on an existing key", req: putReq("/v1/kv/a", "x", `If-None-Match: *`), status: 412, problem: precond},
		{name: "If-Match * on an absent key", req: putReq("/v1/kv/absent", "x", `If-Match: *`), status: 412, problem: precond},
		{name: "DELETE If-Match stale", req: rawRequest{method: "DELETE", target: "/v1/kv/a", header: []string{`If-Match: "999"`}}, status: 412, problem: precond},
		{name: "stale version=1", req: putReq("/v1/kv/a?version=1", "x"), status: 409, problem: "conflict", header: map[string]string{"ETag": `"3"`}},
		{name: "create-only on an existing key", req: putReq("/v1/kv/a?version=0", "x"), status: 409, problem: "conflict"},

		// Keys and bodies over the limits.
		{name: "key over the limit", req: putReq("/v1/kv/"+longKey, "x"), status: 400, problem: badKey},
		{name: "history key over the limit", req: getReq("/v1/history/" + longKey), status: 400, problem: badKey},
		{name: "empty key", req: putReq("/v1/kv/", "x"), status: 400, problem: badKey},
		{name: "key over the header limit", req: getReq("/v1/kv/" + strings.Repeat("k", httpapi.ServerMaxHeaderBytes+8192)), status: 431},
		{name: "headers over the limit", req: getReq("/v1/kv/a", "X-Pad: "+strings.Repeat("p", httpapi.ServerMaxHeaderBytes+8192)), status: 431},
		{name: "value over the limit", req: declaredOnly(putReq("/v1/kv/a", string(overValue))), status: 413, problem: tooBig, code: "value-too-large"},
		{name: "value over the limit, chunked", req: rawRequest{method: "PUT", target: "/v1/kv/a", body: chunked(overValue), noLength: true,
			header: []string{"Transfer-Encoding: chunked"}}, status: 413, problem: tooBig, code: "value-too-large"},
		{name: "body shorter than Content-Length", req: rawRequest{method: "PUT", target: "/v1/kv/a", body: []byte("short"), noLength: true,
			header: []string{"Content-Length: 10"}, halfClose: true}, status: 400, problem: badReq},
		{name: "transaction body over the limit", req: declaredOnly(txnReq(hugeTxn)), status: 413, problem: tooBig, code: "txn-too-large"},

		// Transactions: bad JSON, wrong types, duplicates, too many ops.
		{name: "txn bad JSON", req: txnReq(`{"ops":[`), status: 400, problem: badReq},
		{name: "txn not an object (null)", req: txnReq(`null`), status: 400, problem: badReq},
		{name: "txn not an object (array)", req: txnReq(`[]`), status: 400, problem: badReq},
		{name: "txn ops of the wrong type", req: txnReq(`{"ops":"put"}`), status: 400, problem: badReq},
		{name: "txn key of the wrong type", req: txnReq(`{"ops":[{"op":"put","key":1,"value":"eA=="}]}`), status: 400, problem: badReq},
		{name: "txn version as a string", req: txnReq(`{"conditions":[{"key":"a","version":"3"}]}`), status: 400, problem: badReq},
		{name: "txn negative version", req: txnReq(`{"conditions":[{"key":"a","version":-1}],"ops":[{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn version 2^64", req: txnReq(`{"conditions":[{"key":"a","version":18446744073709551616}],"ops":[{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn fractional version", req: txnReq(`{"conditions":[{"key":"a","version":3.5}],"ops":[{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn condition without version", req: txnReq(`{"conditions":[{"key":"a"}],"ops":[{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn duplicate key", req: txnReq(`{"ops":[{"op":"put","key":"a","value":""},{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn duplicate key via keyBase64", req: txnReq(`{"ops":[{"op":"put","key":"a","value":""},{"op":"delete","keyBase64":"YQ=="}]}`), status: 400, problem: badReq},
		{name: "txn too many ops", req: txnReq(manyOps.String()), status: 400, problem: badReq, code: "too-many-ops"},
		{name: "txn bad base64", req: txnReq(`{"ops":[{"op":"put","key":"a","value":"not base64!"}]}`), status: 400, problem: badReq},
		{name: "txn unknown op", req: txnReq(`{"ops":[{"op":"truncate","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn unknown member", req: txnReq(`{"ops":[],"admin":true}`), status: 400, problem: badReq},
		{name: "txn two JSON values", req: txnReq(`{"ops":[]}{"ops":[{"op":"delete","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn put without value", req: txnReq(`{"ops":[{"op":"put","key":"a"}]}`), status: 400, problem: badReq},
		{name: "txn key over the limit", req: txnReq(`{"ops":[{"op":"delete","key":"` + longKey + `"}]}`), status: 400, problem: badKey},
		{name: "txn empty key", req: txnReq(`{"ops":[{"op":"delete","key":""}]}`), status: 400, problem: badKey},
		{name: "txn ttl too long", req: txnReq(`{"ops":[{"op":"put","key":"a","value":"","ttl":"876001h"}]}`), status: 400, problem: badReq, code: "invalid-ttl"},
		{name: "txn stale condition", req: txnReq(`{"conditions":[{"key":"a","version":2}],"ops":[{"op":"put","key":"a","value":"eA=="}]}`), status: 409, problem: "conflict"},

		// Media types.
		{name: "txn as text/plain", req: rawRequest{method: "POST", target: "/v1/txn", body: []byte(`{}`), header: []string{"Content-Type: text/plain"}}, status: 415, problem: "unsupported-media-type"},
		{name: "txn without Content-Type", req: rawRequest{method: "POST", target: "/v1/txn", body: []byte(`{}`)}, status: 415, problem: "unsupported-media-type"},
		{name: "txn with a malformed media type", req: rawRequest{method: "POST", target: "/v1/txn", body: []byte(`{}`), header: []string{"Content-Type: application/json; ="}}, status: 415, problem: "unsupported-media-type"},
		{name: "txn as form", req: rawRequest{method: "POST", target: "/v1/txn", body: []byte(`ops=x`), header: []string{"Content-Type: application/x-www-form-urlencoded"}}, status: 415, problem: "unsupported-media-type"},

		// TTLs, list and history parameters.
		{name: "negative ttl", req: putReq("/v1/kv/a?ttl=-5", "x"), status: 400, problem: badReq, code: "invalid-ttl"},
		{name: "ttl overflowing a Duration", req: putReq("/v1/kv/a?ttl=9223372037", "x"), status: 400, problem: badReq, code: "invalid-ttl"},
		{name: "ttl past the year 2262", req: putReq("/v1/kv/a?ttl=2562047h", "x"), status: 400, problem: badReq, code: "invalid-ttl"},
		{name: "ttl garbage", req: putReq("/v1/kv/a?ttl=soon", "x"), status: 400, problem: badReq, code: "invalid-ttl"},
		{name: "list limit=-1", req: getReq("/v1/kv?limit=-1"), status: 400, problem: badReq},
		{name: "list limit overflowing", req: getReq("/v1/kv?limit=99999999999999999999"), status: 400, problem: badReq},
		{name: "history limit garbage", req: getReq("/v1/history/a?limit=all"), status: 400, problem: badReq},

		// Methods.
		{name: "PATCH a key", req: rawRequest{method: "PATCH", target: "/v1/kv/a", body: []byte("x")}, status: 405, problem: noMeth, header: map[string]string{"Allow": "DELETE, GET, HEAD, PUT"}},
		{name: "POST a key", req: rawRequest{method: "POST", target: "/v1/kv/a", body: []byte("x")}, status: 405, problem: noMeth},
		{name: "GET /v1/txn", req: getReq("/v1/txn"), status: 405, problem: noMeth, header: map[string]string{"Allow": "POST"}},
		{name: "DELETE the list", req: rawRequest{method: "DELETE", target: "/v1/kv"}, status: 405, problem: noMeth},
		{name: "PUT a history", req: putReq("/v1/history/a", "x"), status: 405, problem: noMeth},
		{name: "made-up method", req: rawRequest{method: "BREW", target: "/v1/kv/a"}, status: 405, problem: noMeth},
		{name: "method that is not a token", req: rawRequest{method: "G(T", target: "/v1/kv/a"}, status: 400},

		// Tokens.
		{name: "no token", req: rawRequest{method: "DELETE", target: "/v1/kv/a", noAuth: true}, status: 401, problem: noAuthz, header: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "wrong token", req: rawRequest{method: "DELETE", target: "/v1/kv/a", header: []string{"Authorization: Bearer wrong-token"}}, status: 401, problem: noAuthz,
			header: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "token of the right length, one byte off", req: putReq("/v1/kv/a", "x", "Authorization: Bearer "+hostileToken[:len(hostileToken)-1]+"X"), status: 401, problem: noAuthz},
		{name: "prefix of the token", req: putReq("/v1/kv/a", "x", "Authorization: Bearer "+hostileToken[:8]), status: 401, problem: noAuthz},
		{name: "token with a suffix", req: putReq("/v1/kv/a", "x", "Authorization: Bearer "+hostileToken+"0"), status: 401, problem: noAuthz},
		{name: "token as Basic credentials", req: putReq("/v1/kv/a", "x", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("u:"+hostileToken))), status: 401, problem: noAuthz},
		{name: "token in the query", req: rawRequest{method: "PUT", target: "/v1/kv/a?access_token=" + hostileToken, body: []byte("x"), noAuth: true}, status: 401, problem: noAuthz},
		{name: "empty bearer", req: putReq("/v1/kv/a", "x", "Authorization: Bearer "), status: 401, problem: noAuthz},
		{name: "backup without a token", req: rawRequest{method: "GET", target: "/v1/backup", noAuth: true}, status: 401, problem: noAuthz},
		{name: "backup with a wrong token", req: getReq("/v1/backup", "Authorization: Bearer "+hostileToken[1:]), status: 401, problem: noAuthz},
		{name: "history without a token", req: rawRequest{method: "GET", target: "/v1/history/a", noAuth: true}, status: 401, problem: noAuthz},

		// Watch parameters.
		{name: "watch fromVersion=-1", req: getReq("/v1/watch?fromVersion=-1"), status: 400, problem: badVer},
		{name: "watch fromVersion=2^64", req: getReq("/v1/watch?fromVersion=18446744073709551616"), status: 400, problem: badVer},
		{name: "watch Last-Event-ID garbage", req: getReq("/v1/watch", "Last-Event-ID: 1e3"), status: 400, problem: badVer},
		{name: "watch prefix with a bad escape", req: getReq("/v1/watch?prefix=%zz"), status: 400, problem: badReq},
		{name: "POST a watch", req: rawRequest{method: "POST", target: "/v1/watch", body: []byte("{}")}, status: 405, problem: noMeth},

		// Paths that look like traversal are keys like any other.
		{name: "dot-dot key", req: getReq("/v1/kv/../../etc/passwd"), status: 404, problem: "not-found"},
		{name: "DELETE an absent key", req: rawRequest{method: "DELETE", target: "/v1/kv/absent"}, status: 404, problem: "not-found"},
		{name: "unknown path", req: getReq("/v2/kv/a"), status: 404, problem: "not-found"},

		// Framing tricks net/http refuses before the handler.
		{name: "no Host header", req: rawRequest{raw: "GET /v1/kv/a HTTP/1.1\r\nAuthorization: Bearer " + hostileToken + "\r\nConnection: close\r\n\r\n"}, status: 400},
		{name: "header line without a colon", req: getReq("/v1/kv/a", "this is not a header"), status: 400},
		{name: "Content-Length twice, different", req: rawRequest{method: "PUT", target: "/v1/kv/a", body: []byte("x"), noLength: true,
			header: []string{"Content-Length: 1", "Content-Length: 2"}}, status: 400},
		{name: "negative Content-Length", req: rawRequest{method: "PUT", target: "/v1/kv/a", body: []byte("x"), noLength: true,
			header: []string{"Content-Length: -1"}}, status: 400},
		{name: "Transfer-Encoding gzip", req: rawRequest{method: "PUT", target: "/v1/kv/a", body: []byte("x"), noLength: true,
			header: []string{"Transfer-Encoding: gzip"}}, status: 501},
		{name: "Slowloris: headers a byte at a time", req: rawRequest{slow: true}, status: 0},
	}
}

// seedHostile writes the data the hostile requests aim at: "a" has three
// versions, "gone" was deleted, and a few more keys of every kind.
func seedHostile(t *testing.T, kv vkv.KV) []string {
	t.Helper()
	ctx := context.Background()
	for _, v := range []string{"one", "two", "three"} {
		if _, err := kv.Put(ctx, "a", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	must := func(_ vkv.Version, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(kv.Put(ctx, "b/c", []byte("slash")))
	must(kv.Put(ctx, "gone", []byte("soon deleted")))
	must(kv.Delete(ctx, "gone"))
	must(kv.Put(ctx, "bin\x00\xff", []byte{0, 1, 0xfe, 0xff}))
	must(kv.Put(ctx, "big", bytes.Repeat([]byte("B"), 100<<10)))
	must(kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Put("txn/1", []byte("first")); err != nil {
			return err
		}
		return tx.Put("txn/2", []byte("second"))
	}))
	return []string{"a", "b/c", "gone", "bin\x00\xff", "big", "txn/1", "txn/2", "absent", "k0", "../../etc/passwd"}
}

// storeSnapshot is everything a client can see of a store.
type storeSnapshot struct {
	Version vkv.Version
	Current map[string]vkv.Entry
	History map[string][]vkv.Entry
}

// snapshot reads every listed key with its value and version, the history
// of each of them and of each key in keys, and the store's newest version,
// all through the vkv.KV interface.
func snapshot(t *testing.T, kv vkv.KV, keys []string) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	s := storeSnapshot{Current: map[string]vkv.Entry{}, History: map[string][]vkv.Entry{}}
	if vr, ok := kv.(interface {
		CurrentVersion(context.Context) (vkv.Version, error)
	}); ok {
		v, err := vr.CurrentVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Version = v
	}
	all := append([]string(nil), keys...)
	for after := ""; ; {
		lr, err := kv.List(ctx, "", after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			s.Current[e.Key] = e
			all = append(all, e.Key)
		}
		if next == "" {
			break
		}
		after = next
	}
	for _, k := range all {
		h, err := kv.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.History[k] = h
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for concurrent writes, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hostileServer serves h on a loopback listener with the *http.Server of
// httpapi.NewServer (as vkv serve does), the read-header timeout cut to
// testReadHeaderTimeout; it returns the address. The server's own error log
// goes to logs.
func hostileServer(t *testing.T, h http.Handler, logs io.Writer) (addr string, srv *http.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.Config = httpapi.NewServer(h, slog.New(slog.NewTextHandler(logs, nil)))
	ts.Config.ReadHeaderTimeout = testReadHeaderTimeout
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String(), ts.Config
}

// rawResult is what came back for a rawRequest.
type rawResult struct {
	resp     *http.Response // nil if the server closed without answering
	body     []byte
	err      error // why resp is nil
	duration time.Duration
}

// sendRaw sends req on a new connection to addr and reads the answer.
func sendRaw(addr string, req rawRequest) rawResult {
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawResult{err: err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if req.slow {
			if _, err := io.WriteString(conn, "GET /v1/kv/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); err != nil {
				return
			}
			for range 200 { // 10 s at most
				if _, err := conn.Write([]byte("z")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
		conn.Write(req.bytes())
		if req.halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	res := rawResult{resp: resp, err: err}
	if err == nil {
		res.body, res.err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	res.duration = time.Since(start)
	conn.Close()
	<-wrote
	return res
}

// TestHostileRequests sends the hostile table over a real loopback
// connection to a server built as vkv serve builds it, around a store with
// data and a token. Each request must get its status and problem type, and a
// snapshot of the store (every key, value, version and history, and the
// store's version) must be the same after as before: none of them wrote
// anything. The handler's log must never show the token.
func TestHostileRequests(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keys := seedHostile(t, s)
	before := snapshot(t, s, keys)
	if len(before.Current) != 6 || before.Version == 0 || len(before.History["gone"]) != 2 {
		t.Fatalf("the seeded store is not as expected: %+v", before)
	}

	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := httpapi.New(s, httpapi.WithToken(hostileToken), httpapi.WithLogger(logger))
	addr, _ := hostileServer(t, h, &logs)

	rows := hostileRows()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			res := sendRaw(addr, row.req)
			if row.status == 0 {
				if res.resp != nil {
					t.Fatalf("got %s, want the connection closed without an answer", res.resp.Status)
				}
				if res.duration > testReadHeaderTimeout+5*time.Second {
					t.Fatalf("the connection was closed after %v, want about %v", res.duration, testReadHeaderTimeout)
				}
				t.Logf("closed without an answer after %v (%v)", res.duration.Round(time.Millisecond), res.err)
				return
			}
			if res.resp == nil {
				t.Fatalf("no answer: %v", res.err)
			}
			if res.resp.StatusCode != row.status {
				t.Fatalf("status %d, want %d; body %.300s", res.resp.StatusCode, row.status, res.body)
			}
			for name, want := range row.header {
				if got := res.resp.Header.Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if row.problem == "" {
				// net/http's own answer: plain text, before the handler.
				if ct := res.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("net/http's answer has Content-Type %q", ct)
				}
				return
			}
			u, err := url.ParseRequestURI(row.req.target)
			if err != nil {
				t.Fatalf("target %q: %v", row.req.target, err)
			}
			p, err := checkProblem(res.resp.StatusCode, res.resp.Header, res.body, u.EscapedPath())
			if err != nil {
				t.Fatal(err)
			}
			if p.Name() != row.problem || p.Code != row.code {
				t.Fatalf("problem %s (code %q), want %s (code %q): %s", p.Name(), p.Code, row.problem, row.code, res.body)
			}
		})
	}

	after := snapshot(t, s, keys)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the hostile requests changed the store (-before +after):\n%s", diff)
	} else {
		t.Logf("%d hostile requests; the store is unchanged at version %d", len(rows), after.Version)
	}
	if strings.Contains(logs.String(), hostileToken) || strings.Contains(logs.String(), hostileToken[:8]) || strings.Contains(logs.String(), hostileToken[:len(hostileToken)-1]) {
		t.Errorf("the log shows the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"request"`) {
		t.Errorf("the handler logged no requests; the token check above proves nothing:\n%.2000s", logs.String())
	}
}
