package vkv

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/keys"
)

// Watcher is implemented by KVs that deliver a change feed. *Store
// implements it.
type Watcher interface {
	// Watch returns every change to keys under prefix ("" for all keys)
	// with a version above from, in version order, without gaps or
	// duplicates: first the changes already committed, replayed from the
	// change log, then new ones as they commit. Each change is an Entry: a
	// put carries the new value; a delete, or the recorded expiry of a key,
	// has Deleted set. The changes of one transaction share a version and
	// come in the order the transaction made them.
	//
	// The sequence ends when ctx is done (with ctx's error), when the store
	// closes (ErrClosed), or when the watcher falls so far behind that the
	// changes it has not seen were compacted away (*CompactedError, whose
	// Oldest is the oldest kept version, as for GetAt: the lowest from that
	// Watch then accepts is Oldest-1); a from below the kept history fails
	// the same way at once. An error is the last value of the sequence. A watcher reads the change log at its own pace and never
	// slows writers.
	Watch(ctx context.Context, prefix string, from Version) iter.Seq2[Entry, error]
}

var _ Watcher = (*Store)(nil)

// watchBatch bounds how many change-log entries one read of a watcher takes.
const watchBatch = 256

// notifyWatchers wakes every waiting watcher; the committer calls it after
// each commit.
func (s *Store) notifyWatchers() {
	if s.watchers.Load() == 0 {
		return
	}
	ch := make(chan struct{})
	old := s.commits.Swap(&ch)
	close(*old)
}

// Watch returns the changes under prefix after version from; see Watcher.
func (s *Store) Watch(ctx context.Context, prefix string, from Version) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		s.watchers.Add(1)
		defer s.watchers.Add(-1)
		cursor := uint64(from)
		for {
			// Take the notification channel before reading, so that a
			// commit after the read wakes the wait below.
			wake := *s.commits.Load()
			events, next, err := s.readChanges(ctx, prefix, cursor)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range events {
				if !yield(e, nil) {
					return
				}
			}
			if next > cursor {
				cursor = next
				continue // there may be more to read
			}
			select {
			case <-wake:
			case <-ctx.Done():
				yield(Entry{}, ctx.Err())
				return
			case <-s.stop:
				yield(Entry{}, ErrClosed)
				return
			}
		}
	}
}

// readChanges reads up to watchBatch change-log entries after version
// cursor and returns the changes under prefix and the version it read up to
// (cursor itself when nothing newer is committed).
func (s *Store) readChanges(ctx context.Context, prefix string, cursor uint64) ([]Entry, uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, cursor, err
	}
	defer s.exit()
	if cursor >= s.current.Load() {
		return nil, cursor, nil
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	// As in GetAt: the mark is raised before anything is deleted, so a mark
	// read after the snapshot covers everything the snapshot lacks.
	if oldest := s.compacted.Load(); cursor+1 < oldest {
		return nil, cursor, &CompactedError{Requested: Version(cursor), Oldest: Version(oldest)}
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: []byte{keys.SpaceChange}})
	defer it.Close()
	var out []Entry
	next := cursor
	n := 0
	for it.Seek(keys.ChangeKey(cursor + 1)); it.Valid() && n < watchBatch; it.Next() {
		v, err := keys.ParseChange(it.Item().Key())
		if err != nil {
			return nil, cursor, err
		}
		var changes []keys.Change
		if err := it.Item().Value(func(b []byte) error {
			changes, err = keys.DecodeChanges(b)
			return err
		}); err != nil {
			return nil, cursor, fmt.Errorf("vkv: change log at %d: %w", v, err)
		}
		for _, c := range changes {
			if !strings.HasPrefix(c.Key, prefix) {
				continue
			}
			item, err := txn.Get(keys.HistoryKey(c.Key, v))
			if errors.Is(err, badger.ErrKeyNotFound) {
				// Compaction deletes history only below the mark, checked
				// above: a change without its history entry is damage.
				err = fmt.Errorf("%w: no history entry for the change", ErrCorrupt)
			}
			if err != nil {
				return nil, cursor, fmt.Errorf("vkv: history of %q at %d: %w", c.Key, v, err)
			}
			e, err := decodeItem(item, c.Key)
			if err != nil {
				return nil, cursor, err
			}
			out = append(out, e)
		}
		next = v
		n++
	}
	return out, next, nil
}
