package vkv

import "github.com/dgraph-io/badger/v4"

// Hooks for the external tests.

// BadgerOf returns the Badger database under s.
func BadgerOf(s *Store) *badger.DB { return s.db }

// CompactNow runs one history compaction pass.
func CompactNow(s *Store) error { return s.compact() }
