// Package keys lays out vkv's data in Badger's keyspace.
//
// Every Badger key starts with one byte that names its space:
//
//	'k' key          latest entry of a user key (absent when deleted)
//	'h' len key ver  one history entry per key and version; len is the key's
//	                 length as 2 big-endian bytes, so that one key's entries
//	                 share a prefix no other key has; ver is 8 big-endian
//	                 bytes, so byte order is version order
//	'c' ver          the change log: the keys written at version ver; every
//	                 version handed out has one, and the newest is never
//	                 deleted, so it doubles as the version counter
//	'x' at key       expiry index: the entry of key expires at unix nano at
//	'm' name         store metadata: the compaction mark
//
// User keys live only inside these spaces, so no user key can collide with
// the store's own keys and no key prefix is reserved.
package keys

import (
	"encoding/binary"
	"fmt"
)

// Space bytes.
const (
	SpaceLatest  byte = 'k'
	SpaceHistory byte = 'h'
	SpaceChange  byte = 'c'
	SpaceExpiry  byte = 'x'
	SpaceMeta    byte = 'm'
)

// MaxUserKey is the longest user key the layout can hold (the history length
// field is 2 bytes, and Badger refuses keys over badgerfmt.MaxKeySize bytes).
const MaxUserKey = 64000

// What the store's keys and change-log entries hold beyond a user key, in
// bytes: what a write adds to Badger is bounded with them (Store.cost).
const (
	// LatestKeyExtra is the length of LatestKey(k) less len(k): the space
	// byte.
	LatestKeyExtra = 1
	// HistoryKeyExtra is the length of HistoryKey(k, v) less len(k): the
	// space byte, the key's length and the version.
	HistoryKeyExtra = 1 + 2 + 8
	// ExpiryKeyExtra is the length of ExpiryKey(at, k) less len(k): the
	// space byte and the expiry time.
	ExpiryKeyExtra = 1 + 8
	// ChangeKeyLen is the length of every change-log key: the space byte and
	// the version.
	ChangeKeyLen = 1 + 8
	// MaxChangeExtra bounds what AppendChange appends beyond the key: a
	// flags byte and the key's length as a uvarint.
	MaxChangeExtra = 1 + binary.MaxVarintLen64
)

// CompactedMark is the metadata key of the oldest version GetAt answers for.
var CompactedMark = []byte{SpaceMeta, 'c'}

// ErrMalformed is returned when a Badger key is not in the expected space or
// is too short. The keys parsed are read from the store, so it is
// corruption: it matches ErrCorrupt.
var ErrMalformed = fmt.Errorf("%w: malformed key", ErrCorrupt)

// LatestKey returns the key of the latest entry of key.
func LatestKey(key string) []byte {
	b := make([]byte, 1+len(key))
	b[0] = SpaceLatest
	copy(b[1:], key)
	return b
}

// UserKeyOfLatest returns the user key of a latest-entry key.
func UserKeyOfLatest(k []byte) (string, error) {
	if len(k) < 1 || k[0] != SpaceLatest {
		return "", ErrMalformed
	}
	return string(k[1:]), nil
}

// HistoryPrefix returns the prefix shared by all history entries of key and
// by no other key's.
func HistoryPrefix(key string) []byte {
	b := make([]byte, 3+len(key), 3+len(key)+8)
	b[0] = SpaceHistory
	binary.BigEndian.PutUint16(b[1:3], uint16(len(key)))
	copy(b[3:], key)
	return b
}

// HistoryKey returns the key of the history entry of key at version v.
func HistoryKey(key string, v uint64) []byte {
	return binary.BigEndian.AppendUint64(HistoryPrefix(key), v)
}

// ParseHistory splits a history key into user key and version.
func ParseHistory(k []byte) (string, uint64, error) {
	if len(k) < 11 || k[0] != SpaceHistory {
		return "", 0, ErrMalformed
	}
	n := int(binary.BigEndian.Uint16(k[1:3]))
	if len(k) != 3+n+8 {
		return "", 0, ErrMalformed
	}
	return string(k[3 : 3+n]), binary.BigEndian.Uint64(k[3+n:]), nil
}

// ChangeKey returns the change-log key of version v.
func ChangeKey(v uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{SpaceChange}, v)
}

// ParseChange returns the version of a change-log key.
func ParseChange(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != SpaceChange {
		return 0, ErrMalformed
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// ExpiryKey returns the expiry-index key of key expiring at unix nano at.
func ExpiryKey(at int64, key string) []byte {
	b := make([]byte, 9, 9+len(key))
	b[0] = SpaceExpiry
	binary.BigEndian.PutUint64(b[1:9], uint64(at))
	return append(b, key...)
}

// ParseExpiry splits an expiry-index key.
func ParseExpiry(k []byte) (at int64, key string, err error) {
	if len(k) < 10 || k[0] != SpaceExpiry {
		return 0, "", ErrMalformed
	}
	return int64(binary.BigEndian.Uint64(k[1:9])), string(k[9:]), nil
}
