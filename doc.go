// Package vkv is an embeddable versioned key-value store on Badger.
//
// Every key carries a version. Writes can be conditional on it
// (compare-and-swap), so that two clients that read the same value cannot both
// overwrite it: the second one gets a *ConflictError that says which version
// it expected, which one it found, and what the key now holds.
//
// # Basics
//
// Open a store, write and read:
//
//	s, err := vkv.Open("data", nil) // durable, on disk
//	defer s.Close()
//	v, err := s.Put(ctx, "greeting", []byte("hello"))
//	e, err := s.Get(ctx, "greeting") // e.Value, e.Version == v
//
// Update only if nobody else did:
//
//	_, err = s.CompareAndSwap(ctx, "greeting", e.Version, []byte("hi"))
//	var ce *vkv.ConflictError
//	if errors.As(err, &ce) {
//		// ce.Actual is the version now; ce.Current the entry, value included
//	}
//
// Several keys at once, atomically:
//
//	v, err = s.Update(ctx, func(tx vkv.Txn) error {
//		from, err := tx.Get("alice")
//		if err != nil {
//			return err
//		}
//		...
//		tx.Put("alice", newFrom)
//		return tx.Put("bob", newTo)
//	})
//
// # Versions
//
// The store numbers every successful write with a Version from one counter:
// versions strictly increase across all keys, all writes of one transaction
// share one version, and no version is ever handed out twice, not after
// deletes, compaction, or Close and Open. Version 0 means "absent". The
// counter is kept in Badger in the same transaction as the writes it numbers;
// Badger's own commit timestamps are not used, since Badger restores them
// from the newest entry on disk and they can go back once that entry is
// deleted and compacted away.
//
// # Conditions and transactions
//
// CompareAndSwap and CompareAndDelete take the version the caller expects (0:
// the key must not exist). Update runs a function with a Txn: its Expect
// calls add conditions, and the versions its Get calls see become conditions
// too. If an Expect fails, nothing is written and the *ConflictError lists
// every failed condition. If only a key the function read has changed, the
// function is run again with fresh data, up to a bound. A failed condition
// never writes anything.
//
// # History and retention
//
// The store keeps the versions of each key written in the last
// Options.HistoryVersions versions of the store, plus each key's newest older
// version, so GetAt answers for every version from OldestVersion on. History
// lists them newest first, deletes included as tombstones. Older reads fail
// with *CompactedError.
//
// # Expiry
//
// A write with WithTTL expires: from that moment the key is invisible to
// reads and conditions, and soon after, the store deletes it with a real
// delete that takes its own version and is recorded in history.
//
// # Durability and group commit
//
// By default a write returns only when it is on disk (fsync). Writes from
// concurrent callers are committed together by one goroutine, one fsync per
// group. Options.NoSync trades durability for speed; see its documentation.
//
// # Caveats
//
// Values returned by the store belong to the caller. A Txn must not be used
// after its function returns, nor from several goroutines. A Store must be
// closed; Close waits for calls in progress. A call whose context ends before
// its write was taken for commit returns the context's error and writes
// nothing; once taken, the write completes and its result is returned.
package vkv
