package vkv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/internal/badgerfmt"
	"github.com/vkvstore/vkv/internal/keys"
)

// openInternal opens a store in a temporary directory (or in memory) for a
// white-box test; it is closed when t ends.
func openInternal(t *testing.T, o Options) *Store {
	t.Helper()
	dir := ""
	if !o.InMemory {
		dir = t.TempDir()
	}
	s, err := Open(dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fillerKeyLen is the length of the keys fill writes.
const fillerKeyLen = 8

// fill adds count entries to txn that cost size bytes in all as Badger's
// Txn.checkSize counts them (badgerfmt.EntryCost): each is a key of
// fillerKeyLen bytes and a value below the value threshold. Its keys are in
// no space of the store. It returns Badger's error, ErrTxnTooBig once the
// total crosses a limit.
func fill(txn *badger.Txn, count, size, threshold int64) error {
	base := badgerfmt.EntryCost(fillerKeyLen, 0, threshold)
	extra := size - count*base
	if count < 0 || extra < 0 || extra > count*(threshold-1) {
		return fmt.Errorf("fill: %d entries cannot cost %d bytes", count, size)
	}
	for i := range count {
		v := min(extra, threshold-1)
		extra -= v
		k := binary.BigEndian.AppendUint64(nil, uint64(i))
		k[0] = 0xfe
		if err := txn.Set(k, make([]byte, v)); err != nil {
			return err
		}
	}
	return nil
}

// fitsWith applies r to a new committer transaction and then adds count
// filler entries costing size bytes, and reports whether Badger took them
// all. Nothing is committed; the caller holds s.commitMu.
func fitsWith(t *testing.T, s *Store, r *request, count, size int64) bool {
	t.Helper()
	b := s.newBatchTxn(time.Now())
	defer b.txn.Discard()
	// apply caches what it writes; this transaction is never committed.
	defer s.latest.reset()
	if res := s.apply(b, r); res.err != nil {
		t.Fatalf("apply: %v", res.err)
	}
	err := fill(b.txn, count, size, s.valueThreshold)
	if err != nil && !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatal(err)
	}
	return err == nil
}

// badgerCount measures what Badger counts for a transaction holding r
// alone: the entries and bytes r adds, plus what every Badger transaction
// starts with (badgerfmt.TxnStartCount and TxnStartSize, for the commit
// marker), found as the largest filler that still fits. The
// committer starts its own count at 0, so each request's cost must cover
// the marker too; a batch of requests that each do is covered as well.
func badgerCount(t *testing.T, s *Store, r *request) (count, size int64) {
	t.Helper()
	// Bytes: a few large filler entries, so that the count limit is far.
	n := s.maxBatchSize/(s.valueThreshold-1) + 2
	empty := badgerfmt.EntryCost(fillerKeyLen, 0, s.valueThreshold) // a filler entry's least cost
	lo, hi := n*empty, s.maxBatchSize                               // lo fits (checked below), hi does not
	if !fitsWith(t, s, r, n, lo) {
		t.Fatalf("the request leaves no room for %d small entries", n)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fitsWith(t, s, r, n, mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	size = s.maxBatchSize - 1 - lo
	// Entries: empty filler entries, whose bytes stay far below the limit.
	clo, chi := int64(0), s.maxBatchCount
	for chi-clo > 1 {
		mid := (clo + chi) / 2
		if fitsWith(t, s, r, mid, mid*empty) {
			clo = mid
		} else {
			chi = mid
		}
	}
	if (s.maxBatchCount-clo)*empty+size >= s.maxBatchSize {
		t.Fatalf("the entry count was measured against the byte limit")
	}
	return s.maxBatchCount - 1 - clo, size
}

// TestCostBoundsBadger checks that cost is an upper bound of what Badger's
// Txn.checkSize counts for the entries the committer writes for a request,
// entries and bytes, for keys and values of several sizes (values on both
// sides of the value threshold), TTLs, expired keys, deletes, reaper
// requests and failed conditions. Since cost refuses a request exactly when
// its bound reaches Badger's limits, with Badger's comparison
// (badgerfmt.TooBig), a request cost accepts never meets ErrTxnTooBig in
// the committer.
func TestCostBoundsBadger(t *testing.T) {
	s := openInternal(t, Options{NoSync: true, MemTableSize: 1 << 20, noReap: true})
	ctx := context.Background()
	thr := int(s.valueThreshold)
	if thr <= keys.RecordHeader+2 {
		t.Fatalf("value threshold %d", thr)
	}
	put := func(key string, n int, ttl time.Duration) {
		t.Helper()
		if _, err := s.Put(ctx, key, make([]byte, n), WithTTL(ttl)); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("L", 4000)
	// State the requests meet: live keys with and without TTLs, and keys
	// that expired but were not reaped (the reaper is off).
	put("live", 10, 0)
	put("ttl", 10, time.Hour)
	put("ttl-del", 10, time.Hour)
	put(long+"ttl", thr, time.Hour)
	for i := range 20 {
		put(fmt.Sprintf("exp%02d", i), 10, time.Millisecond)
	}
	put(long+"exp", 10, time.Millisecond)
	put("reap", 10, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	reapEntry, err := s.History(ctx, "reap", 1)
	if err != nil || len(reapEntry) != 1 {
		t.Fatalf("History(reap): %v, %v", reapEntry, err)
	}

	putOp := func(key string, n int, ttl time.Duration) writeOp {
		return writeOp{key: key, value: make([]byte, n), ttl: ttl}
	}
	multi := &request{}
	for i := range 8 {
		switch i % 4 {
		case 0:
			multi.ops = append(multi.ops, putOp(fmt.Sprintf("exp%02d", i), thr-keys.RecordHeader-1, time.Hour))
		case 1:
			multi.ops = append(multi.ops, putOp(fmt.Sprintf("exp%02d", i), thr-keys.RecordHeader, 0))
		case 2:
			multi.ops = append(multi.ops, writeOp{key: fmt.Sprintf("exp%02d", i), del: true})
		default:
			multi.ops = append(multi.ops, putOp(fmt.Sprintf("new%02d", i), i*100, time.Minute))
		}
	}
	multi.ops = append(multi.ops, writeOp{key: "ttl-del", del: true}, putOp(long+"ttl", 1, 2*time.Hour), putOp(long+"exp", 5, time.Hour), writeOp{key: "absent", del: true})

	tests := []struct {
		name string
		r    *request
	}{
		{"put new, small", &request{ops: []writeOp{putOp("a", 10, 0)}}},
		{"put, record one below the value threshold", &request{ops: []writeOp{putOp("b", thr-keys.RecordHeader-1, 0)}}},
		{"put, record at the value threshold", &request{ops: []writeOp{putOp("c", thr-keys.RecordHeader, 0)}}},
		{"put, record over the value threshold", &request{ops: []writeOp{putOp("d", thr, 0)}}},
		{"put, empty value", &request{ops: []writeOp{putOp("e", 0, 0)}}},
		{"put, key of 4000 bytes", &request{ops: []writeOp{putOp(long, 100, 0)}}},
		{"put over a live key", &request{ops: []writeOp{putOp("live", 100, 0)}}},
		{"put with a TTL over another TTL", &request{ops: []writeOp{putOp("ttl", 100, 2*time.Hour)}}},
		{"put with a TTL over an expired key", &request{ops: []writeOp{putOp("exp00", 100, time.Hour)}}},
		{"put over an expired key of 4000 bytes", &request{ops: []writeOp{putOp(long+"exp", thr-keys.RecordHeader-1, time.Hour)}}},
		{"delete of a key with a TTL", &request{ops: []writeOp{{key: "ttl", del: true, mustExist: true}}}},
		{"delete of an absent key", &request{ops: []writeOp{{key: "absent", del: true}}}},
		{"delete of an expired key", &request{ops: []writeOp{{key: "exp01", del: true}}}},
		{"failed condition", &request{conds: []condition{{key: "live", version: 999}}, ops: []writeOp{putOp("live", 10, 0)}}},
		{"conditions only", &request{conds: []condition{{key: "live", version: 1}}}},
		{"reaper: expire", &request{expireKey: "reap", expireVersion: uint64(reapEntry[0].Version), expireAt: reapEntry[0].ExpiresAt.UnixNano()}},
		{"reaper: stale index entry", &request{expireKey: "live", expireVersion: 1, expireAt: 42}},
		{"transaction of 12 mixed writes", multi},
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.cost(tt.r); err != nil {
				t.Fatalf("cost: %v", err)
			}
			count, size := badgerCount(t, s, tt.r)
			if count > tt.r.costCount || size > tt.r.costSize {
				t.Errorf("Badger counts %d entries, %d bytes; cost says %d entries, %d bytes: not an upper bound",
					count, size, tt.r.costCount, tt.r.costSize)
			}
			t.Logf("Badger %d entries, %d bytes; cost %d entries, %d bytes", count, size, tt.r.costCount, tt.r.costSize)
		})
	}
}

// TestCostBoundary builds transactions whose cost is one below Badger's
// limits and at them: the first commits (so the committer did not meet
// ErrTxnTooBig), the second is refused with ErrTxnTooLarge before it reaches
// the committer.
func TestCostBoundary(t *testing.T) {
	s := openInternal(t, Options{NoSync: true, MemTableSize: 1 << 20, noReap: true})
	ctx := context.Background()
	inline := int(s.valueThreshold) - keys.RecordHeader - 1 // largest value kept in the LSM tree

	// bySize returns ops whose cost is exactly target bytes: ops of 8000
	// bytes up to 1000 bytes below it, then a last op whose key and value
	// lengths make up the rest.
	bySize := func(target int64) []writeOp {
		t.Helper()
		var ops []writeOp
		costOf := func(ops []writeOp) int64 {
			r := &request{ops: ops}
			s.cost(r)
			return r.costSize
		}
		for i := 0; ; i++ {
			next := append(ops, writeOp{key: fmt.Sprintf("s%03d", i), value: make([]byte, 8000)})
			if costOf(next) > target-1000 {
				break
			}
			ops = next
		}
		for kl := 1; kl <= 20; kl++ {
			last := writeOp{key: fmt.Sprintf("z%0*d", kl-1, 0)[:kl]}
			base := costOf(append(ops, last))
			if d := target - base; d >= 0 && d%2 == 0 && d/2 <= int64(inline) {
				last.value = make([]byte, d/2) // kept twice: latest and history
				out := append(ops, last)
				if got := costOf(out); got != target {
					t.Fatalf("built a cost of %d bytes, want %d", got, target)
				}
				return out
			}
		}
		t.Fatalf("no transaction costs exactly %d bytes", target)
		return nil
	}
	// byCount returns n ops of empty values.
	byCount := func(n int) []writeOp {
		ops := make([]writeOp, n)
		for i := range ops {
			ops[i] = writeOp{key: fmt.Sprintf("c%04d", i), value: []byte{}}
		}
		return ops
	}
	countOf := func(ops []writeOp) int64 {
		r := &request{ops: ops}
		s.cost(r)
		return r.costCount
	}
	under := 1
	for countOf(byCount(under+1)) < s.maxBatchCount {
		under++
	}

	tests := []struct {
		name string
		ops  []writeOp
		fits bool
	}{
		{"bytes one below the limit", bySize(s.maxBatchSize - 1), true},
		{"bytes at the limit", bySize(s.maxBatchSize), false},
		{"entries one request below the limit", byCount(under), true},
		{"entries over the limit", byCount(under + 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &request{ops: tt.ops}
			costErr := s.cost(r)
			t.Logf("%d ops: cost %d entries, %d bytes; limits %d entries, %d bytes", len(tt.ops), r.costCount, r.costSize, s.maxBatchCount, s.maxBatchSize)
			overSize, overCount := r.costSize >= s.maxBatchSize, r.costCount >= s.maxBatchCount
			if tt.fits == (overSize || overCount) || (overSize && overCount) {
				t.Fatalf("the request is not built as meant: over the byte limit %v, over the entry limit %v", overSize, overCount)
			}
			v, err := s.Update(ctx, func(tx Txn) error {
				for _, op := range tt.ops {
					if err := tx.Put(op.key, op.value); err != nil {
						return err
					}
				}
				return nil
			})
			if tt.fits {
				if costErr != nil || err != nil {
					t.Fatalf("cost: %v; Update: %v; want both to succeed", costErr, err)
				}
				last := tt.ops[len(tt.ops)-1]
				e, err := s.Get(ctx, last.key)
				if err != nil || e.Version != v || len(e.Value) != len(last.value) {
					t.Errorf("Get(%q) after the commit: version %d, %d bytes, %v; want version %d, %d bytes", last.key, e.Version, len(e.Value), err, v, len(last.value))
				}
				return
			}
			var le *LimitError
			if !errors.Is(costErr, ErrTxnTooLarge) || !errors.As(err, &le) || !errors.Is(err, ErrTxnTooLarge) {
				t.Fatalf("cost: %v; Update: %v; want a *LimitError matching ErrTxnTooLarge from both", costErr, err)
			}
			// cost counts an expiry for every written key, so Badger takes
			// more than cost allows; what it does with this one is only
			// reported.
			s.commitMu.Lock()
			b := s.newBatchTxn(time.Now())
			res := s.apply(b, r)
			b.txn.Discard()
			s.latest.reset()
			s.commitMu.Unlock()
			t.Logf("Badger on the same entries: %v", res.err)
		})
	}
}

// cachedVersions returns the versions the committer's cache holds, by key
// (0 for a key cached as absent).
func cachedVersions(s *Store) map[string]Version {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	out := map[string]Version{}
	for k, c := range s.latest.m {
		if c.exists {
			out[k] = Version(c.version)
		} else {
			out[k] = 0
		}
	}
	return out
}

// TestLatestCacheEviction: with a cache of 1 to 3 keys and many keys
// written, the cache never holds more than its size, what it holds is what
// Badger holds, and conditions see the right versions of keys evicted and
// re-read, deleted and re-created.
func TestLatestCacheEviction(t *testing.T) {
	for _, size := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("size=", size), func(t *testing.T) {
			s := openInternal(t, Options{InMemory: true, KeyCacheSize: size})
			ctx := context.Background()
			const n = 12
			key := func(i int) string { return fmt.Sprintf("key%02d", i) }
			want := map[string]Version{} // the true versions; absent: 0
			check := func(step string) {
				t.Helper()
				cached := cachedVersions(s)
				if len(cached) > size {
					t.Fatalf("%s: the cache holds %d keys, more than its size %d", step, len(cached), size)
				}
				for k, v := range cached {
					if v != want[k] {
						t.Fatalf("%s: the cache has %q at version %d, the store at %d", step, k, v, want[k])
					}
				}
			}
			for round := range 3 {
				for i := range n {
					k := key(i)
					// A wrong expected version fails with the true one.
					for _, wrong := range []Version{want[k] + 1, want[k] + 100} {
						_, err := s.CompareAndSwap(ctx, k, wrong, []byte("x"))
						var ce *ConflictError
						if !errors.As(err, &ce) || ce.Actual != want[k] {
							t.Fatalf("round %d: CAS(%q, expected %d) with the key at %d: %v", round, k, wrong, want[k], err)
						}
						check(fmt.Sprintf("round %d, failed CAS on %q", round, k))
					}
					if want[k] != 0 {
						_, err := s.CompareAndSwap(ctx, k, 0, []byte("x"))
						if !errors.Is(err, ErrConflict) {
							t.Fatalf("round %d: create-only CAS(%q) on an existing key: %v", round, k, err)
						}
					}
					// The right one succeeds.
					v, err := s.CompareAndSwap(ctx, k, want[k], []byte(fmt.Sprint(round)))
					if err != nil {
						t.Fatalf("round %d: CAS(%q, expected %d): %v", round, k, want[k], err)
					}
					want[k] = v
					check(fmt.Sprintf("round %d, CAS on %q", round, k))
				}
				// Delete every third key, through a condition, so that the
				// next round re-creates it with expected version 0.
				for i := round % 3; i < n; i += 3 {
					k := key(i)
					if _, err := s.CompareAndDelete(ctx, k, want[k]); err != nil {
						t.Fatalf("round %d: CompareAndDelete(%q, %d): %v", round, k, want[k], err)
					}
					want[k] = 0
					check(fmt.Sprintf("round %d, delete of %q", round, k))
				}
			}
			// Every key as the store holds it, one last time through a
			// transaction's conditions.
			got := map[string]Version{}
			for i := range n {
				e, err := s.Get(ctx, key(i))
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Fatal(err)
				}
				got[key(i)] = e.Version
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("versions (-conditions saw +Get):\n%s", diff)
			}
		})
	}
}

// stopCommitter stops the committer goroutine (and the other background
// work) of s, so that only a caller committing inline can commit. Close
// still works afterwards.
func stopCommitter(s *Store) {
	close(s.stop)
	s.bg.Wait()
	s.stop = make(chan struct{})
}

// TestCommitInlineLoneWriter: a lone writer commits in its own goroutine.
// With the committer goroutine stopped, a queued request would never be
// answered; every write of a lone writer still commits, with the right
// results.
func TestCommitInlineLoneWriter(t *testing.T) {
	s := openInternal(t, Options{InMemory: true})
	stopCommitter(s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var versions []Version
	record := func(v Version, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("write %d of a lone writer with the committer stopped: %v", len(versions)+1, err)
		}
		versions = append(versions, v)
	}
	for i := range 20 {
		record(s.Put(ctx, "k", []byte(fmt.Sprint(i))))
	}
	record(s.CompareAndSwap(ctx, "k", versions[len(versions)-1], []byte("cas")))
	if _, err := s.CompareAndSwap(ctx, "k", 1, []byte("no")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS with a stale version: %v, want ErrConflict", err)
	}
	record(s.Update(ctx, func(tx Txn) error {
		e, err := tx.Get("k")
		if err != nil {
			return err
		}
		return tx.Put("k2", e.Value)
	}))
	record(s.Delete(ctx, "k"))
	var want []Version
	for i := range versions {
		want = append(want, Version(i+1))
	}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("versions of the lone writer (-want +got):\n%s", diff)
	}
	if e, err := s.Get(ctx, "k2"); err != nil || string(e.Value) != "cas" {
		t.Errorf("Get(k2) = %q, %v; want \"cas\"", e.Value, err)
	}
	if st := s.Stats(); st.Commits != uint64(len(versions)+1) || st.Conflicts != 1 {
		t.Errorf("Stats: %d commits, %d conflicts; want %d commits (one per request) and 1 conflict", st.Commits, st.Conflicts, len(versions)+1)
	}
}

// TestCommitInlineConcurrent: writers that find the commit lock taken queue
// their requests, and the committer goroutine takes them all in one batch,
// with the right results.
func TestCommitInlineConcurrent(t *testing.T) {
	s := openInternal(t, Options{InMemory: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const writers = 8
	// Hold the lock as a committer would: no writer can commit inline.
	s.commitMu.Lock()
	locked := true
	defer func() {
		if locked {
			s.commitMu.Unlock()
		}
	}()
	before := s.Stats()
	var wg sync.WaitGroup
	versions := make([]Version, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			versions[i], errs[i] = s.Put(ctx, fmt.Sprint("w", i), []byte(fmt.Sprint(i)))
		})
	}
	// The committer takes the first request and waits for the lock; the
	// others wait in the queue.
	for !s.committing.Load() || len(s.queue) != writers-1 {
		if ctx.Err() != nil {
			t.Fatalf("the committer has no batch in hand (committing %v, %d queued): the writers did not queue", s.committing.Load(), len(s.queue))
		}
		time.Sleep(time.Millisecond)
	}
	s.commitMu.Unlock()
	locked = false
	wg.Wait()
	seen := map[Version]bool{}
	for i := range writers {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		if seen[versions[i]] || versions[i] < 1 || versions[i] > writers {
			t.Fatalf("versions %v: not each of 1 to %d once", versions, writers)
		}
		seen[versions[i]] = true
		if e, err := s.Get(ctx, fmt.Sprint("w", i)); err != nil || e.Version != versions[i] || string(e.Value) != fmt.Sprint(i) {
			t.Errorf("Get(w%d) = %+v, %v", i, e, err)
		}
	}
	after := s.Stats()
	if commits, reqs := after.Commits-before.Commits, after.BatchRequests-before.BatchRequests; commits != 1 || reqs != writers {
		t.Errorf("%d commits carrying %d requests; want one commit of all %d", commits, reqs, writers)
	}
}

// TestCommitInlineMixed: writers that come and go, so that requests commit
// inline and through the committer, keep CAS exact: a counter incremented
// by CAS loops ends at the number of successful increments.
func TestCommitInlineMixed(t *testing.T) {
	s := openInternal(t, Options{InMemory: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const workers, increments = 4, 50
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range increments {
				for {
					e, err := s.Get(ctx, "counter")
					if err != nil && !errors.Is(err, ErrNotFound) {
						errc <- err
						return
					}
					var n int
					if err == nil {
						fmt.Sscan(string(e.Value), &n)
					}
					_, err = s.CompareAndSwap(ctx, "counter", e.Version, []byte(fmt.Sprint(n+1)))
					if err == nil {
						break
					}
					if !errors.Is(err, ErrConflict) {
						errc <- err
						return
					}
				}
				if _, err := s.Put(ctx, fmt.Sprintf("w%d/%d", w, i), nil); err != nil {
					errc <- err
					return
				}
				if i%10 == 0 {
					time.Sleep(time.Millisecond) // let the others run alone
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	e, err := s.Get(ctx, "counter")
	if err != nil || string(e.Value) != fmt.Sprint(workers*increments) {
		t.Fatalf("counter = %q, %v; want %d", e.Value, err, workers*increments)
	}
	st := s.Stats()
	t.Logf("%d commits for %d requests; %d single-request commits", st.Commits, st.BatchRequests, st.BatchSizes[0])
}
