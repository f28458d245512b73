package vkvtest

import (
	"errors"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

// testKeepTTL: a put with WithKeepTTL keeps the expiry the key has (also
// through a transaction, whose own read shows it), a put without it drops
// it, keeping on a key without a TTL or an absent key gives none, the
// kept expiry still ends the key, and WithTTL with WithKeepTTL is refused.
func testKeepTTL(t *testing.T, kv vkv.KV, clock *suiteClock) {
	ctx := t.Context()
	const ttl = time.Hour
	var w vkv.Entry
	if _, err := kv.Put(ctx, "keep/k", []byte("1"), vkv.WithTTL(ttl), vkv.Written(&w)); err != nil {
		t.Fatal(err)
	}
	exp := w.ExpiresAt
	if exp.IsZero() {
		t.Fatalf("Put with a TTL: Written.ExpiresAt is zero")
	}
	expiresAt := func(key string) time.Time {
		t.Helper()
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		return e.ExpiresAt
	}
	if clock.fake != nil {
		clock.pass(time.Minute) // not on real time: it would sleep a minute
	}
	_, err := kv.CompareAndSwap(ctx, "keep/k", w.Version, []byte("2"), vkv.WithKeepTTL(), vkv.Written(&w))
	if err != nil {
		t.Fatalf("CompareAndSwap with WithKeepTTL: %v", err)
	}
	if got := expiresAt("keep/k"); !got.Equal(exp) || !w.ExpiresAt.Equal(exp) {
		t.Errorf("after CompareAndSwap with WithKeepTTL: ExpiresAt %v (Written %v), want the key's %v", got, w.ExpiresAt, exp)
	}
	_, err = kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Put("keep/k", []byte("3"), vkv.WithKeepTTL()); err != nil {
			return err
		}
		e, err := tx.Get("keep/k")
		if err != nil {
			return err
		}
		if !e.ExpiresAt.Equal(exp) {
			t.Errorf("Txn.Get after Txn.Put with WithKeepTTL: ExpiresAt %v, want %v", e.ExpiresAt, exp)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update with WithKeepTTL: %v", err)
	}
	if got := expiresAt("keep/k"); !got.Equal(exp) {
		t.Errorf("after Update with WithKeepTTL: ExpiresAt %v, want %v", got, exp)
	}

	if _, err := kv.Put(ctx, "keep/k", []byte("4"), vkv.WithTTL(time.Minute), vkv.WithKeepTTL()); !errors.Is(err, vkv.ErrInvalidTTL) {
		t.Errorf("Put with WithTTL and WithKeepTTL: %v, want ErrInvalidTTL", err)
	}
	for _, key := range []string{"keep/plain", "keep/absent"} {
		if key == "keep/plain" {
			if _, err := kv.Put(ctx, key, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := kv.Put(ctx, key, []byte("y"), vkv.WithKeepTTL()); err != nil {
			t.Fatalf("Put(%q) with WithKeepTTL: %v", key, err)
		}
		if got := expiresAt(key); !got.IsZero() {
			t.Errorf("Put(%q) with WithKeepTTL on a key without a TTL: ExpiresAt %v, want none", key, got)
		}
	}

	// The kept expiry still ends the key.
	if clock.fake != nil {
		clock.pass(exp.Sub(clock.now()))
		if _, err := kv.Get(ctx, "keep/k"); !errors.Is(err, vkv.ErrNotFound) {
			t.Errorf("Get after the kept expiry: %v, want ErrNotFound", err)
		}
	}
	// A put without WithKeepTTL makes the key permanent.
	if _, err := kv.Put(ctx, "keep/k", []byte("5")); err != nil {
		t.Fatal(err)
	}
	if got := expiresAt("keep/k"); !got.IsZero() {
		t.Errorf("Put without WithKeepTTL: ExpiresAt %v, want none", got)
	}
}
