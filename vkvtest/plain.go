package vkvtest

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/vkvstore/vkv"
)

var plainCases = []testCase{
	{name: "GetMissing", fn: testGetMissing},
	{name: "PutGet", fn: testPutGet},
	{name: "Delete", fn: testDelete},
	{name: "CompareAndSwap", fn: testCompareAndSwap},
	{name: "CompareAndSwapConflict", fn: testCompareAndSwapConflict},
	{name: "CompareAndDelete", fn: testCompareAndDelete},
	{name: "EmptyValue", fn: testEmptyValue},
	{name: "BinaryValue", fn: testBinaryValue},
	{name: "Keys", fn: testKeys},
	{name: "ValueOwnership", fn: testValueOwnership},
	{name: "Written", timed: testWritten},
}

func testGetMissing(t *testing.T, kv vkv.KV) {
	wantNotFound(t, kv, "missing")
	put(t, kv, "present", "x")
	wantNotFound(t, kv, "missing")
	wantNotFound(t, kv, "presen")
	wantNotFound(t, kv, "present2")
}

func testPutGet(t *testing.T, kv vkv.KV) {
	v1 := put(t, kv, "k", "one")
	wantGet(t, kv, entry("k", "one", v1, v1))

	v2 := put(t, kv, "k", "two")
	if v2 <= v1 {
		t.Errorf("Put(%q) second write = version %d, want > %d", "k", v2, v1)
	}
	wantGet(t, kv, entry("k", "two", v2, v1))

	v3 := put(t, kv, "other", "three")
	if v3 <= v2 {
		t.Errorf("Put(%q) = version %d, want > %d", "other", v3, v2)
	}
	wantGet(t, kv, entry("other", "three", v3, v3))
	wantGet(t, kv, entry("k", "two", v2, v1))

	if e := get(t, kv, "k"); !e.ExpiresAt.IsZero() {
		t.Errorf("Get(%q).ExpiresAt = %v, want zero for a write without TTL", "k", e.ExpiresAt)
	}
}

func testDelete(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v1 := put(t, kv, "k", "one")
	vd := del(t, kv, "k")
	if vd <= v1 {
		t.Errorf("Delete(%q) = version %d, want > %d", "k", vd, v1)
	}
	wantNotFound(t, kv, "k")

	if v, err := kv.Delete(ctx, "k"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Delete(%q) of deleted key = %d, %v; want error matching vkv.ErrNotFound", "k", v, err)
	}
	if v, err := kv.Delete(ctx, "never"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Delete(%q) of missing key = %d, %v; want error matching vkv.ErrNotFound", "never", v, err)
	}

	// Re-creating gives a new CreateVersion.
	v3 := put(t, kv, "k", "again")
	if v3 <= vd {
		t.Errorf("Put(%q) after delete = version %d, want > %d", "k", v3, vd)
	}
	wantGet(t, kv, entry("k", "again", v3, v3))
}

func testCompareAndSwap(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v1, err := kv.CompareAndSwap(ctx, "k", 0, []byte("one"))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) on missing key: %v", "k", err)
	}
	if v1 == 0 {
		t.Fatalf("CompareAndSwap(%q, 0) = version 0, want > 0", "k")
	}
	wantGet(t, kv, entry("k", "one", v1, v1))

	v2, err := kv.CompareAndSwap(ctx, "k", v1, []byte("two"))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, %d) with current version: %v", "k", v1, err)
	}
	if v2 <= v1 {
		t.Errorf("CompareAndSwap(%q, %d) = version %d, want > %d", "k", v1, v2, v1)
	}
	wantGet(t, kv, entry("k", "two", v2, v1))

	// After a delete, expected 0 creates again, with a new CreateVersion.
	vd := del(t, kv, "k")
	v3, err := kv.CompareAndSwap(ctx, "k", 0, []byte("three"))
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, 0) on deleted key: %v", "k", err)
	}
	if v3 <= vd {
		t.Errorf("CompareAndSwap(%q, 0) = version %d, want > %d", "k", v3, vd)
	}
	wantGet(t, kv, entry("k", "three", v3, v3))
}

func testCompareAndSwapConflict(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v1 := put(t, kv, "k", "one")
	v2 := put(t, kv, "k", "two")
	cur := entry("k", "two", v2, v1)
	before := history(t, kv, "k")

	// Stale version.
	v, err := kv.CompareAndSwap(ctx, "k", v1, []byte("stale"))
	wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d", "k", v1, v), err, conflict("k", v1, v2, &cur))
	// Version from the future.
	v, err = kv.CompareAndSwap(ctx, "k", v2+1000, []byte("future"))
	wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d", "k", v2+1000, v), err, conflict("k", v2+1000, v2, &cur))
	// Create-only on an existing key.
	v, err = kv.CompareAndSwap(ctx, "k", 0, []byte("create"))
	wantConflict(t, keyf("CompareAndSwap(%q, 0) = %d", "k", v), err, conflict("k", 0, v2, &cur))

	// Nothing was written.
	wantGet(t, kv, cur)
	wantHistory(t, kv, "k", before)

	// A missing key: Actual 0, Current nil.
	v, err = kv.CompareAndSwap(ctx, "absent", v2, []byte("x"))
	wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d", "absent", v2, v), err, conflict("absent", v2, 0, nil))
	wantNotFound(t, kv, "absent")
	wantHistory(t, kv, "absent", nil)

	// A deleted key is missing too.
	vd := del(t, kv, "k")
	v, err = kv.CompareAndSwap(ctx, "k", v2, []byte("x"))
	wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d after delete", "k", v2, v), err, conflict("k", v2, 0, nil))
	v, err = kv.CompareAndSwap(ctx, "k", vd, []byte("x"))
	wantConflict(t, keyf("CompareAndSwap(%q, %d) = %d with the delete's version", "k", vd, v), err, conflict("k", vd, 0, nil))
	wantNotFound(t, kv, "k")
}

func testCompareAndDelete(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v1 := put(t, kv, "k", "one")
	v2 := put(t, kv, "k", "two")
	cur := entry("k", "two", v2, v1)

	v, err := kv.CompareAndDelete(ctx, "k", v1)
	wantConflict(t, keyf("CompareAndDelete(%q, %d) = %d", "k", v1, v), err, conflict("k", v1, v2, &cur))
	v, err = kv.CompareAndDelete(ctx, "k", 0)
	wantConflict(t, keyf("CompareAndDelete(%q, 0) = %d", "k", v), err, conflict("k", 0, v2, &cur))
	wantGet(t, kv, cur)

	vd, err := kv.CompareAndDelete(ctx, "k", v2)
	if err != nil {
		t.Fatalf("CompareAndDelete(%q, %d) with current version: %v", "k", v2, err)
	}
	if vd <= v2 {
		t.Errorf("CompareAndDelete(%q, %d) = version %d, want > %d", "k", v2, vd, v2)
	}
	wantNotFound(t, kv, "k")
	wantHistory(t, kv, "k", []vkv.Entry{tombstone("k", vd, v1), entry("k", "two", v2, v1), entry("k", "one", v1, v1)})

	// Missing key: expected 0 gives ErrNotFound, any other version a conflict.
	if v, err := kv.CompareAndDelete(ctx, "k", 0); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("CompareAndDelete(%q, 0) of deleted key = %d, %v; want error matching vkv.ErrNotFound", "k", v, err)
	}
	if v, err := kv.CompareAndDelete(ctx, "never", 0); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("CompareAndDelete(%q, 0) of missing key = %d, %v; want error matching vkv.ErrNotFound", "never", v, err)
	}
	v, err = kv.CompareAndDelete(ctx, "k", v2)
	wantConflict(t, keyf("CompareAndDelete(%q, %d) = %d of deleted key", "k", v2, v), err, conflict("k", v2, 0, nil))
	v, err = kv.CompareAndDelete(ctx, "never", v2)
	wantConflict(t, keyf("CompareAndDelete(%q, %d) = %d of missing key", "never", v2, v), err, conflict("never", v2, 0, nil))
	wantHistory(t, kv, "never", nil)
}

func testEmptyValue(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	for _, c := range []struct {
		key   string
		value []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
	} {
		v, err := kv.Put(ctx, c.key, c.value)
		if err != nil {
			t.Errorf("Put(%q, %#v): %v", c.key, c.value, err)
			continue
		}
		e, err := kv.Get(ctx, c.key)
		if err != nil {
			t.Errorf("Get(%q) after writing an empty value: %v", c.key, err)
			continue
		}
		if len(e.Value) != 0 || e.Version != v || e.Deleted {
			t.Errorf("Get(%q) = %+v, want empty value at version %d", c.key, e, v)
		}
	}
	// An empty value is still a value: it can be swapped and deleted.
	e := get(t, kv, "empty")
	v, err := kv.CompareAndSwap(ctx, "empty", e.Version, nil)
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, %d, nil): %v", "empty", e.Version, err)
	}
	wantGet(t, kv, entry("empty", "", v, e.CreateVersion))
	del(t, kv, "empty")
	wantNotFound(t, kv, "empty")
}

func testBinaryValue(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	all := make([]byte, 0, 512)
	for i := range 256 {
		all = append(all, byte(i))
	}
	for i := 255; i >= 0; i-- {
		all = append(all, byte(i))
	}
	values := map[string][]byte{
		"nul":      {0},
		"nuls":     {0, 0, 0},
		"badutf8":  {0xc3, 0x28, 0xff, 0xfe, 0x80},
		"mixed":    []byte("a\x00b\xffc\r\n\t"),
		"allbytes": all,
		"spaces":   []byte("  leading and trailing  "),
	}
	for key, value := range values {
		v, err := kv.Put(ctx, key, value)
		if err != nil {
			t.Errorf("Put(%q): %v", key, err)
			continue
		}
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Errorf("Get(%q): %v", key, err)
			continue
		}
		if !bytes.Equal(e.Value, value) || e.Version != v {
			t.Errorf("Get(%q) = value %q version %d, want %q version %d", key, e.Value, e.Version, value, v)
		}
	}
}

// oddKeys are keys that are easy to get wrong in encodings and paths.
var oddKeys = []string{
	"a/b/c",
	"/leading",
	"trailing/",
	"//",
	"with space",
	" ",
	"ключ",
	"日本語/キー",
	"emoji 🎉",
	"nul\x00byte",
	"\x00",
	"\xff",
	"\xff\xfe\x80",
	"%2F%00",
	"?q=1&r=2#frag",
	".",
	"..",
	"../up",
	"+plus+",
	"tab\tnewline\n",
	"\"quoted\"",
}

func testKeys(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	versions := map[string]vkv.Version{}
	for i, key := range oddKeys {
		value := keyf("value %d", i)
		v, err := kv.Put(ctx, key, []byte(value))
		if err != nil {
			t.Errorf("Put(%q): %v", key, err)
			continue
		}
		versions[key] = v
	}
	for i, key := range oddKeys {
		v, ok := versions[key]
		if !ok {
			continue
		}
		wantGet(t, kv, entry(key, keyf("value %d", i), v, v))
		h, err := kv.History(ctx, key, 0)
		if err != nil || len(h) != 1 || h[0].Key != key || h[0].Version != v {
			t.Errorf("History(%q, 0) = %+v, %v; want one entry at version %d", key, h, err, v)
		}
	}

	// List returns every key exactly, in byte order.
	want := slices.Sorted(func(yield func(string) bool) {
		for k := range versions {
			if !yield(k) {
				return
			}
		}
	})
	got := listAllKeys(t, kv, "", 0)
	if !slices.Equal(got, want) {
		t.Errorf("List(\"\") keys = %q, want %q", got, want)
	}

	// Deleting works too.
	for key := range versions {
		if _, err := kv.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
		wantNotFound(t, kv, key)
	}
}

func testValueOwnership(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	buf := []byte("hello")
	v, err := kv.Put(ctx, "k", buf)
	if err != nil {
		t.Fatalf("Put(%q): %v", "k", err)
	}
	buf[0] = 'X'
	wantGet(t, kv, entry("k", "hello", v, v))

	buf = []byte("world")
	v2, err := kv.CompareAndSwap(ctx, "k", v, buf)
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, %d): %v", "k", v, err)
	}
	buf[0] = 'X'
	want := entry("k", "world", v2, v)
	wantGet(t, kv, want)

	e := get(t, kv, "k")
	for i := range e.Value {
		e.Value[i] = 'Y'
	}
	wantGet(t, kv, want)

	lr, err := kv.List(ctx, "", "", 0)
	es := lr.Entries
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, e := range es {
		for i := range e.Value {
			e.Value[i] = 'Z'
		}
	}
	wantGet(t, kv, want)

	h := history(t, kv, "k")
	for _, e := range h {
		for i := range e.Value {
			e.Value[i] = 'W'
		}
	}
	wantGet(t, kv, want)
	wantHistory(t, kv, "k", []vkv.Entry{want, entry("k", "hello", v, v)})

	// So is the Current entry of a conflict.
	_, err = kv.CompareAndSwap(ctx, "k", v, []byte("stale"))
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) || ce.Current == nil {
		t.Fatalf("CompareAndSwap(%q, %d) with a stale version: %v, want a *vkv.ConflictError with Current", "k", v, err)
	}
	for i := range ce.Current.Value {
		ce.Current.Value[i] = 'C'
	}
	for _, c := range ce.Conflicts {
		if c.Current != nil {
			for i := range c.Current.Value {
				c.Current.Value[i] = 'C'
			}
		}
	}
	wantGet(t, kv, want)

	// Values read in a transaction are owned by the caller too.
	err = kv.View(ctx, func(tx vkv.Txn) error {
		e, err := tx.Get("k")
		if err != nil {
			return err
		}
		for i := range e.Value {
			e.Value[i] = 'V'
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	wantGet(t, kv, want)
}
