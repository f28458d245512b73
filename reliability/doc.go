// Package reliability holds tests, and only tests, that check the promises
// vkv makes about concurrency and crashes with the tools trusted stores use.
// It has no API; RELIABILITY.md at the repository root lists every check,
// its size, the command that runs it and the result of a recorded run.
//
// # Linearizability
//
// Concurrent clients (at least 8) run Get, Put, CompareAndSwap, Delete and
// CompareAndDelete on a few hot keys, and two-key Update and View
// transactions, against the embedded store (in memory and on disk), the
// HTTP handler through the Go client, and the built vkv binary. Every call
// is recorded with its invocation and response times on a monotonic clock,
// and github.com/anishathalye/porcupine checks that the history is
// linearizable against a model of a versioned register per key: a read
// returns the value and the exact version of the latest write, a
// conditional write succeeds exactly when the key is at the expected
// version, a conflict reports the version (and value) the key is at, and a
// successful write returns a version greater than every version handed out
// before it. Single-key histories are partitioned by key; histories with
// transactions are checked against a model of the whole store, so the
// version counter itself is checked to be linearizable. Operations whose
// outcome is unknown (their context ended) are recorded as possibly applied,
// with no response time. Every history is also checked for versions handed
// out twice and for versions that go back in real time.
//
// The same harness runs against deliberately broken wrappers of the store
// (a compare-and-swap done as a Get then a Put, reads served from a stale
// cache, acknowledged writes that are dropped) and the tests require the
// checker to call those histories illegal: the check can fail.
//
// # Crash recovery
//
// TestCrashRecovery builds cmd/vkv, serves a directory with durable writes,
// drives concurrent compare-and-swap writers over HTTP, kills the server with
// SIGKILL at a random moment (sometimes while it is still opening the
// store), restarts it on the same directory and checks that the store opens
// without repair, that every acknowledged write is in the key's history with
// its value (or was superseded by a later version), that no key is at a
// version below one acknowledged for it, that no version was handed out
// twice and that versions acknowledged after a restart are above every
// version acknowledged before it. VKV_LONG=1 (or -long) runs more cycles.
package reliability
