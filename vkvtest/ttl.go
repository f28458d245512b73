package vkvtest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

var ttlCases = []testCase{
	{name: "Expiry", timed: testTTLExpiry},
	{name: "ExpiresAt", timed: testTTLExpiresAt},
	{name: "Negative", fn: testTTLNegative},
	{name: "KeepTTL", timed: testKeepTTL},
}

const (
	// shortTTL is the TTL of keys that the tests wait to expire; on real
	// time it is doubled, up to ttlAttempts times, while the checks meant
	// for before the expiry take too long to be made before it.
	shortTTL    = 300 * time.Millisecond
	ttlAttempts = 4
	// beforeMargin is how long before a key's expiry, on the test's clock,
	// the checks of the live key must be done to count, on real time: it
	// absorbs a small clock skew between the test and a remote KV.
	beforeMargin = 50 * time.Millisecond
	// expiryGrace is how long after its expiry (the write's return plus the
	// TTL, on the test's clock) a key may still be seen, on real time.
	// Expired keys must vanish at once; the grace only absorbs scheduling and
	// small clock skew. On a fake clock there is no grace.
	expiryGrace = 250 * time.Millisecond
	// expiryDeadline bounds the wait for an expired key to vanish at all.
	expiryDeadline = 2 * time.Second
	// reapDeadline bounds the (real) wait for an expired key's tombstone.
	reapDeadline = 3 * time.Second
	// clockSlack bounds the difference between ExpiresAt and the expiry the
	// test computes from its own clock, on real time. On a fake clock
	// ExpiresAt must be exact.
	clockSlack = time.Second
)

// checkExpiresAt checks that e has an ExpiresAt ttl after the write, which
// ran between t0 and t1 on clock: within clockSlack on real time, exactly on
// a fake clock.
func checkExpiresAt(tb testing.TB, what string, clock *suiteClock, e vkv.Entry, ttl time.Duration, t0, t1 time.Time) {
	tb.Helper()
	if e.ExpiresAt.IsZero() {
		tb.Errorf("%s: ExpiresAt is zero for a write with TTL %v", what, ttl)
		return
	}
	slack := clockSlack
	if clock.fake != nil {
		slack = 0
	}
	lo, hi := t0.Add(ttl-slack), t1.Add(ttl+slack)
	if e.ExpiresAt.Before(lo) || e.ExpiresAt.After(hi) {
		tb.Errorf("%s: ExpiresAt = %v, want %v after the write (%v), give or take %v", what, e.ExpiresAt, ttl, t0, slack)
	}
}

func testTTLExpiry(t *testing.T, kv vkv.KV, clock *suiteClock) {
	ttl := shortTTL
	for attempt := 1; ; attempt++ {
		if ttlExpiry(t, kv, clock, keyf("ttl%d/", attempt), ttl) {
			return
		}
		if attempt == ttlAttempts {
			t.Fatalf("the checks of keys with a TTL before their expiry took longer than the TTL %d times, up to a TTL of %v: the KV is too slow for the suite", attempt, ttl)
		}
		t.Logf("the checks before expiry took longer than the TTL of %v; again with %v", ttl, 2*ttl)
		ttl *= 2
	}
}

// ttlExpiry checks expiry with keys under prefix written with ttl. It
// returns false, having checked nothing, if on real time the checks of the
// live keys could not all be made before they expired.
func ttlExpiry(t *testing.T, kv vkv.KV, clock *suiteClock, prefix string, ttl time.Duration) bool {
	ctx := t.Context()
	k := func(name string) string { return prefix + name }
	put(t, kv, k("keep"), "stays")
	t0 := clock.now()
	vput := put(t, kv, k("put"), "x", vkv.WithTTL(ttl))
	vput2 := put(t, kv, k("put2"), "x", vkv.WithTTL(ttl))
	vcas, err := kv.CompareAndSwap(ctx, k("cas"), 0, []byte("x"), vkv.WithTTL(ttl))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) with TTL: %v", k("cas"), err)
	}
	vtx, err := kv.Update(ctx, func(tx vkv.Txn) error {
		return tx.Put(k("tx"), []byte("x"), vkv.WithTTL(ttl))
	})
	if err != nil {
		t.Fatalf("Update with Txn.Put(%q) with TTL: %v", k("tx"), err)
	}
	t1 := clock.now()
	versions := map[string]vkv.Version{k("put"): vput, k("put2"): vput2, k("cas"): vcas, k("tx"): vtx}
	expiring := []string{k("cas"), k("put"), k("put2"), k("tx")}

	// Before expiry: visible, with ExpiresAt set. The expiry is measured on
	// the test's clock: the writes committed by t1, so they expire by t1+ttl
	// whatever ExpiresAt says, and not before t0+ttl. The reads are made
	// first and judged after, once it is known that they were all made
	// before the expiry.
	type read struct {
		e   vkv.Entry
		err error
	}
	reads := map[string]read{}
	for _, key := range expiring {
		e, err := kv.Get(ctx, key)
		reads[key] = read{e, err}
	}
	lr, listErr := kv.List(ctx, prefix, "", 0)
	list := lr.Entries
	txReads := map[string]read{}
	viewErr := kv.View(ctx, func(tx vkv.Txn) error {
		for _, key := range expiring {
			e, err := tx.Get(key)
			txReads[key] = read{e, err}
		}
		return nil
	})
	if clock.fake == nil && clock.now().After(t0.Add(ttl-beforeMargin)) {
		return false
	}
	for _, key := range expiring {
		e, err := reads[key].e, reads[key].err
		if err != nil {
			t.Errorf("Get(%q) before its TTL ran out: %v", key, err)
			continue
		}
		checkExpiresAt(t, keyf("Get(%q)", key), clock, e, ttl, t0, t1)
		if e.Version != versions[key] || string(e.Value) != "x" {
			t.Errorf("Get(%q) = %q at %d, want %q at %d", key, e.Value, e.Version, "x", versions[key])
		}
	}
	if viewErr != nil {
		t.Errorf("View: %v", viewErr)
	}
	for _, key := range expiring {
		if e, err := txReads[key].e, txReads[key].err; err != nil || e.Version != versions[key] {
			t.Errorf("View: Txn.Get(%q) before its TTL ran out = version %d, %v; want version %d", key, e.Version, err, versions[key])
		}
	}
	if listErr != nil {
		t.Errorf("List(%q): %v", prefix, listErr)
	} else {
		if got, want := keysOf(list), []string{k("cas"), k("keep"), k("put"), k("put2"), k("tx")}; !slices.Equal(got, want) {
			t.Errorf("List(%q) before expiry = %q, want %q", prefix, got, want)
		}
		for _, e := range list {
			if e.Key != k("keep") && e.ExpiresAt.IsZero() {
				t.Errorf("List(%q): entry %q has zero ExpiresAt, want the TTL's expiry", prefix, e.Key)
			}
		}
	}

	expiry := t1.Add(ttl)
	if clock.fake != nil {
		// On a fake clock the expiry is exact: the keys are there a
		// nanosecond before it and gone at it, with nothing to wait for.
		clock.pass(ttl - time.Nanosecond)
		for _, key := range expiring {
			if _, err := kv.Get(ctx, key); err != nil {
				t.Errorf("Get(%q) a nanosecond before its TTL ran out: %v", key, err)
			}
		}
		clock.pass(time.Nanosecond)
		for _, key := range expiring {
			if e, err := kv.Get(ctx, key); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("Get(%q) when its TTL ran out = %+v, %v; want ErrNotFound", key, e, err)
			}
		}
	} else {
		// At expiry the keys vanish from Get at once.
		time.Sleep(time.Until(expiry))
		for _, key := range expiring {
			reported := false
			for {
				_, err := kv.Get(ctx, key)
				if errors.Is(err, vkv.ErrNotFound) {
					break
				}
				if err != nil {
					t.Fatalf("Get(%q) after expiry: %v", key, err)
				}
				late := time.Since(expiry)
				if late > expiryDeadline {
					t.Fatalf("Get(%q) still finds the key %v after its expiry", key, late)
				}
				if late > expiryGrace && !reported {
					reported = true
					t.Errorf("Get(%q) still finds the key %v after its expiry; an expired key must be invisible at once", key, late)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}

	// Expired keys are invisible to List and conditions.
	if got := listAllKeys(t, kv, prefix, 0); !slices.Equal(got, []string{k("keep")}) {
		t.Errorf("List(%q) after expiry = %q, want only %q", prefix, got, k("keep"))
	}
	for _, key := range expiring {
		v := versions[key]
		got, err := kv.CompareAndSwap(ctx, key, v, []byte("y"))
		wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d on the expired key", key, v, got), err, conflict(key, v, 0, nil))
		got, err = kv.CompareAndDelete(ctx, key, v)
		wantConflict(t, keyf("CompareAndDelete(%q, %d) = %d on the expired key", key, v, got), err, conflict(key, v, 0, nil))
		if got, err := kv.Delete(ctx, key); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Delete(%q) of the expired key = %d, %v; want ErrNotFound", key, got, err)
		}
	}
	err = kv.View(ctx, func(tx vkv.Txn) error {
		for _, key := range expiring {
			if e, err := tx.Get(key); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("View: Txn.Get(%q) of the expired key = %+v, %v; want ErrNotFound", key, e, err)
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
	v, err := kv.CompareAndSwap(ctx, k("put"), 0, []byte("again"))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) re-creating the expired key: %v", k("put"), err)
	}
	if v <= vtx {
		t.Errorf("CompareAndSwap(%q, 0) = %d, want > %d", k("put"), v, vtx)
	}
	wantGet(t, kv, entry(k("put"), "again", v, v))
	if e := get(t, kv, k("put")); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v after a write without TTL, want zero", k("put"), e.ExpiresAt)
	}
	v, err = kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Expect(k("tx"), 0); err != nil {
			return err
		}
		return tx.Put(k("tx"), []byte("again"))
	})
	if err != nil {
		t.Fatalf("Update expecting the expired key %q absent: %v", k("tx"), err)
	}
	wantGet(t, kv, entry(k("tx"), "again", v, v))
	v = put(t, kv, k("put2"), "again")
	wantGet(t, kv, entry(k("put2"), "again", v, v))
	keep := get(t, kv, k("keep"))
	wantGet(t, kv, entry(k("keep"), "stays", keep.Version, keep.Version))

	// The expired key is deleted by a real delete with its own version,
	// recorded in history; GetAt still answers for the versions at which the
	// key was live. The deletion is the KV's background work: waited for on
	// real time, also on a fake clock (which has already passed the expiry).
	vcas = versions[k("cas")]
	deadline := time.Now().Add(reapDeadline)
	for {
		h := history(t, kv, k("cas"))
		checkHistoryOrder(t, k("cas"), h)
		if len(h) == 0 || h[len(h)-1].Version != vcas {
			t.Fatalf("History(%q) = %+v, want the write at version %d last", k("cas"), h, vcas)
		}
		if len(h) > 1 {
			if len(h) != 2 || !h[0].Deleted || h[0].Version <= vcas {
				t.Errorf("History(%q) = %+v, want one tombstone after the write at %d", k("cas"), h, vcas)
			} else if _, err := kv.GetAt(ctx, k("cas"), h[0].Version); !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("GetAt(%q, %d) at the expiry's tombstone: %v, want ErrNotFound", k("cas"), h[0].Version, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("History(%q) has no tombstone %v after the key expired; an expired key must later be deleted with its own version", k("cas"), reapDeadline)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, err := kv.GetAt(ctx, k("cas"), vcas); err != nil || string(e.Value) != "x" || e.Version != vcas {
		t.Errorf("GetAt(%q, %d) = %q at %d, %v; want the write made at that version", k("cas"), vcas, e.Value, e.Version, err)
	}
	// Writing the re-created keys left history in order, too.
	for _, key := range []string{k("put"), k("put2"), k("tx")} {
		checkHistoryOrder(t, key, history(t, kv, key))
	}
	return true
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

func testTTLExpiresAt(t *testing.T, kv vkv.KV, clock *suiteClock) {
	ctx := t.Context()
	put(t, kv, "plain", "x")
	if e := get(t, kv, "plain"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v for a write without TTL, want zero", "plain", e.ExpiresAt)
	}
	put(t, kv, "zero", "x", vkv.WithTTL(0))
	if e := get(t, kv, "zero"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v for a write with TTL 0, want zero", "zero", e.ExpiresAt)
	}

	t0 := clock.now()
	v1 := put(t, kv, "long", "x", vkv.WithTTL(time.Hour))
	t1 := clock.now()
	checkExpiresAt(t, keyf("Get(%q)", "long"), clock, get(t, kv, "long"), time.Hour, t0, t1)
	if h := history(t, kv, "long"); len(h) != 1 || h[0].ExpiresAt.IsZero() {
		t.Errorf("History(%q) = %+v, want one entry with ExpiresAt set", "long", h)
	}

	t0 = clock.now()
	v2, err := kv.CompareAndSwap(ctx, "long", v1, []byte("y"), vkv.WithTTL(2*time.Hour))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, %d) with TTL: %v", "long", v1, err)
	}
	t1 = clock.now()
	e := get(t, kv, "long")
	checkExpiresAt(t, keyf("Get(%q) after CompareAndSwap", "long"), clock, e, 2*time.Hour, t0, t1)
	if e.Version != v2 || e.CreateVersion != v1 {
		t.Errorf("Get(%q) = version %d created %d, want %d created %d", "long", e.Version, e.CreateVersion, v2, v1)
	}

	t0 = clock.now()
	var own vkv.Entry
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Put("txttl", []byte("x"), vkv.WithTTL(time.Hour)); err != nil {
			return err
		}
		var err error
		own, err = tx.Get("txttl")
		return err
	}); err != nil {
		t.Fatalf("Update with Txn.Put(%q) with TTL and Txn.Get: %v", "txttl", err)
	}
	t1 = clock.now()
	checkExpiresAt(t, keyf("Txn.Get(%q) of the transaction's own write", "txttl"), clock, own, time.Hour, t0, t1)
	checkExpiresAt(t, keyf("Get(%q)", "txttl"), clock, get(t, kv, "txttl"), time.Hour, t0, t1)

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
