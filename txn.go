package vkv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// maxTxnAttempts bounds how often Update runs its function when keys it read
// keep changing under it.
const maxTxnAttempts = 64

func (s *Store) checkValue(key string, value []byte) error {
	if len(value) > s.opts.MaxValueSize {
		return &LimitError{Err: ErrValueTooLarge, Key: key, Size: len(value), Limit: s.opts.MaxValueSize}
	}
	return nil
}

func (s *Store) newPut(key string, value []byte, opts []WriteOption) (writeOp, error) {
	if err := s.checkKey(key); err != nil {
		return writeOp{}, err
	}
	if err := s.checkValue(key, value); err != nil {
		return writeOp{}, err
	}
	var ttl time.Duration
	if len(opts) > 0 {
		ttl = NewWriteOptions(opts...).TTL
		if ttl < 0 || ttl > MaxTTL {
			return writeOp{}, fmt.Errorf("%w: %v (it must be between 0 and %v)", ErrInvalidTTL, ttl, MaxTTL)
		}
	}
	// Copy: the caller may reuse value once the call returns, and the
	// committer holds it until the commit.
	return writeOp{key: key, value: append(make([]byte, 0, len(value)), value...), ttl: ttl}, nil
}

// write runs a single-key request.
func (s *Store) write(ctx context.Context, r *request) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	res := s.submit(ctx, r)
	if res.failures != nil {
		return 0, conflictError(res.failures)
	}
	return res.version, res.err
}

// Put writes value to key unconditionally and returns the new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (Version, error) {
	op, err := s.newPut(key, value, opts)
	if err != nil {
		return 0, err
	}
	return s.write(ctx, &request{ops: []writeOp{op}})
}

// CompareAndSwap writes value to key if the key is at version expected (0:
// absent) and returns the new version, or a *ConflictError.
func (s *Store) CompareAndSwap(ctx context.Context, key string, expected Version, value []byte, opts ...WriteOption) (Version, error) {
	op, err := s.newPut(key, value, opts)
	if err != nil {
		return 0, err
	}
	return s.write(ctx, &request{conds: []condition{{key: key, version: expected}}, ops: []writeOp{op}})
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

// Update runs fn in a read-write transaction; see Writer.Update.
func (s *Store) Update(ctx context.Context, fn func(tx Txn) error) (Version, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	for attempt := 1; ; attempt++ {
		tx := &storeTxn{s: s, ctx: ctx, snap: s.db.NewTransaction(false), now: s.opts.Clock.Now()}
		err := fn(tx)
		tx.finish()
		if err != nil {
			return 0, err
		}
		if len(tx.ops) == 0 && len(tx.expects) == 0 {
			// Nothing to write and nothing to check: the reads came from
			// one snapshot and need no commit.
			return Version(s.current.Load()), nil
		}
		conds := tx.expects
		for _, k := range tx.readOrder {
			conds = append(conds, condition{key: k, version: tx.reads[k], fromRead: true})
		}
		res := s.submit(ctx, &request{conds: conds, ops: tx.ops})
		if res.err != nil {
			return 0, res.err
		}
		if res.failures == nil {
			return res.version, nil
		}
		readFailed := false
		for _, f := range res.failures {
			readFailed = readFailed || f.cond.fromRead
		}
		if !readFailed {
			return 0, conflictError(res.failures)
		}
		if attempt == maxTxnAttempts {
			return 0, fmt.Errorf("vkv: transaction gave up after %d attempts: %w", attempt, conflictError(res.failures))
		}
		if attempt > 2 {
			// Back off a little so that contending transactions spread out.
			d := time.Duration(rand.Int64N(int64(attempt) * int64(50*time.Microsecond)))
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, ctx.Err()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// View runs fn with a read-only snapshot; see Reader.View.
func (s *Store) View(ctx context.Context, fn func(tx Txn) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	tx := &storeTxn{s: s, ctx: ctx, snap: s.db.NewTransaction(false), now: s.opts.Clock.Now(), readOnly: true}
	defer tx.finish()
	return fn(tx)
}

// storeTxn is the Txn of a Store: reads from a Badger snapshot, buffers
// writes, and records the versions it read as conditions of its commit.
type storeTxn struct {
	s        *Store
	ctx      context.Context
	snap     *badger.Txn
	now      time.Time
	readOnly bool
	done     bool

	reads     map[string]Version
	readOrder []string
	expects   []condition
	ops       []writeOp
	opIndex   map[string]int
}

var _ Txn = (*storeTxn)(nil)

func (t *storeTxn) finish() {
	if !t.done {
		t.done = true
		t.snap.Discard()
	}
}

func (t *storeTxn) usable(write bool) error {
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
func (t *storeTxn) Get(key string) (Entry, error) {
	if err := t.usable(false); err != nil {
		return Entry{}, err
	}
	if err := t.s.checkKey(key); err != nil {
		return Entry{}, err
	}
	if i, ok := t.opIndex[key]; ok {
		op := t.ops[i]
		if op.del {
			return Entry{}, ErrNotFound
		}
		e := Entry{Key: key, Value: append([]byte{}, op.value...)}
		if op.ttl > 0 {
			e.ExpiresAt = t.now.Add(op.ttl)
		}
		return e, nil
	}
	e, err := getLatest(t.snap, key, instant(t.now))
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

func (t *storeTxn) add(op writeOp) error {
	if i, ok := t.opIndex[op.key]; ok {
		t.ops[i] = op
		return nil
	}
	if len(t.ops) >= t.s.opts.MaxTxnOps {
		return &LimitError{Err: ErrTxnTooLarge, Size: len(t.ops) + 1, Limit: t.s.opts.MaxTxnOps}
	}
	if t.opIndex == nil {
		t.opIndex = make(map[string]int)
	}
	t.opIndex[op.key] = len(t.ops)
	t.ops = append(t.ops, op)
	return nil
}

// Put buffers a write of value to key.
func (t *storeTxn) Put(key string, value []byte, opts ...WriteOption) error {
	if err := t.usable(true); err != nil {
		return err
	}
	op, err := t.s.newPut(key, value, opts)
	if err != nil {
		return err
	}
	return t.add(op)
}

// Delete buffers a delete of key.
func (t *storeTxn) Delete(key string) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := t.s.checkKey(key); err != nil {
		return err
	}
	return t.add(writeOp{key: key, del: true})
}

// Expect adds the condition that key is at version v at commit.
func (t *storeTxn) Expect(key string, v Version) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := t.s.checkKey(key); err != nil {
		return err
	}
	if len(t.expects) >= t.s.opts.MaxTxnOps {
		return &LimitError{Err: ErrTxnTooLarge, Size: len(t.expects) + 1, Limit: t.s.opts.MaxTxnOps}
	}
	t.expects = append(t.expects, condition{key: key, version: v})
	return nil
}
