package vkvtest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

var listCases = []testCase{
	{name: "Order", fn: testListOrder},
	{name: "Prefix", fn: testListPrefix},
	{name: "After", fn: testListAfter},
	{name: "Paging", fn: testListPaging},
	{name: "DefaultLimit", fn: testListDefaultLimit},
	{name: "MaxLimit", fn: testListMaxLimit},
	{name: "Deleted", fn: testListDeleted},
	{name: "Entries", fn: testListEntries},
}

// listKeys are written in this (unsorted) order by the List tests.
var listKeys = []string{"b", "a", "a/2", "a/1", "ab", "a/10", "c", "a\x00", "a\xff", "B", "é", "a/1/x", "0"}

// putListKeys writes listKeys and returns them sorted in byte order.
func putListKeys(tb testing.TB, kv vkv.KV) []string {
	tb.Helper()
	for _, k := range listKeys {
		put(tb, kv, k, "v:"+k)
	}
	return slices.Sorted(slices.Values(listKeys))
}

// keysOf returns the keys of es.
func keysOf(es []vkv.Entry) []string {
	ks := make([]string, len(es))
	for i, e := range es {
		ks[i] = e.Key
	}
	return ks
}

// filterKeys returns the keys of sorted that have prefix and sort after after.
func filterKeys(sorted []string, prefix, after string) []string {
	var out []string
	for _, k := range sorted {
		if strings.HasPrefix(k, prefix) && k > after {
			out = append(out, k)
		}
	}
	return out
}

// listAllKeys pages through List(prefix) with limit and returns every key
// seen, checking that pages are well formed and that paging terminates.
func listAllKeys(tb testing.TB, kv vkv.KV, prefix string, limit int) []string {
	tb.Helper()
	var all []string
	after := ""
	for page := 0; ; page++ {
		if page > 10_000 {
			tb.Fatalf("List(%q, limit %d): paging did not end after %d pages", prefix, limit, page)
		}
		lr, err := kv.List(tb.Context(), prefix, after, limit)
		es, next := lr.Entries, lr.Next
		if err != nil {
			tb.Fatalf("List(%q, %q, %d): %v", prefix, after, limit, err)
		}
		if limit > 0 && len(es) > limit {
			tb.Errorf("List(%q, %q, %d) returned %d entries, more than the limit", prefix, after, limit, len(es))
		}
		all = append(all, keysOf(es)...)
		if next == "" {
			return all
		}
		if len(es) == 0 {
			tb.Fatalf("List(%q, %q, %d) returned no entries but next = %q", prefix, after, limit, next)
		}
		if next <= after {
			tb.Fatalf("List(%q, %q, %d) returned next = %q, not after the cursor", prefix, after, limit, next)
		}
		after = next
	}
}

func testListOrder(t *testing.T, kv vkv.KV) {
	want := putListKeys(t, kv)
	lr, err := kv.List(t.Context(), "", "", 0)
	es, next := lr.Entries, lr.Next
	if err != nil {
		t.Fatalf("List(\"\", \"\", 0): %v", err)
	}
	if diff := cmp.Diff(want, keysOf(es)); diff != "" {
		t.Errorf("List(\"\", \"\", 0) keys not in byte order (-want +got):\n%s", diff)
	}
	if next != "" {
		t.Errorf("List(\"\", \"\", 0) next = %q, want \"\" (all keys returned)", next)
	}
}

func testListPrefix(t *testing.T, kv vkv.KV) {
	sorted := putListKeys(t, kv)
	for _, prefix := range []string{"a", "a/", "a/1", "a/1/", "a\x00", "a\xff", "b", "B", "é", "\xc3", "z", "a/3", "ab/"} {
		lr, err := kv.List(t.Context(), prefix, "", 0)
		es, next := lr.Entries, lr.Next
		if err != nil {
			t.Errorf("List(%q, \"\", 0): %v", prefix, err)
			continue
		}
		want := filterKeys(sorted, prefix, "")
		if diff := cmp.Diff(want, keysOf(es), cmpEmpty); diff != "" {
			t.Errorf("List(%q, \"\", 0) keys mismatch (-want +got):\n%s", prefix, diff)
		}
		if next != "" {
			t.Errorf("List(%q, \"\", 0) next = %q, want \"\"", prefix, next)
		}
	}
}

func testListAfter(t *testing.T, kv vkv.KV) {
	sorted := putListKeys(t, kv)
	for _, c := range []struct{ prefix, after string }{
		{"", "a/1"},    // an existing key: excluded
		{"", "a/15"},   // between keys
		{"", "0"},      // the first key
		{"", "\xc3"},   // a prefix of the last key
		{"", "é"},      // the last key: nothing after it
		{"", "\xff"},   // past every key
		{"a/", "a/1"},  // inside the prefix
		{"a/", "0"},    // before the prefix range
		{"a/", "b"},    // after the prefix range
		{"a", "a"},     // the prefix itself as cursor
		{"a", "a\x00"}, // a key with a NUL byte
		{"a/1", "a/1/x"},
	} {
		lr, err := kv.List(t.Context(), c.prefix, c.after, 0)
		es, next := lr.Entries, lr.Next
		if err != nil {
			t.Errorf("List(%q, %q, 0): %v", c.prefix, c.after, err)
			continue
		}
		want := filterKeys(sorted, c.prefix, c.after)
		if diff := cmp.Diff(want, keysOf(es), cmpEmpty); diff != "" {
			t.Errorf("List(%q, %q, 0) keys mismatch (-want +got):\n%s", c.prefix, c.after, diff)
		}
		if next != "" {
			t.Errorf("List(%q, %q, 0) next = %q, want \"\"", c.prefix, c.after, next)
		}
	}
}

func testListPaging(t *testing.T, kv vkv.KV) {
	sorted := putListKeys(t, kv)
	n := len(sorted)
	for _, prefix := range []string{"", "a"} {
		want := filterKeys(sorted, prefix, "")
		for _, limit := range []int{1, 2, 3, 4, len(want) - 1, len(want), len(want) + 1, n + 5} {
			if limit <= 0 {
				continue
			}
			got := listAllKeys(t, kv, prefix, limit)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List(%q) paged with limit %d: keys mismatch, want every key exactly once (-want +got):\n%s", prefix, limit, diff)
			}
		}
		// A page that ends exactly at the last key leaves nothing, so next
		// must be "".
		lr, err := kv.List(t.Context(), prefix, "", len(want))
		es, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatalf("List(%q, \"\", %d): %v", prefix, len(want), err)
		}
		if len(es) != len(want) || next != "" {
			t.Errorf("List(%q, \"\", %d) = %d entries, next %q; want %d entries, next \"\" (no entries remain)", prefix, len(want), len(es), next, len(want))
		}
		// A page that does not reach the end has a next.
		lr, err = kv.List(t.Context(), prefix, "", len(want)-1)
		es, next = lr.Entries, lr.Next
		if err != nil {
			t.Fatalf("List(%q, \"\", %d): %v", prefix, len(want)-1, err)
		}
		if len(es) != len(want)-1 || next == "" {
			t.Errorf("List(%q, \"\", %d) = %d entries, next %q; want %d entries and a non-empty next", prefix, len(want)-1, len(es), next, len(want)-1)
		}
	}
}

func testListDefaultLimit(t *testing.T, kv vkv.KV) {
	const n = vkv.DefaultListLimit + 5
	var want []string
	for i := range n {
		k := keyf("k%04d", i)
		put(t, kv, k, "x")
		want = append(want, k)
	}
	for _, limit := range []int{0, -1, -1000} {
		lr, err := kv.List(t.Context(), "", "", limit)
		es, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatalf("List(\"\", \"\", %d): %v", limit, err)
		}
		if diff := cmp.Diff(want[:vkv.DefaultListLimit], keysOf(es)); diff != "" {
			t.Errorf("List(\"\", \"\", %d) want the first DefaultListLimit (%d) keys (-want +got):\n%s", limit, vkv.DefaultListLimit, diff)
		}
		if next == "" {
			t.Errorf("List(\"\", \"\", %d) next = \"\", want a cursor (%d keys remain)", limit, n-vkv.DefaultListLimit)
		}
	}
	if got := listAllKeys(t, kv, "", 0); !slices.Equal(got, want) {
		t.Errorf("List paged with limit 0 = %d keys, want all %d in order", len(got), n)
	}
}

func testListMaxLimit(t *testing.T, kv vkv.KV) {
	const n = vkv.MaxListLimit + 10
	batch := writesPerTxn(kv, 50) // 50: within etcdkv's default limit of 63 too
	for start := 0; start < n; start += batch {
		_, err := kv.Update(t.Context(), func(tx vkv.Txn) error {
			for i := start; i < min(start+batch, n); i++ {
				if err := tx.Put(keyf("k%05d", i), []byte("x")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Update writing keys %d..%d: %v", start, start+batch, err)
		}
	}
	lr, err := kv.List(t.Context(), "", "", 10*vkv.MaxListLimit)
	es, next := lr.Entries, lr.Next
	if err != nil {
		t.Fatalf("List(\"\", \"\", %d): %v", 10*vkv.MaxListLimit, err)
	}
	if len(es) != vkv.MaxListLimit || next == "" {
		t.Errorf("List(\"\", \"\", %d) = %d entries, next %q; want MaxListLimit (%d) entries and a non-empty next", 10*vkv.MaxListLimit, len(es), next, vkv.MaxListLimit)
	}
	if got := listAllKeys(t, kv, "", 10*vkv.MaxListLimit); len(got) != n {
		t.Errorf("List paged with limit %d = %d keys, want %d", 10*vkv.MaxListLimit, len(got), n)
	}
}

func testListDeleted(t *testing.T, kv vkv.KV) {
	sorted := putListKeys(t, kv)
	gone := map[string]bool{"a/10": true, "0": true, "é": true, "a": true}
	for k := range gone {
		del(t, kv, k)
	}
	var want []string
	for _, k := range sorted {
		if !gone[k] {
			want = append(want, k)
		}
	}
	for _, limit := range []int{0, 1, 3} {
		if got := listAllKeys(t, kv, "", limit); !slices.Equal(got, want) {
			t.Errorf("List(\"\") with limit %d after deletes = %q, want %q", limit, got, want)
		}
	}
	if got := listAllKeys(t, kv, "a/1", 0); !slices.Equal(got, []string{"a/1", "a/1/x"}) {
		t.Errorf("List(%q) after deleting a/10 = %q, want [a/1 a/1/x]", "a/1", got)
	}
	// Re-created keys come back.
	put(t, kv, "a/10", "back")
	if got := listAllKeys(t, kv, "a/1", 0); !slices.Equal(got, []string{"a/1", "a/1/x", "a/10"}) {
		t.Errorf("List(%q) after re-creating a/10 = %q, want [a/1 a/1/x a/10]", "a/1", got)
	}
}

func testListEntries(t *testing.T, kv vkv.KV) {
	putListKeys(t, kv)
	put(t, kv, "a/1", "updated")
	del(t, kv, "b")
	put(t, kv, "b", "recreated")
	lr, err := kv.List(t.Context(), "", "", 0)
	es := lr.Entries
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, e := range es {
		want := get(t, kv, e.Key)
		if diff := cmp.Diff(want, e, entryOpts); diff != "" {
			t.Errorf("List entry %q differs from Get(%q) (-get +list):\n%s", e.Key, e.Key, diff)
		}
		if e.Deleted {
			t.Errorf("List entry %q has Deleted set", e.Key)
		}
	}
}

// writesPerTxn returns want, or fewer if kv reports (vkv.Limiter, or a
// remote KV's Limits(ctx)) that one transaction may make fewer writes.
func writesPerTxn(kv vkv.KV, want int) int {
	var l vkv.Limits
	switch k := kv.(type) {
	case vkv.Limiter:
		l = k.Limits()
	case interface {
		Limits(context.Context) (vkv.Limits, error)
	}:
		l, _ = k.Limits(context.Background())
	}
	if l.MaxTxnOps > 0 && l.MaxTxnOps < want {
		return l.MaxTxnOps
	}
	return want
}
