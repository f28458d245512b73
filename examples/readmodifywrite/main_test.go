package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openStore opens a store in a temporary directory, closed when the test
// ends.
func openStore(t *testing.T) *vkv.Store {
	t.Helper()
	s, err := vkv.Open(t.TempDir(), &vkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return s
}

// countingKV counts the reads that go to the store.
type countingKV struct {
	vkv.KV
	mu   sync.Mutex
	gets int
}

// Get counts the read and passes it on.
func (c *countingKV) Get(ctx context.Context, key string) (vkv.Entry, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.KV.Get(ctx, key)
}

// TestConcurrentIncrements: no increment is lost, and every increment has
// its own version.
func TestConcurrentIncrements(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	const workers, each = 8, 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[int64]bool{}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, attempts, err := increment(ctx, s, "c", 1)
				if err != nil || attempts < 1 {
					t.Errorf("increment: %d, %d attempts, %v", n, attempts, err)
					return
				}
				mu.Lock()
				if results[n] {
					t.Errorf("two increments returned %d", n)
				}
				results[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	e, err := s.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.Value), strconv.Itoa(workers*each); got != want {
		t.Fatalf("counter %s, want %s", got, want)
	}
	if len(results) != workers*each {
		t.Fatalf("%d distinct results, want %d", len(results), workers*each)
	}
	// Every increment wrote one version of the key.
	h, err := s.History(ctx, "c", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != workers*each {
		t.Fatalf("%d versions in history, want %d", len(h), workers*each)
	}
}

// TestConflictUsesCurrent: when another writer changes the key between the
// read and the write, modify computes again from the value the conflict
// carries, and reads the store only once.
func TestConflictUsesCurrent(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "c", []byte("1")); err != nil {
		t.Fatal(err)
	}
	kv := &countingKV{KV: s}
	var seen []string
	_, attempts, err := modify(ctx, kv, "c", func(old []byte, exists bool) ([]byte, error) {
		seen = append(seen, string(old))
		if len(seen) == 1 {
			// Another writer gets in between.
			if _, err := s.Put(ctx, "c", []byte("5")); err != nil {
				return nil, err
			}
		}
		n, _ := strconv.Atoi(string(old))
		return []byte(strconv.Itoa(n * 10)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1", "5"}, seen); diff != "" {
		t.Errorf("values fn saw (-want +got):\n%s", diff)
	}
	if attempts != 2 || kv.gets != 1 {
		t.Errorf("%d attempts and %d reads, want 2 and 1", attempts, kv.gets)
	}
	if e, _ := s.Get(ctx, "c"); string(e.Value) != "50" {
		t.Errorf("value %q, want 50", e.Value)
	}
}

// TestDeletedInBetween: a key deleted between the read and the write is
// created again from scratch.
func TestDeletedInBetween(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "c", []byte("7")); err != nil {
		t.Fatal(err)
	}
	calls := 0
	n, attempts, err := increment(ctx, &deleteOnce{KV: s, calls: &calls}, "c", 1)
	if err != nil || n != 1 || attempts != 2 {
		t.Fatalf("increment: %d, %d attempts, %v; want 1, 2 attempts", n, attempts, err)
	}
}

// deleteOnce deletes the key before the first CompareAndSwap goes through.
type deleteOnce struct {
	vkv.KV
	calls *int
}

// CompareAndSwap deletes key first, the first time only.
func (d *deleteOnce) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	if *d.calls++; *d.calls == 1 {
		if _, err := d.KV.Delete(ctx, key); err != nil {
			return 0, err
		}
	}
	return d.KV.CompareAndSwap(ctx, key, expected, value, opts...)
}

// TestErrorsWriteNothing: an error of fn, or a value that is not a
// counter, writes nothing; a writer that always loses gives up.
func TestErrorsWriteNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	v, err := s.Put(ctx, "c", []byte("not a number"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := increment(ctx, s, "c", 1); err == nil || !strings.Contains(err.Error(), "does not hold a counter") {
		t.Fatalf("increment of a non-counter: %v", err)
	}
	_, attempts, err := modify(ctx, s, "c", func(old []byte, exists bool) ([]byte, error) {
		if _, err := s.Put(ctx, "c", []byte("x")); err != nil { // always in between
			return nil, err
		}
		return []byte("y"), nil
	})
	if !errors.Is(err, vkv.ErrConflict) || attempts != maxAttempts {
		t.Fatalf("always losing: %d attempts, %v", attempts, err)
	}
	h, err := s.History(ctx, "c", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if string(e.Value) == "y" {
			t.Fatalf("a failed modify wrote: %+v (first version %d)", e, v)
		}
	}
}

// TestRun runs the command with small numbers, twice on one directory: the
// counter goes on from where the first run left it.
func TestRun(t *testing.T) {
	args := []string{"-workers", "4", "-increments", "20", "-dir", t.TempDir()}
	for i, final := range []string{"final value 80 (want 80)", "final value 160 (want 160)"} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		for _, want := range []string{"B: the conflict carries the current entry: 11 at version", final} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output of run %d lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
}
