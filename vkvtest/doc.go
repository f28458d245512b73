// Package vkvtest is a conformance suite for implementations of vkv.KV, in
// the spirit of testing/fstest.TestFS and nettest.TestConn.
//
// Every backend of vkv — the embedded *vkv.Store, the HTTP client, and any
// later (for example distributed) backend — must behave the same way. An
// implementation's own tests check that by calling Run (or RunWithClock) with
// a function that opens a new, empty KV:
//
//	func TestConformance(t *testing.T) {
//		vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV {
//			s, err := vkv.Open("", &vkv.Options{InMemory: true, Clock: clock})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Run uses nothing but the vkv.KV and vkv.Txn interfaces, so the suite can be
// pointed at any backend. It runs one subtest per property, grouped by area,
// and calls open once for every subtest; the KV is closed when the subtest
// ends (Close must therefore be idempotent, which the suite also checks).
//
// The properties checked are:
//
//   - Plain: Get, Put, Delete, CompareAndSwap and CompareAndDelete semantics,
//     including Version and CreateVersion bookkeeping, the fields of
//     *vkv.ConflictError (Key, Expected, Actual, Current, Conflicts), that a
//     failed condition writes nothing, round-trips of empty and binary values
//     and of keys holding '/', spaces, unicode, 0x00 and 0xff, and that
//     values are copied in and out (the caller owns them).
//   - List: byte order, prefix filtering, the exclusive after cursor, paging
//     with limit and next, the default and maximum page sizes, and that
//     deleted keys are absent.
//   - History: newest first, tombstones for deletes, limit; GetAt returns the
//     newest write at or below a version, ErrNotFound where the key did not
//     exist and ErrFutureVersion past the newest version handed out.
//   - Txn: Update commits atomically under one version, Txn.Get sees the
//     transaction's own writes, failed Expect conditions are all reported and
//     write nothing, an error from fn is returned as is, fn is rerun when a
//     key it read changed before commit, View sees a snapshot and is
//     read-only, and a Txn used after its function returned fails with
//     ErrTxnDone.
//   - Invariants: versions strictly increase and are never handed out twice
//     (also under concurrency, and in real-time order); no lost update with
//     concurrent CompareAndSwap or Update increments; create-only
//     CompareAndSwap admits exactly one creator; a failed transaction writes
//     nothing and leaves no history.
//   - TTL: expiring keys vanish from Get, List and conditions at expiry,
//     may be re-created (with CompareAndSwap expecting 0, Put, or a
//     transaction) under a new CreateVersion, are later deleted by a
//     tombstone with its own version, carry ExpiresAt, and a negative TTL is
//     rejected with ErrInvalidTTL.
//   - Input: empty and oversized keys (ErrInvalidKey), oversized values
//     (ErrValueTooLarge) and transactions (ErrTxnTooLarge), cancelled
//     contexts (context.Canceled, nothing written), and use after Close
//     (ErrClosed) all give typed errors, never a panic; a transaction with
//     many large values commits whole or fails with ErrTxnTooLarge; Close is
//     idempotent, also when called concurrently with other calls.
//   - Concurrency: a mixed workload from several goroutines, meant to be run
//     under the race detector.
//   - Watch, only for a KV that implements vkv.Watcher (found by type
//     assertion; skipped otherwise): a watch replays exactly the changes
//     above its from version under its prefix, then delivers live ones; with
//     concurrent writers, several watchers (different prefixes and from
//     versions, started at different times) each see the committed sequence
//     read back from History, in version order; an expiry arrives as a
//     delete; a watch ends with ctx's error when ctx ends and with
//     vkv.ErrClosed when the KV closes. A from below the kept history
//     (*vkv.CompactedError) is not checked, since a generic KV cannot be
//     made to compact on demand.
//
// The suite assumes that the KV keeps the history of at least the last few
// thousand versions (History and GetAt are checked on fresh stores), and that
// its limits are within the reference store's where it has to exceed one:
// keys of 1 MiB, values of 64 MiB and transactions of 100 000 writes must all
// be rejected. It uses short TTLs (a few hundred milliseconds) and moderate
// operation counts, so that it stays fast also when run against a KV served
// over HTTP. Under Run the TTL tests measure expiry on the test's own clock,
// so a remote KV's clock must agree with it to within about 250 milliseconds
// (and ExpiresAt to within a second); if the checks meant for before a key's
// expiry cannot be made before it, they are repeated with a TTL twice as
// long, a few times, and then fail rather than pass unchecked.
//
// A KV whose clock can be supplied (a *vkv.Store takes vkv.Options.Clock) is
// better checked with RunWithClock: the suite builds it on a FakeClock and
// advances that instead of sleeping, and checks expiry exactly: a key is
// visible a nanosecond before its ExpiresAt and gone at it, and ExpiresAt is
// the write's time plus the TTL to the nanosecond. A FakeClock can also be
// used on its own, in any test of code built on a vkv.Store.
//
// The suite's own tests run it against the embedded store, in memory (on a
// fake clock and on the system clock) and on disk, and against mutants of the store that each break one promise, to
// check that the property covering that promise fails.
package vkvtest
