package main

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
)

// source is what the cache needs of a store: the change feed, and reads to
// rebuild from when the feed it needs is gone. The embedded *vkv.Store and
// the HTTP client *vkvclient.Client both provide it.
type source interface {
	vkv.Reader
	vkv.Watcher
}

// cache is an in-memory copy of the keys under a prefix of a store, kept in
// sync by Store.Watch. Reads never touch the store.
//
// Run feeds it. It starts from the store's change log at version 0 (the
// whole kept history replays in order) and, when it stops and runs again,
// resumes after the last version it applied. If the change log no longer
// reaches back that far (the cache fell behind the store's history
// retention), it reloads the keys with List and watches from the oldest
// version the store still has.
type cache struct {
	src    source
	prefix string

	mu      sync.RWMutex
	entries map[string]vkv.Entry
	version vkv.Version   // the newest change applied, or the version reloaded at
	changed chan struct{} // closed and replaced at each change of version
	applied int           // changes applied
	reloads int           // times the cache was rebuilt from List
}

// newCache returns an empty cache of the keys under prefix ("" for all).
func newCache(src source, prefix string) *cache {
	return &cache{src: src, prefix: prefix, entries: map[string]vkv.Entry{}, changed: make(chan struct{})}
}

// Run applies the store's changes to the cache until ctx ends or the store
// closes, and returns ctx's error or vkv.ErrClosed. Only one Run may be
// active at a time; a later Run resumes where the last one stopped.
func (c *cache) Run(ctx context.Context) error {
	for {
		err := c.follow(ctx)
		var ce *vkv.CompactedError
		switch {
		case errors.As(err, &ce):
			if err := c.reload(ctx, ce.Oldest); err != nil {
				return err
			}
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

// apply applies one change. A change no newer than the entry the cache
// holds is skipped: after a reload, List may have seen keys at versions
// newer than the one the watch restarts from.
//
// The changes of one transaction come one by one, so a reader can see
// some of them applied and not yet the others.
func (c *cache) apply(e vkv.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[e.Key]; !ok || old.Version < e.Version {
		if e.Deleted {
			delete(c.entries, e.Key)
		} else {
			c.entries[e.Key] = e
		}
	}
	c.applied++
	if e.Version > c.version {
		c.version = e.Version
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// reload rebuilds the cache from the store's current keys and sets its
// version to oldest, the oldest version the store keeps
// (CompactedError.Oldest; the feed starts from it or from one below). Every
// change up to oldest was committed before
// the listing began, so List saw it (or a later state); the watch that
// follows delivers every change after it, and apply skips those List saw
// already. Until the watch has caught up, a key that List found deleted may
// briefly come back, with a value it really had, and go again.
func (c *cache) reload(ctx context.Context, oldest vkv.Version) error {
	entries := map[string]vkv.Entry{}
	for after := ""; ; {
		lr, err := c.src.List(ctx, c.prefix, after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			return err
		}
		for _, e := range page {
			entries[e.Key] = e
		}
		if next == "" {
			break
		}
		after = next
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = entries
	c.reloads++
	if oldest > c.version {
		c.version = oldest
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return nil
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
