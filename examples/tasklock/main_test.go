package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openKV opens an in-memory store, closed when the test ends.
func openKV(t *testing.T) vkv.KV {
	t.Helper()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return s
}

// serve starts the service over kv behind a real HTTP server. Cleanup stops
// the HTTP server, then the service (cancelling its tasks), then kv (whose
// cleanup was registered first).
func serve(t *testing.T, kv vkv.KV, opts ...option) (*server, *httptest.Server) {
	opts = append([]option{withLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))}, opts...)
	t.Helper()
	srv := newServer(kv, opts...)
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ts *httptest.Server, method, path, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t *testing.T, ts *httptest.Server, body string) response {
	t.Helper()
	return do(t, ts, http.MethodPost, "/tasks", "application/json", body)
}

// decode decodes the body of r as JSON of the content type wanted.
func decode[T any](t *testing.T, r response, contentType string) T {
	t.Helper()
	var v T
	if got := r.header.Get("Content-Type"); got != contentType {
		t.Fatalf("Content-Type %q, want %q; body %s", got, contentType, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

func started(t *testing.T, r response) startResponse {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", r.status, r.body)
	}
	return decode[startResponse](t, r, "application/json")
}

func status(t *testing.T, ts *httptest.Server, name string) taskStatus {
	t.Helper()
	r := do(t, ts, http.MethodGet, "/tasks/"+name, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /tasks/%s: status %d; body %s", name, r.status, r.body)
	}
	return decode[taskStatus](t, r, "application/json")
}

// waitIdle polls the task's status until it is idle and returns it.
func waitIdle(t *testing.T, ts *httptest.Server, name string, within time.Duration) taskStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := status(t, ts, name)
		if st.Status == statusIdle {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after %v: %+v", name, st.Status, within, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// busyProblem is the 409 expected for a request refused because the run
// of got holds the task.
func busyProblem(name string, got startResponse, instance string) problem {
	since := got.StartedAt
	return problem{
		Type:          problemBase + "task-already-running",
		Title:         "Task already running",
		Status:        http.StatusConflict,
		Detail:        fmt.Sprintf("task %q is already running as %s on %s since %s", name, got.TaskID, instance, since.Format(time.RFC3339)),
		Instance:      "/tasks/" + name,
		Task:          name,
		RunningTaskID: got.TaskID,
		RunningSince:  &since,
		FencingToken:  got.FencingToken,
	}
}

// ignoreLease leaves out the lease expiry, which each refresh moves.
var ignoreLease = cmpopts.IgnoreFields(problem{}, "LeaseExpiresAt")

// TestConcurrentStarts: of many concurrent POSTs for one task exactly one
// starts it; every other gets a 409 problem naming the run that holds it.
// A POST for another task is not blocked.
func TestConcurrentStarts(t *testing.T) {
	kv := openKV(t)
	_, ts := serve(t, kv, withInstance("test-instance"))
	const n = 16
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		resps = make([]response, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i] = post(t, ts, `{"name": "nightly-report", "durationMs": 10000}`)
		}()
	}
	close(start)
	wg.Wait()

	var winners []startResponse
	var refused []response
	for _, r := range resps {
		switch r.status {
		case http.StatusAccepted:
			winners = append(winners, started(t, r))
			if loc := r.header.Get("Location"); loc != "/tasks/nightly-report" {
				t.Errorf("Location %q", loc)
			}
		case http.StatusConflict:
			refused = append(refused, r)
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	if len(winners) != 1 || len(refused) != n-1 {
		t.Fatalf("%d started and %d refused, want 1 and %d", len(winners), len(refused), n-1)
	}
	w := winners[0]
	if w.Status != statusRunning || w.Name != "nightly-report" || w.FencingToken == 0 || !strings.HasPrefix(w.TaskID, "run-") {
		t.Errorf("start response %+v", w)
	}
	want := busyProblem("nightly-report", w, "test-instance")
	for _, r := range refused {
		got := decode[problem](t, r, "application/problem+json")
		if diff := cmp.Diff(want, got, ignoreLease, cmpopts.IgnoreUnexported(problem{})); diff != "" {
			t.Errorf("409 problem (-want +got):\n%s", diff)
		}
		if got.LeaseExpiresAt == nil || !got.LeaseExpiresAt.After(w.StartedAt) {
			t.Errorf("leaseExpiresAt %v, not after the start %v", got.LeaseExpiresAt, w.StartedAt)
		}
	}

	st := status(t, ts, "nightly-report")
	if st.Status != statusRunning || st.RunningTaskID != w.TaskID || st.FencingToken != w.FencingToken ||
		st.LastRun == nil || st.LastRun.TaskID != w.TaskID || st.LastRun.Status != statusRunning {
		t.Errorf("status while running: %+v", st)
	}
	// Another task has its own lock.
	started(t, post(t, ts, `{"name": "backup", "durationMs": 10}`))
}

// TestReleasedWhenTaskEnds: the lock goes when the task ends, not when its
// lease would run out, whether the task succeeds or fails; the next POST
// then starts a new run with a larger fencing token.
func TestReleasedWhenTaskEnds(t *testing.T) {
	kv := openKV(t)
	_, ts := serve(t, kv, withLeaseTTL(time.Hour))
	first := started(t, post(t, ts, `{"name": "report", "durationMs": 50}`))
	st := waitIdle(t, ts, "report", 5*time.Second)
	if st.LastRun == nil || st.LastRun.TaskID != first.TaskID || st.LastRun.Status != statusSucceeded ||
		st.LastRun.EndedAt == nil || st.LastRun.EndedAt.Before(first.StartedAt.Add(50*time.Millisecond)) {
		t.Fatalf("status after the run: %+v", st)
	}

	second := started(t, post(t, ts, `{"name": "report", "durationMs": 20, "fail": true}`))
	if second.FencingToken <= first.FencingToken {
		t.Errorf("fencing token %d of the second run is not above %d", second.FencingToken, first.FencingToken)
	}
	st = waitIdle(t, ts, "report", 5*time.Second)
	if st.LastRun == nil || st.LastRun.TaskID != second.TaskID || st.LastRun.Status != statusFailed || st.LastRun.Error == "" {
		t.Fatalf("status after a failed run: %+v", st)
	}
	started(t, post(t, ts, `{"name": "report", "durationMs": 1}`))
}

// TestRefreshKeepsLease: a task that runs for longer than its TTL keeps its
// lock, since it refreshes the lease.
//
// Leases run on the wall clock, so the margins are wide: refreshes come
// every 50 ms, and the lease survives a stall of the test process of up to
// 550 ms (seen on a loaded 2-core machine).
func TestRefreshKeepsLease(t *testing.T) {
	kv := openKV(t)
	const ttl = 600 * time.Millisecond
	_, ts := serve(t, kv, withLeaseTTL(ttl), withRefreshEvery(50*time.Millisecond))
	w := started(t, post(t, ts, `{"name": "long", "durationMs": 1400}`))
	time.Sleep(ttl + ttl/2)
	r := post(t, ts, `{"name": "long"}`)
	if r.status != http.StatusConflict {
		t.Fatalf("POST %v into a 1.4s task with a %v lease: status %d, want 409: %s", ttl+ttl/2, ttl, r.status, r.body)
	}
	if p := decode[problem](t, r, "application/problem+json"); p.RunningTaskID != w.TaskID {
		t.Fatalf("runningTaskId %q, want %q", p.RunningTaskID, w.TaskID)
	}
	st := waitIdle(t, ts, "long", 5*time.Second)
	if st.LastRun.Status != statusSucceeded {
		t.Fatalf("after the run: %+v", st.LastRun)
	}
}

// TestCrashedHolderExpires: an instance that took the lock and died (it
// never refreshes or releases) blocks the task for one TTL; then another
// instance over the same store starts it, and shows the dead run as
// abandoned.
func TestCrashedHolderExpires(t *testing.T) {
	kv := openKV(t)
	const ttl = time.Second // room for the POST below to come before it ends, on a loaded machine
	crashed := newServer(kv, withLeaseTTL(ttl), withInstance("instance-a"))
	_, ts := serve(t, kv, withLeaseTTL(ttl), withInstance("instance-b"))

	// Instance a takes the lock and records its run, then dies: nothing
	// refreshes or releases its lock.
	acquired := time.Now()
	_, dead, err := crashed.acquire(context.Background(), "report", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	r := post(t, ts, `{"name": "report", "durationMs": 10}`)
	if r.status != http.StatusConflict {
		t.Fatalf("status %d, want 409: %s", r.status, r.body)
	}
	want := busyProblem("report", startResponse{runRecord: dead}, "instance-a")
	if diff := cmp.Diff(want, decode[problem](t, r, "application/problem+json"), ignoreLease, cmpopts.IgnoreUnexported(problem{})); diff != "" {
		t.Fatalf("409 problem (-want +got):\n%s", diff)
	}

	st := waitIdle(t, ts, "report", 10*ttl)
	if since := time.Since(acquired); since < ttl {
		t.Fatalf("the lock went after %v, before its TTL of %v", since, ttl)
	}
	if st.LastRun == nil || st.LastRun.TaskID != dead.TaskID || st.LastRun.Status != statusAbandoned {
		t.Fatalf("status after the lease ran out: %+v", st)
	}
	next := started(t, post(t, ts, `{"name": "report", "durationMs": 10}`))
	if next.FencingToken <= dead.FencingToken || next.Instance != "instance-b" {
		t.Fatalf("run after the crash: %+v (dead run's token %d)", next, dead.FencingToken)
	}
}

// TestFencedRecord: a run whose lease ran out and was taken over cannot
// write the task's record, nor release the new holder's lock.
func TestFencedRecord(t *testing.T) {
	kv := openKV(t)
	const ttl = 400 * time.Millisecond // room for acquire's two writes, on a loaded machine
	srv := newServer(kv, withLeaseTTL(ttl))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	oldLock, oldRun, err := srv.acquire(ctx, "report", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	newLock, newRun, err := srv.acquire(ctx, "report", time.Second)
	if err != nil {
		t.Fatalf("acquire after the lease ran out: %v", err)
	}
	oldRun.Status = statusSucceeded
	if err := srv.putRun(ctx, oldLock, oldRun); !errors.Is(err, errNotHolder) {
		t.Fatalf("putRun by the old holder: %v, want errNotHolder", err)
	}
	if err := oldLock.Release(ctx); !errors.Is(err, vkv.ErrLockLost) {
		t.Fatalf("Release by the old holder: %v, want ErrLockLost", err)
	}
	e, err := kv.Get(ctx, runKey("report"))
	if err != nil {
		t.Fatal(err)
	}
	var rec runRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(newRun, rec); diff != "" {
		t.Fatalf("record (-want +got):\n%s", diff)
	}
	if err := newLock.Release(ctx); err != nil {
		t.Fatalf("Release by the new holder: %v", err)
	}
}

// TestBadRequests: every refusal is a problem of the right type and status.
func TestBadRequests(t *testing.T) {
	kv := openKV(t)
	_, ts := serve(t, kv)
	for _, tc := range []struct {
		method, path, contentType, body string
		status                          int
		name                            string
	}{
		{"POST", "/tasks", "application/json", `{"name": "a"`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": "a", "color": "red"}`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": "a"} {"name": "b"}`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": ""}`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": "a/b"}`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": "` + strings.Repeat("x", 65) + `"}`, 400, "invalid-request"},
		{"POST", "/tasks", "application/json", `{"name": "a", "durationMs": -1}`, 400, "invalid-request"},
		{"POST", "/tasks", "text/plain", `{"name": "a"}`, 415, "unsupported-media-type"},
		{"POST", "/tasks", "", strings.Repeat(" ", maxBodyBytes+1), 400, "invalid-request"},
		{"GET", "/tasks", "", "", 405, "method-not-allowed"},
		{"DELETE", "/tasks/a", "", "", 405, "method-not-allowed"},
		{"GET", "/tasks/never-ran", "", "", 404, "not-found"},
		{"GET", "/tasks/bad%20name", "", "", 400, "invalid-request"},
		{"GET", "/elsewhere", "", "", 404, "not-found"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.body[:min(len(tc.body), 30)], func(t *testing.T) {
			r := do(t, ts, tc.method, tc.path, tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			p := decode[problem](t, r, "application/problem+json")
			if p.Type != problemBase+tc.name || p.Title != titles[tc.name] || p.Status != tc.status || p.Detail == "" || p.Instance == "" {
				t.Fatalf("problem %+v", p)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// TestCloseCancelsTasks: Close stops the running tasks, records them as
// cancelled and releases their locks; the service then refuses new tasks.
func TestCloseCancelsTasks(t *testing.T) {
	kv := openKV(t)
	srv, ts := serve(t, kv)
	w := started(t, post(t, ts, `{"name": "report", "durationMs": 60000}`))
	srv.Close()
	st := status(t, ts, "report")
	if st.Status != statusIdle || st.LastRun == nil || st.LastRun.TaskID != w.TaskID || st.LastRun.Status != statusCancelled {
		t.Fatalf("status after Close: %+v", st)
	}
	if r := post(t, ts, `{"name": "report"}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("POST after Close: status %d, want 503: %s", r.status, r.body)
	}
}

// TestRun runs the command on a directory: it serves, and on cancellation
// shuts down, cancelling the running task and releasing its lock, so that
// the store it leaves has no lock in it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-dir", dir, "-ttl", "1m", "-log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v (run: %v)", err, <-done)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "tasklock listening on "))
	resp, err := http.Post(base+"/tasks", "application/json", strings.NewReader(`{"name": "report", "durationMs": 60000}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	s, err := vkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background(), lockKey("report")); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("the lock after shutdown: %v, want ErrNotFound", err)
	}
	e, err := s.Get(context.Background(), runKey("report"))
	if err != nil {
		t.Fatal(err)
	}
	var rec runRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != statusCancelled {
		t.Errorf("the run after shutdown: %+v", rec)
	}
}
