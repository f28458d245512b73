package vkv

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/keys"
)

// Range conditions in the committer.
//
// A range condition (Txn.List inside Update) holds when the live keys of
// its range are those the transaction's snapshot saw at c.version. The
// committer checks it against the latest entries as its own Badger
// transaction sees them: the committed store plus the writes of the batch
// so far (Badger's iterator of a read-write transaction merges its pending
// writes, iterator.go NewIterator / txn.go newPendingWritesIterator), which
// is also what the key cache holds, so the cache needs no look-up here.
// Every live key must have a version not above c.version (else it was
// created or changed since), and there must be c.count of them (else one
// was deleted or expired since: no key can have joined without a newer
// version). The scan is as long as the range the transaction read, under
// commitMu.

// checkRange checks the range condition c in b and returns its failure,
// or nil when it holds.
func (s *Store) checkRange(b *batchTxn, c condition) (*failure, error) {
	f, live, gone, err := scanRange(b, c)
	if err != nil || f != nil || live == c.count {
		return f, err
	}
	// A key went away. Name one: a write in the change log after the
	// snapshot, else a key that has expired.
	key, err := changedSince(b.txn, c.version, c.rng)
	if err != nil {
		return nil, err
	}
	if key == "" {
		key = gone
	}
	return &failure{cond: c, key: key}, nil
}

// scanRange reads the latest entries of c's range in b: the first one
// created or changed after c.version as a failure, else the number of live
// ones and a key that has expired ("" if none).
func scanRange(b *batchTxn, c condition) (f *failure, live int, gone string, err error) {
	r := c.rng
	p, start := latestSpan(r.Prefix, r.After)
	now := b.now.UnixNano()
	it := b.txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		key, err := keys.UserKeyOfLatest(item.Key())
		if err != nil {
			return nil, 0, "", err
		}
		if r.Last != "" && key > r.Last {
			break
		}
		var rec keys.Record
		err = item.Value(func(v []byte) error {
			var err error
			rec, err = keys.DecodeRecord(v)
			return err
		})
		if err != nil {
			return nil, 0, "", fmt.Errorf("vkv: key %q: %w", key, err)
		}
		expired := rec.ExpiresAt != 0 && now >= rec.ExpiresAt
		if rec.Version > uint64(c.version) {
			// Created or changed since the snapshot (perhaps expired
			// already: conservatively a change too).
			f := &failure{cond: c, key: key}
			if !expired {
				e := recordEntry(key, rec)
				e.Value = append([]byte{}, rec.Value...)
				f.actual, f.current = e.Version, &e
			}
			return f, 0, "", nil
		}
		if expired {
			if gone == "" {
				gone = key
			}
			continue
		}
		live++
	}
	return nil, live, gone, nil
}

// changedSince returns the first key of r the change log records a write
// of after version v, in txn, or "" if none is kept.
func changedSince(txn *badger.Txn, v Version, r *KeyRange) (string, error) {
	first := ""
	err := eachChangeSince(context.Background(), txn, uint64(v), r, func(key string) bool {
		first = key
		return false
	})
	return first, err
}
