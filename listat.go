package vkv

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/keys"
)

// ListAt returns a page of the entries under prefix after the key after as
// they were at version v; see Reader.ListAt.
//
// History is laid out by key length first (keys.HistoryPrefix), so it
// cannot be walked in key order. ListAt walks the latest entries instead,
// which are the entries at v for every key not written since, and reads
// the keys the change log records a write of after v at v from their
// history, one point read each. Beyond the page it costs a scan of the
// change log from v to the newest version: cheap for the recent versions
// list-then-watch and paging use, at most the retention window
// (Options.HistoryVersions) for the oldest.
func (s *Store) ListAt(ctx context.Context, prefix, after string, limit int, v Version) (ListResult, error) {
	if err := s.enter(ctx); err != nil {
		return ListResult{}, err
	}
	defer s.exit()
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	newest, err := newestVersion(txn)
	if err != nil {
		return ListResult{}, err
	}
	if uint64(v) > newest {
		return ListResult{}, &FutureVersionError{Requested: v, Newest: Version(max(newest, s.current.Load()))}
	}
	rng := KeyRange{Prefix: prefix, After: after}
	// The compactor raises the mark before it deletes, so a mark read after
	// the snapshot was taken covers everything the snapshot misses.
	if oldest := s.compacted.Load(); uint64(v) < oldest {
		return ListResult{}, &CompactedError{Requested: v, Oldest: Version(oldest), Range: &rng}
	}
	if v == 0 {
		return ListResult{}, nil // nothing exists at version 0
	}
	// Entries as recorded, as GetAt returns them: no expiry is judged.
	var asRecorded time.Time
	if uint64(v) == newest {
		entries, next, err := listLatest(ctx, txn, prefix, after, limit, asRecorded)
		return ListResult{Entries: entries, Next: next, Version: v}, err
	}
	changed, err := changedKeys(ctx, txn, uint64(v), &rng)
	if err != nil {
		return ListResult{}, err
	}

	p, start := latestSpan(prefix, after)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(limit, 100), Prefix: p})
	defer it.Close()
	it.Seek(start)
	var out []Entry
	for len(out) <= limit {
		if err := ctx.Err(); err != nil {
			return ListResult{}, err
		}
		latest := ""
		if it.Valid() {
			if latest, err = keys.UserKeyOfLatest(it.Item().Key()); err != nil {
				return ListResult{}, err
			}
		}
		var e Entry
		var ok bool
		switch {
		case latest == "" && len(changed) == 0:
			return ListResult{Entries: out, Version: v}, nil
		case latest == "" || (len(changed) > 0 && changed[0] <= latest):
			// Written since v: its history has it at v.
			key := changed[0]
			changed = changed[1:]
			if key == latest {
				it.Next()
			}
			if e, ok, err = historyAt(txn, key, v); err != nil {
				return ListResult{}, err
			}
		default:
			// Not written since v: the latest entry is the one at v.
			if e, err = decodeItem(it.Item(), latest); err != nil {
				return ListResult{}, err
			}
			it.Next()
			ok = true
			if uint64(e.Version) > uint64(v) {
				// The change log should have named it; be exact anyway.
				if e, ok, err = historyAt(txn, latest, v); err != nil {
					return ListResult{}, err
				}
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return ListResult{Entries: out[:limit], Next: out[limit-1].Key, Version: v}, nil
}

// changedKeys returns, sorted, the keys of r the change log records a
// write of after version v.
func changedKeys(ctx context.Context, txn *badger.Txn, v uint64, r *KeyRange) ([]string, error) {
	seen := make(map[string]bool)
	var out []string
	err := eachChangeSince(ctx, txn, v, r, func(key string) bool {
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// eachChangeSince calls fn, in version order, with each key of r the
// change log of txn records a write of after version v, until fn returns
// false.
func eachChangeSince(ctx context.Context, txn *badger.Txn, v uint64, r *KeyRange, fn func(key string) bool) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: []byte{keys.SpaceChange}})
	defer it.Close()
	for it.Seek(keys.ChangeKey(v + 1)); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var changes []keys.Change
		err := it.Item().Value(func(b []byte) error {
			var err error
			changes, err = keys.DecodeChanges(b)
			return err
		})
		if err != nil {
			return fmt.Errorf("vkv: change log: %w", err)
		}
		for _, ch := range changes {
			if r.Contains(ch.Key) && !fn(ch.Key) {
				return nil
			}
		}
	}
	return nil
}

// historyAt reads key at version v from its history: the newest entry not
// above v, ok false when there is none or it is a delete.
func historyAt(txn *badger.Txn, key string, v Version) (Entry, bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: keys.HistoryPrefix(key)})
	defer it.Close()
	it.Seek(keys.HistoryKey(key, uint64(v)))
	if !it.Valid() {
		return Entry{}, false, nil
	}
	e, err := decodeItem(it.Item(), key)
	if err != nil || e.Deleted {
		return Entry{}, false, err
	}
	return e, true, nil
}
