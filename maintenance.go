package vkv

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/keys"
)

// Background work: the reaper turns expired keys into real deletes, the
// compactor trims history to the retention window, and value-log GC
// reclaims space. All three stop when the store closes.

func (s *Store) startMaintenance() {
	s.bg.Add(1)
	go s.compactLoop()
	if !s.opts.noReap {
		s.bg.Add(1)
		go s.reapLoop()
	}
	if !s.opts.InMemory {
		s.bg.Add(1)
		go s.gcLoop()
	}
}

// reapLoop runs reap when a write with a TTL commits and whenever the next
// known expiry is due, on Options.Clock (so that advancing a fake clock wakes
// it), and at least every defaultReapInterval of that clock.
func (s *Store) reapLoop() {
	defer s.bg.Done()
	stop := func() bool { return false }
	defer func() { stop() }()
	wake := func() {
		select {
		case s.reapWake <- struct{}{}:
		default:
		}
	}
	for {
		now := s.opts.Clock.Now()
		next := s.reap(now)
		// The wake-up is set at an absolute time: if the clock passes next
		// while reap runs, it fires at once instead of a full wait later.
		at := now.Add(defaultReapInterval)
		if !next.IsZero() && next.Before(at) {
			at = next
		}
		stop()
		stop = s.opts.Clock.CallAt(at, wake)
		select {
		case <-s.stop:
			return
		case <-s.reapWake:
		}
	}
}

// reap submits an expiry request for every key expired at now (up to a
// batch) and returns when the next known expiry is due (zero if none is
// known).
func (s *Store) reap(now time.Time) (next time.Time) {
	const maxPerRound = 1000
	var reqs []*request
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: []byte{keys.SpaceExpiry}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			at, key, err := keys.ParseExpiry(it.Item().Key())
			if err != nil {
				return err
			}
			if at > now.UnixNano() || len(reqs) == maxPerRound {
				next = time.Unix(0, at)
				return nil
			}
			var v uint64
			if err := it.Item().Value(func(b []byte) error {
				if len(b) == 8 {
					v = binary.BigEndian.Uint64(b)
				}
				return nil
			}); err != nil {
				return err
			}
			r := &request{expireKey: key, expireVersion: v, expireAt: at, done: make(chan result, 1)}
			if err := s.cost(r); err != nil {
				return err
			}
			reqs = append(reqs, r)
		}
		return nil
	})
	if err != nil {
		s.log.l.Error("vkv: reaper scan failed", "err", err)
		return now.Add(defaultReapInterval)
	}
	for _, r := range reqs {
		select {
		case s.queue <- r:
		case <-s.stop:
			return time.Time{}
		}
	}
	for _, r := range reqs {
		select {
		case res := <-r.done:
			if res.err != nil {
				s.log.l.Error("vkv: expiring key failed", "key", r.expireKey, "err", res.err)
			}
		case <-s.stop:
			return time.Time{}
		}
	}
	if len(reqs) == maxPerRound {
		return now // more are due
	}
	return next
}

func (s *Store) compactLoop() {
	defer s.bg.Done()
	if s.opts.HistoryVersions == KeepAllHistory {
		return
	}
	// Real time, not Options.Clock: the interval paces work and decides
	// nothing a caller sees (Compact runs a pass on demand).
	every := defaultCompactInterval
	if s.opts.compactEvery > 0 {
		every = s.opts.compactEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.compact(); err != nil {
				s.log.l.Error("vkv: history compaction failed", "err", err)
			}
		}
	}
}

// Compact trims history to the retention window now, as the background
// pass does every 10 seconds: afterwards reads and watches below
// OldestVersion fail with ErrCompacted. With KeepAllHistory it does nothing.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	if s.opts.HistoryVersions == KeepAllHistory {
		return nil
	}
	return s.compact()
}

// compact trims history to the retention window. The new mark is made
// durable and visible before anything is deleted, so that a read either sees
// the mark and fails with ErrCompacted or reads a snapshot that still has the
// data (see GetAt).
//
// For each change (k, v) older than the mark, every older history entry of k
// is deleted (v supersedes it), and so is v itself if it is a tombstone: no
// read at or after the mark can need it. This keeps, for every key, its
// newest entry older than the mark, so GetAt answers for any version from the
// mark on. A crash part-way leaves entries that the next pass removes.
//
// One pass runs at a time, under s.compactMu: Compact and the background
// loop both come here. The mark is read, compared, stored in Badger and
// published under it, so it only ever moves forward, on disk and in memory
// (etcd's updateCompactRev does the same under its revMu).
func (s *Store) compact() error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	cur := s.current.Load()
	if cur <= s.opts.HistoryVersions {
		return nil
	}
	target := cur - s.opts.HistoryVersions + 1
	if target > s.compacted.Load() {
		err := s.db.Update(func(txn *badger.Txn) error {
			return txn.Set(keys.CompactedMark, binary.BigEndian.AppendUint64(nil, target))
		})
		if err != nil {
			return err
		}
		s.compacted.Store(target)
	}
	return s.collect(s.compacted.Load())
}

// collect deletes history and change-log entries that versions before mark
// made unreachable.
func (s *Store) collect(mark uint64) error {
	for {
		done, err := s.collectChunk(mark)
		if err != nil || done {
			return err
		}
	}
}

// collectChunkSize bounds the change-log entries one collection step reads,
// and so the keys it holds in memory.
const collectChunkSize = 10_000

// collectChunk collects up to collectChunkSize change-log entries below mark
// and reports whether none are left. Only the newest change of each key in
// the chunk matters (it supersedes the older ones), so each key's history is
// read once per chunk: the work is linear in the entries removed, however
// many versions one key has.
func (s *Store) collectChunk(mark uint64) (done bool, err error) {
	type newest struct {
		v       uint64
		deleted bool
	}
	latest := map[string]newest{}
	var changeKeys [][]byte
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: []byte{keys.SpaceChange}})
		defer it.Close()
		done = true
		for it.Rewind(); it.Valid(); it.Next() {
			select {
			case <-s.stop:
				return nil
			default:
			}
			v, err := keys.ParseChange(it.Item().Key())
			if err != nil {
				return err
			}
			// The newest entry is the version counter: never delete it.
			if v >= mark || v >= s.current.Load() {
				break
			}
			if len(changeKeys) == collectChunkSize {
				done = false
				break
			}
			var changes []keys.Change
			if err := it.Item().Value(func(b []byte) error {
				changes, err = keys.DecodeChanges(b)
				return err
			}); err != nil {
				return err
			}
			for _, c := range changes {
				latest[c.Key] = newest{v: v, deleted: c.Deleted}
			}
			changeKeys = append(changeKeys, it.Item().KeyCopy(nil))
		}
		for key, n := range latest {
			if err := s.collectKey(txn, wb, keys.Change{Key: key, Deleted: n.deleted}, n.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, k := range changeKeys {
		if err := wb.Delete(k); err != nil {
			return false, err
		}
	}
	if err := wb.Flush(); err != nil {
		return false, err
	}
	select {
	case <-s.stop:
		return true, nil
	default:
	}
	return done, nil
}

// collectKey deletes the history entries of c.Key older than v, and the one
// at v too if it is a tombstone.
func (s *Store) collectKey(txn *badger.Txn, wb *badger.WriteBatch, c keys.Change, v uint64) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: keys.HistoryPrefix(c.Key)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		_, hv, err := keys.ParseHistory(it.Item().Key())
		if err != nil {
			return err
		}
		if hv > v || (hv == v && !c.Deleted) {
			break
		}
		if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) gcLoop() {
	defer s.bg.Done()
	// Real time, not Options.Clock, as in compactLoop.
	t := time.NewTicker(defaultGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for s.db.RunValueLogGC(0.5) == nil {
				select {
				case <-s.stop:
					return
				default:
				}
			}
		}
	}
}
