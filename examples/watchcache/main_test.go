package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
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
		if err := s.Close(); err != nil && !errors.Is(err, vkv.ErrClosed) {
			t.Errorf("closing the store: %v", err)
		}
	})
	return s
}

// start runs c until the test ends.
func start(t *testing.T, c *cache) func() error {
	t.Helper()
	stop := runCache(context.Background(), c)
	t.Cleanup(func() {
		if err := stop(); err != nil && !errors.Is(err, vkv.ErrClosed) {
			t.Errorf("cache: %v", err)
		}
	})
	return stop
}

// put writes key and fails the test on error.
func put(t *testing.T, s vkv.KV, key, value string) vkv.Version {
	t.Helper()
	v, err := s.Put(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor waits, a few seconds at most, for the cache to reach v.
func waitFor(t *testing.T, c *cache, v vkv.Version) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitFor(ctx, v); err != nil {
		t.Fatalf("the cache did not reach version %d (it is at %d): %v", v, c.Version(), err)
	}
}

// item is what the comparison looks at.
type item struct {
	Value   string
	Version vkv.Version
	Create  vkv.Version
}

// storeItems lists the keys under prefix in the store.
func storeItems(t *testing.T, s vkv.Reader) map[string]item {
	t.Helper()
	out := map[string]item{}
	for after := ""; ; {
		lr, err := s.List(context.Background(), prefix, after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			out[e.Key] = item{string(e.Value), e.Version, e.CreateVersion}
		}
		if next == "" {
			return out
		}
		after = next
	}
}

// cacheItems is the cache's snapshot in the same form.
func cacheItems(c *cache) map[string]item {
	snap, _ := c.Snapshot()
	out := map[string]item{}
	for k, e := range snap {
		out[k] = item{string(e.Value), e.Version, e.CreateVersion}
	}
	return out
}

// checkSame fails the test if the cache and the store differ.
func checkSame(t *testing.T, s vkv.Reader, c *cache) {
	t.Helper()
	if diff := cmp.Diff(storeItems(t, s), cacheItems(c)); diff != "" {
		t.Fatalf("cache differs from the store (-store +cache):\n%s", diff)
	}
}

// TestFollowsConcurrentWrites: after concurrent puts, deletes and
// transactions, the cache holds what the store holds, and nothing from
// outside its prefix.
func TestFollowsConcurrentWrites(t *testing.T) {
	s := openStore(t)
	c := newCache(s, prefix)
	start(t, c)
	if err := writeRandom(context.Background(), s, 8, 100, 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, put(t, s, prefix+"last", "done"))
	checkSame(t, s, c)
	if n := len(storeItems(t, s)); n < 2 {
		t.Fatalf("only %d keys under %s: the test tested little", n, prefix)
	}
	if applied, reloads := c.Stats(); applied == 0 || reloads != 0 {
		t.Fatalf("%d changes applied, %d reloads", applied, reloads)
	}
}

// TestOverHTTP: the same cache over the Go client of a vkv server, which
// provides the same Reader and Watcher.
func TestOverHTTP(t *testing.T) {
	s := openStore(t)
	ts := httptest.NewServer(httpapi.New(s))
	t.Cleanup(ts.Close)
	client, err := vkvclient.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := newCache(client, prefix)
	start(t, c)
	if err := writeRandom(context.Background(), client, 4, 25, 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, put(t, client, prefix+"last", "done"))
	checkSame(t, s, c)
}

// TestResume: a cache that stops and runs again applies the changes made
// meanwhile from the change log, deletes included, without listing again.
func TestResume(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	// Writes before the cache exists come from the listing.
	put(t, s, prefix+"a", "1")
	put(t, s, prefix+"b", "1")
	c := newCache(s, prefix)
	stop := runCache(ctx, c)
	waitFor(t, c, put(t, s, prefix+"c", "1"))
	checkSame(t, s, c)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	applied, _ := c.Stats()

	if _, err := s.Delete(ctx, prefix+"a"); err != nil {
		t.Fatal(err)
	}
	put(t, s, prefix+"b", "2")
	put(t, s, "other/x", "1")
	last := put(t, s, prefix+"d", "1")
	if e, ok := c.Get(prefix + "a"); !ok || string(e.Value) != "1" {
		t.Fatalf("the stopped cache changed: %+v, %v", e, ok)
	}

	start(t, c)
	waitFor(t, c, last)
	checkSame(t, s, c)
	after, reloads := c.Stats()
	if after-applied != 3 || reloads != 0 {
		t.Fatalf("resumed with %d changes and %d reloads, want 3 and 0", after-applied, reloads)
	}
}

// compactingSource is a store whose change log is compacted the first
// time it is watched, as if the cache had fallen behind the store's
// history retention. (A real compaction runs every 10 seconds, too slow
// for a test.)
type compactingSource struct {
	*vkv.Store
	watched atomic.Int32
	during  func() // runs inside the first Watch, before it fails
}

// Watch fails the first watch with a *vkv.CompactedError, after running
// during; every other watch is the store's.
func (s *compactingSource) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	if s.watched.Add(1) == 1 {
		return func(yield func(vkv.Entry, error) bool) {
			s.during()
			yield(vkv.Entry{}, &vkv.CompactedError{Requested: from, Oldest: from + 5})
		}
	}
	return s.Store.Watch(ctx, prefix, from, opts...)
}

// TestReloadWhenCompacted: when the changes the cache needs are gone, it
// lists again and follows from there, and ends equal to the store even
// though writes went on during the listing.
func TestReloadWhenCompacted(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for i := range 20 {
		put(t, s, fmt.Sprintf("%sk%02d", prefix, i%7), fmt.Sprint(i))
	}
	writing := make(chan error, 1)
	src := &compactingSource{Store: s, during: func() {
		go func() { writing <- writeRandom(ctx, s, 4, 50, 7) }()
	}}
	c := newCache(src, prefix)
	start(t, c)
	if err := <-writing; err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, put(t, s, prefix+"last", "done"))
	checkSame(t, s, c)
	if _, reloads := c.Stats(); reloads != 1 {
		t.Fatalf("%d reloads, want 1", reloads)
	}
}

// changingSource is a store that writes under the prefix before every
// page of a listing after the first, and calls watched at the first Watch.
type changingSource struct {
	*vkv.Store
	t       *testing.T
	step    int
	watched func(from vkv.Version)
	once    sync.Once
}

// change writes under prefix.
func (s *changingSource) change(ctx context.Context, prefix string) {
	s.step++
	put(s.t, s.Store, fmt.Sprintf("%sk%02d", prefix, s.step), "changed")
	if _, err := s.Store.Delete(ctx, fmt.Sprintf("%sk%02d", prefix, 29-s.step)); err != nil {
		s.t.Error(err)
	}
	put(s.t, s.Store, fmt.Sprintf("%sk%02d-new", prefix, s.step), "created")
}

func (s *changingSource) List(ctx context.Context, prefix, after string, limit int) (vkv.ListResult, error) {
	if after != "" {
		s.change(ctx, prefix)
	}
	return s.Store.List(ctx, prefix, after, limit)
}

func (s *changingSource) ListAt(ctx context.Context, prefix, after string, limit int, v vkv.Version) (vkv.ListResult, error) {
	s.change(ctx, prefix)
	return s.Store.ListAt(ctx, prefix, after, limit, v)
}

func (s *changingSource) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	s.once.Do(func() { s.watched(from) })
	return s.Store.Watch(ctx, prefix, from, opts...)
}

// TestListsOneSnapshot: the listing a cache starts from is the store at
// one version, however the store changes between its pages, and the watch
// from that version brings it up to date.
func TestListsOneSnapshot(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for i := range 30 {
		put(t, s, fmt.Sprintf("%sk%02d", prefix, i), "old")
	}
	var c *cache
	src := &changingSource{Store: s, t: t}
	listed := make(chan struct{})
	src.watched = func(from vkv.Version) {
		defer close(listed)
		// The cache as listed, before the watch applies anything.
		want := map[string]item{}
		res, err := s.ListAt(ctx, prefix, "", 0, from)
		if err != nil {
			t.Error(err)
		}
		for _, e := range res.Entries {
			want[e.Key] = item{string(e.Value), e.Version, e.CreateVersion}
		}
		if diff := cmp.Diff(want, cacheItems(c)); diff != "" {
			t.Errorf("the listing at version %d (-store at that version +cache):\n%s", from, diff)
		}
		if src.step == 0 {
			t.Error("the store did not change between the pages: the test tested little")
		}
	}
	c = newCache(src, prefix)
	c.page = 4
	start(t, c)
	<-listed
	waitFor(t, c, put(t, s, prefix+"last", "done"))
	checkSame(t, s, c)
}

// TestExpiry: the cache hides an entry whose TTL ran out, then drops it
// when the store records the expiry.
func TestExpiry(t *testing.T) {
	s := openStore(t)
	c := newCache(s, prefix)
	start(t, c)
	const ttl = 100 * time.Millisecond
	putAt := time.Now()
	v, err := s.Put(context.Background(), prefix+"session", []byte("abc"), vkv.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, v)
	if _, ok := c.Get(prefix + "session"); !ok && time.Since(putAt) < ttl {
		t.Fatal("a live entry is not in the cache")
	}
	time.Sleep(ttl)
	if _, ok := c.Get(prefix + "session"); ok {
		t.Fatal("an expired entry is still returned")
	}
	waitFor(t, c, v+1) // the recorded expiry
	c.mu.RLock()
	_, held := c.entries[prefix+"session"]
	c.mu.RUnlock()
	if held {
		t.Fatal("the cache still holds the entry after the expiry was recorded")
	}
	checkSame(t, s, c)
}

// TestRunEnds: Run returns vkv.ErrClosed when the store closes, and
// WaitFor returns when its context ends.
func TestRunEnds(t *testing.T) {
	s := openStore(t)
	c := newCache(s, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitFor(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor with a cancelled context: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	waitFor(t, c, put(t, s, prefix+"a", "1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, vkv.ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

// TestRun runs the command with small numbers, twice on one directory: the
// second run's cache lists the first run's keys too.
func TestRun(t *testing.T) {
	args := []string{"-writers", "2", "-writes", "50", "-ttl", "50ms", "-dir", t.TempDir()}
	for i, first := range []string{"the cache has on at version 1\n", "the cache has on at version"} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		for _, want := range []string{first, "cache == store at version", "applied 3 changes", "cached false"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output of run %d lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
}
