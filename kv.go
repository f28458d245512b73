package vkv

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Entry is a key as the store holds it at one version.
//
// An Entry returned by the store owns its Value: the caller may keep and
// modify it.
type Entry struct {
	// Key is the user key.
	Key string
	// Value is the value written at Version; nil for a tombstone.
	Value []byte
	// Version is the version of the write that produced this entry.
	Version Version
	// CreateVersion is the version at which the key was last created, that
	// is, written while it did not exist (or had expired). Together with
	// Version it tells a re-created key from one that was only updated. On a
	// tombstone it is the CreateVersion of the key that was deleted.
	CreateVersion Version
	// ExpiresAt is when the entry expires; the zero Time means never.
	ExpiresAt time.Time
	// Deleted marks a tombstone: the entry records a delete (or the expiry of
	// the key) at Version. History and Watch return tombstones; Get, GetAt,
	// List and Txn.Get never do.
	Deleted bool
	// TxnEnd is set by Watch on the last change of its version under the
	// watched prefix: the changes of one transaction share a version, so a
	// consumer that buffers changes until TxnEnd applies each transaction
	// whole. Every other read leaves it false.
	TxnEnd bool
	// Progress marks an entry that Watch yields only when asked to
	// (WithProgressNotify, WithProgressRequests): not a change but a
	// progress notification, with Key "" and no value, whose Version is a
	// version up to which every change under the watched prefix has been
	// delivered; see Watcher.
	Progress bool
}

// Expired reports whether e has an expiry time that is not after now.
func (e *Entry) Expired(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// Reader is the read side of a KV.
type Reader interface {
	// Get returns the current entry of key, or ErrNotFound if the key does
	// not exist or has expired.
	Get(ctx context.Context, key string) (Entry, error)

	// GetAt returns key as it was at version v: the newest write of the key
	// with a version not above v. It returns ErrNotFound if the key did not
	// exist at v, a *CompactedError (ErrCompacted) if v is older than the kept
	// history, and ErrFutureVersion if v is newer than the store. Entries are
	// returned as recorded: an expiry shows in history as the delete that
	// records it, so an entry that has expired but whose expiry is not yet
	// recorded (for about a millisecond) is returned, ExpiresAt set.
	GetAt(ctx context.Context, key string, v Version) (Entry, error)

	// List returns up to limit entries whose keys start with prefix and sort
	// after the key after (exclusive; "" starts at the beginning), in key byte
	// order, from one snapshot of the store, and the version of that
	// snapshot. Next is the key to pass as after for the following page, or
	// "" when no entries remain. A limit of 0 or less means
	// DefaultListLimit; larger limits are cut to MaxListLimit. Expired keys
	// are skipped.
	//
	// Version is what a cache needs for list-then-watch: Watch(prefix,
	// Version) delivers exactly the changes the listing does not show, and
	// ListAt(..., Version) reads the following pages from the same
	// snapshot, so that a listing of many pages is consistent.
	List(ctx context.Context, prefix, after string, limit int) (ListResult, error)

	// ListAt is List at version v: each key under prefix as it was at v (the
	// newest write of the key not above v; keys deleted at v are skipped),
	// and Version v. Pages read at the same v agree, however the store
	// changes between them. Entries are returned as recorded, as GetAt
	// returns them: one that had expired at v but whose expiry was not yet
	// recorded has its ExpiresAt set. It returns a *CompactedError
	// (ErrCompacted) if v is older than the kept history and a
	// *FutureVersionError (ErrFutureVersion) if v is newer than the store.
	ListAt(ctx context.Context, prefix, after string, limit int, v Version) (ListResult, error)

	// History returns the kept versions of key, newest first, up to limit
	// entries (0 or less: all kept). Deletes and expiries appear as entries
	// with Deleted set. A key with no kept history gives an empty slice and no
	// error.
	History(ctx context.Context, key string, limit int) ([]Entry, error)

	// View runs fn with a read-only transaction that sees one consistent
	// snapshot of the store. Writes inside it return ErrReadOnly.
	View(ctx context.Context, fn func(tx Txn) error) error
}

// Writer is the write side of a KV. Every successful write returns the new
// version it was given; a write that returns an error wrote nothing.
type Writer interface {
	// Put writes value to key unconditionally.
	Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (Version, error)

	// CompareAndSwap writes value to key only if the key's current version is
	// expected; expected 0 means the key must not exist (create only). When
	// the condition fails it returns a *ConflictError.
	CompareAndSwap(ctx context.Context, key string, expected Version, value []byte, opts ...WriteOption) (Version, error)

	// Delete removes key. It returns ErrNotFound if the key does not exist.
	Delete(ctx context.Context, key string) (Version, error)

	// CompareAndDelete removes key only if its current version is expected.
	// When the condition fails it returns a *ConflictError; when the key does
	// not exist and expected is 0, ErrNotFound.
	CompareAndDelete(ctx context.Context, key string, expected Version) (Version, error)

	// Update runs fn in a read-write transaction and commits its writes
	// atomically under one new version, which it returns. If a condition
	// given with Txn.Expect fails, nothing is written and the error is a
	// *ConflictError listing every failed condition. If a key fn read changed
	// before the commit, fn is run again (a bounded number of times, while ctx
	// allows); fn must therefore have no side effects outside the Txn. An
	// error returned by fn is returned as is and nothing is written.
	//
	// Under contention Update makes progress: after a few lost races a
	// transaction takes a turn among the Updates of the same KV value (a
	// Store, a vkvclient.Client) in which they cannot beat it, so that giving
	// up after the bound means writers outside those Updates (Put, CAS,
	// other processes) kept changing what fn read. fn must not call Update
	// on the same KV: the inner call could wait for the turn the outer one
	// holds.
	//
	// A transaction whose writes change nothing (deletes of absent keys)
	// still takes a new version. One that makes no writes takes none: it
	// checks its conditions and returns the newest version of the store.
	Update(ctx context.Context, fn func(tx Txn) error) (Version, error)
}

// ListResult is one page of a listing: List, ListAt or Txn.List.
type ListResult struct {
	// Entries are the page's entries, in key byte order.
	Entries []Entry
	// Next is the key to pass as after for the following page, or "" when
	// no entries remain.
	Next string
	// Version is the version of the snapshot the page was read at: the
	// store's newest version when List read it, v for ListAt, the
	// transaction's snapshot for Txn.List.
	Version Version
}

// KeyRange is the keys a range read covered: those that start with Prefix,
// sort after After (exclusive; "" from the start of the prefix) and, unless
// Last is "", not after Last (inclusive).
type KeyRange struct {
	Prefix string
	After  string
	Last   string
}

// Contains reports whether key is in r.
func (r KeyRange) Contains(key string) bool {
	return strings.HasPrefix(key, r.Prefix) && key > r.After && (r.Last == "" || key <= r.Last)
}

// String describes r for error messages.
func (r KeyRange) String() string {
	s := fmt.Sprintf("keys under %q", r.Prefix)
	if r.After != "" {
		s += fmt.Sprintf(" after %q", r.After)
	}
	if r.Last != "" {
		s += fmt.Sprintf(" up to %q", r.Last)
	}
	return s
}

// KV is what a server, a client or another backend of vkv provides: the
// embedded *Store, the HTTP client in vkvclient, and any later backend all
// implement it, and package vkvtest checks that they agree.
type KV interface {
	Reader
	Writer
	// Close releases the KV. Calls after Close return ErrClosed.
	Close() error
}

// Txn is a transaction in progress, handed to the function given to Update or
// View. It is not safe for concurrent use and must not be kept after that
// function returns (calls then return ErrTxnDone).
type Txn interface {
	// Get returns the entry of key as the transaction sees it: its own
	// writes first, else the snapshot. Inside Update the version read (0 if
	// the key is absent) becomes a condition of the commit.
	Get(key string) (Entry, error)

	// Put buffers a write of value to key; it takes effect at commit.
	Put(key string, value []byte, opts ...WriteOption) error

	// Delete buffers a delete of key; deleting an absent key at commit is not
	// an error and writes nothing.
	Delete(key string) error

	// Expect adds the condition that key is at version v (0: must not exist)
	// when the transaction commits.
	Expect(key string, v Version) error

	// List returns a page of the keys under prefix after the key after, as
	// Reader.List does, as the transaction sees them: its own writes merged
	// with the snapshot (an entry it wrote has Version 0 until the commit).
	// Version is the snapshot's.
	//
	// Inside Update the range the page covered becomes a condition of the
	// commit: the keys under prefix after after, up to the last key
	// returned, or to the end of the prefix when the page returned
	// everything (Next is ""). If a key in that range was created, changed,
	// deleted or expired since the snapshot, the commit fails and fn is run
	// again, as for a key it read with Get; so "create a job only if none
	// exists under jobs/" is one safe transaction. A backend may also fail
	// the condition on a change that left the range as it was (etcdkv: a
	// delete of a key that did not exist); fn then only runs again.
	List(prefix, after string, limit int) (ListResult, error)
}

// WriteOptions holds the settings of one write. Implementations of KV build
// it from the options passed with NewWriteOptions.
type WriteOptions struct {
	// TTL, if positive, makes the written key expire that long after the
	// write is committed.
	TTL time.Duration

	// KeepTTL makes a put keep the expiry time the key has when the write
	// commits (none if it has none, or does not exist), as a lock refresher
	// or a session update needs; without it a put without TTL makes the
	// key permanent. It cannot be given with a TTL.
	KeepTTL bool

	// Written, if set, receives the entry a successful Put or
	// CompareAndSwap made, without its value: Key, Version, CreateVersion
	// (equal to Version when the write created the key) and ExpiresAt. It
	// is left alone when the write fails, and ignored by Txn.Put (the
	// transaction's version is what Update returns).
	Written *Entry
}

// WriteOption sets one field of WriteOptions.
type WriteOption func(*WriteOptions)

// MaxTTL is the longest TTL a write may have: expiry times are kept in
// nanoseconds since 1970, which end in 2262.
const MaxTTL = 100 * 365 * 24 * time.Hour

// WithTTL makes a write expire after d, counted from the moment the write
// commits (between the call and its return). An expired key is invisible to reads
// and conditions at once, and is later deleted by a real delete with its own
// version, recorded in history. d must be between 0 and MaxTTL; 0 means no
// expiry.
func WithTTL(d time.Duration) WriteOption {
	return func(o *WriteOptions) { o.TTL = d }
}

// WithKeepTTL makes a put keep the key's current expiry time; see
// WriteOptions.KeepTTL. (etcd's WithIgnoreLease.)
func WithKeepTTL() WriteOption {
	return func(o *WriteOptions) { o.KeepTTL = true }
}

// Check returns an error matching ErrInvalidTTL for a TTL out of range
// (CheckTTL) or a TTL given with KeepTTL.
func (o *WriteOptions) Check() error {
	if err := CheckTTL(o.TTL); err != nil {
		return err
	}
	if o.KeepTTL && o.TTL != 0 {
		return fmt.Errorf("%w: a write takes a TTL or keeps the key's current one (WithKeepTTL), not both", ErrInvalidTTL)
	}
	return nil
}

// Written makes a successful Put or CompareAndSwap store the entry it made
// (without its value) in *e, so that a caller learns, from the same call,
// whether the write created the key (e.CreateVersion == e.Version) and when
// it expires; see WriteOptions.Written.
func Written(e *Entry) WriteOption {
	return func(o *WriteOptions) { o.Written = e }
}

// NewWriteOptions applies opts in order and returns the result.
func NewWriteOptions(opts ...WriteOption) WriteOptions {
	var o WriteOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// Limits that apply to every store.
const (
	// DefaultListLimit is the page size of List when the limit given is 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 1000
)
