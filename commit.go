package vkv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/badgerfmt"
	"github.com/vkvstore/vkv/internal/keys"
)

// The committer.
//
// Every write is a request on s.queue. One goroutine takes as many queued
// requests as there are, checks each one's conditions in order against the
// latest state (which includes the writes of the requests before it in the
// same batch), gives each successful request the next version, and commits the
// whole batch, together with the new value of the version counter, in one
// Badger transaction: one fsync for many writes (etcd's batched backend does
// the same). Replies, failed conditions included, are sent only after the
// commit, so no answer reveals a write that is not yet durable.
//
// A writer that finds the committer idle and nothing queued commits its own
// request in its goroutine, holding the same lock (commitInline): a lone
// writer then waits for no hand-off between goroutines, which on a small
// machine costs more than the work. Either way one committer at a time.
//
// Because only the committer writes user data, Badger never sees a
// conflicting transaction and CAS results are deterministic.
//
// Every version handed out has a change-log entry, written in the same Badger
// transaction as the writes it numbers (empty if they changed nothing), and
// the compactor never removes the newest one: the newest change-log entry is
// the version counter, so the counter cannot go back.

// maxBatchRequests bounds how many requests one commit takes.
const maxBatchRequests = 4096

// Request states: a caller whose context ends while its request is still
// queued marks it cancelled, and the committer skips it, so a write that
// returns a context error was not applied.
const (
	stateQueued int32 = iota
	stateTaken
	stateCancelled
)

type condition struct {
	key     string
	version Version
	// rng, if set, makes this a range condition (see TxnCondition and
	// checkRange), count the live keys the range held at version.
	rng   *KeyRange
	count int
}

type writeOp struct {
	key       string
	value     []byte // owned by the request
	del       bool
	mustExist bool // Delete and CompareAndDelete: ErrNotFound if absent
	ttl       time.Duration
	keepTTL   bool // keep the live key's expiry (WithKeepTTL)
}

type request struct {
	conds []condition
	ops   []writeOp

	// expireKey, if set, makes this a reaper request: delete expireKey as an
	// expiry if its entry is still the one at expireVersion and has expired;
	// expireAt names its expiry-index key.
	expireKey     string
	expireVersion uint64
	expireAt      int64

	// costCount and costSize bound the Badger entries the request may add;
	// diskBytes estimates what it writes to disk, value log included.
	costCount, costSize, diskBytes int64

	state atomic.Int32
	done  chan result
}

// failure is one failed condition.
type failure struct {
	cond    condition
	key     string // the key that failed: cond.key, or a key of cond.rng
	actual  Version
	current *Entry
}

type result struct {
	version  Version
	err      error
	failures []failure
	// written is the latest entry of the request's last put, without its
	// value: what WriteOptions.Written reports.
	written keys.Record
}

// conflictError turns failures into a *ConflictError.
func conflictError(fs []failure) *ConflictError {
	cs := make([]Conflict, len(fs))
	for i, f := range fs {
		cs[i] = Conflict{Key: f.key, Expected: f.cond.version, Actual: f.actual, Current: f.current, Range: f.cond.rng}
	}
	return NewConflictError(cs)
}

// cost sets r.costCount and r.costSize to an upper bound of the entries the
// request adds to a Badger transaction, counted as Badger counts them
// (badgerfmt.EntryCost), and fails if one transaction could not hold it.
//
// The bound holds whatever state the request meets, since cost runs before
// the committer reads it: each written key is counted as if it had expired
// unreaped (a tombstone with its own change-log entry) and as if it also
// had a TTL to replace, which cannot both happen. For long keys the bound is
// about three times what a put of a new key without a TTL writes. The
// committer does not count the entry Badger starts every transaction with
// (badgerfmt.TxnStartCount and TxnStartSize): each request's bound has room
// for it, which TestCostBoundsBadger checks.
func (s *Store) cost(r *request) error {
	var n, size int64
	change := 0
	add := func(keyLen, valLen int) {
		n++
		size += badgerfmt.EntryCost(keyLen, valLen, s.valueThreshold)
	}
	expiry := func(k int) { // tombstone for an expired key, own version
		add(keys.LatestKeyExtra+k, 0)
		add(keys.HistoryKeyExtra+k, keys.RecordHeader)
		add(keys.ExpiryKeyExtra+k, 0)
		add(keys.ChangeKeyLen, keys.MaxChangeExtra+k)
	}
	if r.expireKey != "" {
		expiry(len(r.expireKey))
	}
	for _, op := range r.ops {
		k := len(op.key)
		expiry(k)
		add(keys.LatestKeyExtra+k, keys.RecordHeader+len(op.value))
		add(keys.HistoryKeyExtra+k, keys.RecordHeader+len(op.value))
		add(keys.ExpiryKeyExtra+k, 0) // the old expiry's index entry
		add(keys.ExpiryKeyExtra+k, 8) // the new one, holding the version
		change += keys.MaxChangeExtra + k
	}
	add(keys.ChangeKeyLen, change)
	r.costCount, r.costSize, r.diskBytes = n, size, size
	for _, op := range r.ops {
		r.diskBytes += 2 * int64(len(op.value))
	}
	if badgerfmt.TooBig(n, size, s.maxBatchCount, s.maxBatchSize) {
		return &LimitError{Err: ErrTxnTooLarge, Size: int(size), Limit: int(s.maxBatchSize)}
	}
	return nil
}

// submit queues r and waits for its result.
func (s *Store) submit(ctx context.Context, r *request) result {
	if err := s.cost(r); err != nil {
		return result{err: err}
	}
	r.done = make(chan result, 1)
	if res, ok := s.commitInline(ctx, r); ok {
		return res
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	select {
	case res := <-r.done:
		return res
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateCancelled) {
			return result{err: ctx.Err()}
		}
		// The committer has it: the answer is moments away and definite.
		return <-r.done
	}
}

// commitInline commits r in the caller's goroutine when the committer is
// idle and nothing is queued: a lone writer then pays no hand-off to the
// committer goroutine and back. ok is false when r must be queued.
func (s *Store) commitInline(ctx context.Context, r *request) (res result, ok bool) {
	if s.committing.Load() || len(s.queue) > 0 || !s.commitMu.TryLock() {
		return result{}, false
	}
	defer s.commitMu.Unlock()
	if err := ctx.Err(); err != nil {
		return result{err: err}, true
	}
	batch := [1]*request{r}
	s.commitBatch(batch[:])
	return <-r.done, true
}

func (s *Store) commitLoop() {
	defer s.bg.Done()
	batch := make([]*request, 0, 64)
	for {
		select {
		case r := <-s.queue:
			batch = append(batch[:0], r)
		case <-s.stop:
			return
		}
		s.committing.Store(true)
		s.commitMu.Lock()
	drain:
		for len(batch) < maxBatchRequests {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commitBatch(batch)
		s.commitMu.Unlock()
		s.committing.Store(false)
		clear(batch)
	}
}

// pendingReply is a result held back until its batch commits.
type pendingReply struct {
	r   *request
	res result
}

// batchTxn is one Badger transaction of the committer.
type batchTxn struct {
	txn         *badger.Txn
	count, size int64
	next        uint64 // the newest version given in this transaction
	now         time.Time
	replies     []pendingReply
	ttl         bool // a write with an expiry was made
	dirty       bool // writes were made that do not take a version
	entries     int  // entries added to txn, to tell a request that wrote part of itself
}

// set adds key=value to b's Badger transaction.
func (s *Store) set(b *batchTxn, key, value []byte) error {
	if s.failSet != nil {
		if err := s.failSet(key); err != nil {
			return err
		}
	}
	b.entries++
	return b.txn.Set(key, value)
}

// del adds a delete of key to b's Badger transaction.
func (s *Store) del(b *batchTxn, key []byte) error {
	if s.failSet != nil {
		if err := s.failSet(key); err != nil {
			return err
		}
	}
	b.entries++
	return b.txn.Delete(key)
}

func (s *Store) newBatchTxn(now time.Time) *batchTxn {
	return &batchTxn{
		txn:  s.db.NewTransaction(true),
		next: s.current.Load(),
		now:  now,
	}
}

// spaceCheckInterval bounds how often the committer asks the file system
// for its free space.
const spaceCheckInterval = 100 * time.Millisecond

// checkSpace refreshes the free-space guard when it is due and returns the
// error writes get while space is short.
func (s *Store) checkSpace() error {
	if s.minFree == 0 {
		return nil
	}
	if s.opts.Clock.Now().Sub(s.lastSpaceCheck) >= spaceCheckInterval || s.writtenSinceCheck >= s.minFree/4 {
		err := checkFreeSpace(s.dir, s.minFree)
		if err != nil && s.lowSpace == nil {
			s.log.l.Error("vkv: refusing writes: disk space low", "err", err)
		} else if err == nil && s.lowSpace != nil {
			s.log.l.Info("vkv: disk space recovered; accepting writes")
		}
		s.lowSpace = err
		s.lastSpaceCheck = s.opts.Clock.Now()
		s.writtenSinceCheck = 0
	}
	return s.lowSpace
}

func (s *Store) commitBatch(batch []*request) {
	if err := s.checkSpace(); err != nil {
		for _, r := range batch {
			if r.state.CompareAndSwap(stateQueued, stateTaken) {
				s.stats.refused.Add(1)
				r.done <- result{err: err}
			}
		}
		return
	}
	taken := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(stateQueued, stateTaken) { // else cancelled while queued
			taken = append(taken, r)
			s.writtenSinceCheck += r.diskBytes
		}
	}
	now := s.opts.Clock.Now()
	for len(taken) > 0 {
		taken = taken[s.commitSome(taken, now):]
	}
}

// commitSome commits the longest prefix of reqs that fits in one Badger
// transaction, and returns its length (at least 1).
//
// A request's entries reach Badger only if the whole request applied. A
// request can fail after some of its entries were added to the transaction
// (Badger refuses an entry, a read fails), and a Badger transaction cannot
// take entries back. Then the whole transaction is discarded and the prefix
// applied again from the start, with the failed request answered with its
// error and skipped: the requests before it are applied to the same state as
// before (the committed store, the same clock reading) and get the same
// answers. Each rerun skips one more request, so a prefix is rerun at most
// once per request in it. Failing after a partial write means a bug or an
// option combination Open should have refused, so reruns are rare; they are
// counted in Stats.Redone.
func (s *Store) commitSome(reqs []*request, now time.Time) int {
	var failed map[*request]result // requests answered with an error and skipped
	for {
		b := s.newBatchTxn(now)
		n, partial := s.applySome(b, reqs, failed)
		if partial == nil {
			s.finish(b)
			return n
		}
		// partial.r wrote part of itself: nothing of b may be committed.
		b.txn.Discard()
		s.latest.reset() // it holds writes of b
		s.stats.redone.Add(1)
		if partial.index > 0 {
			s.stats.redoneShared.Add(1)
		}
		if failed == nil {
			failed = make(map[*request]result)
		}
		failed[partial.r] = partial.res
	}
}

// partialFailure is a request that failed after adding entries to its
// batch, index its place in the batch.
type partialFailure struct {
	r     *request
	res   result
	index int
}

// applySome applies requests of reqs to b, in order, as long as they fit in
// one Badger transaction, and returns how many it took. Requests in failed
// are answered with their recorded result without being applied. If a
// request fails after adding entries to b, applySome stops and returns it
// with its result: b must then be discarded.
func (s *Store) applySome(b *batchTxn, reqs []*request, failed map[*request]result) (n int, partial *partialFailure) {
	for i, r := range reqs {
		if i > 0 && badgerfmt.TooBig(b.count+r.costCount, b.size+r.costSize, s.maxBatchCount, s.maxBatchSize) {
			return i, nil
		}
		b.count += r.costCount
		b.size += r.costSize
		if res, ok := failed[r]; ok {
			b.replies = append(b.replies, pendingReply{r, res})
			continue
		}
		mark := b.entries
		res := s.apply(b, r)
		if res.err != nil && b.entries != mark {
			return i, &partialFailure{r: r, res: res, index: i}
		}
		b.replies = append(b.replies, pendingReply{r, res})
	}
	return len(reqs), nil
}

// finish commits b and sends its replies.
func (s *Store) finish(b *batchTxn) {
	defer b.txn.Discard()
	var err error
	if b.next != s.current.Load() || b.dirty {
		err = b.txn.Commit()
	}
	if err != nil {
		s.log.l.Error("vkv: commit failed", "err", err, "writes", len(b.replies))
		// The cache holds this batch's writes, which Badger did not take.
		s.latest.reset()
		err = fmt.Errorf("vkv: commit: %w", err)
		for _, p := range b.replies {
			p.r.done <- result{err: err}
		}
		return
	}
	s.current.Store(b.next)
	s.notifyWatchers()
	s.stats.batch(len(b.replies))
	for _, p := range b.replies {
		switch {
		case p.res.failures != nil:
			s.stats.conflicts.Add(1)
		case p.res.err != nil:
		case p.r.expireKey != "":
			if p.res.version != 0 {
				s.stats.expired.Add(1)
			}
		default:
			s.stats.writes.Add(1)
		}
		p.r.done <- p.res
	}
	if b.ttl {
		select {
		case s.reapWake <- struct{}{}:
		default:
		}
	}
}

// readRaw reads the stored record under the latest-entry key lk in the
// committer's transaction, expired or not, without its value (state.entry
// reads the value when a conflict needs it). item is nil when the key has no
// latest entry.
func readRaw(txn *badger.Txn, lk []byte) (rec keys.Record, item *badger.Item, err error) {
	item, err = txn.Get(lk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return keys.Record{}, nil, nil
	}
	if err != nil {
		return keys.Record{}, nil, err
	}
	err = item.Value(func(b []byte) error {
		r, err := keys.DecodeRecord(b)
		r.Value = nil
		rec = r
		return err
	})
	if err != nil {
		return keys.Record{}, nil, fmt.Errorf("vkv: key %q: %w", lk[1:], err)
	}
	return rec, item, nil
}

// state is a key as the committer found it.
type state struct {
	key      string
	lk       []byte // its latest-entry key
	rec      keys.Record
	hasValue bool         // rec.Value is the value (this request wrote it)
	item     *badger.Item // where rec was read, if read from Badger
	exists   bool         // a latest entry is stored
	expired  bool         // ... but it has expired
}

// entry returns the live entry of st, value included, reading the value
// through txn when st does not hold it.
func (st *state) entry(txn *badger.Txn) (*Entry, error) {
	e := recordEntry(st.key, st.rec)
	if st.hasValue {
		e.Value = append([]byte{}, st.rec.Value...)
		return &e, nil
	}
	item := st.item
	if item == nil {
		var err error
		if item, err = txn.Get(st.lk); err != nil {
			return nil, fmt.Errorf("vkv: key %q: %w", st.key, err)
		}
	}
	err := item.Value(func(b []byte) error {
		r, err := keys.DecodeRecord(b)
		e.Value = append([]byte{}, r.Value...)
		return err
	})
	return &e, err
}

// states holds the keys one request touches, read once each.
type states struct {
	s    *Store
	b    *batchTxn
	list []state
	// index finds a key's place in list once list is longer than
	// statesScan: a scan of every key per lookup made a transaction of n
	// writes cost n²/2 key comparisons in the committer.
	index map[string]int
}

// statesScan is the longest list of states lookup scans.
const statesScan = 16

func (ss *states) lookup(key string) (*state, error) {
	if ss.index != nil {
		if i, ok := ss.index[key]; ok {
			return &ss.list[i], nil
		}
	} else {
		for i := range ss.list {
			if ss.list[i].key == key {
				return &ss.list[i], nil
			}
		}
	}
	lk := keys.LatestKey(key)
	st := state{key: key, lk: lk}
	if c, ok := ss.s.latest.get(key); ok {
		st.rec, st.exists = c.record(), c.exists
	} else {
		rec, item, err := readRaw(ss.b.txn, lk)
		if err != nil {
			return nil, err
		}
		st.rec, st.item, st.exists = rec, item, item != nil
		ss.s.latest.put(key, rec, st.exists)
	}
	st.expired = st.exists && st.rec.ExpiresAt != 0 && ss.b.now.UnixNano() >= st.rec.ExpiresAt
	ss.list = append(ss.list, st)
	n := len(ss.list)
	switch {
	case ss.index != nil:
		ss.index[key] = n - 1
	case n > statesScan:
		ss.index = make(map[string]int, cap(ss.list))
		for i := range ss.list {
			ss.index[ss.list[i].key] = i
		}
	}
	return &ss.list[n-1], nil
}

func (st *state) live() bool { return st.exists && !st.expired }

func (st *state) version() Version {
	if st.live() {
		return Version(st.rec.Version)
	}
	return 0
}

// apply checks r against the latest state and, if its conditions hold, adds
// its writes to b.
func (s *Store) apply(b *batchTxn, r *request) result {
	if r.expireKey != "" {
		return s.applyExpire(b, r)
	}
	// Reads of this request, by key; a request touches few keys. All are
	// looked up before anything is written, so the pointers stay valid.
	var stack [2]state
	ss := states{s: s, b: b, list: stack[:0]}
	if n := len(r.conds) + len(r.ops); n > len(stack) {
		ss.list = make([]state, 0, n)
	}

	var fails []failure
	for _, c := range r.conds {
		if c.rng != nil {
			f, err := s.checkRange(b, c)
			if err != nil {
				return result{err: err}
			}
			if f != nil {
				fails = append(fails, *f)
			}
			continue
		}
		st, err := ss.lookup(c.key)
		if err != nil {
			return result{err: err}
		}
		if actual := st.version(); actual != c.version {
			f := failure{cond: c, key: c.key, actual: actual}
			if st.live() {
				if f.current, err = st.entry(b.txn); err != nil {
					return result{err: err}
				}
			}
			fails = append(fails, f)
		}
	}
	if fails != nil {
		return result{failures: fails}
	}
	for _, op := range r.ops {
		st, err := ss.lookup(op.key)
		if err != nil {
			return result{err: err}
		}
		if op.mustExist && !st.live() {
			return result{err: notFound(op.key)}
		}
	}
	if len(r.ops) == 0 {
		return result{version: Version(b.next)}
	}

	// Keys that expired but were not reaped yet get their expiry recorded
	// first, each under its own version, so history and the change log show
	// the key going away before it is written again.
	for i := range ss.list {
		st := &ss.list[i]
		if st.expired && r.writes(st.key) {
			b.next++
			if err := s.writeExpiry(b, st.key, st.lk, st.rec, b.next); err != nil {
				return result{err: err}
			}
		}
	}
	v := b.next + 1
	var change []byte
	for _, op := range r.ops {
		st, _ := ss.lookup(op.key)
		var err error
		if op.del {
			if !st.live() {
				continue
			}
			change = keys.AppendChange(change, op.key, true)
			err = s.writeTombstone(b, op.key, st.lk, st.rec, v)
		} else {
			change = keys.AppendChange(change, op.key, false)
			err = s.writePut(b, op, st, v)
		}
		if err != nil {
			return result{err: err}
		}
	}
	if err := s.set(b, keys.ChangeKey(v), change); err != nil {
		return result{err: err}
	}
	b.next = v
	res := result{version: Version(v)}
	if last := r.ops[len(r.ops)-1]; !last.del {
		st, _ := ss.lookup(last.key)
		res.written = st.rec
		res.written.Value = nil
	}
	return res
}

// writes reports whether r writes key.
func (r *request) writes(key string) bool {
	for _, op := range r.ops {
		if op.key == key {
			return true
		}
	}
	return false
}

func (s *Store) writePut(b *batchTxn, op writeOp, st *state, v uint64) error {
	rec := keys.Record{Version: v, CreateVersion: v, Value: op.value}
	if st.live() {
		rec.CreateVersion = st.rec.CreateVersion
	}
	switch {
	case op.ttl > 0:
		rec.ExpiresAt = b.now.Add(op.ttl).UnixNano()
		b.ttl = true
	case op.keepTTL && st.live():
		rec.ExpiresAt = st.rec.ExpiresAt
	}
	enc := keys.AppendRecord(make([]byte, 0, keys.RecordHeader+len(op.value)), rec)
	if err := s.set(b, st.lk, enc); err != nil {
		return err
	}
	if err := s.set(b, keys.HistoryKey(op.key, v), enc); err != nil {
		return err
	}
	if st.live() && st.rec.ExpiresAt != 0 && st.rec.ExpiresAt != rec.ExpiresAt {
		if err := s.del(b, keys.ExpiryKey(st.rec.ExpiresAt, op.key)); err != nil {
			return err
		}
	}
	if rec.ExpiresAt != 0 {
		if err := s.set(b, keys.ExpiryKey(rec.ExpiresAt, op.key), binary.BigEndian.AppendUint64(nil, v)); err != nil {
			return err
		}
	}
	// The state now is the new entry, for later ops of the same request
	// and later requests of the batch.
	st.rec, st.hasValue, st.item, st.exists, st.expired = rec, true, nil, true, false
	s.latest.put(op.key, rec, true)
	return nil
}

// writeTombstone deletes key at version v, recording a tombstone in history.
func (s *Store) writeTombstone(b *batchTxn, key string, lk []byte, old keys.Record, v uint64) error {
	if err := s.del(b, lk); err != nil {
		return err
	}
	s.latest.put(key, keys.Record{}, false)
	tomb := keys.Record{Tombstone: true, Version: v, CreateVersion: old.CreateVersion}
	if err := s.set(b, keys.HistoryKey(key, v), keys.AppendRecord(nil, tomb)); err != nil {
		return err
	}
	if old.ExpiresAt != 0 {
		return s.del(b, keys.ExpiryKey(old.ExpiresAt, key))
	}
	return nil
}

// writeExpiry records the expiry of key as a delete at version v with its
// own change-log entry.
func (s *Store) writeExpiry(b *batchTxn, key string, lk []byte, old keys.Record, v uint64) error {
	if err := s.writeTombstone(b, key, lk, old, v); err != nil {
		return err
	}
	return s.set(b, keys.ChangeKey(v), keys.AppendChange(nil, key, true))
}

// applyExpire handles a reaper request.
func (s *Store) applyExpire(b *batchTxn, r *request) result {
	lk := keys.LatestKey(r.expireKey)
	rec, item, err := readRaw(b.txn, lk)
	if err != nil {
		return result{err: err}
	}
	ok := item != nil
	if ok && rec.Version == r.expireVersion && rec.ExpiresAt != 0 && b.now.UnixNano() >= rec.ExpiresAt {
		b.next++
		if err := s.writeExpiry(b, r.expireKey, lk, rec, b.next); err != nil {
			return result{err: err}
		}
		return result{version: Version(b.next)}
	}
	// The entry was rewritten or deleted since; its index entry is stale.
	if !ok || rec.ExpiresAt != r.expireAt {
		b.dirty = true
		if err := s.del(b, keys.ExpiryKey(r.expireAt, r.expireKey)); err != nil {
			return result{err: err}
		}
	}
	return result{}
}

// latestCache remembers the latest entries (without values) of keys the
// committer read or wrote recently, so that conditions on hot keys are
// checked without a Badger read, the largest cost of a batch in CPU
// profiles. Only the committer writes latest entries, so the cache stays
// exact as long as every write updates it; it is reset when a commit fails.
// Only the committer uses it, under Store.commitMu.
type latestCache struct {
	m   map[string]cachedLatest
	max int
}

// cachedLatest is a latest entry without its value; 32 bytes.
type cachedLatest struct {
	version, createVersion uint64
	expiresAt              int64
	exists                 bool
}

func (c cachedLatest) record() keys.Record {
	return keys.Record{Version: c.version, CreateVersion: c.createVersion, ExpiresAt: c.expiresAt}
}

func newLatestCache(n int) latestCache {
	return latestCache{m: make(map[string]cachedLatest), max: n}
}

func (c *latestCache) get(key string) (cachedLatest, bool) {
	e, ok := c.m[key]
	return e, ok
}

func (c *latestCache) put(key string, rec keys.Record, exists bool) {
	if c.max <= 0 {
		return
	}
	if _, ok := c.m[key]; !ok {
		if len(c.m) >= c.max {
			for k := range c.m { // an arbitrary entry: map order is random
				delete(c.m, k)
				break
			}
		}
		// The caller's key may share memory with a larger buffer (a
		// request); keep only the key.
		key = strings.Clone(key)
	}
	c.m[key] = cachedLatest{version: rec.Version, createVersion: rec.CreateVersion, expiresAt: rec.ExpiresAt, exists: exists}
}

func (c *latestCache) reset() { clear(c.m) }
