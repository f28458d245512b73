package vkv

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

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
	//
	// Transaction boundaries: the last change of each version under prefix
	// has TxnEnd set (a single write's change always has), so a consumer can
	// apply a transaction's changes together. A version's changes are never
	// split by anything else in the sequence.
	//
	// Progress: with WithProgressNotify or WithProgressRequests the sequence
	// also carries progress notifications, entries with Progress set, Key ""
	// and a Version V that promises that every change under prefix with a
	// version in (from, V] has already been yielded (so a consumer can
	// resume with Watch(prefix, V)), that V is a version the store has
	// reached, and that V is not below from, below the version of any change
	// already yielded, or below an earlier progress notification. V is at
	// least the store's version at the moment the notification was asked
	// for (the request was received, the interval passed), so a watcher
	// replaying a backlog gives it once the replay gets there; a watcher
	// whose from is ahead of the store gives none until the store gets
	// there. Without these options no progress notification is yielded,
	// so a consumer that asks for none sees only changes. (etcd's
	// clientv3.WithProgressNotify and Watcher.RequestProgress, Kubernetes'
	// bookmarks.)
	Watch(ctx context.Context, prefix string, from Version, opts ...WatchOption) iter.Seq2[Entry, error]
}

// WatchOptions holds the settings of one Watch. Implementations of Watcher
// build it from the options passed with NewWatchOptions; the zero value asks
// for nothing beyond the changes.
type WatchOptions struct {
	// ProgressEvery, if positive, asks for a progress notification every
	// ProgressEvery of the KV's Clock (Options.Clock on a Store): one each
	// time the interval passes, whether or not changes were delivered in
	// it, as soon as the watcher has delivered every change of the version
	// it reports.
	ProgressEvery time.Duration

	// ProgressRequests, if not nil, asks for one progress notification for
	// each value received from it, as soon as possible after the receive
	// (etcd's RequestProgress). Requests that arrive while one is pending
	// are answered together by one notification; once the channel is
	// closed, no more requests are read from it.
	ProgressRequests <-chan struct{}
}

// WatchOption sets one field of WatchOptions.
type WatchOption func(*WatchOptions)

// WithProgressNotify asks a Watch for a progress notification every d of
// the KV's clock; see WatchOptions.ProgressEvery and Watcher. d <= 0 asks
// for none.
func WithProgressNotify(d time.Duration) WatchOption {
	return func(o *WatchOptions) { o.ProgressEvery = d }
}

// WithProgressRequests asks a Watch for a progress notification each time a
// value is received from ch; see WatchOptions.ProgressRequests and Watcher.
func WithProgressRequests(ch <-chan struct{}) WatchOption {
	return func(o *WatchOptions) { o.ProgressRequests = ch }
}

// NewWatchOptions applies opts in order and returns the result.
func NewWatchOptions(opts ...WatchOption) WatchOptions {
	var o WatchOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// ProgressTicker delivers the progress requests of one Watch: those of
// WatchOptions.ProgressRequests and those of the ProgressEvery interval,
// timed on a Clock. Watcher implementations select on C. It is safe for
// concurrent use.
type ProgressTicker struct {
	// C receives a value when a progress notification is due; due
	// notifications not yet received are merged into one. It is nil (never
	// ready) when the options ask for no progress.
	C <-chan struct{}

	c     chan struct{}
	clock Clock
	every time.Duration
	done  chan struct{} // closed by Stop

	mu       sync.Mutex
	stopTick func() bool // cancels the pending periodic tick
	ended    bool
}

// NewProgressTicker starts delivering the progress requests o asks for;
// clock (nil means SystemClock) times o.ProgressEvery. Stop it when the
// watch ends.
func NewProgressTicker(o WatchOptions, clock Clock) *ProgressTicker {
	t := &ProgressTicker{clock: clock, every: o.ProgressEvery, done: make(chan struct{})}
	if o.ProgressEvery <= 0 && o.ProgressRequests == nil {
		t.ended = true
		return t
	}
	if t.clock == nil {
		t.clock = SystemClock
	}
	t.c = make(chan struct{}, 1)
	t.C = t.c
	t.mu.Lock()
	t.arm()
	t.mu.Unlock()
	if reqs := o.ProgressRequests; reqs != nil {
		go func() {
			for {
				select {
				case _, ok := <-reqs:
					if !ok {
						return
					}
					t.fire()
				case <-t.done:
					return
				}
			}
		}()
	}
	return t
}

// arm schedules the next periodic tick; t.mu is held.
func (t *ProgressTicker) arm() {
	if t.every <= 0 || t.ended {
		return
	}
	t.stopTick = t.clock.CallAt(t.clock.Now().Add(t.every), func() {
		// The next tick is scheduled before this one is delivered, so
		// that whoever sees it and moves a fake clock on finds the next
		// one waiting.
		t.mu.Lock()
		t.arm()
		t.mu.Unlock()
		t.fire()
	})
}

// fire makes a notification due.
func (t *ProgressTicker) fire() {
	select {
	case t.c <- struct{}{}:
	default:
	}
}

// Stop ends the deliveries. It is safe to call more than once.
func (t *ProgressTicker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	t.ended = true
	close(t.done)
	if t.stopTick != nil {
		t.stopTick()
	}
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
// Progress notifications are timed on Options.Clock. A notification is
// yielded after a read of the change log, once every change that read found
// has been yielded, with the version the read reached, and only once that
// read has reached the store's version at the time the notification was
// asked for: a watcher replaying a backlog gives it when the replay gets
// there.
func (s *Store) Watch(ctx context.Context, prefix string, from Version, opts ...WatchOption) iter.Seq2[Entry, error] {
	o := NewWatchOptions(opts...)
	return func(yield func(Entry, error) bool) {
		s.watchers.Add(1)
		defer s.watchers.Add(-1)
		ticker := NewProgressTicker(o, s.opts.Clock)
		defer ticker.Stop()
		cursor := uint64(from)
		// due is set while a progress notification is owed, target is the
		// store's version when it was asked for.
		var (
			due    bool
			target uint64
		)
		owe := func() {
			if !due {
				due, target = true, s.current.Load()
			}
		}
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
			caughtUp := next <= cursor
			cursor = max(cursor, next)
			select {
			case <-ticker.C:
				owe()
			default:
			}
			// The notification waits until the read has reached the
			// version the store had when it was asked for; a from in the
			// future is not a version the store has reached: none until it
			// has.
			if due && cursor >= target && cursor <= s.current.Load() {
				due = false
				if !yield(Entry{Version: Version(cursor), Progress: true}, nil) {
					return
				}
			}
			if !caughtUp || due && cursor < target {
				continue // there may be more to read
			}
			select {
			case <-wake:
			case <-ticker.C:
				owe()
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
		if len(out) > 0 && out[len(out)-1].Version == Version(v) {
			out[len(out)-1].TxnEnd = true
		}
		next = v
		n++
	}
	return out, next, nil
}
