package vkv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vkvstore/vkv/internal/keys"
)

// Sentinel errors. Match them with errors.Is; the store wraps them in the
// typed errors below when it has facts to add.
var (
	// ErrNotFound is matched by *NotFoundError, returned when a key does not exist, has expired, or did
	// not exist at the version asked for.
	ErrNotFound = errors.New("vkv: key not found")

	// ErrConflict is matched by every *ConflictError: a write's condition on a
	// key's version did not hold, so nothing was written.
	ErrConflict = errors.New("vkv: version conflict")

	// ErrClosed is returned by every call made after Close.
	ErrClosed = errors.New("vkv: store closed")

	// ErrCompacted is matched by *CompactedError: the version asked for is
	// older than the history the store keeps.
	ErrCompacted = errors.New("vkv: version compacted")

	// ErrFutureVersion is matched by *FutureVersionError, returned by GetAt
	// for a version the store has not reached yet.
	ErrFutureVersion = errors.New("vkv: version is newer than the store")

	// ErrInvalidKey is returned (inside a *KeyError) for an empty key or one
	// longer than Options.MaxKeySize.
	ErrInvalidKey = errors.New("vkv: invalid key")

	// ErrInvalidVersion is matched by *VersionError: a version or entity tag
	// that does not parse.
	ErrInvalidVersion = errors.New("vkv: invalid version")

	// ErrValueTooLarge is returned (inside a *LimitError) for a value longer
	// than Options.MaxValueSize.
	ErrValueTooLarge = errors.New("vkv: value too large")

	// ErrTxnTooLarge is returned (inside a *LimitError) for a transaction with
	// more writes than Options.MaxTxnOps or more bytes than one commit can hold.
	ErrTxnTooLarge = errors.New("vkv: transaction too large")

	// ErrInvalidTTL is returned for a TTL below 0 or above MaxTTL.
	ErrInvalidTTL = errors.New("vkv: invalid ttl")

	// ErrReadOnly is returned by Txn.Put, Txn.Delete and Txn.Expect inside
	// View.
	ErrReadOnly = errors.New("vkv: read-only transaction")

	// ErrTxnDone is returned when a Txn is used after its function returned.
	ErrTxnDone = errors.New("vkv: transaction already finished")

	// ErrLocked is returned by Open when another process (or another Store in
	// this process) has the directory open.
	ErrLocked = errors.New("vkv: directory in use by another store")

	// ErrCorrupt is matched by the error of Open when a data file of the
	// store is damaged (the store refuses to open rather than serve what is
	// left), and by the error of any read, watch or write that meets stored
	// data that does not decode: Get, GetAt, List, History, View, Watch,
	// Compact, and the writes whose keys the committer reads. It is the
	// sentinel of the internal layout package itself, so corruption found at
	// any depth matches it.
	ErrCorrupt = keys.ErrCorrupt

	// ErrEncryptionKey is returned by Open when Options.EncryptionKey does
	// not fit the store: an encrypted store opened without its key or with
	// another one, a store that is not encrypted opened with a key, or a
	// key that is not 16, 24 or 32 bytes long. Nothing on disk is changed.
	ErrEncryptionKey = errors.New("vkv: wrong or missing encryption key")

	// ErrInsufficientStorage is returned by writes, and by Open, when the
	// file system holding the store has less free space than
	// Options.MinFreeSpace. Reads keep working; nothing acknowledged is lost.
	ErrInsufficientStorage = errors.New("vkv: insufficient free disk space")

	// ErrUnavailable is matched by the error of a request that a remote or
	// distributed backend could not get answered: the server or cluster is
	// unreachable, has lost its quorum, or did not answer in time. The
	// request did not take effect (a write whose outcome is not known
	// matches ErrOutcomeUnknown instead); retry it later. Over HTTP it is a
	// 503 with a Retry-After header.
	ErrUnavailable = errors.New("vkv: backend unavailable")

	// ErrOutcomeUnknown is matched by the error of a write that was sent but
	// whose answer was lost (a connection cut, a timeout, a leader change
	// while the write was in flight): it may or may not have been committed.
	// It is never retried on the caller's behalf. Read the keys it wrote (a
	// conditional write can simply be retried: its condition fails if the
	// first attempt took effect).
	ErrOutcomeUnknown = errors.New("vkv: write outcome unknown")
)

// Conflict is one failed condition: the key was expected at one version and
// is at another.
type Conflict struct {
	// Key is the key whose condition failed.
	Key string
	// Expected is the version the caller expected (0: must not exist).
	Expected Version
	// Actual is the key's version when the condition was checked (0: absent
	// or expired).
	Actual Version
	// Current is the key's entry when the condition was checked, value
	// included, or nil when the key did not exist. It lets the caller resolve
	// the conflict without another read. A remote KV may leave it nil for an
	// existing key when the server did not send it; Actual != 0 tells the
	// cases apart.
	Current *Entry
	// Range is set when the failed condition was a range read's (Txn.List):
	// a key in Range was created, changed, deleted or expired after the
	// version the range was read at, which is Expected. Key is then a key
	// of the range that changed, with Actual and Current as above (0 and
	// nil: it was deleted or expired), or "" when the store could not tell
	// which (the change is older than the kept history).
	Range *KeyRange
}

// ConflictError reports that a write's conditions did not hold, so nothing was
// written. Key, Expected, Actual and Current describe the first failed
// condition; Conflicts lists every failed condition of the write, the first
// included, in the order the conditions were given.
//
// errors.Is(err, ErrConflict) holds for every *ConflictError.
type ConflictError struct {
	Key       string
	Expected  Version
	Actual    Version
	Current   *Entry
	Conflicts []Conflict
}

// NewConflictError returns the error of a commit whose conditions cs
// failed (at least one), with the first one's fields promoted. Backends
// use it so that every KV reports conflicts alike.
func NewConflictError(cs []Conflict) *ConflictError {
	if len(cs) == 0 {
		panic("vkv: NewConflictError with no conflicts")
	}
	c := cs[0]
	return &ConflictError{Key: c.Key, Expected: c.Expected, Actual: c.Actual, Current: c.Current, Conflicts: cs}
}

// Error describes the first failed condition and how many more there are.
func (e *ConflictError) Error() string {
	var b strings.Builder
	if len(e.Conflicts) > 0 && e.Conflicts[0].Range != nil {
		c := e.Conflicts[0]
		fmt.Fprintf(&b, "vkv: version conflict on the range of %s read at version %d: ", c.Range, c.Expected)
		switch {
		case c.Key == "":
			b.WriteString("a key changed")
		case c.Actual == 0:
			fmt.Fprintf(&b, "key %q changed and does not exist", c.Key)
		default:
			fmt.Fprintf(&b, "key %q changed at version %d", c.Key, c.Actual)
		}
		e.more(&b)
		return b.String()
	}
	b.WriteString("vkv: version conflict on key ")
	b.WriteString(strconv.Quote(e.Key))
	fmt.Fprintf(&b, ": expected version %d, ", e.Expected)
	if e.Actual == 0 {
		b.WriteString("key does not exist")
	} else {
		fmt.Fprintf(&b, "actual version %d", e.Actual)
	}
	e.more(&b)
	return b.String()
}

// more says how many failed conditions follow the first.
func (e *ConflictError) more(b *strings.Builder) {
	if n := len(e.Conflicts) - 1; n > 0 {
		fmt.Fprintf(b, " (and %d more failed condition", n)
		if n > 1 {
			b.WriteByte('s')
		}
		b.WriteByte(')')
	}
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// CompactedError reports a read at a version older than the kept history:
// a GetAt below the oldest kept version, or a Watch whose changes after its
// from (or after the point it reached) are no longer all kept.
// errors.Is(err, ErrCompacted) holds.
type CompactedError struct {
	// Key is the key read, or "" for a watch (a read of the change log).
	Key string
	// Requested is the version asked for: GetAt's version, or the version
	// after which a watch needed the changes.
	Requested Version
	// Oldest is the oldest readable version: the oldest version GetAt
	// answers for (OldestVersion when the error was made), whose change is
	// also the oldest a watch can deliver. The lowest from a Watch accepts
	// is therefore Oldest-1.
	Oldest Version
	// Range is the keys a ListAt read; nil for GetAt and Watch.
	Range *KeyRange
}

// Error says which version was asked for and which is the oldest kept.
func (e *CompactedError) Error() string {
	if e.Range != nil {
		return fmt.Sprintf("vkv: version %d of the %s is compacted; oldest kept version is %d", e.Requested, e.Range, e.Oldest)
	}
	if e.Key == "" {
		return fmt.Sprintf("vkv: the changes after version %d are compacted; oldest kept version is %d (watch from %d or later)",
			e.Requested, e.Oldest, max(e.Oldest, 1)-1)
	}
	return fmt.Sprintf("vkv: version %d of key %q is compacted; oldest kept version is %d", e.Requested, e.Key, e.Oldest)
}

// Is reports whether target is ErrCompacted.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// NotFoundError reports a key that does not exist, has expired, or did not
// exist at the version asked for. errors.Is(err, ErrNotFound) holds.
type NotFoundError struct {
	Key string // the key, cut to 64 bytes for long keys
}

// notFound returns the *NotFoundError of key.
func notFound(key string) error {
	return &NotFoundError{Key: key[:min(len(key), 64)]}
}

// Error names the key.
func (e *NotFoundError) Error() string { return fmt.Sprintf("vkv: key %q not found", e.Key) }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// FutureVersionError reports a read at a version newer than the store's
// newest: GetAt of a version not handed out yet. errors.Is(err,
// ErrFutureVersion) holds.
type FutureVersionError struct {
	// Requested is the version asked for.
	Requested Version
	// Newest is the store's newest version when the read was refused; 0
	// when the implementation could not tell.
	Newest Version
}

// Error names the version asked for and the store's newest.
func (e *FutureVersionError) Error() string {
	if e.Newest == 0 {
		return fmt.Sprintf("vkv: version %d is newer than the store", e.Requested)
	}
	return fmt.Sprintf("vkv: version %d is newer than the store, which is at version %d", e.Requested, e.Newest)
}

// Is reports whether target is ErrFutureVersion.
func (e *FutureVersionError) Is(target error) bool { return target == ErrFutureVersion }

// KeyError reports an unusable key. It unwraps to ErrInvalidKey.
type KeyError struct {
	Key    string // the key, cut to 64 bytes for long keys
	Reason string // "empty" or "longer than N bytes"
}

// Error names the key and the reason.
func (e *KeyError) Error() string {
	return fmt.Sprintf("vkv: invalid key %q: %s", e.Key, e.Reason)
}

// Unwrap returns ErrInvalidKey.
func (e *KeyError) Unwrap() error { return ErrInvalidKey }

// VersionError reports a version or entity tag that does not parse. It
// matches ErrInvalidVersion.
type VersionError struct {
	Input string // the text that was parsed
	Err   error  // what was wrong with it
}

// Error quotes the input and says what was wrong.
func (e *VersionError) Error() string {
	return fmt.Sprintf("vkv: invalid version %q: %v", e.Input, e.Err)
}

// Is reports whether target is ErrInvalidVersion.
func (e *VersionError) Is(target error) bool { return target == ErrInvalidVersion }

// Unwrap returns the underlying cause.
func (e *VersionError) Unwrap() error { return e.Err }

// LimitError reports input over one of the store's size limits. It unwraps to
// ErrValueTooLarge or ErrTxnTooLarge.
type LimitError struct {
	Err   error // ErrValueTooLarge or ErrTxnTooLarge
	Key   string
	Size  int // the size given (bytes or operations)
	Limit int // the limit it exceeded
}

// Error states the size and the limit.
func (e *LimitError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%v: key %q: %d over the limit of %d", e.Err, e.Key, e.Size, e.Limit)
	}
	return fmt.Sprintf("%v: %d over the limit of %d", e.Err, e.Size, e.Limit)
}

// Unwrap returns the sentinel.
func (e *LimitError) Unwrap() error { return e.Err }
