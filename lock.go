package vkv

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Lock is a lease on one key: created only if the key does not exist, with a
// TTL, so that a holder that dies without releasing it loses it when the TTL
// runs out. It works on any KV.
//
// The fencing token is the version at which the lock was acquired (the key's
// CreateVersion). Tokens of successive holders of a key only grow, so a
// resource that remembers the highest token it has seen can refuse a holder
// whose lease ran out unnoticed.
//
// A Lock is not safe for concurrent use.
type Lock struct {
	kv       KV
	key      string
	owner    []byte
	ttl      time.Duration
	token    Version // CreateVersion: stays the same across Refresh
	version  Version // the lock key's current version, for Refresh and Release
	released bool    // Release succeeded
}

// ErrLockLost is returned by Refresh and Release when the lock expired or was
// taken over since it was acquired or last refreshed, and by Refresh after
// Release.
var ErrLockLost = errors.New("vkv: lock lost")

// lockLostError is ErrLockLost with the error of the condition that found
// the lock gone (a *ConflictError, or one matching ErrNotFound). It matches
// both, and says what happened once, without the condition's own prefix.
type lockLostError struct {
	key string
	err error
}

func (e *lockLostError) Error() string {
	if ce, ok := errors.AsType[*ConflictError](e.err); ok && ce.Actual != 0 {
		return fmt.Sprintf("vkv: lock lost: key %q is at version %d, not %d: the lease ran out and another holder took it, or another writer changed the key",
			e.key, ce.Actual, ce.Expected)
	}
	return fmt.Sprintf("vkv: lock lost: key %q does not exist: the lease ran out, or another writer deleted the key", e.key)
}

func (e *lockLostError) Unwrap() []error { return []error{ErrLockLost, e.err} }

// AcquireLock creates key with value owner and the given TTL if key does not
// exist (or has expired). If another holder has it, the error is a
// *ConflictError whose Current is the holder's entry: its Value names the
// holder and its ExpiresAt says when the lease runs out.
func AcquireLock(ctx context.Context, kv KV, key string, owner []byte, ttl time.Duration) (*Lock, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: a lock needs a positive ttl, not %v", ErrInvalidTTL, ttl)
	}
	v, err := kv.CompareAndSwap(ctx, key, 0, owner, WithTTL(ttl))
	if err != nil {
		return nil, err
	}
	return &Lock{kv: kv, key: key, owner: append([]byte(nil), owner...), ttl: ttl, token: v, version: v}, nil
}

// Key returns the locked key.
func (l *Lock) Key() string { return l.key }

// Token returns the fencing token: the version at which the lock was
// acquired.
func (l *Lock) Token() Version { return l.token }

// Refresh extends the lease by the lock's TTL from now. It fails with an
// error matching ErrLockLost if the lock is no longer held.
func (l *Lock) Refresh(ctx context.Context) error {
	if l.released {
		return fmt.Errorf("%w: the lock on key %q was released", ErrLockLost, l.key)
	}
	v, err := l.kv.CompareAndSwap(ctx, l.key, l.version, l.owner, WithTTL(l.ttl))
	if errors.Is(err, ErrConflict) {
		return &lockLostError{key: l.key, err: err}
	}
	if err != nil {
		return err
	}
	l.version = v
	return nil
}

// Release deletes the lock key if the lock is still held. It fails with an
// error matching ErrLockLost if the lock was lost before (its lease ran out
// and it expired or was taken over). Releasing a released lock does nothing
// and returns nil, so that a deferred Release after an explicit one is
// harmless.
func (l *Lock) Release(ctx context.Context) error {
	if l.released {
		return nil
	}
	_, err := l.kv.CompareAndDelete(ctx, l.key, l.version)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return &lockLostError{key: l.key, err: err}
	}
	if err == nil {
		l.released = true
	}
	return err
}
