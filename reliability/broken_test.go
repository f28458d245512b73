package reliability_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/vkvstore/vkv"
)

// The wrappers below are deliberately broken stores, each with a bug real
// stores have had. The negative-control tests require the checker to find
// each bug: they prove that the linearizability tests can fail.

// casGetThenPut does CompareAndSwap and CompareAndDelete as a Get, a
// comparison and then an unconditional write: two clients that expect the
// same version can both succeed.
type casGetThenPut struct{ vkv.KV }

func (b casGetThenPut) current(ctx context.Context, key string, expected vkv.Version) (*vkv.Entry, error) {
	e, err := b.Get(ctx, key)
	var cur *vkv.Entry
	switch {
	case err == nil:
		cur = &e
	case !errors.Is(err, vkv.ErrNotFound):
		return nil, err
	}
	var actual vkv.Version
	if cur != nil {
		actual = cur.Version
	}
	if actual != expected {
		return nil, &vkv.ConflictError{Key: key, Expected: expected, Actual: actual, Current: cur,
			Conflicts: []vkv.Conflict{{Key: key, Expected: expected, Actual: actual, Current: cur}}}
	}
	time.Sleep(20 * time.Microsecond) // the window in which another writer gets in
	return cur, nil
}

func (b casGetThenPut) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	if _, err := b.current(ctx, key, expected); err != nil {
		return 0, err
	}
	return b.Put(ctx, key, value, opts...)
}

func (b casGetThenPut) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	if _, err := b.current(ctx, key, expected); err != nil {
		return 0, err
	}
	return b.Delete(ctx, key)
}

// staleCache serves Get from a cache that is refreshed on every fourth read
// of a key and not invalidated by writes: a read can miss a write that
// returned before it began. (A cache refreshed by time missed nothing on a
// slow machine, where every read came after the refresh period.)
type staleCache struct {
	vkv.KV
	mu    sync.Mutex
	cache map[string]cached
}

// staleReads is how many reads of a key the cache answers before it asks
// the store again.
const staleReads = 3

type cached struct {
	e     vkv.Entry
	err   error
	reads int // answered from the cache since the refresh
}

func (b *staleCache) Get(ctx context.Context, key string) (vkv.Entry, error) {
	b.mu.Lock()
	c, ok := b.cache[key]
	if ok && c.reads < staleReads {
		c.reads++
		b.cache[key] = c
		b.mu.Unlock()
		return c.e, c.err
	}
	b.mu.Unlock()
	e, err := b.KV.Get(ctx, key)
	b.mu.Lock()
	b.cache[key] = cached{e: e, err: err}
	b.mu.Unlock()
	return e, err
}

// lostWrites acknowledges one Put in ten without writing it to the key: the
// write goes to another key, so the version it returns is a real one.
type lostWrites struct {
	vkv.KV
	mu sync.Mutex
	n  int
}

func (b *lostWrites) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	b.mu.Lock()
	b.n++
	lose := b.n%10 == 0
	b.mu.Unlock()
	if lose {
		key += "/lost"
	}
	return b.KV.Put(ctx, key, value, opts...)
}

// perKeyVersions numbers each key's writes with a counter of its own, as a
// store sharded by key might: every key on its own is a fine versioned
// register, but versions are handed out more than once across keys.
type perKeyVersions struct {
	vkv.KV
	mu      sync.Mutex
	next    map[string]vkv.Version
	toFake  map[vkv.Version]vkv.Version // real version -> the key's version
	fromFak map[string]map[vkv.Version]vkv.Version
}

func newPerKeyVersions(kv vkv.KV) *perKeyVersions {
	return &perKeyVersions{KV: kv, next: map[string]vkv.Version{}, toFake: map[vkv.Version]vkv.Version{},
		fromFak: map[string]map[vkv.Version]vkv.Version{}}
}

// number gives the real version v of key a number of the key's own.
func (b *perKeyVersions) number(key string, v vkv.Version) vkv.Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.toFake[v]; ok {
		return f
	}
	b.next[key]++
	f := b.next[key]
	b.toFake[v] = f
	if b.fromFak[key] == nil {
		b.fromFak[key] = map[vkv.Version]vkv.Version{}
	}
	b.fromFak[key][f] = v
	return f
}

func (b *perKeyVersions) real(key string, f vkv.Version) vkv.Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f == 0 {
		return 0
	}
	if v, ok := b.fromFak[key][f]; ok {
		return v
	}
	return 1 << 62 // a version the key never had
}

func (b *perKeyVersions) write(key string, expected, v vkv.Version, err error) (vkv.Version, error) {
	var ce *vkv.ConflictError
	switch {
	case err == nil:
		return b.number(key, v), nil
	case errors.As(err, &ce):
		c := *ce
		c.Expected = expected
		if c.Actual != 0 {
			c.Actual = b.number(key, c.Actual)
			cur := *c.Current
			cur.Version, cur.CreateVersion = c.Actual, b.number(key, cur.CreateVersion)
			c.Current = &cur
		}
		return 0, &c
	}
	return v, err
}

func (b *perKeyVersions) Get(ctx context.Context, key string) (vkv.Entry, error) {
	e, err := b.KV.Get(ctx, key)
	if err == nil {
		e.Version, e.CreateVersion = b.number(key, e.Version), b.number(key, e.CreateVersion)
	}
	return e, err
}

func (b *perKeyVersions) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	v, err := b.KV.Put(ctx, key, value, opts...)
	return b.write(key, 0, v, err)
}

func (b *perKeyVersions) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	v, err := b.KV.CompareAndSwap(ctx, key, b.real(key, expected), value, opts...)
	return b.write(key, expected, v, err)
}

func (b *perKeyVersions) Delete(ctx context.Context, key string) (vkv.Version, error) {
	v, err := b.KV.Delete(ctx, key)
	return b.write(key, 0, v, err)
}

func (b *perKeyVersions) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	v, err := b.KV.CompareAndDelete(ctx, key, b.real(key, expected))
	return b.write(key, expected, v, err)
}

// negativeOps is the size of a negative-control history.
func negativeOps() int {
	if testing.Short() || raceEnabled {
		return 1_000
	}
	return 2_000
}

// TestNegativeControl runs the linearizability harness against the broken
// wrappers, directly and through the HTTP handler and client, and requires
// the checker to report each history illegal.
func TestNegativeControl(t *testing.T) {
	broken := []struct {
		name string
		wrap func(vkv.KV) vkv.KV
	}{
		{"cas-as-get-then-put", func(kv vkv.KV) vkv.KV { return casGetThenPut{kv} }},
		{"stale-cache-reads", func(kv vkv.KV) vkv.KV { return &staleCache{KV: kv, cache: map[string]cached{}} }},
		{"lost-writes", func(kv vkv.KV) vkv.KV { return &lostWrites{KV: kv} }},
	}
	for _, b := range broken {
		for _, via := range []string{"embedded", "http"} {
			t.Run(b.name+"/"+via, func(t *testing.T) {
				t.Parallel()
				kv := b.wrap(openStore(t, "", &vkv.Options{InMemory: true}))
				if via == "http" {
					kv = serveHTTP(t, kv)
				}
				// A bug shows only when operations interleave badly; a
				// few tries make a miss all but impossible.
				for try := 1; ; try++ {
					w := workload{Clients: 8, Ops: negativeOps(), Keys: 3}
					h := w.run(t, kv)
					v := check(t, h, true, t.TempDir())
					if v.result == porcupine.Illegal {
						t.Logf("as required, the checker found the history illegal (%s)", h.summary())
						if fi, err := os.Stat(v.visualization); err != nil || fi.Size() == 0 {
							t.Errorf("no visualization written: %q: %v", v.visualization, err)
						}
						return
					}
					if v.result == porcupine.Unknown {
						t.Fatalf("the checker timed out on the broken store's history (%s)", h.summary())
					}
					if try == 3 {
						t.Fatalf("the checker found %d histories of the broken store %s linearizable", try, b.name)
					}
					t.Logf("try %d: the bug did not show in this history; again", try)
				}
			})
		}
	}
}

// TestNegativeControlVersions runs the harness against a store whose
// versions are per key: each key on its own looks linearizable, and the
// store-wide version checks must catch the versions handed out twice.
func TestNegativeControlVersions(t *testing.T) {
	kv := newPerKeyVersions(openStore(t, "", &vkv.Options{InMemory: true}))
	w := workload{Clients: 8, Ops: negativeOps(), Keys: 3}
	h := w.run(t, kv)
	v := check(t, h, true, t.TempDir())
	t.Logf("per-key porcupine verdict on the per-key-versions store: %s", v.result)
	if len(v.versions) == 0 {
		t.Fatalf("the version checks found no version handed out twice in %s", h.summary())
	}
	dup := false
	for _, s := range v.versions {
		dup = dup || strings.Contains(s, "handed out twice")
	}
	if !dup {
		t.Errorf("the version checks did not report duplicates: %q", v.versions)
	}
	t.Logf("as required, the version checks caught it: %s", v.versions[0])
}
