// Command watchcache keeps an in-memory cache of the keys under a prefix in
// sync with a vkv store, list-then-watch: it lists the keys at one version
// (List, then ListAt at the version List reported), then follows
// Store.Watch, the store's change feed, from exactly that version:
// concurrent writers change the store, the cache follows, and at the end
// the two hold the same keys at the same versions. The cache then stops,
// misses some writes, and resumes from the last version it saw.
//
//	go run ./examples/watchcache                           # 4 writers, 250 writes each, in memory
//	go run ./examples/watchcache -writers 8 -writes 1000 -dir ./watchcache-data
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "watchcache:", err)
		os.Exit(1)
	}
}

// prefix is the part of the store the cache holds.
const prefix = "config/"

// runCache runs c until the returned stop function is called, which waits
// for Run to return and returns its error (nil if it stopped because of the
// stop). Calls of stop after the first return the same.
func runCache(ctx context.Context, c *cache) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		err := <-done
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}

// writeRandom makes n random writes from each of writers goroutines: puts
// and deletes of keys under prefix and elsewhere, and transactions that
// change two keys at once. It returns the first error.
func writeRandom(ctx context.Context, kv vkv.KV, writers, n, keys int) error {
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	key := func() string {
		if rand.IntN(4) == 0 {
			return fmt.Sprintf("other/k%02d", rand.IntN(keys)) // not the cache's
		}
		return fmt.Sprintf("%sk%02d", prefix, rand.IntN(keys))
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				value := fmt.Appendf(nil, "w%d-%d", w, i)
				var err error
				switch rand.IntN(10) {
				case 0, 1:
					_, err = kv.Delete(ctx, key())
					if errors.Is(err, vkv.ErrNotFound) {
						err = nil
					}
				case 2:
					_, err = kv.Update(ctx, func(tx vkv.Txn) error {
						if err := tx.Put(key(), value); err != nil {
							return err
						}
						return tx.Delete(key())
					})
				default:
					_, err = kv.Put(ctx, key(), value)
				}
				if err != nil {
					errOnce.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// compare lists the store's keys under prefix and reports the first
// difference from the cache's snapshot, or "" if they agree, and how many
// keys there are.
func compare(ctx context.Context, s vkv.Reader, c *cache) (string, int, error) {
	snap, _ := c.Snapshot()
	n := 0
	for after := ""; ; {
		lr, err := s.List(ctx, prefix, after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			return "", 0, err
		}
		for _, e := range page {
			n++
			got, ok := snap[e.Key]
			if !ok {
				return fmt.Sprintf("%s=%s at %d is not in the cache", e.Key, e.Value, e.Version), n, nil
			}
			if got.Version != e.Version || !bytes.Equal(got.Value, e.Value) {
				return fmt.Sprintf("%s: store %s at %d, cache %s at %d", e.Key, e.Value, e.Version, got.Value, got.Version), n, nil
			}
			delete(snap, e.Key)
		}
		if next == "" {
			break
		}
		after = next
	}
	for k, e := range snap {
		return fmt.Sprintf("%s=%s at %d is in the cache, not in the store", k, e.Value, e.Version), n, nil
	}
	return "", n, nil
}

// run is the command.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("watchcache", flag.ContinueOnError)
	writers := fs.Int("writers", 4, "concurrent writers")
	n := fs.Int("writes", 250, "writes per writer")
	keys := fs.Int("keys", 20, "distinct keys under each prefix")
	dir := fs.String("dir", "", "`directory` of the store (default: in memory)")
	ttl := fs.Duration("ttl", 300*time.Millisecond, "TTL of the key written to show expiry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := vkv.Open(*dir, &vkv.Options{InMemory: *dir == "", NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	c := newCache(s, prefix)
	stop := runCache(ctx, c)

	// Read your own write: wait for the cache to reach the write's version.
	v, err := s.Put(ctx, prefix+"feature-x", []byte("on"))
	if err != nil {
		return err
	}
	if err := c.WaitFor(ctx, v); err != nil {
		return err
	}
	e, _ := c.Get(prefix + "feature-x")
	fmt.Fprintf(stdout, "put %sfeature-x=on at version %d; the cache has %s at version %d\n", prefix, v, e.Value, e.Version)

	// Concurrent writers, then a last write to know when the cache has
	// caught up with all of them.
	start := time.Now()
	if err := writeRandom(ctx, s, *writers, *n, *keys); err != nil {
		return err
	}
	last, err := s.Put(ctx, prefix+"last", []byte("done"))
	if err != nil {
		return err
	}
	if err := c.WaitFor(ctx, last); err != nil {
		return err
	}
	diff, count, err := compare(ctx, s, c)
	if err != nil {
		return err
	}
	applied, _ := c.Stats()
	fmt.Fprintf(stdout, "%d writers x %d writes (puts, deletes, 2-key transactions; 1 in 4 outside %s) in %v\n",
		*writers, *n, prefix, time.Since(start).Round(time.Millisecond))
	if diff != "" {
		return fmt.Errorf("the cache differs from the store at version %d: %s", last, diff)
	}
	fmt.Fprintf(stdout, "cache == store at version %d: %d keys under %s, %d changes applied\n", last, count, prefix, applied)

	// Stop the cache, write while it is stopped, run it again: it resumes
	// after the last version it applied.
	if err := stop(); err != nil {
		return err
	}
	stoppedAt := c.Version()
	for i := range 3 {
		if last, err = s.Put(ctx, fmt.Sprintf("%smissed-%d", prefix, i), []byte("x")); err != nil {
			return err
		}
	}
	stop = runCache(ctx, c)
	defer stop()
	if err := c.WaitFor(ctx, last); err != nil {
		return err
	}
	after, _ := c.Stats()
	fmt.Fprintf(stdout, "stopped at version %d; 3 puts meanwhile; resumed from %d and applied %d changes, now at %d\n",
		stoppedAt, stoppedAt, after-applied, c.Version())

	// Expiry: the cache hides an entry once its TTL has run out, and drops
	// it when the store records the expiry (a delete with its own version).
	v, err = s.Put(ctx, prefix+"session", []byte("abc"), vkv.WithTTL(*ttl))
	if err != nil {
		return err
	}
	if err := c.WaitFor(ctx, v); err != nil {
		return err
	}
	_, ok := c.Get(prefix + "session")
	fmt.Fprintf(stdout, "put %ssession with a %v TTL at version %d: cached %v\n", prefix, *ttl, v, ok)
	time.Sleep(*ttl)
	_, ok = c.Get(prefix + "session")
	fmt.Fprintf(stdout, "after %v: cached %v", *ttl, ok)
	if err := c.WaitFor(ctx, v+1); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "; the store recorded the expiry at version %d and the cache applied it\n", c.Version())
	if diff, _, err := compare(ctx, s, c); err != nil || diff != "" {
		return fmt.Errorf("after the expiry: %q, %v", diff, err)
	}
	return stop()
}
