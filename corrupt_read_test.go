package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/internal/keys"
)

// firstWatchError returns the first error of a watch from from, or a
// "no error" error when none comes within a second.
func firstWatchError(ctx context.Context, s *vkv.Store, from vkv.Version) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for _, err := range s.Watch(ctx, "", from) {
		if err != nil {
			return err
		}
	}
	return errors.New("the watch ended without an error")
}

// TestCorruptRecordsMatchErrCorrupt writes records that do not decode
// straight into Badger and checks that every read path, and the committer,
// returns an error matching vkv.ErrCorrupt (not some package-internal
// sentinel), with and without the committer's key cache.
func TestCorruptRecordsMatchErrCorrupt(t *testing.T) {
	short := []byte{0, 1, 2}                              // shorter than a record header
	badFlags := append([]byte{0x80}, make([]byte, 24)...) // unknown flag bit
	type check struct {
		name string
		do   func(ctx context.Context, s *vkv.Store) error
	}
	get := func(key string) check {
		return check{"Get " + key, func(ctx context.Context, s *vkv.Store) error { _, err := s.Get(ctx, key); return err }}
	}
	// Setup writes k at versions 1 and 2 and other at 3; damage then edits
	// Badger directly. fresh is never written through the store, so the
	// committer has to read it from Badger whatever its cache holds.
	cases := []struct {
		name   string
		damage map[string][]byte // Badger key -> value; nil value: delete
		checks []check
	}{
		{
			name: "latest records",
			damage: map[string][]byte{
				string(keys.LatestKey("k")):     short,
				string(keys.LatestKey("fresh")): badFlags,
			},
			checks: []check{
				get("k"),
				get("fresh"),
				{"List", func(ctx context.Context, s *vkv.Store) error { _, err := s.List(ctx, "", "", 0); return err }},
				{"List one past the page", func(ctx context.Context, s *vkv.Store) error {
					// fresh is the first key; k is the peek after a page of 1.
					_, err := s.List(ctx, "", "fresh", 1)
					return err
				}},
				{"View Get", func(ctx context.Context, s *vkv.Store) error {
					return s.View(ctx, func(tx vkv.Txn) error { _, err := tx.Get("k"); return err })
				}},
				{"Update Get", func(ctx context.Context, s *vkv.Store) error {
					_, err := s.Update(ctx, func(tx vkv.Txn) error { _, err := tx.Get("fresh"); return err })
					return err
				}},
				{"Put (committer reads the key)", func(ctx context.Context, s *vkv.Store) error {
					_, err := s.Put(ctx, "fresh", []byte("x"))
					return err
				}},
				{"CompareAndSwap create", func(ctx context.Context, s *vkv.Store) error {
					_, err := s.CompareAndSwap(ctx, "fresh", 0, []byte("x"))
					return err
				}},
				{"Delete", func(ctx context.Context, s *vkv.Store) error { _, err := s.Delete(ctx, "fresh"); return err }},
				{"Update Expect", func(ctx context.Context, s *vkv.Store) error {
					_, err := s.Update(ctx, func(tx vkv.Txn) error {
						if err := tx.Expect("fresh", 0); err != nil {
							return err
						}
						return tx.Put("other", []byte("y"))
					})
					return err
				}},
				{"CompareAndSwap conflict (committer reads the current value)", func(ctx context.Context, s *vkv.Store) error {
					_, err := s.CompareAndSwap(ctx, "k", 1, []byte("x"))
					return err
				}},
			},
		},
		{
			name:   "history record",
			damage: map[string][]byte{string(keys.HistoryKey("k", 2)): badFlags},
			checks: []check{
				{"GetAt", func(ctx context.Context, s *vkv.Store) error { _, err := s.GetAt(ctx, "k", 2); return err }},
				{"History", func(ctx context.Context, s *vkv.Store) error { _, err := s.History(ctx, "k", 0); return err }},
				{"Watch", func(ctx context.Context, s *vkv.Store) error { return firstWatchError(ctx, s, 1) }},
			},
		},
		{
			name:   "history entry missing",
			damage: map[string][]byte{string(keys.HistoryKey("k", 2)): nil},
			checks: []check{
				{"Watch", func(ctx context.Context, s *vkv.Store) error { return firstWatchError(ctx, s, 1) }},
			},
		},
		{
			name:   "change-log entry",
			damage: map[string][]byte{string(keys.ChangeKey(1)): {7, 1, 'k'}},
			checks: []check{
				{"Watch", func(ctx context.Context, s *vkv.Store) error { return firstWatchError(ctx, s, 0) }},
				// Last: it raises the mark before it reads the log.
				{"Compact", func(ctx context.Context, s *vkv.Store) error { return s.Compact(ctx) }},
			},
		},
		{
			name:   "change-log key",
			damage: map[string][]byte{"c\xff": {}},
			checks: []check{
				{"Watch", func(ctx context.Context, s *vkv.Store) error { return firstWatchError(ctx, s, 2) }},
				{"GetAt past the newest", func(ctx context.Context, s *vkv.Store) error { _, err := s.GetAt(ctx, "k", 9); return err }},
			},
		},
	}
	for _, cache := range []int{0, -1} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/cache=%d", tc.name, cache), func(t *testing.T) {
				ctx := context.Background()
				// HistoryVersions 2: Compact then collects version 1.
				s := openStore(t, "", &vkv.Options{InMemory: true, KeyCacheSize: cache, HistoryVersions: 2})
				for _, w := range []struct{ k, v string }{{"k", "v1"}, {"k", "v2"}, {"other", "x"}} {
					if _, err := s.Put(ctx, w.k, []byte(w.v)); err != nil {
						t.Fatal(err)
					}
				}
				err := vkv.BadgerOf(s).Update(func(txn *badger.Txn) error {
					for k, v := range tc.damage {
						var err error
						if v == nil {
							err = txn.Delete([]byte(k))
						} else {
							err = txn.Set([]byte(k), v)
						}
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				wrong := map[string]string{}
				for _, c := range tc.checks {
					if err := c.do(ctx, s); !errors.Is(err, vkv.ErrCorrupt) {
						wrong[c.name] = fmt.Sprint(err)
					}
				}
				if diff := cmp.Diff(map[string]string{}, wrong); diff != "" {
					t.Errorf("calls whose error does not match vkv.ErrCorrupt (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestCorruptMarkFailsOpen: a compaction mark that does not decode fails
// Open with an error matching vkv.ErrCorrupt.
func TestCorruptMarkFailsOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := vkv.Open(dir, &vkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	err = vkv.BadgerOf(s).Update(func(txn *badger.Txn) error { return txn.Set(keys.CompactedMark, []byte{1, 2, 3}) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = vkv.Open(dir, &vkv.Options{NoSync: true})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, vkv.ErrCorrupt) {
		t.Fatalf("Open with a damaged compaction mark: %v, want an error matching vkv.ErrCorrupt", err)
	}
}
