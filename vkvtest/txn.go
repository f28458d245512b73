package vkvtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

var txnCases = []testCase{
	{name: "Atomic", fn: testUpdateAtomic},
	{name: "ReadOwnWrites", fn: testTxnReadOwnWrites},
	{name: "ExpectOK", fn: testExpectOK},
	{name: "ExpectConflicts", fn: testExpectConflicts},
	{name: "FnError", fn: testUpdateFnError},
	{name: "RetryOnChange", fn: testUpdateRetryOnChange},
	{name: "RetryOnCreate", fn: testUpdateRetryOnCreate},
	{name: "ViewSnapshot", fn: testViewSnapshot},
	{name: "ViewReadOnly", fn: testViewReadOnly},
	{name: "TxnDone", fn: testTxnDone},
}

func testUpdateAtomic(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	vo := put(t, kv, "upd", "old")
	vdel := put(t, kv, "del", "doomed")
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		for _, k := range []string{"a", "b"} {
			if err := tx.Put(k, []byte("new "+k)); err != nil {
				return fmt.Errorf("Txn.Put(%q): %w", k, err)
			}
		}
		if err := tx.Put("upd", []byte("new")); err != nil {
			return fmt.Errorf("Txn.Put(%q): %w", "upd", err)
		}
		if err := tx.Delete("del"); err != nil {
			return fmt.Errorf("Txn.Delete(%q): %w", "del", err)
		}
		// Deleting an absent key is not an error and writes nothing.
		if err := tx.Delete("never"); err != nil {
			return fmt.Errorf("Txn.Delete(%q) of a missing key: %w", "never", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if v <= vdel {
		t.Errorf("Update = version %d, want > %d", v, vdel)
	}
	// Every write carries the transaction's version.
	wantGet(t, kv, entry("a", "new a", v, v))
	wantGet(t, kv, entry("b", "new b", v, v))
	wantGet(t, kv, entry("upd", "new", v, vo))
	wantNotFound(t, kv, "del")
	wantHistory(t, kv, "del", []vkv.Entry{tombstone("del", v, vdel), entry("del", "doomed", vdel, vdel)})
	wantNotFound(t, kv, "never")
	wantHistory(t, kv, "never", nil)

	// The next write gets a newer version.
	if v2 := put(t, kv, "a", "later"); v2 <= v {
		t.Errorf("Put(%q) after Update = version %d, want > %d", "a", v2, v)
	}
	// The transaction is visible as a whole at its version.
	for _, k := range []string{"a", "b", "upd"} {
		if e, err := kv.GetAt(ctx, k, v); err != nil || e.Version != v {
			t.Errorf("GetAt(%q, %d) = version %d, %v; want version %d", k, v, e.Version, err, v)
		}
		if k != "upd" {
			if _, err := kv.GetAt(ctx, k, v-1); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("GetAt(%q, %d) just before the Update: %v, want ErrNotFound", k, v-1, err)
			}
		}
	}
}

func testTxnReadOwnWrites(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	vx := put(t, kv, "x", "snap")
	put(t, kv, "gone", "soon")
	_, err := kv.Update(ctx, func(tx vkv.Txn) error {
		e, err := tx.Get("x")
		if err != nil {
			return fmt.Errorf("Txn.Get(%q) of an existing key: %w", "x", err)
		}
		if diff := cmp.Diff(entry("x", "snap", vx, vx), e, entryOpts); diff != "" {
			t.Errorf("Txn.Get(%q) before any write mismatch (-want +got):\n%s", "x", diff)
		}
		if err := tx.Put("x", []byte("mine")); err != nil {
			return err
		}
		if e, err := tx.Get("x"); err != nil || string(e.Value) != "mine" {
			t.Errorf("Txn.Get(%q) after Txn.Put = %q, %v; want %q", "x", e.Value, err, "mine")
		}
		if _, err := tx.Get("y"); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Txn.Get(%q) of a missing key: %v, want ErrNotFound", "y", err)
		}
		if err := tx.Put("y", []byte("y1")); err != nil {
			return err
		}
		if e, err := tx.Get("y"); err != nil || string(e.Value) != "y1" {
			t.Errorf("Txn.Get(%q) after Txn.Put = %q, %v; want %q", "y", e.Value, err, "y1")
		}
		if err := tx.Put("y", []byte("y2")); err != nil {
			return err
		}
		if e, err := tx.Get("y"); err != nil || string(e.Value) != "y2" {
			t.Errorf("Txn.Get(%q) after a second Txn.Put = %q, %v; want %q", "y", e.Value, err, "y2")
		}
		if err := tx.Delete("gone"); err != nil {
			return err
		}
		if e, err := tx.Get("gone"); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Txn.Get(%q) after Txn.Delete = %+v, %v; want ErrNotFound", "gone", e, err)
		}
		if err := tx.Put("w", []byte("w")); err != nil {
			return err
		}
		if err := tx.Delete("w"); err != nil {
			return err
		}
		if e, err := tx.Get("w"); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Txn.Get(%q) after Txn.Put and Txn.Delete = %+v, %v; want ErrNotFound", "w", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if e := get(t, kv, "x"); string(e.Value) != "mine" {
		t.Errorf("Get(%q) after Update = %q, want %q", "x", e.Value, "mine")
	}
	if e := get(t, kv, "y"); string(e.Value) != "y2" {
		t.Errorf("Get(%q) after Update = %q, want %q", "y", e.Value, "y2")
	}
	wantNotFound(t, kv, "gone")
	wantNotFound(t, kv, "w")
}

func testExpectOK(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	vx := put(t, kv, "x", "x")
	vy := put(t, kv, "y", "y")
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		for _, c := range []struct {
			key string
			v   vkv.Version
		}{{"x", vx}, {"y", vy}, {"absent", 0}} {
			if err := tx.Expect(c.key, c.v); err != nil {
				return fmt.Errorf("Txn.Expect(%q, %d): %w", c.key, c.v, err)
			}
		}
		if err := tx.Put("x", []byte("x2")); err != nil {
			return err
		}
		return tx.Put("absent", []byte("created"))
	})
	if err != nil {
		t.Fatalf("Update with conditions that hold: %v", err)
	}
	wantGet(t, kv, entry("x", "x2", v, vx))
	wantGet(t, kv, entry("y", "y", vy, vy))
	wantGet(t, kv, entry("absent", "created", v, v))
}

func testExpectConflicts(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	vx := put(t, kv, "x", "x")
	vy1 := put(t, kv, "y", "y1")
	vy := put(t, kv, "y", "y2")
	vw := put(t, kv, "w", "w")
	before := map[string][]vkv.Entry{}
	for _, k := range []string{"x", "y", "w", "z", "n"} {
		before[k] = history(t, kv, k)
	}
	ye := entry("y", "y2", vy, vy1)
	we := entry("w", "w", vw, vw)

	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		for _, c := range []struct {
			key string
			v   vkv.Version
		}{
			{"x", vx},  // holds
			{"y", vy1}, // stale
			{"z", vx},  // absent key expected to exist
			{"w", 0},   // existing key expected absent
		} {
			if err := tx.Expect(c.key, c.v); err != nil {
				return fmt.Errorf("Txn.Expect(%q, %d): %w", c.key, c.v, err)
			}
		}
		for _, k := range []string{"x", "n", "y"} {
			if err := tx.Put(k, []byte("written")); err != nil {
				return err
			}
		}
		return tx.Delete("w")
	})
	wantConflict(t, keyf("Update = %d with three failing conditions", v), err,
		conflict("y", vy1, vy, &ye),
		conflict("z", vx, 0, nil),
		conflict("w", 0, vw, &we),
	)
	// Nothing was written.
	wantGet(t, kv, entry("x", "x", vx, vx))
	wantGet(t, kv, ye)
	wantGet(t, kv, we)
	wantNotFound(t, kv, "n")
	wantNotFound(t, kv, "z")
	for k, h := range before {
		wantHistory(t, kv, k, h)
	}
}

func testUpdateFnError(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	errBoom := errors.New("boom")
	vx := put(t, kv, "x", "x")
	calls := 0
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		calls++
		if err := tx.Put("x", []byte("changed")); err != nil {
			return err
		}
		if err := tx.Put("new", []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete("x"); err != nil {
			return err
		}
		return fmt.Errorf("fn failed: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update with fn returning an error = %d, %v; want the error returned by fn", v, err)
	}
	if calls != 1 {
		t.Errorf("Update ran fn %d times, want once: an error from fn is not retried", calls)
	}
	wantGet(t, kv, entry("x", "x", vx, vx))
	wantNotFound(t, kv, "new")
	wantHistory(t, kv, "x", []vkv.Entry{entry("x", "x", vx, vx)})
	wantHistory(t, kv, "new", nil)

	// The same for View.
	err = kv.View(ctx, func(tx vkv.Txn) error { return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("View with fn returning an error = %v; want the error returned by fn", err)
	}
}

func testUpdateRetryOnChange(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	put(t, kv, "k", "original")
	var changed vkv.Version
	attempts := 0
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		attempts++
		e, err := tx.Get("k")
		if err != nil {
			return err
		}
		if attempts == 1 {
			// Change k behind the transaction's back.
			aside(t, "Put(\"k\")", func() {
				var err error
				if changed, err = kv.Put(ctx, "k", []byte("changed")); err != nil {
					t.Errorf("Put(%q) during Update: %v", "k", err)
				}
			})
		}
		return tx.Put("copy", e.Value)
	})
	if err != nil {
		t.Fatalf("Update whose read key changed before commit = %d, %v; want it rerun and committed", v, err)
	}
	if attempts < 2 {
		t.Errorf("Update ran fn %d times, want at least 2: the key fn read changed before commit", attempts)
	}
	if changed != 0 && v <= changed {
		t.Errorf("Update = version %d, want > %d (the concurrent Put it retried after)", v, changed)
	}
	wantGet(t, kv, entry("copy", "changed", v, v))
	if e := get(t, kv, "k"); string(e.Value) != "changed" || e.Version != changed {
		t.Errorf("Get(%q) = %q at %d, want %q at %d", "k", e.Value, e.Version, "changed", changed)
	}
	// The first attempt's write was discarded.
	if h := history(t, kv, "copy"); len(h) != 1 {
		t.Errorf("History(%q) = %d entries, want 1: only the final attempt may write", "copy", len(h))
	}
}

func testUpdateRetryOnCreate(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	var created vkv.Version
	attempts := 0
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		attempts++
		value := []byte("absent")
		e, err := tx.Get("k")
		switch {
		case err == nil:
			value = e.Value
		case !errors.Is(err, vkv.ErrNotFound):
			return err
		}
		if attempts == 1 {
			aside(t, "CompareAndSwap(\"k\", 0)", func() {
				var err error
				if created, err = kv.CompareAndSwap(ctx, "k", 0, []byte("created")); err != nil {
					t.Errorf("CompareAndSwap(%q, 0) during Update: %v", "k", err)
				}
			})
		}
		return tx.Put("copy", value)
	})
	if err != nil {
		t.Fatalf("Update whose absent read key was created before commit = %d, %v; want it rerun and committed", v, err)
	}
	if attempts < 2 {
		t.Errorf("Update ran fn %d times, want at least 2: the key fn found absent was created before commit", attempts)
	}
	wantGet(t, kv, entry("copy", "created", v, v))
	wantGet(t, kv, entry("k", "created", created, created))
}

func testViewSnapshot(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v1 := put(t, kv, "k", "before")
	put(t, kv, "d", "doomed")
	var v2 vkv.Version
	err := kv.View(ctx, func(tx vkv.Txn) error {
		if e, err := tx.Get("k"); err != nil || string(e.Value) != "before" || e.Version != v1 {
			t.Errorf("View: Txn.Get(%q) = %q at %d, %v; want %q at %d", "k", e.Value, e.Version, err, "before", v1)
		}
		aside(t, "writes", func() {
			var err error
			if v2, err = kv.Put(ctx, "k", []byte("after")); err != nil {
				t.Errorf("Put(%q) during View: %v", "k", err)
			}
			if _, err := kv.Put(ctx, "new", []byte("new")); err != nil {
				t.Errorf("Put(%q) during View: %v", "new", err)
			}
			if _, err := kv.Delete(ctx, "d"); err != nil {
				t.Errorf("Delete(%q) during View: %v", "d", err)
			}
		})
		if e, err := tx.Get("k"); err != nil || string(e.Value) != "before" || e.Version != v1 {
			t.Errorf("View: Txn.Get(%q) after a concurrent Put = %q at %d, %v; want the snapshot's %q at %d", "k", e.Value, e.Version, err, "before", v1)
		}
		if e, err := tx.Get("new"); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("View: Txn.Get(%q) created after the snapshot = %+v, %v; want ErrNotFound", "new", e, err)
		}
		if e, err := tx.Get("d"); err != nil || string(e.Value) != "doomed" {
			t.Errorf("View: Txn.Get(%q) deleted after the snapshot = %q, %v; want %q", "d", e.Value, err, "doomed")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if e := get(t, kv, "k"); string(e.Value) != "after" || e.Version != v2 {
		t.Errorf("Get(%q) after View = %q at %d, want %q at %d", "k", e.Value, e.Version, "after", v2)
	}
}

func testViewReadOnly(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v := put(t, kv, "k", "x")
	err := kv.View(ctx, func(tx vkv.Txn) error {
		wantErrIs(t, "View: Txn.Put", tx.Put("k", []byte("y")), vkv.ErrReadOnly)
		wantErrIs(t, "View: Txn.Put of a new key", tx.Put("n", []byte("y")), vkv.ErrReadOnly)
		wantErrIs(t, "View: Txn.Delete", tx.Delete("k"), vkv.ErrReadOnly)
		wantErrIs(t, "View: Txn.Expect", tx.Expect("k", v), vkv.ErrReadOnly)
		if e, err := tx.Get("k"); err != nil || string(e.Value) != "x" {
			t.Errorf("View: Txn.Get(%q) after refused writes = %q, %v; want %q", "k", e.Value, err, "x")
		}
		return nil
	})
	if err != nil {
		t.Errorf("View whose fn returned nil: %v", err)
	}
	wantGet(t, kv, entry("k", "x", v, v))
	wantNotFound(t, kv, "n")
}

func testTxnDone(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v := put(t, kv, "k", "x")
	check := func(what string, tx vkv.Txn) {
		t.Helper()
		if tx == nil {
			t.Errorf("%s: fn got a nil Txn", what)
			return
		}
		if _, err := tx.Get("k"); !errors.Is(err, vkv.ErrTxnDone) {
			t.Errorf("%s: Txn.Get after fn returned: %v, want ErrTxnDone", what, err)
		}
		wantErrIs(t, what+": Txn.Put after fn returned", tx.Put("k", []byte("late")), vkv.ErrTxnDone)
		wantErrIs(t, what+": Txn.Delete after fn returned", tx.Delete("k"), vkv.ErrTxnDone)
		wantErrIs(t, what+": Txn.Expect after fn returned", tx.Expect("k", v), vkv.ErrTxnDone)
	}

	var kept vkv.Txn
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		kept = tx
		return tx.Put("u", []byte("u"))
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	check("Update", kept)

	kept = nil
	errBoom := errors.New("boom")
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		kept = tx
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v, want %v", err, errBoom)
	}
	check("Update that failed", kept)

	kept = nil
	if err := kv.View(ctx, func(tx vkv.Txn) error {
		kept = tx
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	check("View", kept)

	wantGet(t, kv, entry("k", "x", v, v))
}
