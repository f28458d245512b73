package vkvtest

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

var historyCases = []testCase{
	{name: "NewestFirst", fn: testHistoryNewestFirst},
	{name: "Limit", fn: testHistoryLimit},
	{name: "Missing", fn: testHistoryMissing},
	{name: "GetAt", fn: testGetAt},
	{name: "GetAtFuture", fn: testGetAtFuture},
}

// historyFixture writes a key through create, update, delete and re-create,
// with writes of another key in between, and returns the versions.
type historyFixture struct {
	before, v1, gap1, v2, vd, gap2, v3, last vkv.Version
}

func writeHistory(tb testing.TB, kv vkv.KV) historyFixture {
	tb.Helper()
	var f historyFixture
	f.before = put(tb, kv, "other", "o1")
	f.v1 = put(tb, kv, "k", "one")
	f.gap1 = put(tb, kv, "other", "o2")
	f.v2 = put(tb, kv, "k", "two")
	f.vd = del(tb, kv, "k")
	f.gap2 = put(tb, kv, "other", "o3")
	f.v3 = put(tb, kv, "k", "three")
	f.last = put(tb, kv, "other", "o4")
	return f
}

func (f historyFixture) want() []vkv.Entry {
	return []vkv.Entry{
		entry("k", "three", f.v3, f.v3),
		tombstone("k", f.vd, f.v1),
		entry("k", "two", f.v2, f.v1),
		entry("k", "one", f.v1, f.v1),
	}
}

func testHistoryNewestFirst(t *testing.T, kv vkv.KV) {
	f := writeHistory(t, kv)
	got := history(t, kv, "k")
	if diff := cmp.Diff(f.want(), got, entryOpts); diff != "" {
		t.Errorf("History(%q, 0) mismatch (-want +got):\n%s", "k", diff)
	}
	for _, e := range got {
		if e.Deleted && len(e.Value) != 0 {
			t.Errorf("History(%q, 0): tombstone at version %d has value %q, want none", "k", e.Version, e.Value)
		}
	}
	wantHistory(t, kv, "other", []vkv.Entry{
		entry("other", "o4", f.last, f.before),
		entry("other", "o3", f.gap2, f.before),
		entry("other", "o2", f.gap1, f.before),
		entry("other", "o1", f.before, f.before),
	})
	// Deleting again at the end adds a tombstone on top.
	vd2 := del(t, kv, "k")
	got = history(t, kv, "k")
	want := append([]vkv.Entry{tombstone("k", vd2, f.v3)}, f.want()...)
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("History(%q, 0) after second delete mismatch (-want +got):\n%s", "k", diff)
	}
}

func testHistoryLimit(t *testing.T, kv vkv.KV) {
	f := writeHistory(t, kv)
	all := f.want()
	for _, limit := range []int{1, 2, 3, 4, 5, 100, 0, -1} {
		got, err := kv.History(t.Context(), "k", limit)
		if err != nil {
			t.Errorf("History(%q, %d): %v", "k", limit, err)
			continue
		}
		want := all
		if limit > 0 && limit < len(all) {
			want = all[:limit]
		}
		if diff := cmp.Diff(want, got, entryOpts); diff != "" {
			t.Errorf("History(%q, %d) mismatch (-want +got):\n%s", "k", limit, diff)
		}
	}
}

func testHistoryMissing(t *testing.T, kv vkv.KV) {
	put(t, kv, "k", "x")
	for _, key := range []string{"never", "k/", "K", "k\x00"} {
		h, err := kv.History(t.Context(), key, 0)
		if err != nil || len(h) != 0 {
			t.Errorf("History(%q, 0) = %+v, %v; want an empty history and no error", key, h, err)
		}
	}
}

func testGetAt(t *testing.T, kv vkv.KV) {
	f := writeHistory(t, kv)
	one := entry("k", "one", f.v1, f.v1)
	two := entry("k", "two", f.v2, f.v1)
	three := entry("k", "three", f.v3, f.v3)
	cases := []struct {
		v    vkv.Version
		want *vkv.Entry // nil: ErrNotFound
		what string
	}{
		{f.before, nil, "before creation"},
		{f.v1, &one, "at creation"},
		{f.gap1, &one, "between writes"},
		{f.v2, &two, "at update"},
		{f.vd, nil, "at delete"},
		{f.gap2, nil, "while deleted"},
		{f.v3, &three, "at re-creation"},
		{f.last, &three, "at the newest version"},
	}
	for _, c := range cases {
		got, err := kv.GetAt(t.Context(), "k", c.v)
		if c.want == nil {
			if !errors.Is(err, vkv.ErrNotFound) {
				t.Errorf("GetAt(%q, %d) %s = %+v, %v; want error matching vkv.ErrNotFound", "k", c.v, c.what, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("GetAt(%q, %d) %s: %v", "k", c.v, c.what, err)
			continue
		}
		if diff := cmp.Diff(*c.want, got, entryOpts); diff != "" {
			t.Errorf("GetAt(%q, %d) %s mismatch (-want +got):\n%s", "k", c.v, c.what, diff)
		}
	}
	// A key that never existed is not found at any version of the store.
	if e, err := kv.GetAt(t.Context(), "never", f.last); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("GetAt(%q, %d) = %+v, %v; want error matching vkv.ErrNotFound", "never", f.last, e, err)
	}
	// The other key, across its updates.
	for v, want := range map[vkv.Version]string{f.before: "o1", f.v1: "o1", f.gap1: "o2", f.vd: "o2", f.gap2: "o3", f.last: "o4"} {
		e, err := kv.GetAt(t.Context(), "other", v)
		if err != nil || string(e.Value) != want {
			t.Errorf("GetAt(%q, %d) = value %q, %v; want %q", "other", v, e.Value, err, want)
		}
	}
}

func testGetAtFuture(t *testing.T, kv vkv.KV) {
	f := writeHistory(t, kv)
	for _, v := range []vkv.Version{f.last + 1, f.last + 1000, 1 << 62} {
		if e, err := kv.GetAt(t.Context(), "k", v); !errors.Is(err, vkv.ErrFutureVersion) {
			t.Errorf("GetAt(%q, %d) beyond the newest version %d = %+v, %v; want error matching vkv.ErrFutureVersion", "k", v, f.last, e, err)
		}
	}
	// The newest version is not in the future.
	if _, err := kv.GetAt(t.Context(), "k", f.last); err != nil {
		t.Errorf("GetAt(%q, %d) at the newest version: %v", "k", f.last, err)
	}
	// After another write, that version is no longer in the future.
	v := put(t, kv, "k", "four")
	if e, err := kv.GetAt(t.Context(), "k", v); err != nil || string(e.Value) != "four" {
		t.Errorf("GetAt(%q, %d) = value %q, %v; want %q", "k", v, e.Value, err, "four")
	}
}
