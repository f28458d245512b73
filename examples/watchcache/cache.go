package main

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
)

// source is what the cache needs of a store: reads at a version to list
// from, and the change feed. The embedded *vkv.Store and
// the HTTP client *vkvclient.Client both provide it.
type source interface {
	vkv.Reader
	vkv.Watcher
}

// cache is an in-memory copy of the keys under a prefix of a store, kept in
// sync by Store.Watch. Reads never touch the store.
//
// Run feeds it, list-then-watch as Kubernetes' informers do: it lists the
// keys under the prefix at one version V (the first page with List, which
// reports V, the following pages with ListAt at V, so that the listing is
// one snapshot however the store changes meanwhile), then watches from V:
// the watch delivers exactly the changes after the listing, none missed
// and none twice. When Run stops and runs again, it resumes after the last
// version it applied. If the change log no longer reaches back that far
// (the cache fell behind the store's history retention), it lists again.
type cache struct {
	src    source
	prefix string
	listed bool // the cache holds a listing; only Run uses it
	page   int  // keys per page of a listing; 0: vkv.MaxListLimit

	mu      sync.RWMutex
	entries map[string]vkv.Entry
	version vkv.Version   // the newest change applied, or the version listed at
	changed chan struct{} // closed and replaced at each change of version
	applied int           // changes applied
	reloads int           // times the cache was listed again
}

// newCache returns an empty cache of the keys under prefix ("" for all).
func newCache(src source, prefix string) *cache {
	return &cache{src: src, prefix: prefix, entries: map[string]vkv.Entry{}, changed: make(chan struct{})}
}

// Run fills the cache and applies the store's changes to it until ctx ends
// or the store closes, and returns ctx's error or vkv.ErrClosed. Only one
// Run may be active at a time; a later Run resumes where the last one
// stopped.
func (c *cache) Run(ctx context.Context) error {
	for {
		if !c.listed {
			err := c.list(ctx)
			var ce *vkv.CompactedError
			if errors.As(err, &ce) {
				// The listing took longer than the store keeps history:
				// list again, at the newest version.
				continue
			}
			if err != nil {
				return err
			}
		}
		err := c.follow(ctx)
		var ce *vkv.CompactedError
		switch {
		case errors.As(err, &ce):
			c.listed = false
			c.mu.Lock()
			c.reloads++
			c.mu.Unlock()
		case err == nil && ctx.Err() == nil:
			// The feed ended without saying why (Store.Watch always says):
			// resume after the last version applied.
		case err == nil:
			return ctx.Err()
		default:
			return err
		}
	}
}

// list replaces the cache's entries with the keys under the prefix at the
// store's newest version V, read page by page at V, and sets the cache's
// version to V.
func (c *cache) list(ctx context.Context) error {
	entries := map[string]vkv.Entry{}
	limit := c.page
	if limit == 0 {
		limit = vkv.MaxListLimit
	}
	page, err := c.src.List(ctx, c.prefix, "", limit)
	for err == nil {
		for _, e := range page.Entries {
			entries[e.Key] = e
		}
		if page.Next == "" {
			break
		}
		page, err = c.src.ListAt(ctx, c.prefix, page.Next, limit, page.Version)
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.listed = entries, true
	if page.Version != c.version {
		c.version = page.Version
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return nil
}

// follow applies changes from the version after c.version until the feed
// ends, and returns the error it ended with.
func (c *cache) follow(ctx context.Context) error {
	for e, err := range c.src.Watch(ctx, c.prefix, c.Version()) {
		if err != nil {
			return err
		}
		c.apply(e)
	}
	return nil
}

// apply applies one change: the watch starts right after the version the
// cache holds, so every change is newer than what it holds.
//
// The changes of one transaction come one by one, so a reader can see
// some of them applied and not yet the others.
func (c *cache) apply(e vkv.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Deleted {
		delete(c.entries, e.Key)
	} else {
		c.entries[e.Key] = e
	}
	c.applied++
	if e.Version > c.version {
		c.version = e.Version
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// Get returns the cached entry of key. An entry whose TTL has run out is
// not returned, although the store records its expiry a little later.
func (c *cache) Get(key string) (vkv.Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[key]
	if !ok || e.Expired(time.Now()) {
		return vkv.Entry{}, false
	}
	return e, true
}

// Snapshot returns a copy of the cached entries (expired ones left out)
// and the version the cache is at.
func (c *cache) Snapshot() (map[string]vkv.Entry, vkv.Version) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := time.Now()
	out := maps.Clone(c.entries)
	maps.DeleteFunc(out, func(_ string, e vkv.Entry) bool { return e.Expired(now) })
	return out, c.version
}

// Version returns the newest version the cache has applied.
func (c *cache) Version() vkv.Version {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.version
}

// Stats returns how many changes the cache applied and how many times it
// reloaded.
func (c *cache) Stats() (applied, reloads int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.applied, c.reloads
}

// WaitFor waits until the cache has applied version v, to read one's own
// write: v must be the version of a write under the cache's prefix, since
// the watch sees no other. It returns ctx's error if ctx ends first.
func (c *cache) WaitFor(ctx context.Context, v vkv.Version) error {
	for {
		c.mu.RLock()
		cur, changed := c.version, c.changed
		c.mu.RUnlock()
		if cur >= v {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
