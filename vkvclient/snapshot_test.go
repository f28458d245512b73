package vkvclient_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// TestSnapshotRoundTrips counts the requests of transactions: the first
// read pins the snapshot (GET ?version=latest, which reports the version it
// read at), later reads go to that version, and /healthz is asked only by a
// transaction that neither reads nor writes. Before the pinned read an
// Update that read a key and wrote it took 3 requests (/healthz, the read,
// the commit); now 2.
func TestSnapshotRoundTrips(t *testing.T) {
	s := openStore(t, vkv.Options{})
	c, cnt := serveCounted(t, s, nil)
	ctx := t.Context()
	if _, err := c.Limits(ctx); err != nil { // learnt once per Client
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := s.Put(ctx, k, []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	cnt.take()

	for _, tc := range []struct {
		name   string
		run    func() error
		want   []string
		reason string
	}{
		{"Update reading and writing a key", func() error {
			_, err := c.Update(ctx, func(tx vkv.Txn) error {
				e, err := tx.Get("a")
				if err != nil {
					return err
				}
				return tx.Put("a", append(e.Value, '1'))
			})
			return err
		}, []string{"GET /v1/kv/a?version=latest", "POST /v1/txn"},
			"the read pins the snapshot; no /healthz"},
		{"Update reading two keys and an absent one", func() error {
			_, err := c.Update(ctx, func(tx vkv.Txn) error {
				if _, err := tx.Get("a"); err != nil {
					return err
				}
				if _, err := tx.Get("b"); err != nil {
					return err
				}
				if _, err := tx.Get("nope"); !errors.Is(err, vkv.ErrNotFound) {
					return err
				}
				return tx.Put("c", nil)
			})
			return err
		}, []string{"GET /v1/kv/a?version=latest", "GET /v1/kv/b?version=3", "GET /v1/kv/nope?version=3", "POST /v1/txn"},
			"later reads go to the version the first one reported"},
		{"Update reading an absent key first", func() error {
			_, err := c.Update(ctx, func(tx vkv.Txn) error {
				if _, err := tx.Get("new"); !errors.Is(err, vkv.ErrNotFound) {
					return err
				}
				if _, err := tx.Get("a"); err != nil {
					return err
				}
				return tx.Put("new", nil)
			})
			return err
		}, []string{"GET /v1/kv/new?version=latest", "GET /v1/kv/a?version=4", "POST /v1/txn"},
			"a 404 pins the snapshot too"},
		{"View reading two keys", func() error {
			return c.View(ctx, func(tx vkv.Txn) error {
				if _, err := tx.Get("a"); err != nil {
					return err
				}
				_, err := tx.Get("b")
				return err
			})
		}, []string{"GET /v1/kv/a?version=latest", "GET /v1/kv/b?version=5"},
			"a View pins the same way"},
		{"Update only writing", func() error {
			_, err := c.Update(ctx, func(tx vkv.Txn) error { return tx.Put("w", nil) })
			return err
		}, []string{"POST /v1/txn"}, "no read, no snapshot version needed"},
		{"Update doing nothing", func() error {
			_, err := c.Update(ctx, func(tx vkv.Txn) error { return nil })
			return err
		}, []string{"GET /healthz"}, "its result is the snapshot's version, which only /healthz tells"},
	} {
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, cnt.take()); diff != "" {
			t.Errorf("%s: requests (-want +got) (%s):\n%s", tc.name, tc.reason, diff)
		}
	}
}

// TestSnapshotIsPinned checks that the reads of one transaction see one
// version of the store, and that its first read's version is the one
// conditions use: a write between two reads is not seen, and the commit
// then fails on the key read first and runs the function again.
func TestSnapshotIsPinned(t *testing.T) {
	s := openStore(t, vkv.Options{})
	c, _ := serveCounted(t, s, nil)
	ctx := t.Context()
	for _, k := range []string{"a", "b"} {
		if _, err := s.Put(ctx, k, []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	runs := 0
	var seen []string
	_, err := c.Update(ctx, func(tx vkv.Txn) error {
		runs++
		a, err := tx.Get("a")
		if err != nil {
			return err
		}
		if runs == 1 {
			// Another writer changes both keys after the snapshot's first read.
			if _, err := s.Update(ctx, func(tx vkv.Txn) error {
				tx.Put("a", []byte("2"))
				return tx.Put("b", []byte("2"))
			}); err != nil {
				return err
			}
		}
		b, err := tx.Get("b")
		if err != nil {
			return err
		}
		seen = append(seen, string(a.Value)+string(b.Value))
		return tx.Put("sum", append(a.Value, b.Value...))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if diff := cmp.Diff([]string{"11", "22"}, seen); diff != "" {
		t.Errorf("what each run read (-want +got): one version per run, and a rerun after the conflict:\n%s", diff)
	}
}

// TestSnapshotOldServer checks a server from before ?version=latest (it
// answers 400 invalid-version): the client pins with /healthz as it used to,
// and stops asking for latest.
func TestSnapshotOldServer(t *testing.T) {
	s := openStore(t, vkv.Options{})
	c, cnt := serveCounted(t, s, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Get("version") == "latest" {
				q.Set("version", "now") // what an older server makes of latest
				r.URL.RawQuery = q.Encode()
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	if _, err := s.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Limits(ctx); err != nil {
		t.Fatal(err)
	}
	cnt.take()
	for i, want := range [][]string{
		{"GET /v1/kv/a?version=latest", "GET /healthz", "GET /v1/kv/a?version=1", "POST /v1/txn"},
		{"GET /healthz", "GET /v1/kv/a?version=2", "POST /v1/txn"},
	} {
		_, err := c.Update(ctx, func(tx vkv.Txn) error {
			e, err := tx.Get("a")
			if err != nil {
				return err
			}
			return tx.Put("a", append(e.Value, '1'))
		})
		if err != nil {
			t.Fatalf("Update %d: %v", i+1, err)
		}
		if diff := cmp.Diff(want, cnt.take()); diff != "" {
			t.Errorf("Update %d: requests (-want +got):\n%s", i+1, diff)
		}
	}
}
