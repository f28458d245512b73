package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// fuzzToken is the token of the handler under fuzz. A request whose headers
// name no Authorization gets it added, so that most inputs get past the
// check; inputs that send their own exercise it.
const fuzzToken = "fuzz-token-3a7c"

// fuzzStatuses are the statuses the handler may answer with; anything else
// (any 5xx in particular) fails.
var fuzzStatuses = map[int]bool{
	200: true, 201: true, 301: true, 307: true, 308: true, 304: true,
	400: true, 401: true, 404: true, 405: true, 409: true, 410: true, 412: true, 413: true, 415: true,
}

// FuzzHandler sends arbitrary requests, parsed from raw HTTP/1.1 bytes the
// way the server parses them, to the handler over an in-memory store. It
// checks that the handler never panics and never answers 5xx (or a status
// outside the contract), that every error response is a valid problem
// (checkProblem), that a request answered with an error, a 304 or a read
// wrote nothing, and that a 2xx PUT wrote exactly its body under the version
// it reports, as the ETag and Vkv-Version headers say too.
//
// The inputs are the method, the request target (path and query), header
// lines separated by "\n" and the body. Inputs that net/http would refuse
// before the handler runs are skipped.
func FuzzHandler(f *testing.F) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	kv := &writeCounter{KV: s}
	h := httpapi.New(kv, httpapi.WithToken(fuzzToken), httpapi.WithMaxKeySize(64), httpapi.WithMaxTxnOps(8),
		httpapi.WithMaxBodySize(1024), httpapi.WithMaxTxnBodySize(4096))
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		r, ok := parseFuzzRequest(method, target, headers, body)
		if !ok {
			return
		}
		instance := r.URL.EscapedPath()
		if strings.HasPrefix(r.URL.Path, "/v1/watch") {
			// A watch streams until its request ends.
			ctx, cancel := context.WithTimeout(r.Context(), watchFuzzTime)
			defer cancel()
			r = r.WithContext(ctx)
		}
		writesBefore := kv.writes.Load()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		wrote := kv.writes.Load() != writesBefore
		what := fmt.Sprintf("%s %q (headers %q, body %q)", r.Method, r.RequestURI, headers, body)
		if !fuzzStatuses[w.Code] {
			t.Fatalf("%s: status %d outside the contract; body %s", what, w.Code, w.Body)
		}
		if w.Code >= 400 {
			if _, err := checkProblem(w.Code, w.Header(), w.Body.Bytes(), instance); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		if wrote && (w.Code >= 300 || r.Method == "GET" || r.Method == "HEAD") {
			t.Fatalf("%s: answered %d but wrote to the store", what, w.Code)
		}
		if w.Code == http.StatusNotModified && w.Body.Len() != 0 {
			t.Fatalf("%s: 304 with a body", what)
		}
		if w.Code/100 != 2 || !strings.HasPrefix(r.URL.Path, "/v1/kv/") {
			return
		}
		etag, ver := w.Header().Get("ETag"), w.Header().Get(wire.HeaderVersion)
		switch r.Method {
		case "GET", "HEAD":
			if etag == "" || etag != `"`+ver+`"` {
				t.Fatalf("%s: 200 with ETag %q and %s %q", what, etag, wire.HeaderVersion, ver)
			}
		case "DELETE":
			if !wrote {
				t.Fatalf("%s: %d but nothing was written", what, w.Code)
			}
		case "PUT":
			var res wire.WriteResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("%s: %d with body %q: %v", what, w.Code, w.Body, err)
			}
			if !wrote || etag != res.Version.ETag() || ver != res.Version.String() {
				t.Fatalf("%s: %d version %d, ETag %q, %s %q, wrote %v", what, w.Code, res.Version, etag, wire.HeaderVersion, ver, wrote)
			}
			e, err := s.GetAt(context.Background(), wire.WireKey(res.Key, res.KeyBase64), res.Version)
			if err != nil || e.Version != res.Version || !bytes.Equal(e.Value, r.Context().Value(bodyKey{}).([]byte)) {
				t.Fatalf("%s: %d version %d, but the store has %+v, %v", what, w.Code, res.Version, e, err)
			}
		}
	})
}

// watchFuzzTime bounds a GET /v1/watch under fuzz: the stream is cut after
// that long.
const watchFuzzTime = 150 * time.Millisecond

// bodyKey is the context key under which parseFuzzRequest keeps the body.
type bodyKey struct{}

// parseFuzzRequest builds raw HTTP/1.1 bytes from the fuzz inputs and parses
// them with http.ReadRequest, as the server would. ok is false for inputs
// net/http refuses before any handler runs, or that are not one request.
func parseFuzzRequest(method, target, headers string, body []byte) (*http.Request, bool) {
	if len(method) > 16 || len(target) > 8192 || len(headers) > 8192 || strings.ContainsAny(method+target, " \r\n") {
		return nil, false
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: vkv.test\r\n", method, target)
	auth := false
	for _, line := range strings.Split(headers, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "authorization":
			auth = true
		case "content-length", "transfer-encoding", "host", "expect", "connection", "trailer":
			continue // framing is this function's
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	if !auth {
		b.WriteString("Authorization: Bearer " + fuzzToken + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil || r.Method != method {
		return nil, false
	}
	r.RemoteAddr = "192.0.2.1:1234"
	return r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)), true
}

// writeCounter is a vkv.KV that counts the writes that succeed through it:
// Put, CompareAndSwap, Delete, CompareAndDelete, and Update whose function
// buffered a Put or Delete.
type writeCounter struct {
	vkv.KV
	writes atomic.Int64
}

// Watch passes the change feed of the store through, so that GET
// /v1/watch is served rather than answered 501.
func (c *writeCounter) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	return c.KV.(vkv.Watcher).Watch(ctx, prefix, from, opts...)
}

// Backup passes the store's backup through, so that GET /v1/backup is
// served rather than answered 501.
func (c *writeCounter) Backup(ctx context.Context, w io.Writer) error {
	return c.KV.(vkv.Backupper).Backup(ctx, w)
}

func (c *writeCounter) count(err error) {
	if err == nil {
		c.writes.Add(1)
	}
}

func (c *writeCounter) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	v, err := c.KV.Put(ctx, key, value, opts...)
	c.count(err)
	return v, err
}

func (c *writeCounter) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	v, err := c.KV.CompareAndSwap(ctx, key, expected, value, opts...)
	c.count(err)
	return v, err
}

func (c *writeCounter) Delete(ctx context.Context, key string) (vkv.Version, error) {
	v, err := c.KV.Delete(ctx, key)
	c.count(err)
	return v, err
}

func (c *writeCounter) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	v, err := c.KV.CompareAndDelete(ctx, key, expected)
	c.count(err)
	return v, err
}

func (c *writeCounter) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	var wrote bool
	v, err := c.KV.Update(ctx, func(tx vkv.Txn) error {
		wrote = false
		return fn(&txnWatcher{Txn: tx, wrote: &wrote})
	})
	if wrote {
		c.count(err)
	}
	return v, err
}

// txnWatcher notes whether a transaction buffered a write.
type txnWatcher struct {
	vkv.Txn
	wrote *bool
}

func (t *txnWatcher) Put(key string, value []byte, opts ...vkv.WriteOption) error {
	err := t.Txn.Put(key, value, opts...)
	if err == nil {
		*t.wrote = true
	}
	return err
}

func (t *txnWatcher) Delete(key string) error {
	err := t.Txn.Delete(key)
	if err == nil {
		*t.wrote = true
	}
	return err
}
