package vkvtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vkvstore/vkv"
)

// watchCases check vkv.Watcher; they are skipped for a KV that does not
// implement it. A from below the kept history (*vkv.CompactedError) is not
// checked: a generic KV cannot be made to compact on demand.
var watchCases = []testCase{
	{name: "Replay", fn: testWatchReplay},
	{name: "Concurrent", fn: testWatchConcurrent},
	{name: "Expiry", timed: testWatchExpiry},
	{name: "Cancel", fn: testWatchCancel},
	{name: "Closed", fn: testWatchClosed},
	{name: "TxnEnd", fn: testWatchTxnEnd},
	{name: "ProgressPeriodic", timed: testWatchProgressPeriodic},
	{name: "ProgressRequest", fn: testWatchProgressRequest},
	{name: "ProgressRacing", fn: testWatchProgressRacing},
}

// watchTimeout bounds every watch of the suite, so that a KV whose watch
// misses an event fails instead of hanging.
const watchTimeout = 10 * time.Second

// watcher returns kv as a vkv.Watcher, or skips the test.
func watcher(t *testing.T, kv vkv.KV) vkv.Watcher {
	t.Helper()
	w, ok := kv.(vkv.Watcher)
	if !ok {
		t.Skipf("%T does not implement vkv.Watcher", kv)
	}
	return w
}

// watchUntil reads w.Watch(ctx, prefix, from) until the event for key stop
// and returns the events, or the events so far and the error that ended
// the sequence.
func watchUntil(ctx context.Context, w vkv.Watcher, prefix string, from vkv.Version, stop string) ([]vkv.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, watchTimeout)
	defer cancel()
	var out []vkv.Entry
	for e, err := range w.Watch(ctx, prefix, from) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
		if e.Key == stop {
			return out, nil
		}
	}
	return out, errors.New("the sequence ended without an error")
}

// committed reads the changes to keys under prefix after from back from
// History, in version order and key order within a version.
func committed(tb testing.TB, kv vkv.KV, keys []string, prefix string, from vkv.Version) []vkv.Entry {
	tb.Helper()
	var out []vkv.Entry
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		for _, e := range history(tb, kv, k) {
			if e.Version > from {
				out = append(out, e)
			}
		}
	}
	sortChanges(out)
	return out
}

// sortChanges sorts changes by version, and by key within a version (a
// watch delivers a transaction's changes in the order it made them).
func sortChanges(es []vkv.Entry) {
	slices.SortStableFunc(es, func(a, b vkv.Entry) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), strings.Compare(a.Key, b.Key))
	})
}

// checkWatched checks that got, the events of Watch(prefix, from), are in
// version order and, up to the order within a version, equal want.
func checkWatched(tb testing.TB, what string, got, want []vkv.Entry) {
	tb.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].Version < got[i-1].Version {
			tb.Errorf("%s: event %d has version %d after version %d", what, i, got[i].Version, got[i-1].Version)
			break
		}
	}
	sorted := slices.Clone(got)
	sortChanges(sorted)
	// TxnEnd is Watch's alone; testWatchTxnEnd checks it.
	if diff := gocmp.Diff(want, sorted, entryOpts, cmpopts.IgnoreFields(vkv.Entry{}, "TxnEnd")); diff != "" {
		tb.Errorf("%s: events differ from the committed changes read back from History (-committed +watched):\n%s", what, diff)
	}
}

// testWatchReplay: changes committed before the watch are replayed, exactly
// those above from and under the prefix, puts with their values and
// CreateVersion, deletes as tombstones, a transaction's changes under one
// version; then new changes follow.
func testWatchReplay(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	ctx := t.Context()
	v1 := put(t, kv, "r/a", "1")
	put(t, kv, "s/a", "other prefix")
	put(t, kv, "r/b", "2")
	put(t, kv, "r/a", "3")
	del(t, kv, "r/b")
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		tx.Put("r/c", []byte("4"))
		tx.Put("s/b", nil)
		tx.Delete("r/a")
		return tx.Put("r/d", nil)
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	put(t, kv, "r/end", "")
	keys := []string{"r/a", "r/b", "r/c", "r/d", "r/end", "s/a", "s/b"}
	for _, c := range []struct {
		prefix string
		from   vkv.Version
	}{{"r/", 0}, {"r/", v1}, {"r/", v1 + 3}, {"", 0}, {"", v1 + 1}} {
		what := fmt.Sprintf("Watch(%q, %d)", c.prefix, c.from)
		got, err := watchUntil(ctx, w, c.prefix, c.from, "r/end")
		if err != nil {
			t.Errorf("%s: %v after %d events", what, err, len(got))
			continue
		}
		checkWatched(t, what, got, committed(t, kv, keys, c.prefix, c.from))
	}

	// Replay, then live: a watch from the start sees a write made after it
	// caught up.
	last := put(t, kv, "r/live", "before")
	done := make(chan error, 1)
	var got []vkv.Entry
	go func() {
		var err error
		got, err = watchUntil(ctx, w, "r/live", 0, "r/live2")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	put(t, kv, "r/live2", "after")
	if err := <-done; err != nil {
		t.Fatalf("Watch(r/live, 0) across the live write: %v after %d events", err, len(got))
	}
	if len(got) != 2 || got[0].Version != last || got[1].Key != "r/live2" || string(got[1].Value) != "after" {
		t.Errorf("Watch(r/live, 0) = %+v, want r/live at %d then r/live2", got, last)
	}
}

// testWatchConcurrent: while several writers put, delete and commit
// transactions, watchers on different prefixes and from different versions,
// started at different times, each see exactly the committed sequence read
// back from History.
func testWatchConcurrent(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	ctx := t.Context()
	for i := range 6 {
		put(t, kv, keyf("c%d/k%d", i%2, i), "early")
	}
	mid := put(t, kv, "c0/mid", "")

	type watch struct {
		prefix string
		from   vkv.Version
		delay  time.Duration
		got    []vkv.Entry
		err    error
	}
	watches := []*watch{
		{"", 0, 0, nil, nil}, {"c0/", 0, 0, nil, nil}, {"c1/", mid, 0, nil, nil},
		{"", mid - 2, 20 * time.Millisecond, nil, nil}, {"c0/", mid, 60 * time.Millisecond, nil, nil},
	}
	var readers, writers sync.WaitGroup
	for _, wa := range watches {
		readers.Go(func() {
			time.Sleep(wa.delay)
			stop := "c1/end"
			if wa.prefix == "c0/" {
				stop = "c0/end"
			}
			wa.got, wa.err = watchUntil(ctx, w, wa.prefix, wa.from, stop)
		})
	}
	var mu sync.Mutex
	keys := map[string]bool{"c0/mid": true, "c0/end": true, "c1/end": true}
	for i := range 6 {
		keys[keyf("c%d/k%d", i%2, i)] = true
	}
	note := func(ks ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range ks {
			keys[k] = true
		}
	}
	for g := range workers {
		writers.Go(func() {
			for i := range 25 {
				p := keyf("c%d/", (g+i)%2)
				k := keyf("%sk%d", p, i%7)
				note(k)
				switch i % 5 {
				case 0, 1, 2:
					if _, err := kv.Put(ctx, k, []byte(keyf("%d/%d", g, i))); err != nil {
						t.Errorf("writer %d: Put(%q): %v", g, k, err)
						return
					}
				case 3:
					if _, err := kv.Delete(ctx, k); err != nil && !errors.Is(err, vkv.ErrNotFound) {
						t.Errorf("writer %d: Delete(%q): %v", g, k, err)
						return
					}
				case 4:
					k2, k3 := keyf("c0/t%d", g), keyf("c1/t%d", g)
					note(k2, k3)
					if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
						tx.Put(k2, []byte(keyf("%d/%d", g, i)))
						tx.Delete(k)
						return tx.Put(k3, []byte(keyf("%d/%d", g, i)))
					}); err != nil {
						t.Errorf("writer %d: Update: %v", g, err)
						return
					}
				}
			}
		})
	}
	writers.Wait()
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		tx.Put("c1/end", nil)
		return tx.Put("c0/end", nil)
	}); err != nil {
		t.Fatalf("Update(end): %v", err)
	}
	readers.Wait()
	all := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	for _, wa := range watches {
		what := fmt.Sprintf("Watch(%q, %d) started after %v", wa.prefix, wa.from, wa.delay)
		if wa.err != nil {
			t.Errorf("%s: %v after %d events", what, wa.err, len(wa.got))
			continue
		}
		want := committed(t, kv, all, wa.prefix, wa.from)
		// A watch of every key stops at c1/end: the rest of that
		// transaction (c0/end) may come after it.
		if wa.prefix == "" {
			want = slices.DeleteFunc(want, func(e vkv.Entry) bool { return e.Key == "c0/end" })
			wa.got = slices.DeleteFunc(wa.got, func(e vkv.Entry) bool { return e.Key == "c0/end" })
		}
		checkWatched(t, what, wa.got, want)
	}
}

// testWatchExpiry: the expiry of a key written with a TTL reaches a watcher
// as a delete with its own version, and not before the TTL has run out.
func testWatchExpiry(t *testing.T, kv vkv.KV, clock *suiteClock) {
	const ttl = 100 * time.Millisecond
	w := watcher(t, kv)
	// The TTL runs from when the write commits, somewhere between the
	// call and its return (a slow fsync can return it late): count from
	// the call.
	t0 := clock.now()
	v := put(t, kv, "x/lease", "held", vkv.WithTTL(ttl))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var got []vkv.Entry
	for e, err := range w.Watch(ctx, "x/", 0) {
		if err != nil {
			t.Fatalf("Watch(x/, 0): %v after %+v; want the put and the expiry", err, got)
		}
		got = append(got, e)
		if len(got) == 1 && clock.fake != nil {
			// The expiry cannot have come yet: the clock has not moved.
			clock.pass(ttl)
		}
		if len(got) == 2 {
			if clock.fake == nil && clock.now().Before(t0.Add(ttl-beforeMargin)) {
				t.Errorf("the expiry of x/lease arrived %v after the put was called, before its TTL of %v ran out", clock.now().Sub(t0), ttl)
			}
			break
		}
	}
	if len(got) != 2 {
		t.Fatalf("Watch(x/, 0) = %+v, want the put and the expiry", got)
	}
	if got[0].Version != v || got[0].Deleted || string(got[0].Value) != "held" {
		t.Errorf("first event %+v, want the put at version %d", got[0], v)
	}
	if e := got[1]; e.Key != "x/lease" || !e.Deleted || e.Version <= v || len(e.Value) != 0 {
		t.Errorf("second event %+v, want the expiry of x/lease: Deleted, no value, a version above %d", e, v)
	}
}

// testWatchCancel: a watch ends when ctx ends, with ctx's error as its last
// value, both while it waits for changes and right after a change; breaking
// out of the loop ends it too.
func testWatchCancel(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	v := put(t, kv, "z/a", "1")

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := watchUntil(ctx, w, "z/", v, "never")
	if !errors.Is(err, context.DeadlineExceeded) || len(got) != 0 {
		t.Errorf("Watch(z/, %d) with a deadline and no changes: %d events, then %v; want context.DeadlineExceeded", v, len(got), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Watch with a 200ms deadline ended after %v", d)
	}

	ctx, cancel = context.WithTimeout(t.Context(), watchTimeout)
	defer cancel()
	var events, after int
	var last error
	for e, err := range w.Watch(ctx, "z/", 0) {
		if err != nil {
			last = err
			continue // it must be the last value
		}
		if last != nil {
			after++
		}
		if events++; events == 1 && e.Key == "z/a" {
			cancel()
		}
	}
	if events == 0 {
		t.Fatalf("Watch(z/, 0): no event, want z/a at %d (%v)", v, last)
	}
	if !errors.Is(last, context.Canceled) || after != 0 {
		t.Errorf("Watch(z/, 0) cancelled after its first event: ended with %v and %d events after it; want context.Canceled, last", last, after)
	}

	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), watchTimeout)
		for range w.Watch(ctx, "z/", 0) {
			break
		}
		cancel()
	}
	put(t, kv, "z/b", "after breaks") // the KV still works
}

// testWatchClosed: Close ends a watch in progress with vkv.ErrClosed, and a
// watch started after Close yields vkv.ErrClosed.
func testWatchClosed(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	v := put(t, kv, "k", "v")
	done := make(chan error, 1)
	go func() {
		_, err := watchUntil(t.Context(), w, "", v, "never")
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	if err := kv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		wantErrIs(t, "Watch when the KV closes", err, vkv.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not end within 5s of Close")
	}
	_, err := watchUntil(t.Context(), w, "", 0, "never")
	wantErrIs(t, "Watch after Close", err, vkv.ErrClosed)
}
