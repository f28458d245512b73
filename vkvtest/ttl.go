package vkvtest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

var ttlCases = []testCase{
	{"Expiry", testTTLExpiry},
	{"ExpiresAt", testTTLExpiresAt},
	{"Negative", testTTLNegative},
}

const (
	// shortTTL is the TTL of keys that the tests wait to expire.
	shortTTL = 300 * time.Millisecond
	// expiryGrace is how long after its expiry (the write's return plus the
	// TTL, on the test's clock) a key may still be seen. Expired keys must
	// vanish at once; the grace only absorbs scheduling and small clock skew.
	expiryGrace = 250 * time.Millisecond
	// expiryDeadline bounds the wait for an expired key to vanish at all.
	expiryDeadline = 2 * time.Second
	// reapDeadline bounds the wait for an expired key's tombstone.
	reapDeadline = 3 * time.Second
	// clockSlack bounds the difference between ExpiresAt and the expiry the
	// test computes from its own clock.
	clockSlack = time.Second
)

// checkExpiresAt checks that e has an ExpiresAt about ttl after the write,
// which ran between t0 and t1.
func checkExpiresAt(tb testing.TB, what string, e vkv.Entry, ttl time.Duration, t0, t1 time.Time) {
	tb.Helper()
	if e.ExpiresAt.IsZero() {
		tb.Errorf("%s: ExpiresAt is zero for a write with TTL %v", what, ttl)
		return
	}
	lo, hi := t0.Add(ttl-clockSlack), t1.Add(ttl+clockSlack)
	if e.ExpiresAt.Before(lo) || e.ExpiresAt.After(hi) {
		tb.Errorf("%s: ExpiresAt = %v, want about %v after the write (%v)", what, e.ExpiresAt, ttl, t0)
	}
}

func testTTLExpiry(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	put(t, kv, "ttl/keep", "stays")
	t0 := time.Now()
	vput := put(t, kv, "ttl/put", "x", vkv.WithTTL(shortTTL))
	vput2 := put(t, kv, "ttl/put2", "x", vkv.WithTTL(shortTTL))
	vcas, err := kv.CompareAndSwap(ctx, "ttl/cas", 0, []byte("x"), vkv.WithTTL(shortTTL))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) with TTL: %v", "ttl/cas", err)
	}
	vtx, err := kv.Update(ctx, func(tx vkv.Txn) error {
		return tx.Put("ttl/tx", []byte("x"), vkv.WithTTL(shortTTL))
	})
	if err != nil {
		t.Fatalf("Update with Txn.Put(%q) with TTL: %v", "ttl/tx", err)
	}
	t1 := time.Now()
	versions := map[string]vkv.Version{"ttl/put": vput, "ttl/put2": vput2, "ttl/cas": vcas, "ttl/tx": vtx}
	expiring := []string{"ttl/cas", "ttl/put", "ttl/put2", "ttl/tx"}

	// Before expiry: visible, with ExpiresAt set. The expiry is measured on
	// the test's clock: the writes committed by t1, so they expire by
	// t1+shortTTL whatever ExpiresAt says.
	expiry := t1.Add(shortTTL)
	for _, k := range expiring {
		e, err := kv.Get(ctx, k)
		if time.Now().After(t0.Add(shortTTL - 50*time.Millisecond)) {
			t.Logf("too slow to check %q before it expires", k)
			break
		}
		if err != nil {
			t.Errorf("Get(%q) before its TTL ran out: %v", k, err)
			continue
		}
		checkExpiresAt(t, keyf("Get(%q)", k), e, shortTTL, t0, t1)
		if e.Version != versions[k] || string(e.Value) != "x" {
			t.Errorf("Get(%q) = %q at %d, want %q at %d", k, e.Value, e.Version, "x", versions[k])
		}
	}
	if es, _, err := kv.List(ctx, "ttl/", "", 0); err != nil {
		t.Errorf("List(%q): %v", "ttl/", err)
	} else if time.Now().Before(t0.Add(shortTTL - 50*time.Millisecond)) {
		if got := keysOf(es); !slices.Equal(got, []string{"ttl/cas", "ttl/keep", "ttl/put", "ttl/put2", "ttl/tx"}) {
			t.Errorf("List(%q) before expiry = %q, want all five keys", "ttl/", got)
		}
		for _, e := range es {
			if e.Key != "ttl/keep" && e.ExpiresAt.IsZero() {
				t.Errorf("List(%q): entry %q has zero ExpiresAt, want the TTL's expiry", "ttl/", e.Key)
			}
		}
	}

	// At expiry the keys vanish from Get at once.
	time.Sleep(time.Until(expiry))
	for _, k := range expiring {
		reported := false
		for {
			_, err := kv.Get(ctx, k)
			if errors.Is(err, vkv.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatalf("Get(%q) after expiry: %v", k, err)
			}
			late := time.Since(expiry)
			if late > expiryDeadline {
				t.Fatalf("Get(%q) still finds the key %v after its expiry", k, late)
			}
			if late > expiryGrace && !reported {
				reported = true
				t.Errorf("Get(%q) still finds the key %v after its expiry; an expired key must be invisible at once", k, late)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Expired keys are invisible to List and conditions.
	if got := listAllKeys(t, kv, "ttl/", 0); !slices.Equal(got, []string{"ttl/keep"}) {
		t.Errorf("List(%q) after expiry = %q, want only %q", "ttl/", got, "ttl/keep")
	}
	for _, k := range expiring {
		v := versions[k]
		got, err := kv.CompareAndSwap(ctx, k, v, []byte("y"))
		wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d on the expired key", k, v, got), err, conflict(k, v, 0, nil))
		got, err = kv.CompareAndDelete(ctx, k, v)
		wantConflict(t, keyf("CompareAndDelete(%q, %d) = %d on the expired key", k, v, got), err, conflict(k, v, 0, nil))
		if got, err := kv.Delete(ctx, k); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Delete(%q) of the expired key = %d, %v; want ErrNotFound", k, got, err)
		}
	}
	err = kv.View(ctx, func(tx vkv.Txn) error {
		for _, k := range expiring {
			if e, err := tx.Get(k); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("View: Txn.Get(%q) of the expired key = %+v, %v; want ErrNotFound", k, e, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("View: %v", err)
	}

	// An expired key can be created again: with CompareAndSwap expecting 0,
	// in a transaction expecting 0, and with Put; each starts a new life
	// (CreateVersion is the new version).
	v, err := kv.CompareAndSwap(ctx, "ttl/put", 0, []byte("again"))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) re-creating the expired key: %v", "ttl/put", err)
	}
	if v <= vtx {
		t.Errorf("CompareAndSwap(%q, 0) = %d, want > %d", "ttl/put", v, vtx)
	}
	wantGet(t, kv, entry("ttl/put", "again", v, v))
	if e := get(t, kv, "ttl/put"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v after a write without TTL, want zero", "ttl/put", e.ExpiresAt)
	}
	v, err = kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Expect("ttl/tx", 0); err != nil {
			return err
		}
		return tx.Put("ttl/tx", []byte("again"))
	})
	if err != nil {
		t.Fatalf("Update expecting the expired key %q absent: %v", "ttl/tx", err)
	}
	wantGet(t, kv, entry("ttl/tx", "again", v, v))
	v = put(t, kv, "ttl/put2", "again")
	wantGet(t, kv, entry("ttl/put2", "again", v, v))
	keep := get(t, kv, "ttl/keep")
	wantGet(t, kv, entry("ttl/keep", "stays", keep.Version, keep.Version))

	// The expired key is deleted by a real delete with its own version,
	// recorded in history; GetAt still answers for the versions at which the
	// key was live.
	vcas = versions["ttl/cas"]
	deadline := time.Now().Add(reapDeadline)
	for {
		h := history(t, kv, "ttl/cas")
		checkHistoryOrder(t, "ttl/cas", h)
		if len(h) == 0 || h[len(h)-1].Version != vcas {
			t.Fatalf("History(%q) = %+v, want the write at version %d last", "ttl/cas", h, vcas)
		}
		if len(h) > 1 {
			if len(h) != 2 || !h[0].Deleted || h[0].Version <= vcas {
				t.Errorf("History(%q) = %+v, want one tombstone after the write at %d", "ttl/cas", h, vcas)
			} else if _, err := kv.GetAt(ctx, "ttl/cas", h[0].Version); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("GetAt(%q, %d) at the expiry's tombstone: %v, want ErrNotFound", "ttl/cas", h[0].Version, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("History(%q) has no tombstone %v after the key expired; an expired key must later be deleted with its own version", "ttl/cas", reapDeadline)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, err := kv.GetAt(ctx, "ttl/cas", vcas); err != nil || string(e.Value) != "x" || e.Version != vcas {
		t.Errorf("GetAt(%q, %d) = %q at %d, %v; want the write made at that version", "ttl/cas", vcas, e.Value, e.Version, err)
	}
	// Writing the re-created keys left history in order, too.
	for _, k := range []string{"ttl/put", "ttl/put2", "ttl/tx"} {
		checkHistoryOrder(t, k, history(t, kv, k))
	}
}

// checkHistoryOrder checks that h, the history of key, is newest first with
// distinct versions and that its entries name key.
func checkHistoryOrder(tb testing.TB, key string, h []vkv.Entry) {
	tb.Helper()
	for i, e := range h {
		if e.Key != key {
			tb.Errorf("History(%q)[%d].Key = %q", key, i, e.Key)
		}
		if i > 0 && h[i-1].Version <= e.Version {
			tb.Errorf("History(%q): version %d listed before %d, want newest first", key, h[i-1].Version, e.Version)
		}
	}
}

func testTTLExpiresAt(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	put(t, kv, "plain", "x")
	if e := get(t, kv, "plain"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v for a write without TTL, want zero", "plain", e.ExpiresAt)
	}
	put(t, kv, "zero", "x", vkv.WithTTL(0))
	if e := get(t, kv, "zero"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v for a write with TTL 0, want zero", "zero", e.ExpiresAt)
	}

	t0 := time.Now()
	v1 := put(t, kv, "long", "x", vkv.WithTTL(time.Hour))
	t1 := time.Now()
	checkExpiresAt(t, keyf("Get(%q)", "long"), get(t, kv, "long"), time.Hour, t0, t1)
	if h := history(t, kv, "long"); len(h) != 1 || h[0].ExpiresAt.IsZero() {
		t.Errorf("History(%q) = %+v, want one entry with ExpiresAt set", "long", h)
	}

	t0 = time.Now()
	v2, err := kv.CompareAndSwap(ctx, "long", v1, []byte("y"), vkv.WithTTL(2*time.Hour))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, %d) with TTL: %v", "long", v1, err)
	}
	t1 = time.Now()
	e := get(t, kv, "long")
	checkExpiresAt(t, keyf("Get(%q) after CompareAndSwap", "long"), e, 2*time.Hour, t0, t1)
	if e.Version != v2 || e.CreateVersion != v1 {
		t.Errorf("Get(%q) = version %d created %d, want %d created %d", "long", e.Version, e.CreateVersion, v2, v1)
	}

	t0 = time.Now()
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		return tx.Put("txttl", []byte("x"), vkv.WithTTL(time.Hour))
	}); err != nil {
		t.Fatalf("Update with Txn.Put(%q) with TTL: %v", "txttl", err)
	}
	t1 = time.Now()
	checkExpiresAt(t, keyf("Get(%q)", "txttl"), get(t, kv, "txttl"), time.Hour, t0, t1)

	// Overwriting without a TTL removes the expiry.
	put(t, kv, "long", "z")
	if e := get(t, kv, "long"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v after a write without TTL, want zero", "long", e.ExpiresAt)
	}
}

func testTTLNegative(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v := put(t, kv, "k", "x")
	for _, d := range []time.Duration{-time.Nanosecond, -time.Hour} {
		_, err := kv.Put(ctx, "k", []byte("neg"), vkv.WithTTL(d))
		wantErrIs(t, keyf("Put(%q) with TTL %v", "k", d), err, vkv.ErrInvalidTTL)
		_, err = kv.Put(ctx, "n", []byte("neg"), vkv.WithTTL(d))
		wantErrIs(t, keyf("Put(%q) with TTL %v", "n", d), err, vkv.ErrInvalidTTL)
		_, err = kv.CompareAndSwap(ctx, "k", v, []byte("neg"), vkv.WithTTL(d))
		wantErrIs(t, keyf("CompareAndSwap(%q, %d) with TTL %v", "k", v, d), err, vkv.ErrInvalidTTL)
		_, err = kv.Update(ctx, func(tx vkv.Txn) error {
			if err := tx.Put("n2", []byte("ok")); err != nil {
				return err
			}
			return tx.Put("k", []byte("neg"), vkv.WithTTL(d))
		})
		wantErrIs(t, keyf("Update with Txn.Put(%q) with TTL %v", "k", d), err, vkv.ErrInvalidTTL)
	}
	wantGet(t, kv, entry("k", "x", v, v))
	wantNotFound(t, kv, "n")
	wantNotFound(t, kv, "n2")
	wantHistory(t, kv, "k", []vkv.Entry{entry("k", "x", v, v)})
}
