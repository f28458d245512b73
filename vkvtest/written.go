package vkvtest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// testWritten: vkv.Written reports the entry a Put or CompareAndSwap made,
// so that a caller learns from one call whether it created the key; it is
// left alone when the write fails.
func testWritten(t *testing.T, kv vkv.KV, clock *suiteClock) {
	ctx := t.Context()
	var w1 vkv.Entry
	v1, err := kv.Put(ctx, "w", []byte("one"), vkv.Written(&w1))
	if err != nil {
		t.Fatalf("Put(w): %v", err)
	}
	if diff := cmp.Diff(vkv.Entry{Key: "w", Version: v1, CreateVersion: v1}, w1, entryOpts); diff != "" {
		t.Errorf("Put(w) creating the key: Written (-want +got):\n%s", diff)
	}

	var w2 vkv.Entry
	v2, err := kv.Put(ctx, "w", []byte("two"), vkv.Written(&w2))
	if err != nil {
		t.Fatalf("Put(w) again: %v", err)
	}
	if diff := cmp.Diff(vkv.Entry{Key: "w", Version: v2, CreateVersion: v1}, w2, entryOpts); diff != "" {
		t.Errorf("Put(w) over the key: Written (-want +got):\n%s", diff)
	}

	var w3 vkv.Entry
	before := clock.now()
	v3, err := kv.CompareAndSwap(ctx, "w", v2, []byte("three"), vkv.WithTTL(time.Hour), vkv.Written(&w3))
	if err != nil {
		t.Fatalf("CompareAndSwap(w): %v", err)
	}
	if diff := cmp.Diff(vkv.Entry{Key: "w", Version: v3, CreateVersion: v1}, w3, entryOpts); diff != "" {
		t.Errorf("CompareAndSwap(w) with a TTL: Written (-want +got):\n%s", diff)
	}
	// The expiry is an hour after the write, on the KV's clock; a minute's
	// slack either way.
	if lo, hi := before.Add(time.Hour-time.Minute), clock.now().Add(time.Hour+time.Minute); w3.ExpiresAt.Before(lo) || w3.ExpiresAt.After(hi) {
		t.Errorf("CompareAndSwap(w) with a 1h TTL: Written.ExpiresAt = %v, want about an hour from now", w3.ExpiresAt)
	}

	var w4 vkv.Entry
	v4, err := kv.CompareAndSwap(ctx, "w/new", 0, []byte("x"), vkv.Written(&w4))
	if err != nil {
		t.Fatalf("CompareAndSwap(w/new, 0): %v", err)
	}
	if diff := cmp.Diff(vkv.Entry{Key: "w/new", Version: v4, CreateVersion: v4}, w4, entryOpts); diff != "" {
		t.Errorf("CompareAndSwap(w/new, 0): Written (-want +got):\n%s", diff)
	}

	w5 := vkv.Entry{Key: "untouched"}
	if _, err := kv.CompareAndSwap(ctx, "w", v1, []byte("stale"), vkv.Written(&w5)); err == nil {
		t.Fatalf("CompareAndSwap(w) at a stale version succeeded")
	}
	if diff := cmp.Diff(vkv.Entry{Key: "untouched"}, w5); diff != "" {
		t.Errorf("a failed CompareAndSwap changed Written (-want +got):\n%s", diff)
	}
}
