package vkv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/txnengine"
)

// maxTxnAttempts is the default of TxnEngineOptions.MaxAttempts.
const maxTxnAttempts = 64

func (s *Store) checkKey(key string) error { return s.Limits().CheckKey(key) }

func (s *Store) newPut(key string, value []byte, opts []WriteOption) (writeOp, *Entry, error) {
	l := s.Limits()
	if err := l.CheckKey(key); err != nil {
		return writeOp{}, nil, err
	}
	if err := l.CheckValue(key, value); err != nil {
		return writeOp{}, nil, err
	}
	var wo WriteOptions
	if len(opts) > 0 {
		wo = NewWriteOptions(opts...)
		if err := wo.Check(); err != nil {
			return writeOp{}, nil, err
		}
	}
	// Copy: the caller may reuse value once the call returns, and the
	// committer holds it until the commit.
	return writeOp{key: key, value: append(make([]byte, 0, len(value)), value...), ttl: wo.TTL, keepTTL: wo.KeepTTL}, wo.Written, nil
}

// put runs a request of one key and fills written (if not nil) with the
// entry its first op made.
func (s *Store) put(ctx context.Context, r *request, written *Entry) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	res := s.submit(ctx, r)
	if res.failures != nil {
		return 0, conflictError(res.failures)
	}
	if res.err == nil && written != nil {
		*written = recordEntry(r.ops[0].key, res.written)
	}
	return res.version, res.err
}

// write runs a single-key request.
func (s *Store) write(ctx context.Context, r *request) (Version, error) {
	return s.put(ctx, r, nil)
}

// Put writes value to key unconditionally and returns the new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (Version, error) {
	op, written, err := s.newPut(key, value, opts)
	if err != nil {
		return 0, err
	}
	return s.put(ctx, &request{ops: []writeOp{op}}, written)
}

// CompareAndSwap writes value to key if the key is at version expected (0:
// absent) and returns the new version, or a *ConflictError.
func (s *Store) CompareAndSwap(ctx context.Context, key string, expected Version, value []byte, opts ...WriteOption) (Version, error) {
	op, written, err := s.newPut(key, value, opts)
	if err != nil {
		return 0, err
	}
	return s.put(ctx, &request{conds: []condition{{key: key, version: expected}}, ops: []writeOp{op}}, written)
}

// Delete removes key and returns the version of the delete, or ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) (Version, error) {
	if err := s.checkKey(key); err != nil {
		return 0, err
	}
	return s.write(ctx, &request{ops: []writeOp{{key: key, del: true, mustExist: true}}})
}

// CompareAndDelete removes key if it is at version expected.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expected Version) (Version, error) {
	if err := s.checkKey(key); err != nil {
		return 0, err
	}
	return s.write(ctx, &request{conds: []condition{{key: key, version: expected}}, ops: []writeOp{{key: key, del: true, mustExist: true}}})
}

// Update runs fn in a read-write transaction; see Writer.Update. It runs
// on the shared transaction engine (TxnEngine).
func (s *Store) Update(ctx context.Context, fn func(tx Txn) error) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	return s.txns.Update(ctx, fn)
}

// View runs fn with a read-only snapshot; see Reader.View.
func (s *Store) View(ctx context.Context, fn func(tx Txn) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	return s.txns.View(ctx, fn)
}

// storeBackend runs the transaction engine on a Store: snapshots are
// Badger read transactions, commits go through the committer.
type storeBackend struct{ s *Store }

func (b storeBackend) Snapshot(ctx context.Context) (TxnSnapshot, error) {
	cur := b.s.current.Load()
	return &storeSnapshot{txn: b.s.db.NewTransaction(false), version: Version(cur), now: b.s.opts.Clock.Now()}, nil
}

func (b storeBackend) Commit(ctx context.Context, conds []TxnCondition, ops []TxnOp) (Version, error) {
	r := &request{conds: make([]condition, len(conds)), ops: make([]writeOp, len(ops))}
	for i, c := range conds {
		r.conds[i] = condition{key: c.Key, version: c.Version, rng: c.Range, count: c.Count}
	}
	for i, op := range ops {
		// The engine owns op.Value and keeps it unchanged until Commit
		// returns.
		r.ops[i] = writeOp{key: op.Key, value: op.Value, del: op.Delete, ttl: op.TTL, keepTTL: op.KeepTTL}
	}
	res := b.s.submit(ctx, r)
	if res.failures != nil {
		return 0, conflictError(res.failures)
	}
	return res.version, res.err
}

// storeSnapshot is a Badger read transaction. Expiry is judged at the time
// it was taken.
type storeSnapshot struct {
	txn     *badger.Txn
	version Version
	exact   bool // version is the snapshot's own (see Version)
	now     time.Time
}

func (sn *storeSnapshot) Get(key string) (Entry, error) {
	return getLatest(sn.txn, key, instant(sn.now))
}
func (sn *storeSnapshot) List(prefix, after string, limit int) (ListResult, error) {
	v, err := sn.Version()
	if err != nil {
		return ListResult{}, err
	}
	entries, next, err := listLatest(context.Background(), sn.txn, prefix, after, limit, sn.now)
	return ListResult{Entries: entries, Next: next, Version: v}, err
}

// Version returns the snapshot's own version: a range condition needs it
// exactly, and the current loaded before the snapshot was opened may lag
// behind it (snapshotVersion).
func (sn *storeSnapshot) Version() (Version, error) {
	if !sn.exact {
		v, err := snapshotVersion(sn.txn, uint64(sn.version))
		if err != nil {
			return 0, err
		}
		sn.version, sn.exact = Version(v), true
	}
	return sn.version, nil
}
func (sn *storeSnapshot) Now() time.Time { return sn.now }
func (sn *storeSnapshot) Close()         { sn.txn.Discard() }

// The transaction engine, shared by every backend.

// TxnBackend is what a KV implementation supplies to run Update and View on
// the shared TxnEngine: reads at one snapshot, and a commit of buffered
// writes under conditions. The engine does the rest: the buffer (a
// transaction reads its own writes first), the read set, Expect, input
// checks against the backend's Limits, and the rerun loop with its progress
// guarantee.
type TxnBackend interface {
	// Snapshot begins one run of a transaction's function: a read view
	// of the store at one version.
	Snapshot(ctx context.Context) (TxnSnapshot, error)

	// Commit writes ops atomically under one new version if every
	// condition holds (a key at the given version; version 0: absent or
	// expired), in the order given, and returns that version. If a
	// condition fails it writes nothing and returns a *ConflictError
	// listing every failed condition with the key's current entry. With
	// conditions and no ops it only checks them. Deleting an absent key is
	// not an error. Inputs have been checked against the backend's limits.
	Commit(ctx context.Context, conds []TxnCondition, ops []TxnOp) (Version, error)
}

// TxnSnapshot is a read view at one version of a store, used by one run of
// a transaction's function. It is used by one goroutine at a time.
type TxnSnapshot interface {
	// Get returns the live entry of key at the snapshot, or an error
	// matching ErrNotFound if it is absent or expired at Now.
	Get(key string) (Entry, error)
	// List returns a page of the live entries (at Now) under prefix
	// after the key after at the snapshot, as Reader.List does, with the
	// snapshot's exact version: every write up to it and none above it is
	// in the snapshot. A page may hold fewer than limit entries while
	// Next is not "". The first read (Get or List) may fix the version.
	List(prefix, after string, limit int) (ListResult, error)
	// Version returns the version the snapshot reads at. A backend may
	// fix it on the first call.
	Version() (Version, error)
	// Now is the time expiry is judged at.
	Now() time.Time
	// Close releases the snapshot.
	Close()
}

// TxnCondition is a condition of a commit: Key is at Version (0: absent),
// or, when Range is set, a range condition.
//
// A range condition (Key "") holds when the live keys in Range are the ones
// a range read saw at the snapshot of version Version: none has a version
// above Version, and there are Count of them (so none was deleted or
// expired). When it fails, the *ConflictError has a Conflict with Range set
// and Expected Version, naming a key of the range that changed if the
// backend can tell one. A backend may fail a range condition that holds
// (never the reverse); the transaction then only runs again.
type TxnCondition struct {
	Key     string
	Version Version
	Range   *KeyRange
	Count   int
}

// TxnOp is a buffered write: a put of Value with an optional TTL (or
// keeping the key's expiry at commit: KeepTTL), or a delete.
type TxnOp struct {
	Key     string
	Value   []byte
	TTL     time.Duration
	KeepTTL bool
	Delete  bool
}

// TxnEngine runs Update and View for a backend. It is safe for concurrent
// use; make one per KV value, since its progress guarantee (see Update)
// orders the transactions that share it.
type TxnEngine struct {
	backend     TxnBackend
	limits      Limits
	maxAttempts int
	gate        *txnengine.Gate
}

// TxnEngineOptions configure a TxnEngine.
type TxnEngineOptions struct {
	// Limits are the backend's; the engine checks every key, value, TTL
	// and the size of every transaction against them before Commit.
	Limits Limits
	// MaxAttempts bounds how often Update runs its function when keys it
	// read keep changing under it. Default (0): 64.
	MaxAttempts int
}

// NewTxnEngine returns the engine for backend.
func NewTxnEngine(backend TxnBackend, opts TxnEngineOptions) *TxnEngine {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = maxTxnAttempts
	}
	return &TxnEngine{backend: backend, limits: opts.Limits, maxAttempts: opts.MaxAttempts, gate: txnengine.NewGate()}
}

// Update runs fn in a read-write transaction and commits its writes with
// the versions it read as conditions; see Writer.Update.
//
// A run whose reads changed before the commit is run again; after a few
// lost races the transaction takes a turn among this engine's Updates in
// which they cannot beat it (txnengine.Gate), so that under contention
// every Update commits instead of giving up.
func (e *TxnEngine) Update(ctx context.Context, fn func(tx Txn) error) (Version, error) {
	var v Version
	runs, gaveUp, err := e.gate.Loop(ctx, e.maxAttempts, func() (rerun bool, err error) {
		v, rerun, err = e.attempt(ctx, fn)
		return rerun, err
	})
	if gaveUp {
		return 0, fmt.Errorf("vkv: transaction gave up after %d attempts: %w", runs, err)
	}
	return v, err
}

// attempt runs fn once on a new snapshot and commits. rerun is true when
// the commit failed on a key fn read, at the version it read.
func (e *TxnEngine) attempt(ctx context.Context, fn func(tx Txn) error) (v Version, rerun bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	snap, err := e.backend.Snapshot(ctx)
	if err != nil {
		return 0, false, err
	}
	tx := &engineTxn{e: e, ctx: ctx, snap: snap}
	err = fn(tx)
	commit := err == nil && (len(tx.ops) > 0 || len(tx.expects) > 0)
	if err == nil && !commit {
		// Nothing to write and nothing to check: the reads came from
		// one snapshot and need no commit; the result is its version.
		// (A failed fn does not ask: that may cost a client a request.)
		v, err = snap.Version()
	}
	tx.finish()
	if !commit {
		return v, false, err
	}
	conds := tx.expects
	for _, k := range tx.readOrder {
		conds = append(conds, TxnCondition{Key: k, Version: tx.reads[k]})
	}
	conds = append(conds, tx.ranges...)
	v, err = e.backend.Commit(ctx, conds, tx.ops)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		return v, false, err
	}
	// A failed condition at the version fn read means fn saw an old
	// value: run it again. One of Expect's alone is final.
	for _, c := range ce.Conflicts {
		if c.Range != nil && len(tx.ranges) > 0 {
			return 0, true, err // every range condition is a read's
		}
		if rv, ok := tx.reads[c.Key]; ok && rv == c.Expected && c.Range == nil {
			return 0, true, err
		}
	}
	return 0, false, err
}

// View runs fn with a read-only snapshot; see Reader.View.
func (e *TxnEngine) View(ctx context.Context, fn func(tx Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	snap, err := e.backend.Snapshot(ctx)
	if err != nil {
		return err
	}
	tx := &engineTxn{e: e, ctx: ctx, snap: snap, readOnly: true}
	defer tx.finish()
	return fn(tx)
}

// engineTxn is the Txn of one run: reads from a snapshot, buffers writes,
// and records the versions it read as conditions of its commit.
type engineTxn struct {
	e        *TxnEngine
	ctx      context.Context
	snap     TxnSnapshot
	readOnly bool
	done     bool

	reads     map[string]Version
	readOrder []string
	ranges    []TxnCondition // the range conditions of List, in order
	expects   []TxnCondition
	ops       []TxnOp
	opIndex   map[string]int
}

var _ Txn = (*engineTxn)(nil)

// finish ends the run: later calls get ErrTxnDone.
func (t *engineTxn) finish() {
	if t.done {
		return
	}
	t.done = true
	t.snap.Close()
}

func (t *engineTxn) usable(write bool) error {
	if t.done {
		return ErrTxnDone
	}
	if write && t.readOnly {
		return ErrReadOnly
	}
	return t.ctx.Err()
}

// Get returns key as the transaction sees it. An entry written by this
// transaction has Version 0 until the commit gives it one.
func (t *engineTxn) Get(key string) (Entry, error) {
	if err := t.usable(false); err != nil {
		return Entry{}, err
	}
	if err := t.e.limits.CheckKey(key); err != nil {
		return Entry{}, err
	}
	if i, ok := t.opIndex[key]; ok {
		op := t.ops[i]
		if op.Delete {
			return Entry{}, notFound(key)
		}
		return t.ownEntry(op), nil
	}
	e, err := t.snap.Get(key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if !t.readOnly {
		if _, seen := t.reads[key]; !seen {
			if t.reads == nil {
				t.reads = make(map[string]Version)
			}
			t.reads[key] = e.Version
			t.readOrder = append(t.readOrder, key)
		}
	}
	return e, err
}

// ownEntry is the entry the put op of this transaction makes, as it reads
// it back.
func (t *engineTxn) ownEntry(op TxnOp) Entry {
	e := Entry{Key: op.Key, Value: append([]byte{}, op.Value...)}
	switch {
	case op.TTL > 0:
		e.ExpiresAt = t.snap.Now().Add(op.TTL)
	case op.KeepTTL:
		// The expiry the key has in the snapshot; the commit keeps the
		// one it has then.
		if cur, err := t.snap.Get(op.Key); err == nil {
			e.ExpiresAt = cur.ExpiresAt
		}
	}
	return e
}

func (t *engineTxn) add(op TxnOp) error {
	if i, ok := t.opIndex[op.Key]; ok {
		t.ops[i] = op
		return nil
	}
	if err := t.e.limits.CheckTxnOps(len(t.ops) + 1); err != nil {
		return err
	}
	if t.opIndex == nil {
		t.opIndex = make(map[string]int)
	}
	t.opIndex[op.Key] = len(t.ops)
	t.ops = append(t.ops, op)
	return nil
}

// Put buffers a write of value to key.
func (t *engineTxn) Put(key string, value []byte, opts ...WriteOption) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := t.e.limits.CheckKey(key); err != nil {
		return err
	}
	if err := t.e.limits.CheckValue(key, value); err != nil {
		return err
	}
	var wo WriteOptions
	if len(opts) > 0 {
		wo = NewWriteOptions(opts...)
		if err := wo.Check(); err != nil {
			return err
		}
	}
	// Copy: the caller may reuse value once Put returns.
	return t.add(TxnOp{Key: key, Value: append(make([]byte, 0, len(value)), value...), TTL: wo.TTL, KeepTTL: wo.KeepTTL})
}

// Delete buffers a delete of key.
func (t *engineTxn) Delete(key string) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := t.e.limits.CheckKey(key); err != nil {
		return err
	}
	return t.add(TxnOp{Key: key, Delete: true})
}

// Expect adds the condition that key is at version v at commit.
func (t *engineTxn) Expect(key string, v Version) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := t.e.limits.CheckKey(key); err != nil {
		return err
	}
	if err := t.e.limits.CheckTxnOps(len(t.expects) + 1); err != nil {
		return err
	}
	t.expects = append(t.expects, TxnCondition{Key: key, Version: v})
	return nil
}
