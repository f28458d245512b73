package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvtest"
	"github.com/vkvstore/vkv/wire"
)

const watchToken = "watch-t0ken"

// sseEvent is one event of a stream as a test sees it; a comment line is an
// event with only Comment set.
type sseEvent struct {
	ID, Event, Data, Comment string
}

// sseStream reads the events of a watch response.
type sseStream struct {
	resp *http.Response
	rd   *bufio.Reader
}

// next returns the next event or comment; io.EOF when the stream ends.
func (s *sseStream) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && ev == (sseEvent{}) {
				return ev, io.EOF
			}
			return ev, fmt.Errorf("stream cut inside an event: %q, %v", line, err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			ev.Comment = strings.TrimSpace(line[1:])
		default:
			name, value, _ := strings.Cut(line, ": ")
			switch name {
			case "id":
				ev.ID = value
			case "event":
				ev.Event = value
			case "data":
				ev.Data = value
			default:
				return ev, fmt.Errorf("unknown field in line %q", line)
			}
		}
	}
}

// nextEvent skips heartbeats and returns the next event.
func (s *sseStream) nextEvent(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if ev.Comment == "" {
			return ev
		}
		if ev.Comment != "heartbeat" {
			t.Fatalf("comment %q, want heartbeat", ev.Comment)
		}
	}
}

// watchServer serves kv with a short heartbeat and returns its URL.
func watchServer(t *testing.T, kv vkv.KV, opts ...httpapi.Option) *httptest.Server {
	t.Helper()
	opts = append([]httpapi.Option{httpapi.WithToken(watchToken), httpapi.WithHeartbeat(20 * time.Millisecond)}, opts...)
	srv := httptest.NewServer(httpapi.New(kv, opts...))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// openWatch sends GET target with the token and the header pairs hdr.
func openWatch(t *testing.T, ctx context.Context, base, target string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+watchToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// stream opens a watch that must be answered with a stream.
func stream(t *testing.T, ctx context.Context, base, target string, hdr ...string) *sseStream {
	t.Helper()
	resp := openWatch(t, ctx, base, target, hdr...)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s, want 200; body %s", target, resp.Status, b)
	}
	for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("GET %s: %s: %q, want %q", target, name, got, want)
		}
	}
	return &sseStream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// wantEvent reads the next event and compares it with id, name and data (a
// JSON object, compared as values).
func wantEvent(t *testing.T, s *sseStream, id, name, data string) {
	t.Helper()
	ev := s.nextEvent(t)
	if ev.ID != id || ev.Event != name {
		t.Errorf("event id %q, name %q, want %q, %q (data %s)", ev.ID, ev.Event, id, name, ev.Data)
	}
	var got, want any
	if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
		t.Fatalf("event data %q: %v", ev.Data, err)
	}
	if err := json.Unmarshal([]byte(data), &want); err != nil {
		t.Fatalf("bad expected data %q: %v", data, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event %s data (-want +got):\n%s", id, diff)
	}
}

// TestWatchStream: a watch replays the changes after fromVersion under the
// prefix, then delivers live ones, in the documented wire form: puts,
// deletes, the events of a transaction under one id, keys that are not
// UTF-8, expiry times; heartbeats keep an idle stream alive.
func TestWatchStream(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	s.Put(ctx, "a/1", []byte("one"))          // 1
	s.Put(ctx, "b/1", []byte("other prefix")) // 2
	s.Put(ctx, "a/1", []byte("uno"))          // 3
	s.Delete(ctx, "a/1")                      // 4
	s.Update(ctx, func(tx vkv.Txn) error {    // 5
		tx.Put("a/y", []byte("y"))
		tx.Put("b/2", nil)
		return tx.Put("a/x", nil)
	})
	s.Put(ctx, "a/\xff", []byte{0, 1}) // 6
	srv := watchServer(t, s)

	st := stream(t, ctx, srv.URL, "/v1/watch?prefix=a/&fromVersion=0")
	wantEvent(t, st, "1", "put", `{"key":"a/1","version":1,"createVersion":1,"value":"b25l","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "3", "put", `{"key":"a/1","version":3,"createVersion":1,"value":"dW5v","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "4", "delete", `{"key":"a/1","version":4,"createVersion":1,"value":null,"deleted":true,"txnEnd":true}`)
	wantEvent(t, st, "", "put", `{"key":"a/y","version":5,"createVersion":5,"value":"eQ==","deleted":false}`)
	wantEvent(t, st, "5", "put", `{"key":"a/x","version":5,"createVersion":5,"value":"","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "6", "put", `{"key":"a/\ufffd","keyBase64":"YS//","version":6,"createVersion":6,"value":"AAE=","deleted":false,"txnEnd":true}`)

	// Idle: heartbeats only.
	for range 2 {
		ev, err := st.next()
		if err != nil || ev != (sseEvent{Comment: "heartbeat"}) {
			t.Fatalf("idle stream: %+v, %v; want a heartbeat", ev, err)
		}
	}
	// Live, with an expiry time.
	exp := time.Now().Add(time.Hour)
	s.Put(ctx, "b/3", nil)
	s.Put(ctx, "a/ttl", []byte("t"), vkv.WithTTL(time.Hour))
	e, err := s.Get(ctx, "a/ttl")
	if err != nil || e.ExpiresAt.Before(exp) || e.ExpiresAt.After(exp.Add(time.Minute)) {
		t.Fatalf("Get(a/ttl) = %+v, %v", e, err)
	}
	wantEvent(t, st, "8", "put", fmt.Sprintf(`{"key":"a/ttl","version":8,"createVersion":8,"value":"dA==","deleted":false,"expiresAt":%q,"txnEnd":true}`,
		e.ExpiresAt.UTC().Format(time.RFC3339Nano)))
}

// TestWatchProgress: progressNow=true sends one progress event, with the
// version as its id, once the stream has caught up with the store, after
// the changes at or below it; progressInterval sends one each interval of
// the store's clock.
func TestWatchProgress(t *testing.T) {
	clock := vkvtest.NewFakeClock(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	s, err := vkv.Open("", &vkv.Options{InMemory: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	s.Put(ctx, "a/1", []byte("one"))   // 1
	s.Put(ctx, "b/1", []byte("other")) // 2
	srv := watchServer(t, s)

	st := stream(t, ctx, srv.URL, "/v1/watch?prefix=a/&fromVersion=0&progressNow=true")
	wantEvent(t, st, "1", "put", `{"key":"a/1","version":1,"createVersion":1,"value":"b25l","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "2", "progress", `{"version":2}`)

	st = stream(t, ctx, srv.URL, "/v1/watch?prefix=a/&fromVersion=0&progressInterval=10s")
	wantEvent(t, st, "1", "put", `{"key":"a/1","version":1,"createVersion":1,"value":"b25l","deleted":false,"txnEnd":true}`)
	s.Put(ctx, "b/2", nil) // 3
	clock.Advance(10 * time.Second)
	wantEvent(t, st, "3", "progress", `{"version":3}`)
}

// TestWatchResume: Last-Event-ID takes precedence over fromVersion; without
// either the watch starts at the store's newest version.
func TestWatchResume(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	for i := range 5 {
		s.Put(ctx, fmt.Sprint("k", i), []byte{byte('a' + i)})
	}
	srv := watchServer(t, s)

	st := stream(t, ctx, srv.URL, "/v1/watch?fromVersion=1", "Last-Event-ID", "3")
	wantEvent(t, st, "4", "put", `{"key":"k3","version":4,"createVersion":4,"value":"ZA==","deleted":false,"txnEnd":true}`)

	now := stream(t, ctx, srv.URL, "/v1/watch")
	s.Put(ctx, "k9", nil)
	wantEvent(t, now, "6", "put", `{"key":"k9","version":6,"createVersion":6,"value":"","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "5", "put", `{"key":"k4","version":5,"createVersion":5,"value":"ZQ==","deleted":false,"txnEnd":true}`)
	wantEvent(t, st, "6", "put", `{"key":"k9","version":6,"createVersion":6,"value":"","deleted":false,"txnEnd":true}`)

	// An empty Last-Event-ID is no Last-Event-ID.
	st = stream(t, ctx, srv.URL, "/v1/watch?fromVersion=4", "Last-Event-ID", "")
	wantEvent(t, st, "5", "put", `{"key":"k4","version":5,"createVersion":5,"value":"ZQ==","deleted":false,"txnEnd":true}`)
}

// TestWatchRequestErrors: bad parameters, a compacted from, a missing
// token and a KV without a change feed are answered with problems before
// any stream starts.
func TestWatchRequestErrors(t *testing.T) {
	s := openMem(t)
	s.Put(t.Context(), "k", nil)
	compacting := &fakeWatcher{KV: s, oldest: 5}
	plain := struct{ vkv.KV }{s}
	for _, row := range []struct {
		name, target string
		hdr          []string
		kv           vkv.KV
		status       int
		problem      string
		reason       string
		want         func(p *wire.Problem) bool
	}{
		{name: "bad from", target: "/v1/watch?fromVersion=x", status: 400, problem: "invalid-version",
			reason: "fromVersion must be a decimal version"},
		{name: "negative from", target: "/v1/watch?fromVersion=-1", status: 400, problem: "invalid-version",
			reason: "fromVersion must be a decimal version"},
		{name: "two froms", target: "/v1/watch?fromVersion=1&fromVersion=2", status: 400, problem: "invalid-version",
			reason: "fromVersion may be given once"},
		{name: "two prefixes", target: "/v1/watch?prefix=a&prefix=b", status: 400, problem: "invalid-request",
			reason: "prefix may be given once"},
		{name: "bad Last-Event-ID", target: "/v1/watch?fromVersion=1", hdr: []string{"Last-Event-ID", "7x"}, status: 400,
			problem: "invalid-version", reason: "Last-Event-ID must be a decimal version, even beside a good fromVersion"},
		{name: "no token", target: "/v1/watch?fromVersion=1", hdr: []string{"Authorization", ""}, status: 401,
			problem: "unauthorized", reason: "the watch route needs the token like every /v1 route"},
		{name: "compacted", target: "/v1/watch?fromVersion=2", kv: compacting, status: 410, problem: "compacted",
			reason: "a from below the kept history: 410 with oldestVersion, before the stream",
			want:   func(p *wire.Problem) bool { return p.OldestVersion != nil && *p.OldestVersion == 5 && p.Key == nil }},
		{name: "compacted via Last-Event-ID", target: "/v1/watch?fromVersion=9", hdr: []string{"Last-Event-ID", "4"},
			kv: compacting, status: 410, problem: "compacted", reason: "Last-Event-ID wins over fromVersion, also when it is too old"},
		{name: "not a watcher", target: "/v1/watch?fromVersion=1", kv: plain, status: 501, problem: "not-implemented",
			reason: "a KV without a change feed: 501 not-implemented"},
		{name: "POST", target: "/v1/watch", status: 405, problem: "method-not-allowed", reason: "only GET and HEAD"},
		{name: "bad progressInterval", target: "/v1/watch?progressInterval=soon", status: 400, problem: "invalid-request",
			reason: "progressInterval is a Go duration or seconds"},
		{name: "zero progressInterval", target: "/v1/watch?progressInterval=0", status: 400, problem: "invalid-request",
			reason: "progressInterval must be above zero"},
		{name: "huge progressInterval", target: "/v1/watch?progressInterval=25h", status: 400, problem: "invalid-request",
			reason: "progressInterval is at most a day"},
		{name: "two progressIntervals", target: "/v1/watch?progressInterval=1&progressInterval=2", status: 400, problem: "invalid-request",
			reason: "progressInterval may be given once"},
		{name: "bad progressNow", target: "/v1/watch?progressNow=yes", status: 400, problem: "invalid-request",
			reason: "progressNow is true or false"},
	} {
		t.Run(row.name, func(t *testing.T) {
			kv := row.kv
			if kv == nil {
				kv = s
			}
			srv := watchServer(t, kv)
			method := http.MethodGet
			if row.name == "POST" {
				method = http.MethodPost
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+row.target, nil)
			req.Header.Set("Authorization", "Bearer "+watchToken)
			for i := 0; i+1 < len(row.hdr); i += 2 {
				req.Header.Set(row.hdr[i], row.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != row.status {
				t.Fatalf("%s: status %d, want %d (%s); body %s", row.target, resp.StatusCode, row.status, row.reason, body)
			}
			path, _, _ := strings.Cut(row.target, "?")
			if _, err := checkProblem(resp.StatusCode, resp.Header, body, path); err != nil {
				t.Errorf("%s: %v", row.target, err)
			}
			var p wire.Problem
			if err := json.Unmarshal(body, &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s: not a problem: %v, %s", row.target, err, body)
			}
			if p.Name() != row.problem || p.Status != row.status || p.Title == "" || p.Detail == "" || p.Instance != path {
				t.Errorf("%s: problem %s, want %s at %s (%s)", row.target, body, row.problem, path, row.reason)
			}
			if row.want != nil && !row.want(&p) {
				t.Errorf("%s: problem %s (%s)", row.target, body, row.reason)
			}
		})
	}
}

// TestWatchEnds: a stream ends with an error event when the change feed is
// compacted under it, when the store closes and when the server shuts down
// (without holding up Shutdown); a HEAD gets the headers and no stream.
func TestWatchEnds(t *testing.T) {
	t.Run("compacted", func(t *testing.T) {
		s := openMem(t)
		s.Put(t.Context(), "k", []byte("v"))
		srv := watchServer(t, &fakeWatcher{KV: s, failAfter: 1, oldest: 7})
		st := stream(t, t.Context(), srv.URL, "/v1/watch?fromVersion=0")
		wantEvent(t, st, "1", "put", `{"key":"k","version":1,"createVersion":1,"value":"dg==","deleted":false,"txnEnd":true}`)
		wantErrorEvent(t, st, "compacted", "/v1/watch", func(p *wire.Problem) bool {
			return p.Status == 410 && p.OldestVersion != nil && *p.OldestVersion == 7
		})
	})
	t.Run("store closed", func(t *testing.T) {
		s, err := vkv.Open("", &vkv.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := watchServer(t, s)
		st := stream(t, t.Context(), srv.URL, "/v1/watch?fromVersion=0")
		s.Put(t.Context(), "k", nil)
		st.nextEvent(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantErrorEvent(t, st, "unavailable", "/v1/watch", func(p *wire.Problem) bool { return p.Code == "closed" })
	})
	t.Run("shutdown", func(t *testing.T) {
		s := openMem(t)
		h := httpapi.New(s, httpapi.WithToken(watchToken))
		srv := httptest.NewServer(h)
		defer srv.Close()
		st := stream(t, t.Context(), srv.URL, "/v1/watch?fromVersion=0")
		s.Put(t.Context(), "k", nil)
		st.nextEvent(t)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- srv.Config.Shutdown(ctx) }()
		wantErrorEvent(t, st, "unavailable", "/v1/watch", func(p *wire.Problem) bool { return p.Code == "shutdown" })
		st.resp.Body.Close()
		if err := <-done; err != nil {
			t.Fatalf("Shutdown with a watch open: %v", err)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		srv := watchServer(t, openMem(t))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"/v1/watch?fromVersion=0", nil)
		req.Header.Set("Authorization", "Bearer "+watchToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("HEAD /v1/watch: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
		}
	})
}

// wantErrorEvent reads the next event, which must be an error event with
// the named problem, and then the end of the stream.
func wantErrorEvent(t *testing.T, st *sseStream, name, instance string, ok func(*wire.Problem) bool) {
	t.Helper()
	ev := st.nextEvent(t)
	var p wire.Problem
	if err := json.Unmarshal([]byte(ev.Data), &p); err != nil || ev.Event != "error" || ev.ID != "" {
		t.Fatalf("event %+v, want an error event without id carrying a problem (%v)", ev, err)
	}
	if p.Name() != name || p.Instance != instance || p.Title == "" || p.Detail == "" || !ok(&p) {
		t.Errorf("error event %s, want problem %s at %s", ev.Data, name, instance)
	}
	if ev, err := st.next(); err != io.EOF {
		t.Errorf("after the error event: %+v, %v; want the end of the stream", ev, err)
	}
}

// TestWatchOutlivesServerTimeouts: a stream runs past the server's read and
// write timeouts (those of httpapi.NewServer, shortened) and still delivers.
func TestWatchOutlivesServerTimeouts(t *testing.T) {
	s := openMem(t)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = httpapi.NewServer(httpapi.New(s, httpapi.WithToken(watchToken), httpapi.WithHeartbeat(30*time.Millisecond)), nil)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 150*time.Millisecond, 150*time.Millisecond
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	st := stream(t, t.Context(), srv.URL, "/v1/watch?fromVersion=0")
	time.Sleep(400 * time.Millisecond)
	s.Put(t.Context(), "late", []byte("x"))
	wantEvent(t, st, "1", "put", `{"key":"late","version":1,"createVersion":1,"value":"eA==","deleted":false,"txnEnd":true}`)
}

// TestWatchClientGone: when the client goes away, the handler ends and
// stops its watch (goleak checks that nothing is left behind).
func TestWatchClientGone(t *testing.T) {
	s := openMem(t)
	fw := &fakeWatcher{KV: s}
	srv := watchServer(t, fw)
	ctx, cancel := context.WithCancel(t.Context())
	st := stream(t, ctx, srv.URL, "/v1/watch?fromVersion=0")
	s.Put(t.Context(), "k", nil)
	st.nextEvent(t)
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for fw.active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the store's watch still runs 5s after the client left")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openMem(t *testing.T) *vkv.Store {
	t.Helper()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeWatcher wraps a store's Watch: a from below oldest gives a
// *vkv.CompactedError at once, and with failAfter > 0 the watch ends with
// one after that many events. It counts the watches running.
type fakeWatcher struct {
	vkv.KV
	oldest    vkv.Version
	failAfter int
	active    atomic.Int64
}

func (f *fakeWatcher) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	return func(yield func(vkv.Entry, error) bool) {
		f.active.Add(1)
		defer f.active.Add(-1)
		if from < f.oldest && f.failAfter == 0 {
			yield(vkv.Entry{}, &vkv.CompactedError{Requested: from, Oldest: f.oldest})
			return
		}
		n := 0
		for e, err := range f.KV.(vkv.Watcher).Watch(ctx, prefix, from, opts...) {
			if !yield(e, err) || err != nil {
				return
			}
			if n++; n == f.failAfter {
				yield(vkv.Entry{}, &vkv.CompactedError{Requested: e.Version, Oldest: f.oldest})
				return
			}
		}
	}
}

// TestWatchResumeMidTransaction: a stream cut after the first change of a
// transaction, resumed as an EventSource does (Last-Event-ID: the last id
// it saw), delivers the whole transaction again, never only its tail.
func TestWatchResumeMidTransaction(t *testing.T) {
	s := openMem(t)
	// A change never sent must fail the test, not hang it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s.Put(ctx, "a/0", nil)                 // 1
	s.Update(ctx, func(tx vkv.Txn) error { // 2
		tx.Put("a/x", nil)
		tx.Put("a/y", nil)
		return tx.Put("a/z", nil)
	})
	s.Put(ctx, "a/after", nil) // 3
	srv := watchServer(t, s)

	lastID := ""
	st := stream(t, ctx, srv.URL, "/v1/watch?prefix=a/&fromVersion=0")
	for range 2 { // a/0, then a/x of version 2
		if ev := st.nextEvent(t); ev.ID != "" {
			lastID = ev.ID
		}
	}
	st.resp.Body.Close() // the connection drops

	st = stream(t, ctx, srv.URL, "/v1/watch?prefix=a/&fromVersion=0", "Last-Event-ID", lastID)
	var got []string
	for len(got) < 4 { // up to a/after, the last change
		var we wire.WatchEvent
		if err := json.Unmarshal([]byte(st.nextEvent(t).Data), &we); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s@%d", we.Key, we.Version))
		if we.Key == "a/after" {
			break
		}
	}
	want := []string{"a/x@2", "a/y@2", "a/z@2", "a/after@3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed after Last-Event-ID %q (-want +got):\n%s", lastID, diff)
	}
}
