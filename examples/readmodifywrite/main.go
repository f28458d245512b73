// Command readmodifywrite shows optimistic read-modify-write on vkv: read a
// key, compute its new value, and write it with CompareAndSwap at the
// version read. When another writer got there first, the *vkv.ConflictError
// carries the key's current entry, so the writer computes again from that,
// without reading the key again.
//
//	go run ./examples/readmodifywrite                 # 8 goroutines, 250 increments each, in memory
//	go run ./examples/readmodifywrite -workers 32 -increments 100 -dir ./rmw-data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkvstore/vkv"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "readmodifywrite:", err)
		os.Exit(1)
	}
}

// maxAttempts bounds the attempts of one modify: under heavy contention a
// writer may keep losing, and then it is better to fail than to spin.
const maxAttempts = 100

// modify replaces the value of key with fn(old), where old is the value
// the write replaces: the write happens only if key is still at the version
// fn saw. exists is false when the key does not exist (old is then nil).
// On a conflict, fn runs again on the entry the conflict carries. modify
// returns the version written and the number of attempts.
//
// fn must have no side effects: it may run several times. Like every
// CompareAndSwap without WithTTL, the write drops a TTL the key had.
func modify(ctx context.Context, kv vkv.KV, key string, fn func(old []byte, exists bool) ([]byte, error)) (vkv.Version, int, error) {
	var cur *vkv.Entry
	e, err := kv.Get(ctx, key)
	switch {
	case err == nil:
		cur = &e
	case !errors.Is(err, vkv.ErrNotFound):
		return 0, 0, err
	}
	for attempt := 1; ; attempt++ {
		var (
			expected vkv.Version // 0: create only
			old      []byte
		)
		if cur != nil {
			expected, old = cur.Version, cur.Value
		}
		value, err := fn(old, cur != nil)
		if err != nil {
			return 0, attempt, err
		}
		v, err := kv.CompareAndSwap(ctx, key, expected, value)
		var ce *vkv.ConflictError
		if !errors.As(err, &ce) {
			return v, attempt, err // written, or an error a retry will not fix
		}
		if attempt == maxAttempts {
			return 0, attempt, fmt.Errorf("giving up on %q after %d attempts: %w", key, attempt, err)
		}
		// The conflict says what the key holds now: nil Current with a
		// zero Actual means the key was deleted. (A KV that could not send
		// the value leaves Current nil with Actual set; read it then.)
		// Many writers of one key mostly lose to each other; a short random
		// pause, growing with the losses, spreads them out.
		if err := backoff(ctx, attempt); err != nil {
			return 0, attempt, err
		}
		cur = ce.Current
		if cur == nil && ce.Actual != 0 {
			e, err := kv.Get(ctx, key)
			switch {
			case err == nil:
				cur = &e
			case !errors.Is(err, vkv.ErrNotFound):
				return 0, attempt, err
			}
		}
	}
}

// backoff sleeps a random time of up to attempt times 50µs, at most 5ms,
// or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(min(time.Duration(attempt)*50*time.Microsecond, 5*time.Millisecond)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// increment adds delta to the decimal counter at key (absent: 0) and
// returns the new value and the attempts it took.
func increment(ctx context.Context, kv vkv.KV, key string, delta int64) (int64, int, error) {
	var n int64
	_, attempts, err := modify(ctx, kv, key, func(old []byte, exists bool) ([]byte, error) {
		n = 0
		if exists {
			var err error
			if n, err = strconv.ParseInt(string(old), 10, 64); err != nil {
				return nil, fmt.Errorf("%q does not hold a counter: %w", key, err)
			}
		}
		n += delta
		return strconv.AppendInt(nil, n, 10), nil
	})
	return n, attempts, err
}

// run is the command: a narrated conflict, then many concurrent increments.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("readmodifywrite", flag.ContinueOnError)
	workers := fs.Int("workers", 8, "concurrent writers")
	increments := fs.Int("increments", 250, "increments per writer")
	dir := fs.String("dir", "", "`directory` of the store (default: in memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &vkv.Options{InMemory: *dir == "", NoSync: true}
	s, err := vkv.Open(*dir, opts)
	if err != nil {
		return err
	}
	defer s.Close()

	// One conflict, step by step.
	const key = "counters/visits"
	v1, err := s.Put(ctx, key, []byte("10"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s = 10 at version %d; writers A and B both read it\n", key, v1)
	va, err := s.CompareAndSwap(ctx, key, v1, []byte("11"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "A: CompareAndSwap(%s, %d, 11) -> version %d\n", key, v1, va)
	_, err = s.CompareAndSwap(ctx, key, v1, []byte("11"))
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) {
		return fmt.Errorf("the stale write of B: %v, want a conflict", err)
	}
	fmt.Fprintf(stdout, "B: CompareAndSwap(%s, %d, 11) -> %v\n", key, v1, err)
	fmt.Fprintf(stdout, "B: the conflict carries the current entry: %s at version %d\n", ce.Current.Value, ce.Current.Version)
	n, _ := strconv.Atoi(string(ce.Current.Value))
	vb, err := s.CompareAndSwap(ctx, key, ce.Current.Version, strconv.AppendInt(nil, int64(n+1), 10))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "B: CompareAndSwap(%s, %d, %d) -> version %d, no re-read\n\n", key, ce.Current.Version, n+1, vb)

	// Many writers at once. (On a -dir used before, the counter goes on
	// from where it was.)
	const counter = "counters/concurrent"
	initial, _, err := increment(ctx, s, counter, 0)
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		attempts atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range *increments {
				_, a, err := increment(ctx, s, counter, 1)
				attempts.Add(int64(a))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	e, err := s.Get(ctx, counter)
	if err != nil {
		return err
	}
	n64 := int64(*workers * *increments)
	want := initial + n64
	fmt.Fprintf(stdout, "%d writers x %d increments of %s in %v\n", *workers, *increments, counter, elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "final value %s (want %d), %d attempts: %d conflicts, each retried from ConflictError.Current\n",
		e.Value, want, attempts.Load(), attempts.Load()-n64)
	if string(e.Value) != strconv.FormatInt(want, 10) {
		return fmt.Errorf("lost updates: the counter is %s, not %d", e.Value, want)
	}
	return nil
}
