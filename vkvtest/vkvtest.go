package vkvtest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vkvstore/vkv"
)

// Run checks that the KV returned by open behaves as vkv.KV promises. open is
// called once per subtest and must return a new, empty KV; Run closes it
// (Close must be idempotent).
//
// The TTL properties are checked on real time: keys with TTLs of a few
// hundred milliseconds are waited out with time.Sleep, so the KV's clock must
// agree with the test's (see the package documentation). A KV whose clock the
// test can set is better checked with RunWithClock.
func Run(t *testing.T, open func(t *testing.T) vkv.KV) {
	t.Helper()
	if open == nil {
		t.Fatal("vkvtest.Run: open is nil")
	}
	run(t, func(t *testing.T) (vkv.KV, *suiteClock) { return open(t), &suiteClock{} })
}

// RunWithClock is Run for a KV whose clock the test supplies: open must
// build the KV on clock (for a *vkv.Store, as vkv.Options.Clock; for a
// client of a server in the test, the server's store and the client both),
// and must not read the time any other way for what it promises about TTLs.
// clock is a new *FakeClock for every subtest, starting at fakeStart (years
// away from the real time, so that a read of the real time where the KV
// should read clock shows); the suite advances it instead of sleeping, so the TTL properties are
// checked exactly (a key is visible until the instant its TTL ends and gone
// from that instant on) and the same way on a loaded machine as on an idle
// one.
func RunWithClock(t *testing.T, open func(t *testing.T, clock vkv.Clock) vkv.KV) {
	t.Helper()
	if open == nil {
		t.Fatal("vkvtest.RunWithClock: open is nil")
	}
	run(t, func(t *testing.T) (vkv.KV, *suiteClock) {
		c := &suiteClock{fake: NewFakeClock(fakeStart)}
		return open(t, c.fake), c
	})
}

// fakeStart is the time the fake clock of RunWithClock starts at.
var fakeStart = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// run runs every group against the KVs open returns, with the clock each
// was built on.
func run(t *testing.T, open func(t *testing.T) (vkv.KV, *suiteClock)) {
	t.Helper()
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					kv, clock := openKV(t, open)
					if c.timed != nil {
						c.timed(t, kv, clock)
						return
					}
					c.fn(t, kv)
				})
			}
		})
	}
}

// testCase is one property of the suite: fn, or timed for properties that
// let time pass.
type testCase struct {
	name  string
	fn    func(t *testing.T, kv vkv.KV)
	timed func(t *testing.T, kv vkv.KV, clock *suiteClock)
}

// suiteClock is the time a property is checked against: the FakeClock the
// KV was built on (RunWithClock), or real time (fake is nil; Run).
type suiteClock struct {
	fake *FakeClock
}

// now reads the clock.
func (c *suiteClock) now() time.Time {
	if c.fake != nil {
		return c.fake.Now()
	}
	return time.Now()
}

// pass lets d go by: advances the fake clock, or sleeps.
func (c *suiteClock) pass(d time.Duration) {
	if c.fake != nil {
		c.fake.Advance(d)
		return
	}
	time.Sleep(d)
}

// group is a set of related properties, run as one parent subtest.
type group struct {
	name  string
	cases []testCase
}

// groups lists every property the suite checks.
var groups = []group{
	{"Plain", plainCases},
	{"List", listCases},
	{"ListAt", listAtCases},
	{"History", historyCases},
	{"Txn", txnCases},
	{"Invariants", invariantCases},
	{"TTL", ttlCases},
	{"Input", inputCases},
	{"Concurrency", concurrencyCases},
	{"Watch", watchCases},
}

// openKV calls open and arranges for the KV to be closed when t ends.
func openKV(t *testing.T, open func(t *testing.T) (vkv.KV, *suiteClock)) (vkv.KV, *suiteClock) {
	t.Helper()
	kv, clock := open(t)
	if kv == nil {
		t.Fatal("open returned a nil vkv.KV")
	}
	t.Cleanup(func() {
		if err := kv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return kv, clock
}

// entryOpts compares entries: nil and empty values are equal, and ExpiresAt
// (a wall-clock time) is ignored; TTL tests check it on their own.
var entryOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(vkv.Entry{}, "ExpiresAt"),
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmpopts.EquateEmpty()

// entry builds the Entry a live key is expected to have.
func entry(key, value string, version, created vkv.Version) vkv.Entry {
	return vkv.Entry{Key: key, Value: []byte(value), Version: version, CreateVersion: created}
}

// tombstone builds the History entry a delete at version is expected to
// leave: it carries the CreateVersion of the key it deleted.
func tombstone(key string, version, created vkv.Version) vkv.Entry {
	return vkv.Entry{Key: key, Version: version, CreateVersion: created, Deleted: true}
}

// put writes value to key and fails the test on error.
func put(tb testing.TB, kv vkv.KV, key, value string, opts ...vkv.WriteOption) vkv.Version {
	tb.Helper()
	v, err := kv.Put(tb.Context(), key, []byte(value), opts...)
	if err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
	if v == 0 {
		tb.Fatalf("Put(%q) = version 0, want > 0", key)
	}
	return v
}

// del deletes key and fails the test on error.
func del(tb testing.TB, kv vkv.KV, key string) vkv.Version {
	tb.Helper()
	v, err := kv.Delete(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Delete(%q): %v", key, err)
	}
	if v == 0 {
		tb.Fatalf("Delete(%q) = version 0, want > 0", key)
	}
	return v
}

// get reads key and fails the test on error.
func get(tb testing.TB, kv vkv.KV, key string) vkv.Entry {
	tb.Helper()
	e, err := kv.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

// wantGet checks that Get(want.Key) returns want.
func wantGet(tb testing.TB, kv vkv.KV, want vkv.Entry) {
	tb.Helper()
	got, err := kv.Get(tb.Context(), want.Key)
	if err != nil {
		tb.Errorf("Get(%q): %v, want version %d", want.Key, err, want.Version)
		return
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		tb.Errorf("Get(%q) mismatch (-want +got):\n%s", want.Key, diff)
	}
}

// wantNotFound checks that Get(key) returns ErrNotFound.
func wantNotFound(tb testing.TB, kv vkv.KV, key string) {
	tb.Helper()
	e, err := kv.Get(tb.Context(), key)
	if !errors.Is(err, vkv.ErrNotFound) {
		tb.Errorf("Get(%q) = %+v, %v; want error matching vkv.ErrNotFound", key, e, err)
	}
}

// history reads all kept history of key and fails the test on error.
func history(tb testing.TB, kv vkv.KV, key string) []vkv.Entry {
	tb.Helper()
	h, err := kv.History(tb.Context(), key, 0)
	if err != nil {
		tb.Fatalf("History(%q, 0): %v", key, err)
	}
	return h
}

// wantHistory checks that History(key, 0) returns want (newest first).
func wantHistory(tb testing.TB, kv vkv.KV, key string, want []vkv.Entry) {
	tb.Helper()
	got, err := kv.History(tb.Context(), key, 0)
	if err != nil {
		tb.Errorf("History(%q, 0): %v", key, err)
		return
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		tb.Errorf("History(%q, 0) mismatch (-want +got):\n%s", key, diff)
	}
}

// wantErrIs checks that err matches target, naming the call in what.
func wantErrIs(tb testing.TB, what string, err, target error) bool {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: got error %v, want one matching %v", what, err, target)
		return false
	}
	return true
}

// conflict builds a Conflict; cur is the entry the key holds, or nil.
func conflict(key string, expected, actual vkv.Version, cur *vkv.Entry) vkv.Conflict {
	return vkv.Conflict{Key: key, Expected: expected, Actual: actual, Current: cur}
}

// wantConflict checks that err is a *vkv.ConflictError matching ErrConflict,
// whose Conflicts are want and whose top-level fields describe want[0].
func wantConflict(tb testing.TB, what string, err error, want ...vkv.Conflict) {
	tb.Helper()
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) {
		tb.Errorf("%s: got error %v (%T), want a *vkv.ConflictError", what, err, err)
		return
	}
	if !errors.Is(err, vkv.ErrConflict) {
		tb.Errorf("%s: error %v does not match vkv.ErrConflict", what, err)
	}
	w := &vkv.ConflictError{Key: want[0].Key, Expected: want[0].Expected, Actual: want[0].Actual, Current: want[0].Current, Conflicts: want}
	if diff := cmp.Diff(w, ce, entryOpts); diff != "" {
		tb.Errorf("%s: *vkv.ConflictError mismatch (-want +got):\n%s", what, diff)
	}
}

// asideTimeout bounds how long a write made while a transaction function runs
// may take.
const asideTimeout = 5 * time.Second

// aside runs f in another goroutine while the caller (a transaction function)
// waits for it, at most asideTimeout. It reports whether f finished. If it did
// not, the test fails (the KV blocked a writer while a transaction was open),
// and the test waits for f in a cleanup.
func aside(tb testing.TB, what string, f func()) bool {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(asideTimeout):
		tb.Errorf("%s made while a transaction function was running did not return within %v: the KV must not block other callers while a transaction is open", what, asideTimeout)
		tb.Cleanup(func() { <-done })
		return false
	}
}

// keyf is fmt.Sprintf, named for readability at call sites building keys.
func keyf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
