package vkv

import (
	"github.com/dgraph-io/badger/v4"
)

// Hooks for the external tests.

// BadgerOf returns the Badger database under s.
func BadgerOf(s *Store) *badger.DB { return s.db }

// BadgerOptions returns the Badger options Open would use for dir and o, so
// that benchmarks can run raw Badger with the very same settings.
func BadgerOptions(dir string, o Options) badger.Options {
	o = o.withDefaults()
	return badgerOptions(dir, o, &loggerAdapter{l: o.Logger})
}

// WithoutReaper returns o with the TTL reaper turned off.
func WithoutReaper(o Options) Options { o.noReap = true; return o }

// KeyCacheSizeOf returns the key cache size Open would use for o.
func KeyCacheSizeOf(o Options) int { return o.withDefaults().KeyCacheSize }
