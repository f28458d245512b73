package vkvtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

var invariantCases = []testCase{
	{name: "VersionsIncrease", fn: testVersionsIncrease},
	{name: "VersionsUnique", fn: testVersionsUnique},
	{name: "NoLostUpdateCAS", fn: testNoLostUpdateCAS},
	{name: "NoLostUpdateTxn", fn: testNoLostUpdateTxn},
	{name: "CreateExclusive", fn: testCreateExclusive},
	{name: "FailedTxnWritesNothing", fn: testFailedTxnWritesNothing},
}

const (
	workers         = 8  // concurrent goroutines in the invariant tests
	opsPerWorker    = 50 // operations each of them makes
	creators        = 16 // concurrent creators of one key
	creatorRounds   = 5  // keys raced for by the creators
	txnIncrements   = 10 // Update increments per worker
	casOpsPerWorker = 40 // CompareAndSwap attempts per worker
)

func testVersionsIncrease(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	var last vkv.Version
	step := func(what string, v vkv.Version, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v <= last {
			t.Errorf("%s = version %d, want > %d (the previous write's)", what, v, last)
		}
		last = v
	}
	v, err := kv.Put(ctx, "a", []byte("1"))
	step("Put(a)", v, err)
	va := v
	v, err = kv.Put(ctx, "b", []byte("1"))
	step("Put(b)", v, err)
	vb := v
	v, err = kv.Put(ctx, "a", []byte("2"))
	step("Put(a) again", v, err)
	va = v
	v, err = kv.Delete(ctx, "b")
	step("Delete(b)", v, err)
	v, err = kv.CompareAndSwap(ctx, "c", 0, []byte("1"))
	step("CompareAndSwap(c, 0)", v, err)
	vc := v
	v, err = kv.CompareAndSwap(ctx, "a", va, []byte("3"))
	step("CompareAndSwap(a)", v, err)
	v, err = kv.Update(ctx, func(tx vkv.Txn) error {
		if err := tx.Put("d", []byte("1")); err != nil {
			return err
		}
		return tx.Put("e", []byte("1"))
	})
	step("Update(d, e)", v, err)
	v, err = kv.CompareAndDelete(ctx, "c", vc)
	step("CompareAndDelete(c)", v, err)
	v, err = kv.Put(ctx, "b", []byte("2"), vkv.WithTTL(time.Hour))
	step("Put(b) with TTL", v, err)
	if v <= vb {
		t.Errorf("Put(b) re-creating the key = %d, want > %d", v, vb)
	}
	// Failed writes do not make later versions go backwards.
	if _, err := kv.CompareAndSwap(ctx, "a", 1, []byte("x")); !errors.Is(err, vkv.ErrConflict) {
		t.Errorf("CompareAndSwap(a, 1) with a stale version: %v, want ErrConflict", err)
	}
	if _, err := kv.Delete(ctx, "never"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Delete(never): %v, want ErrNotFound", err)
	}
	v, err = kv.Put(ctx, "f", []byte("1"))
	step("Put(f) after failed writes", v, err)
}

// write is one successful write seen by a worker, with the wall-clock window
// in which it ran.
type write struct {
	what       string
	v          vkv.Version
	start, end time.Time
}

func testVersionsUnique(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	var (
		mu     sync.Mutex
		writes []write
		wg     sync.WaitGroup
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			own := keyf("own/%d", w)
			var mine []write
			var last vkv.Version
			for i := range opsPerWorker {
				var (
					what string
					v    vkv.Version
					err  error
				)
				t0 := time.Now()
				switch i % 5 {
				case 0:
					what = fmt.Sprintf("Put(%q)", own)
					v, err = kv.Put(ctx, own, []byte("x"))
				case 1:
					what = `Put("shared")`
					v, err = kv.Put(ctx, "shared", []byte(own))
				case 2:
					what = fmt.Sprintf("Delete(%q)", own)
					v, err = kv.Delete(ctx, own)
				case 3:
					what = fmt.Sprintf("CompareAndSwap(%q, 0)", own)
					v, err = kv.CompareAndSwap(ctx, own, 0, []byte("y"))
				case 4:
					what = "Update"
					v, err = kv.Update(ctx, func(tx vkv.Txn) error {
						if err := tx.Put(own+"/a", []byte("a")); err != nil {
							return err
						}
						return tx.Put("shared/b", []byte(own))
					})
				}
				t1 := time.Now()
				if err != nil {
					t.Errorf("worker %d: %s: %v", w, what, err)
					return
				}
				if v <= last {
					t.Errorf("worker %d: %s = version %d, want > %d (its previous write's)", w, what, v, last)
				}
				last = v
				mine = append(mine, write{what, v, t0, t1})
			}
			mu.Lock()
			writes = append(writes, mine...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	seen := map[vkv.Version]string{}
	for _, w := range writes {
		if w.v == 0 {
			t.Errorf("%s = version 0", w.what)
		}
		if prev, ok := seen[w.v]; ok {
			t.Errorf("version %d handed out twice: to %s and to %s", w.v, prev, w.what)
		}
		seen[w.v] = w.what
	}
	// A write that finished before another started has the smaller version.
	slices.SortFunc(writes, func(a, b write) int { return a.start.Compare(b.start) })
	bad := 0
	for i, b := range writes {
		for _, a := range writes[:i] {
			if a.end.Before(b.start) && a.v >= b.v && bad < 5 {
				bad++
				t.Errorf("%s finished before %s started but got version %d >= %d", a.what, b.what, a.v, b.v)
			}
		}
	}
	// The final state agrees with the versions handed out.
	for _, k := range []string{"shared", "shared/b"} {
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Errorf("Get(%q): %v", k, err)
			continue
		}
		if _, ok := seen[e.Version]; !ok {
			t.Errorf("Get(%q) = version %d, not one handed out to a writer", k, e.Version)
		}
	}
}

func testNoLostUpdateCAS(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	put(t, kv, "counter", "0")
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			e, err := kv.Get(ctx, "counter")
			if err != nil {
				t.Errorf("worker %d: Get(%q): %v", w, "counter", err)
				return
			}
			mine := 0
			for range casOpsPerWorker {
				n, err := strconv.Atoi(string(e.Value))
				if err != nil {
					t.Errorf("worker %d: counter value %q at version %d is not a number", w, e.Value, e.Version)
					return
				}
				next := []byte(strconv.Itoa(n + 1))
				v, err := kv.CompareAndSwap(ctx, "counter", e.Version, next)
				if err == nil {
					mine++
					e = vkv.Entry{Key: "counter", Value: next, Version: v}
					continue
				}
				var ce *vkv.ConflictError
				if !errors.As(err, &ce) {
					t.Errorf("worker %d: CompareAndSwap(%q, %d): %v, want nil or a *vkv.ConflictError", w, "counter", e.Version, err)
					return
				}
				if ce.Expected != e.Version || ce.Actual == ce.Expected || ce.Actual < ce.Expected {
					t.Errorf("worker %d: CompareAndSwap(%q, %d): conflict with Expected %d, Actual %d; want Expected %d and a newer Actual", w, "counter", e.Version, ce.Expected, ce.Actual, e.Version)
					return
				}
				if ce.Current == nil || ce.Current.Version != ce.Actual {
					t.Errorf("worker %d: CompareAndSwap(%q, %d): conflict Current = %+v, want the entry at version %d", w, "counter", e.Version, ce.Current, ce.Actual)
					return
				}
				// Continue from the entry the conflict reports.
				e = *ce.Current
			}
			mu.Lock()
			successes += mine
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	e := get(t, kv, "counter")
	if got := string(e.Value); got != strconv.Itoa(successes) {
		t.Errorf("Get(%q) = %s after %d successful CompareAndSwap increments: updates were lost", "counter", got, successes)
	}
	if successes == 0 {
		t.Errorf("no CompareAndSwap increment succeeded")
	}
	if h := history(t, kv, "counter"); len(h) != successes+1 {
		t.Errorf("History(%q) = %d entries, want %d (the initial Put and every increment)", "counter", len(h), successes+1)
	}
}

func testNoLostUpdateTxn(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	put(t, kv, "counter", "0")
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			mine := 0
			for range txnIncrements {
				_, err := kv.Update(ctx, func(tx vkv.Txn) error {
					e, err := tx.Get("counter")
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(string(e.Value))
					if err != nil {
						return fmt.Errorf("counter value %q is not a number", e.Value)
					}
					return tx.Put("counter", []byte(strconv.Itoa(n+1)))
				})
				switch {
				case err == nil:
					mine++
				case errors.Is(err, vkv.ErrConflict):
					// Retries ran out; allowed, and the write must not count.
				default:
					t.Errorf("worker %d: Update incrementing the counter: %v", w, err)
					return
				}
			}
			mu.Lock()
			successes += mine
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	e := get(t, kv, "counter")
	if got := string(e.Value); got != strconv.Itoa(successes) {
		t.Errorf("Get(%q) = %s after %d successful Update increments: updates were lost", "counter", got, successes)
	}
	if successes == 0 {
		t.Errorf("no Update increment succeeded")
	}
}

func testCreateExclusive(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	for round := range creatorRounds {
		key := keyf("race/%d", round)
		type result struct {
			v   vkv.Version
			err error
		}
		results := make([]result, creators)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for c := range creators {
			wg.Go(func() {
				<-start
				v, err := kv.CompareAndSwap(ctx, key, 0, []byte(strconv.Itoa(c)))
				results[c] = result{v, err}
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for c, r := range results {
			if r.err == nil {
				if winner >= 0 {
					t.Errorf("CompareAndSwap(%q, 0): creators %d and %d both succeeded (versions %d and %d)", key, winner, c, results[winner].v, r.v)
				}
				winner = c
			}
		}
		if winner < 0 {
			t.Errorf("CompareAndSwap(%q, 0): none of %d creators succeeded; first error: %v", key, creators, results[0].err)
			continue
		}
		wv := results[winner].v
		we := entry(key, strconv.Itoa(winner), wv, wv)
		for c, r := range results {
			if c != winner {
				wantConflict(t, keyf("CompareAndSwap(%q, 0) by losing creator %d", key, c), r.err, conflict(key, 0, wv, &we))
			}
		}
		wantGet(t, kv, we)
		wantHistory(t, kv, key, []vkv.Entry{we})
	}
}

func testFailedTxnWritesNothing(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	keys := []string{"a", "b", "c", "d"}
	for _, k := range keys {
		put(t, kv, k, "v1")
	}
	vb := put(t, kv, "b", "v2")
	before := map[string]vkv.Entry{}
	hist := map[string][]vkv.Entry{}
	for _, k := range append(keys, "new1", "new2") {
		if e, err := kv.Get(ctx, k); err == nil {
			before[k] = e
		}
		hist[k] = history(t, kv, k)
	}

	for _, failAt := range []int{0, 2, 5} {
		v, err := kv.Update(ctx, func(tx vkv.Txn) error {
			ops := []func() error{
				func() error { return tx.Put("a", []byte("tx")) },
				func() error { return tx.Put("new1", []byte("tx")) },
				func() error { return tx.Delete("c") },
				func() error { return tx.Put("b", []byte("tx"), vkv.WithTTL(time.Hour)) },
				func() error { return tx.Put("new2", []byte("tx")) },
				func() error { return tx.Delete("d") },
			}
			for i, op := range ops {
				if i == failAt {
					// The one failing condition: b is not at vb-1.
					if err := tx.Expect("b", vb-1); err != nil {
						return err
					}
				} else if err := tx.Expect("a", before["a"].Version); err != nil {
					return err
				}
				if err := op(); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, vkv.ErrConflict) {
			t.Errorf("Update with a failing Expect(b) at step %d = %d, %v; want ErrConflict", failAt, v, err)
		}
		for k, e := range before {
			wantGet(t, kv, e)
			wantHistory(t, kv, k, hist[k])
		}
		for _, k := range []string{"new1", "new2"} {
			wantNotFound(t, kv, k)
			wantHistory(t, kv, k, nil)
		}
	}
	// The store is still writable and versions go on from there.
	if v := put(t, kv, "a", "after"); v <= vb {
		t.Errorf("Put(%q) after failed transactions = %d, want > %d", "a", v, vb)
	}
}
