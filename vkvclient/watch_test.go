package vkvclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
)

const watchToken = "w-t0ken"

// change is what a test compares of an event.
type change struct {
	Key     string
	Version vkv.Version
	Value   string
	Deleted bool
}

func changeOf(e vkv.Entry) change {
	return change{Key: e.Key, Version: e.Version, Value: string(e.Value), Deleted: e.Deleted}
}

// collect reads seq until the event for key stop, failing on any error.
func collect(t *testing.T, seq iter.Seq2[vkv.Entry, error], stop string) []change {
	t.Helper()
	var out []change
	for e, err := range seq {
		if err != nil {
			t.Errorf("watch: %v after %d events", err, len(out))
			return out
		}
		out = append(out, changeOf(e))
		if e.Key == stop {
			break
		}
	}
	return out
}

// reference is what the embedded store's own Watch delivers from from up
// to the event for key stop.
func reference(t *testing.T, s *vkv.Store, prefix string, from vkv.Version, stop string) []change {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return collect(t, s.Watch(ctx, prefix, from), stop)
}

// writeChanges makes n rounds of writes under prefix: a put, a transaction
// of three puts and a delete, and a delete; each round has its own keys.
func writeChanges(t *testing.T, s *vkv.Store, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := s.Put(ctx, fmt.Sprintf("%sp%d", prefix, i), []byte(fmt.Sprint("put ", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, func(tx vkv.Txn) error {
			for j := range 3 {
				tx.Put(fmt.Sprintf("%st%d/%d", prefix, i, j), []byte(fmt.Sprint("txn ", i, j)))
			}
			return tx.Delete(fmt.Sprintf("%sp%d", prefix, i))
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(ctx, fmt.Sprintf("%st%d/1", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// cutAfter wraps h so that every watch response is cut off, its connection
// aborted, after n events: a dropped connection in the middle of a
// transaction's events, at a point chosen by the test.
func cutAfter(h http.Handler, n int, cuts *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/watch" {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&cutter{ResponseWriter: w, left: n, cuts: cuts}, r)
	})
}

type cutter struct {
	http.ResponseWriter
	left int
	cuts *atomic.Int64
}

func (c *cutter) Write(b []byte) (int, error) {
	i := 0
	for c.left > 0 {
		j := bytes.Index(b[i:], []byte("\n\n"))
		if j < 0 {
			break
		}
		i += j + 2
		c.left--
	}
	if c.left > 0 {
		return c.ResponseWriter.Write(b)
	}
	c.ResponseWriter.Write(b[:i])
	http.NewResponseController(c.ResponseWriter).Flush()
	c.cuts.Add(1)
	panic(http.ErrAbortHandler)
}

func (c *cutter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// TestWatchResumesMidTransaction: connections that drop after every few
// events, inside the events of transactions, still give each change exactly
// once, in order: the client resumes before the version it was in and skips
// what it had delivered of it.
func TestWatchResumesMidTransaction(t *testing.T) {
	// A transaction here has 4 events under w/; a connection must carry
	// more than that for the watch to make progress, since a resumption
	// sends the interrupted version again.
	for _, n := range []int{5, 6, 9} {
		t.Run(fmt.Sprint("cut after ", n), func(t *testing.T) {
			s, err := vkv.Open("", &vkv.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			writeChanges(t, s, "w/", 10)
			s.Put(t.Context(), "other", nil)
			writeChanges(t, s, "w/x", 2)
			s.Put(t.Context(), "w/end", nil)
			var cuts atomic.Int64
			srv := httptest.NewServer(cutAfter(httpapi.New(s, httpapi.WithToken(watchToken)), n, &cuts))
			defer srv.Close()
			c, err := vkvclient.New(srv.URL, vkvclient.WithToken(watchToken))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, from := range []vkv.Version{0, 2, 5} {
				want := reference(t, s, "w/", from, "w/end")
				got := collect(t, c.Watch(t.Context(), "w/", from), "w/end")
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Watch(w/, %d) with connections cut after %d events (-store +client):\n%s", from, n, diff)
				}
			}
			if cuts.Load() < 10 {
				t.Errorf("only %d connections were cut", cuts.Load())
			}
		})
	}
}

// restartable is a server on a fixed address over an on-disk store that
// can be stopped and started again.
type restartable struct {
	t    *testing.T
	dir  string
	addr string
	s    *vkv.Store
	srv  *httptest.Server
}

func (r *restartable) start() {
	r.t.Helper()
	s, err := vkv.Open(r.dir, &vkv.Options{NoSync: true})
	if err != nil {
		r.t.Fatalf("opening the store: %v", err)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", r.addr)
		if err == nil {
			break
		}
		if i == 100 {
			r.t.Fatalf("listening on %s again: %v", r.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.addr = ln.Addr().String()
	srv := httptest.NewUnstartedServer(httpapi.New(s, httpapi.WithToken(watchToken), httpapi.WithHeartbeat(50*time.Millisecond)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	r.s, r.srv = s, srv
}

// stop shuts the server down, gracefully (Shutdown, which ends the watch
// streams with an error event) or abruptly (connections closed), and
// closes the store.
func (r *restartable) stop(graceful bool) {
	r.t.Helper()
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := r.srv.Config.Shutdown(ctx); err != nil {
			r.t.Errorf("Shutdown with watches open: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			r.t.Errorf("Shutdown took %v: the watch streams held it up", d)
		}
	} else {
		r.srv.CloseClientConnections()
	}
	r.srv.Close()
	if err := r.s.Close(); err != nil {
		r.t.Fatalf("closing the store: %v", err)
	}
	r.s, r.srv = nil, nil
}

// TestWatchServerRestart restarts the server (and reopens its store from
// disk) several times while a client watches, gracefully and abruptly,
// with writes before, between and after the restarts: every change arrives
// exactly once, in order.
func TestWatchServerRestart(t *testing.T) {
	r := &restartable{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	r.start()
	defer func() {
		if r.srv != nil {
			r.stop(false)
		}
	}()
	c, err := vkvclient.New("http://"+r.addr, vkvclient.WithToken(watchToken), vkvclient.WithWatchIdleTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		got []change
	)
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e, err := range c.Watch(ctx, "", 0) {
			if err != nil {
				t.Errorf("watch across restarts: %v", err)
				return
			}
			mu.Lock()
			got = append(got, changeOf(e))
			mu.Unlock()
			if e.Key == "end" {
				return
			}
			time.Sleep(200 * time.Microsecond) // a slow consumer: restarts find it behind
		}
	}()

	for round, graceful := range []bool{true, false, true, false} {
		before := delivered()
		writeChanges(t, r.s, fmt.Sprintf("r%d/", round), 60)
		// Restart once the watcher is under way but not done.
		for delivered() == before {
			time.Sleep(time.Millisecond)
		}
		r.stop(graceful)
		time.Sleep(50 * time.Millisecond) // the client finds no server for a while
		r.start()
	}
	writeChanges(t, r.s, "last/", 5)
	r.s.Put(ctx, "end", nil)
	<-done
	want := reference(t, r.s, "", 0, "end")
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events across 4 restarts (-store +client):\n%s", diff)
	}
	t.Logf("%d events across 4 restarts", len(got))
}

// watcherKV is a vkv.KV whose Watch fails as told: with a
// *vkv.CompactedError for a from below oldest, or after failAfter events.
type watcherKV struct {
	vkv.KV
	oldest    vkv.Version
	failAfter int
}

func (k *watcherKV) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	return func(yield func(vkv.Entry, error) bool) {
		if from < k.oldest {
			yield(vkv.Entry{}, &vkv.CompactedError{Requested: from, Oldest: k.oldest})
			return
		}
		n := 0
		for e, err := range k.KV.(vkv.Watcher).Watch(ctx, prefix, from, opts...) {
			if !yield(e, err) || err != nil {
				return
			}
			if n++; n == k.failAfter {
				yield(vkv.Entry{}, &vkv.CompactedError{Requested: e.Version, Oldest: k.oldest + 100})
				return
			}
		}
	}
}

// TestWatchErrors: a 410 and a compaction during the stream give a
// *vkv.CompactedError with the server's oldest version; a server without a
// change feed gives an error matching errors.ErrUnsupported; a wrong token
// the 401 problem; Close ends a watch with vkv.ErrClosed and ctx its error.
func TestWatchErrors(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		s.Put(t.Context(), fmt.Sprint("k", i), nil)
	}
	client := func(kv vkv.KV, token string) *vkvclient.Client {
		srv := httptest.NewServer(httpapi.New(kv, httpapi.WithToken(watchToken)))
		t.Cleanup(srv.Close)
		c, err := vkvclient.New(srv.URL, vkvclient.WithToken(token))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := func(seq iter.Seq2[vkv.Entry, error]) (events int, err error) {
		for _, err := range seq {
			if err != nil {
				return events, err
			}
			events++
		}
		return events, nil
	}

	var ce *vkv.CompactedError
	c := client(&watcherKV{KV: s, oldest: 3}, watchToken)
	if n, err := first(c.Watch(t.Context(), "", 1)); !errors.As(err, &ce) || n != 0 || ce.Oldest != 3 || ce.Requested != 1 {
		t.Errorf("Watch from 1 below oldest 3: %d events, then %v; want a *vkv.CompactedError{Requested: 1, Oldest: 3}", n, err)
	}
	c = client(&watcherKV{KV: s, failAfter: 2}, watchToken)
	if n, err := first(c.Watch(t.Context(), "", 0)); !errors.As(err, &ce) || n != 2 || ce.Oldest != 100 {
		t.Errorf("Watch compacted after 2 events: %d events, then %v; want a *vkv.CompactedError{Oldest: 100}", n, err)
	}
	var pe *vkvclient.ProblemError
	c = client(struct{ vkv.KV }{s}, watchToken)
	if _, err := first(c.Watch(t.Context(), "", 0)); !errors.Is(err, errors.ErrUnsupported) || !errors.As(err, &pe) || pe.StatusCode != 501 {
		t.Errorf("Watch on a server without a change feed: %v; want a 501 *vkvclient.ProblemError matching errors.ErrUnsupported", err)
	}
	c = client(s, "wrong")
	if _, err := first(c.Watch(t.Context(), "", 0)); !errors.As(err, &pe) || pe.StatusCode != 401 {
		t.Errorf("Watch with a wrong token: %v; want the 401 problem", err)
	}

	c = client(s, watchToken)
	errc := make(chan error, 1)
	go func() {
		n, err := first(c.Watch(t.Context(), "", 0))
		if n != 5 {
			err = fmt.Errorf("%d events before the error, want 5 (%v)", n, err)
		}
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	c.Close()
	if err := <-errc; !errors.Is(err, vkv.ErrClosed) {
		t.Errorf("Watch when the client closes: %v, want vkv.ErrClosed", err)
	}
	if _, err := first(c.Watch(t.Context(), "", 0)); !errors.Is(err, vkv.ErrClosed) {
		t.Errorf("Watch after Close: %v, want vkv.ErrClosed", err)
	}
}

// TestWatchIdleTimeout: a stream that stays silent longer than the idle
// timeout is dropped and resumed on a new connection.
func TestWatchIdleTimeout(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		if n == 3 {
			fmt.Fprint(w, "id: 1\nevent: put\ndata: {\"key\":\"k\",\"version\":1,\"value\":\"eA==\"}\n\n")
		}
		http.NewResponseController(w).Flush()
		<-r.Context().Done() // then silence
	}))
	defer srv.Close()
	c, err := vkvclient.New(srv.URL, vkvclient.WithWatchIdleTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	got := collect(t, c.Watch(t.Context(), "", 0), "k")
	if diff := cmp.Diff([]change{{Key: "k", Version: 1, Value: "x"}}, got); diff != "" || conns.Load() != 3 {
		t.Errorf("after %d connections in %v: events (-want +got):\n%s", conns.Load(), time.Since(start), diff)
	}
}
