package vkvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

var inputCases = []testCase{
	{name: "EmptyKey", fn: testEmptyKey},
	{name: "HugeKey", fn: testHugeKey},
	{name: "LargeValue", fn: testLargeValue},
	{name: "ValueTooLarge", fn: testValueTooLarge},
	{name: "TxnTooLarge", fn: testTxnTooLarge},
	{name: "TxnManyBytes", fn: testTxnManyBytes},
	{name: "CancelledContext", fn: testCancelledContext},
	{name: "Closed", fn: testClosed},
	{name: "CloseConcurrent", fn: testCloseConcurrent},
}

const (
	hugeKeySize   = 1 << 20  // a key no store accepts
	hugeValueSize = 64 << 20 // a value no store accepts
	hugeTxnOps    = 100_000  // a transaction no store accepts
)

// call runs f, turning a panic into a test failure naming what.
func call(tb testing.TB, what string, f func() error) (err error) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Errorf("%s panicked: %v", what, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// keyOps returns every operation that takes a key, applied to key.
func keyOps(ctx context.Context, kv vkv.KV, key string, value []byte) []struct {
	what string
	f    func() error
} {
	errOf := func(_ any, err error) error { return err }
	inTxn := func(op func(tx vkv.Txn) error) func() error {
		return func() error {
			_, err := kv.Update(ctx, op)
			return err
		}
	}
	return []struct {
		what string
		f    func() error
	}{
		{"Get", func() error { return errOf(kv.Get(ctx, key)) }},
		{"GetAt", func() error { return errOf(kv.GetAt(ctx, key, 1)) }},
		{"History", func() error { return errOf(kv.History(ctx, key, 0)) }},
		{"Put", func() error { return errOf(kv.Put(ctx, key, value)) }},
		{"CompareAndSwap", func() error { return errOf(kv.CompareAndSwap(ctx, key, 0, value)) }},
		{"Delete", func() error { return errOf(kv.Delete(ctx, key)) }},
		{"CompareAndDelete", func() error { return errOf(kv.CompareAndDelete(ctx, key, 1)) }},
		{"Txn.Get", inTxn(func(tx vkv.Txn) error { return errOf(tx.Get(key)) })},
		{"Txn.Put", inTxn(func(tx vkv.Txn) error { return tx.Put(key, value) })},
		{"Txn.Delete", inTxn(func(tx vkv.Txn) error { return tx.Delete(key) })},
		{"Txn.Expect", inTxn(func(tx vkv.Txn) error {
			if err := tx.Expect(key, 0); err != nil {
				return err
			}
			return tx.Put("other", value)
		})},
		{"View Txn.Get", func() error {
			return kv.View(ctx, func(tx vkv.Txn) error { return errOf(tx.Get(key)) })
		}},
	}
}

// wantOnlySeed checks that the only key in kv is "seed", written by the
// caller before a series of rejected writes.
func wantOnlySeed(tb testing.TB, kv vkv.KV) {
	tb.Helper()
	lr, err := kv.List(tb.Context(), "", "", 0)
	es := lr.Entries
	if err != nil || len(es) != 1 || es[0].Key != "seed" {
		tb.Errorf("List after rejected writes = %q, %v; want only %q", keysOf(es), err, "seed")
	}
}

func testEmptyKey(t *testing.T, kv vkv.KV) {
	// A first write, so that version 1 (used by GetAt) exists.
	put(t, kv, "seed", "x")
	for _, op := range keyOps(t.Context(), kv, "", []byte("x")) {
		err := call(t, op.what+`("")`, op.f)
		wantErrIs(t, op.what+`("")`, err, vkv.ErrInvalidKey)
	}
	wantOnlySeed(t, kv)
}

func testHugeKey(t *testing.T, kv vkv.KV) {
	put(t, kv, "seed", "x")
	key := strings.Repeat("k", hugeKeySize)
	for _, op := range keyOps(t.Context(), kv, key, []byte("x")) {
		what := fmt.Sprintf("%s(key of %d bytes)", op.what, len(key))
		err := call(t, what, op.f)
		wantErrIs(t, what, err, vkv.ErrInvalidKey)
	}
	wantOnlySeed(t, kv)
	// A long but reasonable key works.
	long := strings.Repeat("long/", 200)
	v := put(t, kv, long, "x")
	wantGet(t, kv, entry(long, "x", v, v))
}

func testLargeValue(t *testing.T, kv vkv.KV) {
	value := bytes.Repeat([]byte("0123456789abcdef\x00\xff"), 256<<10/18)
	v, err := kv.Put(t.Context(), "big", value)
	if err != nil {
		t.Fatalf("Put(%q) with a value of %d bytes: %v", "big", len(value), err)
	}
	e := get(t, kv, "big")
	if !bytes.Equal(e.Value, value) || e.Version != v {
		t.Errorf("Get(%q) = %d bytes at version %d, want the %d bytes written at %d", "big", len(e.Value), e.Version, len(value), v)
	}
}

func testValueTooLarge(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v := put(t, kv, "k", "small")
	value := make([]byte, hugeValueSize)
	what := fmt.Sprintf("Put(%q, %d bytes)", "k", len(value))
	err := call(t, what, func() error { _, err := kv.Put(ctx, "k", value); return err })
	wantErrIs(t, what, err, vkv.ErrValueTooLarge)

	what = fmt.Sprintf("CompareAndSwap(%q, %d, %d bytes)", "k", v, len(value))
	err = call(t, what, func() error { _, err := kv.CompareAndSwap(ctx, "k", v, value); return err })
	wantErrIs(t, what, err, vkv.ErrValueTooLarge)

	what = fmt.Sprintf("Update with Txn.Put(%q, %d bytes)", "new", len(value))
	err = call(t, what, func() error {
		_, err := kv.Update(ctx, func(tx vkv.Txn) error { return tx.Put("new", value) })
		return err
	})
	wantErrIs(t, what, err, vkv.ErrValueTooLarge)

	wantGet(t, kv, entry("k", "small", v, v))
	wantNotFound(t, kv, "new")
}

func testTxnTooLarge(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	value := []byte("v")
	what := fmt.Sprintf("Update with %d Txn.Puts", hugeTxnOps)
	err := call(t, what, func() error {
		_, err := kv.Update(ctx, func(tx vkv.Txn) error {
			for i := range hugeTxnOps {
				if err := tx.Put(keyf("big/%06d", i), value); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	})
	wantErrIs(t, what, err, vkv.ErrTxnTooLarge)
	wantNotFound(t, kv, "big/000000")
	wantNotFound(t, kv, keyf("big/%06d", hugeTxnOps-1))
	if lr, err := kv.List(ctx, "big/", "", 1); err != nil || len(lr.Entries) != 0 {
		t.Errorf("List(%q) after the rejected transaction = %d entries, %v; want none", "big/", len(lr.Entries), err)
	}
	// The store still works.
	v := put(t, kv, "after", "x")
	wantGet(t, kv, entry("after", "x", v, v))
}

func testCancelledContext(t *testing.T, kv vkv.KV) {
	v := put(t, kv, "k", "x")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errOf := func(_ any, err error) error { return err }
	ran := false
	for _, op := range []struct {
		what string
		f    func() error
	}{
		{"Get", func() error { return errOf(kv.Get(ctx, "k")) }},
		{"GetAt", func() error { return errOf(kv.GetAt(ctx, "k", v)) }},
		{"List", func() error { _, err := kv.List(ctx, "", "", 0); return err }},
		{"History", func() error { return errOf(kv.History(ctx, "k", 0)) }},
		{"View", func() error { return kv.View(ctx, func(tx vkv.Txn) error { return nil }) }},
		{"Put", func() error { return errOf(kv.Put(ctx, "k", []byte("cancelled"))) }},
		{"Put new key", func() error { return errOf(kv.Put(ctx, "new", []byte("cancelled"))) }},
		{"CompareAndSwap", func() error { return errOf(kv.CompareAndSwap(ctx, "k", v, []byte("cancelled"))) }},
		{"Delete", func() error { return errOf(kv.Delete(ctx, "k")) }},
		{"CompareAndDelete", func() error { return errOf(kv.CompareAndDelete(ctx, "k", v)) }},
		{"Update", func() error {
			return errOf(kv.Update(ctx, func(tx vkv.Txn) error {
				ran = true
				if err := tx.Put("k", []byte("cancelled")); err != nil {
					return err
				}
				return tx.Put("new", []byte("cancelled"))
			}))
		}},
	} {
		what := op.what + " with a cancelled context"
		err := call(t, what, op.f)
		wantErrIs(t, what, err, context.Canceled)
	}
	if ran {
		t.Logf("Update ran fn with a cancelled context (allowed, but nothing may be written)")
	}
	wantGet(t, kv, entry("k", "x", v, v))
	wantNotFound(t, kv, "new")
	wantHistory(t, kv, "k", []vkv.Entry{entry("k", "x", v, v)})
}

func testClosed(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	v := put(t, kv, "k", "x")
	if err := call(t, "Close", kv.Close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := call(t, "Close", kv.Close); err != nil {
		t.Errorf("Close a second time = %v, want nil", err)
	}
	errOf := func(_ any, err error) error { return err }
	ran := false
	for _, op := range []struct {
		what string
		f    func() error
	}{
		{"Get", func() error { return errOf(kv.Get(ctx, "k")) }},
		{"Get missing", func() error { return errOf(kv.Get(ctx, "missing")) }},
		{"GetAt", func() error { return errOf(kv.GetAt(ctx, "k", v)) }},
		{"List", func() error { _, err := kv.List(ctx, "", "", 0); return err }},
		{"History", func() error { return errOf(kv.History(ctx, "k", 0)) }},
		{"View", func() error { return kv.View(ctx, func(tx vkv.Txn) error { ran = true; return nil }) }},
		{"Put", func() error { return errOf(kv.Put(ctx, "k", []byte("y"))) }},
		{"CompareAndSwap", func() error { return errOf(kv.CompareAndSwap(ctx, "k", v, []byte("y"))) }},
		{"Delete", func() error { return errOf(kv.Delete(ctx, "k")) }},
		{"CompareAndDelete", func() error { return errOf(kv.CompareAndDelete(ctx, "k", v)) }},
		{"Update", func() error {
			return errOf(kv.Update(ctx, func(tx vkv.Txn) error { ran = true; return tx.Put("k", []byte("y")) }))
		}},
	} {
		what := op.what + " after Close"
		err := call(t, what, op.f)
		wantErrIs(t, what, err, vkv.ErrClosed)
	}
	if ran {
		t.Logf("a transaction function ran after Close (allowed, but the call must fail with ErrClosed)")
	}
	if err := call(t, "Close", kv.Close); err != nil {
		t.Errorf("Close a third time = %v, want nil", err)
	}
}

func testCloseConcurrent(t *testing.T, kv vkv.KV) {
	ctx := t.Context()
	const closers = 3
	const giveUp = 10 * time.Second
	var (
		wg       sync.WaitGroup
		closedAt atomic.Pointer[time.Time] // when the first Close returned
		started  sync.WaitGroup            // each worker made a few calls
	)
	started.Add(workers / 2)
	for w := range workers / 2 {
		wg.Go(func() {
			var once sync.Once
			defer once.Do(started.Done)
			key := keyf("w%d", w)
			deadline := time.Now().Add(giveUp)
			for i := 0; ; i++ {
				if i == 5 {
					once.Do(started.Done)
				}
				if time.Now().After(deadline) {
					t.Errorf("worker %d: no ErrClosed after %v of calls although Close was called", w, giveUp)
					return
				}
				t0 := time.Now()
				var err error
				switch i % 3 {
				case 0:
					_, err = kv.Put(ctx, key, []byte("x"))
				case 1:
					_, err = kv.Get(ctx, key)
				case 2:
					_, err = kv.Update(ctx, func(tx vkv.Txn) error {
						if _, err := tx.Get(key); err != nil && !errors.Is(err, vkv.ErrNotFound) {
							return err
						}
						return tx.Put(key, []byte("y"))
					})
				}
				if errors.Is(err, vkv.ErrClosed) {
					return
				}
				if err != nil && !errors.Is(err, vkv.ErrNotFound) {
					t.Errorf("worker %d: call %d while closing: %v, want nil or ErrClosed", w, i, err)
					return
				}
				if at := closedAt.Load(); at != nil && t0.After(*at) {
					t.Errorf("worker %d: call %d started after Close returned and succeeded, want ErrClosed", w, i)
					return
				}
			}
		})
	}
	started.Wait()
	var cwg sync.WaitGroup
	for c := range closers {
		cwg.Go(func() {
			if err := call(t, "Close", kv.Close); err != nil {
				t.Errorf("Close by closer %d of %d concurrent ones: %v, want nil", c, closers, err)
			}
			now := time.Now()
			closedAt.CompareAndSwap(nil, &now)
		})
	}
	cwg.Wait()
	wg.Wait()
	if _, err := kv.Get(ctx, "w0"); !errors.Is(err, vkv.ErrClosed) {
		t.Errorf("Get after concurrent Closes: %v, want ErrClosed", err)
	}
}

func testTxnManyBytes(t *testing.T, kv vkv.KV) {
	// 16 values of 512 KiB: more than some stores commit at once. Either the
	// whole transaction commits or it fails with ErrTxnTooLarge and writes
	// nothing.
	const n, size = 16, 512 << 10
	values := make([][]byte, n)
	for i := range values {
		values[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	ctx := t.Context()
	v, err := kv.Update(ctx, func(tx vkv.Txn) error {
		for i, value := range values {
			if err := tx.Put(keyf("bytes/%02d", i), value); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		for i, value := range values {
			k := keyf("bytes/%02d", i)
			e, err := kv.Get(ctx, k)
			if err != nil || e.Version != v || !bytes.Equal(e.Value, value) {
				t.Errorf("Get(%q) after committing %d values of %d bytes = %d bytes at version %d, %v; want the value written at %d", k, n, size, len(e.Value), e.Version, err, v)
			}
		}
	case errors.Is(err, vkv.ErrTxnTooLarge):
		t.Logf("Update writing %d values of %d bytes: %v", n, size, err)
		if lr, err := kv.List(ctx, "bytes/", "", 0); err != nil || len(lr.Entries) != 0 {
			t.Errorf("List(%q) after the rejected transaction = %d entries, %v; want none", "bytes/", len(lr.Entries), err)
		}
	default:
		t.Errorf("Update writing %d values of %d bytes: %v, want success or ErrTxnTooLarge", n, size, err)
	}
}
