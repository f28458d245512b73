package vkvtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// listAtCases check the version List reports, ListAt, and Txn.List with its
// range conditions.
var listAtCases = []testCase{
	{name: "VersionThenWatch", fn: testListVersionThenWatch},
	{name: "AtPagesOneSnapshot", fn: testListAtPagesOneSnapshot},
	{name: "AtFuture", fn: testListAtFuture},
	{name: "TxnOwnWrites", fn: testTxnListOwnWrites},
	{name: "TxnJobUnderPrefix", fn: testTxnJobUnderPrefix},
	{name: "TxnRangeChanged", fn: testTxnRangeChanged},
	{name: "TxnRangeExpired", timed: testTxnRangeExpired},
}

// listAll pages through prefix with List (at == 0, the first page) then
// ListAt at the first page's version, pageSize at a time, calling between
// before each page after the first.
func listAll(tb testing.TB, kv vkv.KV, prefix string, pageSize int, between func()) ([]vkv.Entry, vkv.Version) {
	tb.Helper()
	ctx := tb.Context()
	res, err := kv.List(ctx, prefix, "", pageSize)
	if err != nil {
		tb.Fatalf("List(%q): %v", prefix, err)
	}
	v, out := res.Version, res.Entries
	for res.Next != "" {
		if between != nil {
			between()
		}
		if res, err = kv.ListAt(ctx, prefix, res.Next, pageSize, v); err != nil {
			tb.Fatalf("ListAt(%q, %d): %v", prefix, v, err)
		}
		if res.Version != v {
			tb.Fatalf("ListAt(%q, %d) reports version %d", prefix, v, res.Version)
		}
		out = append(out, res.Entries...)
	}
	return out, v
}

// testListVersionThenWatch: a cache lists, then watches from the version
// List reported: it gets exactly the changes the listing did not show.
func testListVersionThenWatch(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	put(t, kv, "lw/a", "1")
	put(t, kv, "lw/b", "1")
	del(t, kv, "lw/a")
	res, err := kv.List(t.Context(), "lw/", "", 0)
	if err != nil {
		t.Fatalf("List(lw/): %v", err)
	}
	if cur := put(t, kv, "other", "x"); res.Version >= cur {
		t.Fatalf("List(lw/) reports version %d, not below the next write's %d", res.Version, cur)
	}
	v1 := put(t, kv, "lw/c", "2")
	v2 := del(t, kv, "lw/b")
	got, err := watchUntil(t.Context(), w, "lw/", res.Version, "lw/b")
	if err != nil {
		t.Fatalf("Watch(lw/, %d): %v after %+v", res.Version, err, got)
	}
	var vs []vkv.Version
	for _, e := range got {
		vs = append(vs, e.Version)
	}
	if diff := cmp.Diff([]vkv.Version{v1, v2}, vs); diff != "" {
		t.Errorf("Watch(lw/, List's version %d): versions of the events (-want +got):\n%s", res.Version, diff)
	}
	if len(res.Entries) != 1 || res.Entries[0].Key != "lw/b" {
		t.Errorf("List(lw/) = %v, want lw/b", keysOf(res.Entries))
	}
}

// testListAtPagesOneSnapshot: a listing of many pages read with ListAt at
// the first page's version is that snapshot, while writers change the
// prefix between (and during) the pages.
func testListAtPagesOneSnapshot(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	var want []string
	for i := range 30 {
		k := keyf("ls/%02d", i)
		put(t, kv, k, "old")
		want = append(want, k)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	step := 0
	got, v := listAll(t, kv, "ls/", 4, func() {
		if step == 0 {
			wg.Add(1)
			go func() { // a writer that keeps changing the prefix
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					kv.Put(ctx, keyf("ls/%02d", (i*7)%30), []byte("new"))
					kv.Put(ctx, keyf("ls/%02d-new", i%30), []byte("new"))
					kv.Delete(ctx, keyf("ls/%02d", (i*11)%30))
				}
			}()
		}
		// And changes made between pages for sure, whatever the writer
		// managed.
		step++
		put(t, kv, keyf("ls/%02d", 29-step), "changed")
		if _, err := kv.Delete(ctx, keyf("ls/%02d", 28-step)); err != nil && !errors.Is(err, vkv.ErrNotFound) {
			t.Fatalf("Delete: %v", err)
		}
		put(t, kv, keyf("ls/%02d-x", 29-step), "created")
	})
	cancel()
	wg.Wait()
	if diff := cmp.Diff(want, keysOf(got)); diff != "" {
		t.Errorf("pages of ListAt(ls/, %d) (-want +got):\n%s", v, diff)
	}
	for _, e := range got {
		if string(e.Value) != "old" || e.Version > v {
			t.Errorf("ListAt(ls/, %d): %q = %q at version %d, want old at or below %d", v, e.Key, e.Value, e.Version, v)
		}
	}
}

// testListAtFuture: ListAt of a version the store has not reached.
func testListAtFuture(t *testing.T, kv vkv.KV) {
	v := put(t, kv, "lf/a", "1")
	_, err := kv.ListAt(t.Context(), "lf/", "", 0, v+1000)
	wantErrIs(t, keyf("ListAt(lf/, %d)", v+1000), err, vkv.ErrFutureVersion)
	res, err := kv.ListAt(t.Context(), "lf/", "", 0, v)
	if err != nil || len(res.Entries) != 1 || res.Version != v {
		t.Errorf("ListAt(lf/, %d) = %+v, %v; want lf/a at version %d", v, res, err, v)
	}
}

// testTxnListOwnWrites: Txn.List merges the transaction's writes with the
// snapshot.
func testTxnListOwnWrites(t *testing.T, kv vkv.KV) {
	v := put(t, kv, "lo/a", "1")
	put(t, kv, "lo/b", "1")
	put(t, kv, "lo/d", "1")
	_, err := kv.Update(t.Context(), func(tx vkv.Txn) error {
		if err := tx.Delete("lo/b"); err != nil {
			return err
		}
		if err := tx.Put("lo/c", []byte("own")); err != nil {
			return err
		}
		if err := tx.Put("lo/a", []byte("own")); err != nil {
			return err
		}
		res, err := tx.List("lo/", "", 2)
		if err != nil {
			return err
		}
		want := []vkv.Entry{{Key: "lo/a", Value: []byte("own")}, {Key: "lo/c", Value: []byte("own")}}
		if diff := cmp.Diff(want, res.Entries); diff != "" || res.Next != "lo/c" || res.Version < v {
			t.Errorf("Txn.List(lo/, limit 2) = next %q, version %d, entries (-want +got):\n%s", res.Next, res.Version, diff)
		}
		res, err = tx.List("lo/", "lo/c", 0)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"lo/d"}, keysOf(res.Entries)); diff != "" || res.Next != "" {
			t.Errorf("Txn.List(lo/ after lo/c) = next %q, keys (-want +got):\n%s", res.Next, diff)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// createJobIfNone is the transaction "create a job only if no job exists
// under prefix". It reports whether the run that committed created one.
func createJobIfNone(ctx context.Context, kv vkv.KV, prefix, id string) (created bool, runs int, err error) {
	_, err = kv.Update(ctx, func(tx vkv.Txn) error {
		runs++
		res, err := tx.List(prefix, "", 1)
		if err != nil {
			return err
		}
		created = len(res.Entries) == 0
		if !created {
			return nil
		}
		return tx.Put(prefix+id, []byte(id))
	})
	return created, runs, err
}

// testTxnJobUnderPrefix: two Updates that each create a job only if none
// exists under the prefix: exactly one does, every time.
func testTxnJobUnderPrefix(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	for round := range 25 {
		prefix := keyf("jobs%d/", round)
		var wg sync.WaitGroup
		var created [2]bool
		var errs [2]error
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				created[i], _, errs[i] = createJobIfNone(ctx, kv, prefix, keyf("w%d", i))
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: Update of worker %d: %v", round, i, err)
			}
		}
		res, err := kv.List(ctx, prefix, "", 0)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if len(res.Entries) != 1 || created[0] == created[1] {
			t.Fatalf("round %d: jobs under %s = %v, created %v; want exactly one job, created by one worker", round, prefix, keysOf(res.Entries), created)
		}
	}
}

// testTxnRangeChanged: a key created, changed or deleted in the range a
// transaction read, after its snapshot, fails the range condition (no
// Expect) and fn runs again; a key outside the range does not.
func testTxnRangeChanged(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	cases := []struct {
		name, prefix string
		change       func(prefix string) error
		wantRuns     int
	}{
		{"created", "rc1/", func(p string) error { _, err := kv.Put(ctx, p+"new", []byte("x")); return err }, 2},
		{"changed", "rc2/", func(p string) error { _, err := kv.Put(ctx, p+"a", []byte("y")); return err }, 2},
		{"deleted", "rc3/", func(p string) error { _, err := kv.Delete(ctx, p+"a"); return err }, 2},
		{"outside", "rc4/", func(p string) error { _, err := kv.Put(ctx, "rc4", []byte("y")); return err }, 1},
		{"after the page", "rc5/", func(p string) error { _, err := kv.Put(ctx, p+"z", []byte("y")); return err }, 1},
	}
	for _, c := range cases {
		put(t, kv, c.prefix+"a", "x")
		put(t, kv, c.prefix+"b", "x")
		if c.name == "after the page" {
			put(t, kv, c.prefix+"y", "x")
		}
		runs := 0
		_, err := kv.Update(ctx, func(tx vkv.Txn) error {
			runs++
			limit := 0
			if c.name == "after the page" {
				limit = 2 // covers a and b only
			}
			if _, err := tx.List(c.prefix, "", limit); err != nil {
				return err
			}
			if runs == 1 {
				aside(t, "a change in the range", func() {
					if err := c.change(c.prefix); err != nil {
						t.Errorf("%s: change: %v", c.name, err)
					}
				})
			}
			return tx.Put(c.prefix+"count", []byte("n"))
		})
		if err != nil {
			t.Fatalf("%s: Update: %v", c.name, err)
		}
		if runs != c.wantRuns {
			t.Errorf("%s: Update ran fn %d times, want %d", c.name, runs, c.wantRuns)
		}
	}
}

// testTxnRangeExpired: a key of the range that expires after the snapshot
// fails the range condition, and fn runs again.
func testTxnRangeExpired(t *testing.T, kv vkv.KV, clock *suiteClock) {
	if clock.fake == nil {
		t.Skip("needs the fake clock (RunWithClock)")
	}
	ctx := t.Context()
	const ttl = time.Minute
	put(t, kv, "re/lease", "held", vkv.WithTTL(ttl))
	put(t, kv, "re/b", "x")
	runs := 0
	var seen [][]string
	_, err := kv.Update(ctx, func(tx vkv.Txn) error {
		runs++
		res, err := tx.List("re/", "", 0)
		if err != nil {
			return err
		}
		seen = append(seen, keysOf(res.Entries))
		if runs == 1 {
			clock.pass(ttl)
		}
		return tx.Put("re/b", []byte("y"))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := [][]string{{"re/b", "re/lease"}, {"re/b"}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("runs of fn across the expiry of re/lease: keys listed (-want +got):\n%s", diff)
	}
}
