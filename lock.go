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
	kv      KV
	key     string
	owner   []byte
	ttl     time.Duration
	token   Version // CreateVersion: stays the same across Refresh
	version Version // the lock key's current version, for Refresh and Release
}

// ErrLockLost is returned by Refresh and Release when the lock expired or was
// taken over since it was acquired or last refreshed.
var ErrLockLost = errors.New("vkv: lock lost")

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
	v, err := l.kv.CompareAndSwap(ctx, l.key, l.version, l.owner, WithTTL(l.ttl))
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w: %w", ErrLockLost, err)
	}
	if err != nil {
		return err
	}
	l.version = v
	return nil
}

// Release deletes the lock key if the lock is still held. It fails with an
// error matching ErrLockLost if it is not; releasing twice is such a case.
func (l *Lock) Release(ctx context.Context) error {
	_, err := l.kv.CompareAndDelete(ctx, l.key, l.version)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrLockLost, err)
	}
	return err
}
