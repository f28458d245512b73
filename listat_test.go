package vkv_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvtest"
)

// TestListAtAgreesWithGetAt checks ListAt against GetAt at every version of
// a random history of puts, puts with a TTL that expire, deletes,
// re-creates and transactions on keys in
// and around a prefix: the page at v is exactly the keys whose GetAt at v
// finds an entry, with that entry, and paging with a small limit at v gives
// the same.
func TestListAtAgreesWithGetAt(t *testing.T) {
	ctx := t.Context()
	clock := vkvtest.NewFakeClock(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	s, err := vkv.Open("", &vkv.Options{InMemory: true, HistoryVersions: vkv.KeepAllHistory, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := rand.New(rand.NewPCG(1, 2))
	keys := []string{"p", "p/", "p/a", "p/b", "p/b/1", "p/c", "p/d", "p\xff", "q", "o"}
	for range 300 {
		k := keys[r.IntN(len(keys))]
		switch r.IntN(5) {
		case 4:
			s.Put(ctx, k, []byte("ttl"), vkv.WithTTL(time.Duration(1+r.IntN(3))*time.Second))
			clock.Advance(time.Second)
		case 0:
			s.Delete(ctx, k)
		case 1:
			s.Update(ctx, func(tx vkv.Txn) error {
				tx.Put(k, []byte("t"))
				return tx.Delete(keys[r.IntN(len(keys))])
			})
		default:
			s.Put(ctx, k, []byte(fmt.Sprint(r.IntN(100))))
		}
	}
	cur, _ := s.CurrentVersion(ctx)
	for v := vkv.Version(0); v <= cur; v++ {
		var want []vkv.Entry
		for _, k := range []string{"p/", "p/a", "p/b", "p/b/1", "p/c", "p/d"} {
			if e, err := s.GetAt(ctx, k, v); err == nil {
				want = append(want, e)
			} else if !errors.Is(err, vkv.ErrNotFound) {
				t.Fatalf("GetAt(%q, %d): %v", k, v, err)
			}
		}
		res, err := s.ListAt(ctx, "p/", "", 0, v)
		if err != nil {
			t.Fatalf("ListAt(p/, %d): %v", v, err)
		}
		if diff := cmp.Diff(want, res.Entries); diff != "" || res.Next != "" || res.Version != v {
			t.Fatalf("ListAt(p/, %d) = next %q, version %d, entries (-GetAt +ListAt):\n%s", v, res.Next, res.Version, diff)
		}
		var paged []vkv.Entry
		for after := ""; ; {
			res, err := s.ListAt(ctx, "p/", after, 2, v)
			if err != nil {
				t.Fatalf("ListAt(p/, after %q, limit 2, %d): %v", after, v, err)
			}
			paged = append(paged, res.Entries...)
			if res.Next == "" {
				break
			}
			after = res.Next
		}
		if diff := cmp.Diff(want, paged); diff != "" {
			t.Fatalf("pages of 2 of ListAt(p/, %d) (-GetAt +ListAt):\n%s", v, diff)
		}
	}
}

// TestListAtCompacted: below the compaction mark ListAt fails with a
// *CompactedError naming the range and the oldest version; at the mark it
// reads.
func TestListAtCompacted(t *testing.T) {
	ctx := t.Context()
	s, err := vkv.Open("", &vkv.Options{InMemory: true, HistoryVersions: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 20 {
		if _, err := s.Put(ctx, fmt.Sprintf("c/%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	oldest, _ := s.OldestVersion(ctx)
	_, err = s.ListAt(ctx, "c/", "c/0", 0, oldest-1)
	want := &vkv.CompactedError{Requested: oldest - 1, Oldest: oldest, Range: &vkv.KeyRange{Prefix: "c/", After: "c/0"}}
	var ce *vkv.CompactedError
	if !errors.As(err, &ce) || !errors.Is(err, vkv.ErrCompacted) {
		t.Fatalf("ListAt(c/, %d) below the mark %d: %v, want a *CompactedError", oldest-1, oldest, err)
	}
	if diff := cmp.Diff(want, ce); diff != "" {
		t.Errorf("ListAt(c/, %d): error (-want +got):\n%s", oldest-1, diff)
	}
	res, err := s.ListAt(ctx, "c/", "", 0, oldest)
	if err != nil || len(res.Entries) != 3 {
		t.Errorf("ListAt(c/, %d) at the mark = %+v, %v; want the 3 keys", oldest, res, err)
	}
}
