package vkv

import (
	"fmt"
	"time"
)

// Limits are the sizes a KV accepts. Every implementation checks its input
// with the same methods, so that a key, value, TTL or transaction refused by
// one is refused by all with the same typed error; a zero field means no
// limit of that kind is known (a client that has not learnt its server's).
type Limits struct {
	// MaxKeySize is the longest key in bytes.
	MaxKeySize int
	// MaxValueSize is the longest value in bytes.
	MaxValueSize int
	// MaxTxnOps is the most writes, and the most Expect conditions, one
	// transaction may have.
	MaxTxnOps int
}

// Limiter is the optional interface of a KV that tells its Limits; the
// embedded *Store implements it. A server (package httpapi) checks requests
// with them and serves them to its clients at GET /v1/limits.
type Limiter interface {
	Limits() Limits
}

var _ Limiter = (*Store)(nil)

// Limits returns the limits of s, from its Options.
func (s *Store) Limits() Limits {
	return Limits{MaxKeySize: s.opts.MaxKeySize, MaxValueSize: s.opts.MaxValueSize, MaxTxnOps: s.opts.MaxTxnOps}
}

// CheckKey returns a *KeyError (matching ErrInvalidKey) for an empty key or
// one longer than l.MaxKeySize. The error quotes at most the key's first 64
// bytes.
func (l Limits) CheckKey(key string) error {
	if key == "" {
		return &KeyError{Key: key, Reason: "empty"}
	}
	if l.MaxKeySize > 0 && len(key) > l.MaxKeySize {
		return &KeyError{Key: key[:min(len(key), 64)], Reason: fmt.Sprintf("longer than %d bytes", l.MaxKeySize)}
	}
	return nil
}

// CheckValue returns a *LimitError (matching ErrValueTooLarge) for a value
// of key longer than l.MaxValueSize.
func (l Limits) CheckValue(key string, value []byte) error {
	if l.MaxValueSize > 0 && len(value) > l.MaxValueSize {
		return &LimitError{Err: ErrValueTooLarge, Key: key, Size: len(value), Limit: l.MaxValueSize}
	}
	return nil
}

// CheckTxnOps returns a *LimitError (matching ErrTxnTooLarge) when a
// transaction would hold n writes, or n Expect conditions, more than
// l.MaxTxnOps.
func (l Limits) CheckTxnOps(n int) error {
	if l.MaxTxnOps > 0 && n > l.MaxTxnOps {
		return &LimitError{Err: ErrTxnTooLarge, Size: n, Limit: l.MaxTxnOps}
	}
	return nil
}

// CheckTTL returns an error matching ErrInvalidTTL for a TTL below 0 or
// above MaxTTL.
func CheckTTL(d time.Duration) error {
	if d < 0 || d > MaxTTL {
		return fmt.Errorf("%w: %v (it must be between 0 and %v)", ErrInvalidTTL, d, MaxTTL)
	}
	return nil
}
