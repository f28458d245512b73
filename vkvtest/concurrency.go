package vkvtest

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/vkvstore/vkv"
)

var concurrencyCases = []testCase{
	{name: "Mixed", fn: testConcurrentMixed},
	{name: "AtomicVisibility", fn: testAtomicVisibility},
	{name: "UpdateProgress", fn: testUpdateProgress},
}

// testUpdateProgress: Update never gives up because other Updates keep
// winning, and no increment is lost; CheckUpdateContention has the details.
func testUpdateProgress(t *testing.T, kv vkv.KV) {
	rep := CheckUpdateContention(t, kv, "progress/ctr", 8, 50)
	t.Log(rep)
}

// checkEntry checks the fields every live entry read for key must have.
func checkEntry(tb testing.TB, what, key string, e vkv.Entry) {
	tb.Helper()
	if e.Key != key || e.Version == 0 || e.CreateVersion == 0 || e.CreateVersion > e.Version || e.Deleted {
		tb.Errorf("%s = %+v: want Key %q, Version > 0, 0 < CreateVersion <= Version, not Deleted", what, e, key)
	}
}

func testConcurrentMixed(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	keys := []string{"m/a", "m/b", "m/c", "m/d", "m/e", "m/f", "n/a", "n/b"}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			seen := map[string]vkv.Version{}
			fail := func(format string, args ...any) {
				t.Errorf("worker %d: "+format, append([]any{w}, args...)...)
			}
			// allowed reports whether err is nil or one of the errors the
			// operation may legitimately return under contention.
			allowed := func(err error, ok ...error) bool {
				if err == nil {
					return true
				}
				for _, o := range ok {
					if errors.Is(err, o) {
						return true
					}
				}
				return false
			}
			for range opsPerWorker {
				key := keys[rng.IntN(len(keys))]
				switch op := rng.IntN(10); op {
				case 0:
					e, err := kv.Get(ctx, key)
					if !allowed(err, vkv.ErrNotFound) {
						fail("Get(%q): %v", key, err)
					} else if err == nil {
						checkEntry(t, "Get("+key+")", key, e)
						seen[key] = e.Version
					}
				case 1:
					v, err := kv.Put(ctx, key, []byte(key))
					if err != nil || v == 0 {
						fail("Put(%q) = %d, %v", key, v, err)
					}
					seen[key] = v
				case 2:
					if _, err := kv.Delete(ctx, key); !allowed(err, vkv.ErrNotFound) {
						fail("Delete(%q): %v", key, err)
					}
				case 3:
					_, err := kv.CompareAndSwap(ctx, key, seen[key], []byte(key))
					var ce *vkv.ConflictError
					if err != nil && !errors.As(err, &ce) {
						fail("CompareAndSwap(%q, %d): %v", key, seen[key], err)
					}
				case 4:
					_, err := kv.CompareAndDelete(ctx, key, seen[key])
					if !allowed(err, vkv.ErrConflict, vkv.ErrNotFound) {
						fail("CompareAndDelete(%q, %d): %v", key, seen[key], err)
					}
				case 5:
					prefix := key[:2]
					lr, err := kv.List(ctx, prefix, "", 0)
					es := lr.Entries
					if err != nil {
						fail("List(%q): %v", prefix, err)
					}
					for i, e := range es {
						if !strings.HasPrefix(e.Key, prefix) || (i > 0 && es[i-1].Key >= e.Key) {
							fail("List(%q) returned %q out of order or outside the prefix", prefix, keysOf(es))
							break
						}
						checkEntry(t, "List("+prefix+") entry", e.Key, e)
					}
				case 6:
					h, err := kv.History(ctx, key, 5)
					if err != nil || len(h) > 5 {
						fail("History(%q, 5) = %d entries, %v", key, len(h), err)
					}
					for i := 1; i < len(h); i++ {
						if h[i-1].Version <= h[i].Version {
							fail("History(%q, 5) versions not newest first: %d then %d", key, h[i-1].Version, h[i].Version)
						}
					}
				case 7:
					if v, ok := seen[key]; ok {
						e, err := kv.GetAt(ctx, key, v)
						if !allowed(err, vkv.ErrNotFound) {
							fail("GetAt(%q, %d): %v", key, v, err)
						} else if err == nil && e.Version > v {
							fail("GetAt(%q, %d) = version %d, newer than asked for", key, v, e.Version)
						}
					}
				case 8:
					other := keys[rng.IntN(len(keys))]
					v, err := kv.Update(ctx, func(tx vkv.Txn) error {
						e, err := tx.Get(key)
						if err != nil && !errors.Is(err, vkv.ErrNotFound) {
							return err
						}
						if err := tx.Put(other, append([]byte(nil), e.Value...)); err != nil {
							return err
						}
						return tx.Put(key, []byte(key))
					})
					if !allowed(err, vkv.ErrConflict) {
						fail("Update(%q, %q): %v", key, other, err)
					} else if err == nil {
						seen[key] = v
					}
				case 9:
					err := kv.View(ctx, func(tx vkv.Txn) error {
						for _, k := range keys[:3] {
							if e, err := tx.Get(k); err == nil {
								checkEntry(t, "View Txn.Get("+k+")", k, e)
							} else if !errors.Is(err, vkv.ErrNotFound) {
								return err
							}
						}
						return nil
					})
					if err != nil {
						fail("View: %v", err)
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
}

func testAtomicVisibility(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	const writers, readers, rounds = workers / 2, workers / 2, 25
	if _, err := kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Put("pair/a", []byte("init")); err != nil {
			return err
		}
		return tx.Put("pair/b", []byte("init"))
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range rounds {
				value := []byte(keyf("w%d-%d", w, i))
				_, err := kv.Update(ctx, func(tx vkv.Txn) error {
					if err := tx.Put("pair/a", value); err != nil {
						return err
					}
					return tx.Put("pair/b", value)
				})
				if err != nil {
					t.Errorf("writer %d: Update writing both keys: %v", w, err)
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			<-start
			for range rounds {
				var a, b vkv.Entry
				err := kv.View(ctx, func(tx vkv.Txn) error {
					var err error
					if a, err = tx.Get("pair/a"); err != nil {
						return err
					}
					b, err = tx.Get("pair/b")
					return err
				})
				if err != nil {
					t.Errorf("reader %d: View: %v", r, err)
					return
				}
				if string(a.Value) != string(b.Value) || a.Version != b.Version {
					t.Errorf("reader %d: View saw pair/a = %q at %d and pair/b = %q at %d; a transaction's writes must be seen together", r, a.Value, a.Version, b.Value, b.Version)
					return
				}
				// The same holds for reads at a version.
				ea, errA := kv.GetAt(ctx, "pair/a", a.Version)
				eb, errB := kv.GetAt(ctx, "pair/b", a.Version)
				if errA != nil || errB != nil || string(ea.Value) != string(eb.Value) {
					t.Errorf("reader %d: GetAt(pair/a, %d) = %q, %v and GetAt(pair/b, %d) = %q, %v; want equal values", r, a.Version, ea.Value, errA, a.Version, eb.Value, errB)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
}
