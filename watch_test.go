package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// change is what a watcher sees of one event, for comparison.
type change struct {
	Key     string
	Version vkv.Version
	Value   string
	Deleted bool
}

func changeOf(e vkv.Entry) change {
	return change{Key: e.Key, Version: e.Version, Value: string(e.Value), Deleted: e.Deleted}
}

// committed reads back, from history, every change to keys under prefix
// after from, in version order (key order within a version).
func committed(t *testing.T, s *vkv.Store, prefix string, from vkv.Version) []change {
	t.Helper()
	ctx := context.Background()
	var out []change
	after := ""
	keys := map[string]bool{}
	for {
		lr, err := s.List(ctx, prefix, after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			keys[e.Key] = true
		}
		if next == "" {
			break
		}
		after = next
	}
	// Deleted keys are not listed; the test names them.
	for k := range deletedKeys {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			keys[k] = true
		}
	}
	for k := range keys {
		h, err := s.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h {
			if e.Version > from {
				out = append(out, changeOf(e))
			}
		}
	}
	sortChanges(out)
	return out
}

var deletedKeys = map[string]bool{"a/del": true, "b/del": true}

func sortChanges(cs []change) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Version != cs[j].Version {
			return cs[i].Version < cs[j].Version
		}
		return cs[i].Key < cs[j].Key
	})
}

// TestWatchReplayThenLive: a watcher started from 0 after some writes, and
// several more started at other versions and prefixes while writers run,
// each see exactly the committed sequence: replayed, then live, no gap, no
// duplicate, in version order.
func TestWatchReplayThenLive(t *testing.T) {
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for i := 0; i < 20; i++ {
		if _, err := s.Put(ctx, fmt.Sprintf("a/%d", i%5), []byte(fmt.Sprint("early", i))); err != nil {
			t.Fatal(err)
		}
	}
	mid, _ := s.CurrentVersion(ctx)

	type watcher struct {
		prefix string
		from   vkv.Version
		got    []change
	}
	watchers := []*watcher{{"", 0, nil}, {"a/", 0, nil}, {"b/", 0, nil}, {"", mid, nil}, {"a/", mid - 3, nil}}
	var writers, readers sync.WaitGroup
	for _, w := range watchers {
		// The last write puts a/end and b/end in one transaction.
		stop := "b/end"
		if w.prefix == "a/" {
			stop = "a/end"
		}
		seq := s.Watch(ctx, w.prefix, w.from)
		readers.Add(1)
		go func() {
			defer readers.Done()
			w.got = collectUntil(t, seq, stop)
		}()
	}
	for g := 0; g < 4; g++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 40; i++ {
				prefix := []string{"a/", "b/"}[(g+i)%2]
				k := fmt.Sprintf("%s%d", prefix, i%7)
				if _, err := s.Put(ctx, k, []byte(fmt.Sprint(g, i))); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 9 {
					_, err := s.Update(ctx, func(tx vkv.Txn) error {
						tx.Put(prefix+"del", []byte("x"))
						return tx.Put(prefix+"txn", []byte(fmt.Sprint(g, i)))
					})
					if err != nil {
						t.Error(err)
						return
					}
					if _, err = s.Delete(ctx, prefix+"del"); err != nil && !errors.Is(err, vkv.ErrNotFound) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	writers.Wait()
	if _, err := s.Update(ctx, func(tx vkv.Txn) error {
		tx.Put("a/end", nil)
		return tx.Put("b/end", nil)
	}); err != nil {
		t.Fatal(err)
	}
	readers.Wait()
	for _, w := range watchers {
		want := committed(t, s, w.prefix, w.from)
		got := append([]change(nil), w.got...)
		// Within a version the watcher keeps transaction order; compare in
		// key order.
		sortChanges(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Watch(%q, %d) (-committed +watched):\n%s", w.prefix, w.from, diff)
		}
		for i := 1; i < len(w.got); i++ {
			if w.got[i].Version < w.got[i-1].Version {
				t.Errorf("Watch(%q, %d): version %d after %d", w.prefix, w.from, w.got[i].Version, w.got[i-1].Version)
			}
		}
	}
}

// collectUntil reads seq until the event for stopKey.
func collectUntil(t *testing.T, seq func(func(vkv.Entry, error) bool), stopKey string) []change {
	t.Helper()
	var out []change
	for e, err := range seq {
		if err != nil {
			t.Errorf("watch until %q: %v", stopKey, err)
			return out
		}
		out = append(out, changeOf(e))
		if e.Key == stopKey {
			break
		}
	}
	return out
}

// TestWatchCompacted: a from below the kept history fails at once with a
// CompactedError whose Oldest is the oldest kept version, as GetAt's is,
// and whose message names no key; a watch from Oldest-1 works.
func TestWatchCompacted(t *testing.T) {
	s := openStore(t, "", &vkv.Options{InMemory: true, HistoryVersions: 5})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := s.Put(ctx, "k", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	var ce *vkv.CompactedError
	for _, err := range s.Watch(ctx, "", 0) {
		if !errors.As(err, &ce) {
			t.Fatalf("Watch from 0 after compaction: %v, want CompactedError", err)
		}
		break
	}
	if ce == nil {
		t.Fatal("Watch from 0 after compaction yielded nothing")
	}
	oldest, err := s.OldestVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, getErr := s.GetAt(ctx, "k", 3)
	var gce *vkv.CompactedError
	if !errors.As(getErr, &gce) {
		t.Fatalf("GetAt below the kept history: %v, want CompactedError", getErr)
	}
	want := &vkv.CompactedError{Requested: 0, Oldest: 16}
	if diff := cmp.Diff(want, ce); diff != "" || oldest != 16 || gce.Oldest != 16 {
		t.Fatalf("history keeps versions 16 to 20; OldestVersion = %d, GetAt's Oldest = %d, Watch's error (-want +got):\n%s", oldest, gce.Oldest, diff)
	}
	if msg := ce.Error(); strings.Contains(msg, `key ""`) || !strings.Contains(msg, "16") {
		t.Errorf("Watch's CompactedError says %q: it names an empty key or not the oldest version", msg)
	}
	var got []vkv.Version
	for e, err := range s.Watch(ctx, "", ce.Oldest-1) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Version)
		if e.Version == 20 {
			break
		}
	}
	if diff := cmp.Diff([]vkv.Version{16, 17, 18, 19, 20}, got); diff != "" {
		t.Errorf("Watch from Oldest-1 (-want +got):\n%s", diff)
	}
}

// TestWatchEnds: a watch ends with ctx's error when ctx ends, with ErrClosed
// when the store closes, and an expiry arrives as a delete once the (fake)
// clock reaches it.
func TestWatchEnds(t *testing.T) {
	clock := newFakeClock()
	s, err := vkv.Open("", &vkv.Options{InMemory: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline only bounds a failure: the expiry is due at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _ := s.Put(ctx, "lease", []byte("x"), vkv.WithTTL(30*time.Millisecond))
	var events []change
	for e, err := range s.Watch(ctx, "", 0) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Watch after cancel: %v, want context.Canceled", err)
			}
			break
		}
		events = append(events, changeOf(e))
		if e.Deleted {
			cancel()
		} else {
			clock.Advance(30 * time.Millisecond)
		}
	}
	want := []change{{Key: "lease", Version: v, Value: "x"}, {Key: "lease", Version: v + 1, Deleted: true}}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events of an expiring key (-want +got):\n%s", diff)
	}

	done := make(chan error, 1)
	go func() {
		for _, err := range s.Watch(context.Background(), "", v+1) {
			done <- err
			return
		}
		done <- nil
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, vkv.ErrClosed) {
			t.Errorf("Watch when the store closes: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not end when the store closed")
	}
}
