package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvtest"
)

func TestMain(m *testing.M) {
	if os.Getenv("VKV_CORRUPT_DIR") != "" {
		// A child of TestCorruption: Badger leaks goroutines when Open
		// fails (db.go starts monitorCache and the allocator pool before
		// it can fail), which is not what the child checks.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		removePreloads() // bench_test.go
		os.Exit(code)
	}))
}

func openStore(t testing.TB, dir string, o *vkv.Options) *vkv.Store {
	t.Helper()
	s, err := vkv.Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newFakeClock returns a fake clock for a store, set years away from the
// real time so that a read of the real time where the store should read its
// clock shows.
func newFakeClock() *vkvtest.FakeClock {
	return vkvtest.NewFakeClock(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
}

// ignoreExpiry compares entries without their expiry times.
var ignoreExpiry = cmpopts.IgnoreFields(vkv.Entry{}, "ExpiresAt")

// TestVersionNeverReused is invariant 1 across reopen and compaction: Badger
// restores its own clock from the newest entry on disk, so after the newest
// writes are deletes that compaction removes, its timestamps go back. vkv's
// versions must not.
func TestVersionNeverReused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seen := map[vkv.Version]string{}
	record := func(v vkv.Version, err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if prev, ok := seen[v]; ok {
			t.Fatalf("%s: version %d handed out twice (first to %s)", what, v, prev)
		}
		seen[v] = what
	}
	var last vkv.Version
	for round := 0; round < 3; round++ {
		s, err := vkv.Open(dir, &vkv.Options{HistoryVersions: 1})
		if err != nil {
			t.Fatalf("Open round %d: %v", round, err)
		}
		v, err := s.Put(ctx, "z", []byte(fmt.Sprint("value ", round)))
		record(v, err, fmt.Sprintf("round %d Put z", round))
		if v <= last {
			t.Fatalf("round %d: Put gave version %d after %d", round, v, last)
		}
		v, err = s.Delete(ctx, "z")
		record(v, err, fmt.Sprintf("round %d Delete z", round))
		// A transaction that changes nothing still takes a version.
		v, err = s.Update(ctx, func(tx vkv.Txn) error { return tx.Delete("never-existed") })
		record(v, err, fmt.Sprintf("round %d no-op Update", round))
		last = v
		if err := s.Compact(ctx); err != nil {
			t.Fatalf("Compact: %v", err)
		}
		if err := vkv.BadgerOf(s).Flatten(2); err != nil {
			t.Fatalf("Flatten: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// TestWritesSurviveReopen is invariant 7: every acknowledged write, from
// concurrent writers, is there after Close and Open.
func TestWritesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := vkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	want := map[string]vkv.Version{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				k := fmt.Sprintf("w%d/%d", w, i)
				v, err := s.Put(ctx, k, []byte(k))
				if err != nil {
					t.Errorf("Put(%q): %v", k, err)
					return
				}
				mu.Lock()
				want[k] = v
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, nil)
	got := map[string]vkv.Version{}
	after := ""
	for {
		lr, err := s.List(ctx, "", after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got[e.Key] = e.Version
			if string(e.Value) != e.Key {
				t.Errorf("Get(%q) after reopen = %q", e.Key, e.Value)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after reopen (-acknowledged +stored):\n%s", diff)
	}
	v, err := s.Put(ctx, "next", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, kv := range want {
		if v <= kv {
			t.Fatalf("version after reopen %d is not above %d of %q", v, kv, k)
		}
	}
}

// TestFailedTxnWritesNothingAfterReopen is invariant 4, checked on disk after
// reopening.
func TestFailedTxnWritesNothingAfterReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := vkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	va, _ := s.Put(ctx, "a", []byte("a1"))
	_, err = s.Update(ctx, func(tx vkv.Txn) error {
		tx.Put("a", []byte("a2"))
		tx.Put("b", []byte("b1"))
		tx.Delete("c")
		tx.Expect("a", va)
		return tx.Expect("b", 42)
	})
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Update with a failing Expect: %v, want *ConflictError", err)
	}
	want := []vkv.Conflict{{Key: "b", Expected: 42, Actual: 0}}
	if diff := cmp.Diff(want, ce.Conflicts); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
	s.Close()
	s = openStore(t, dir, nil)
	e, err := s.Get(ctx, "a")
	if err != nil || string(e.Value) != "a1" || e.Version != va {
		t.Errorf("Get(a) after failed txn and reopen = %+v, %v; want a1 at %d", e, err, va)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Get(b) after failed txn and reopen: %v, want ErrNotFound", err)
	}
	h, _ := s.History(ctx, "a", 0)
	if len(h) != 1 {
		t.Errorf("History(a) has %d entries, want 1", len(h))
	}
	if v, _ := s.CurrentVersion(ctx); v != va {
		t.Errorf("CurrentVersion = %d after a failed txn, want %d", v, va)
	}
}

// TestHistoryRetention checks GetAt against a model for every version after
// compaction, and ErrCompacted before the mark, also after reopening.
func TestHistoryRetention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const keep = 10
	s, err := vkv.Open(dir, &vkv.Options{HistoryVersions: keep})
	if err != nil {
		t.Fatal(err)
	}
	// model[v] is the state of every key right after version v.
	type state map[string]string
	model := []state{{}}
	cur := state{}
	keys := []string{"a", "b", "c"}
	for i := 0; i < 60; i++ {
		k := keys[i%3]
		var err error
		if i%7 == 6 {
			_, err = s.Delete(ctx, k)
			if errors.Is(err, vkv.ErrNotFound) {
				continue
			}
			delete(cur, k)
		} else {
			_, err = s.Put(ctx, k, []byte(strconv.Itoa(i)))
			cur[k] = strconv.Itoa(i)
		}
		if err != nil {
			t.Fatal(err)
		}
		next := state{}
		for k, v := range cur {
			next[k] = v
		}
		model = append(model, next)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(s *vkv.Store) {
		last := vkv.Version(len(model) - 1)
		oldest, _ := s.OldestVersion(ctx)
		if want := last - keep + 1; oldest != want {
			t.Fatalf("OldestVersion = %d, want %d", oldest, want)
		}
		for v := vkv.Version(0); v <= last; v++ {
			for _, k := range keys {
				e, err := s.GetAt(ctx, k, v)
				if v < oldest {
					var ce *vkv.CompactedError
					if !errors.As(err, &ce) || ce.Oldest != oldest || !errors.Is(err, vkv.ErrCompacted) {
						t.Errorf("GetAt(%q, %d) below the mark: %v, want CompactedError{Oldest: %d}", k, v, err, oldest)
					}
					continue
				}
				want, ok := model[v][k]
				switch {
				case !ok && !errors.Is(err, vkv.ErrNotFound):
					t.Errorf("GetAt(%q, %d) = %q, %v; want ErrNotFound", k, v, e.Value, err)
				case ok && (err != nil || string(e.Value) != want):
					t.Errorf("GetAt(%q, %d) = %q, %v; want %q", k, v, e.Value, err, want)
				}
			}
		}
		for _, k := range keys {
			h, err := s.History(ctx, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			// At most one entry older than the mark survives per key.
			older := 0
			for _, e := range h {
				if e.Version < oldest {
					older++
				}
			}
			if older > 1 {
				t.Errorf("History(%q) keeps %d entries older than the mark %d: %+v", k, older, oldest, h)
			}
		}
	}
	check(s)
	s.Close()
	s = openStore(t, dir, &vkv.Options{HistoryVersions: keep})
	check(s)
}

// TestExpiryIsADelete checks that the reaper turns an expired key into a
// real delete with its own version, recorded in history, on the system
// clock: the reaper must work on real time, not only on a fake clock.
func TestExpiryIsADelete(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "", &vkv.Options{InMemory: true})
	v, err := s.Put(ctx, "lease", []byte("holder"), vkv.WithTTL(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := s.History(ctx, "lease", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 2 {
			want := []vkv.Entry{
				{Key: "lease", Version: h[0].Version, CreateVersion: v, Deleted: true},
				{Key: "lease", Value: []byte("holder"), Version: v, CreateVersion: v},
			}
			if diff := cmp.Diff(want, h, ignoreExpiry); diff != "" {
				t.Fatalf("History after expiry (-want +got):\n%s", diff)
			}
			if h[0].Version <= v {
				t.Fatalf("expiry version %d is not after the write %d", h[0].Version, v)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired key not reaped within 5s; history %+v", h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaperFakeClock: on a fake clock the reaper deletes an expired key
// once the clock reaches its expiry, woken by the clock alone: not while the
// key is a nanosecond from expiring, however long the test waits in real
// time, and without any further write.
func TestReaperFakeClock(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := openStore(t, "", &vkv.Options{InMemory: true, Clock: clock})
	v, err := s.Put(ctx, "lease", []byte("holder"), vkv.WithTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Several reaper intervals pass, up to a nanosecond before the expiry.
	clock.Advance(20 * time.Minute)
	clock.Advance(20 * time.Minute)
	clock.Advance(20*time.Minute - time.Nanosecond)
	// The reaper's wake-ups for the advances above run now (give them real
	// time to) and must find nothing to reap.
	time.Sleep(100 * time.Millisecond)
	if h, err := s.History(ctx, "lease", 0); err != nil || len(h) != 1 {
		t.Fatalf("History a nanosecond before the expiry = %+v, %v; want the write alone", h, err)
	}
	if _, err := s.Get(ctx, "lease"); err != nil {
		t.Fatalf("Get a nanosecond before the expiry: %v", err)
	}
	clock.Advance(time.Nanosecond)
	want := []vkv.Entry{
		{Key: "lease", Version: v + 1, CreateVersion: v, Deleted: true},
		{Key: "lease", Value: []byte("holder"), Version: v, CreateVersion: v},
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := s.History(ctx, "lease", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 2 {
			if diff := cmp.Diff(want, h, ignoreExpiry); diff != "" {
				t.Fatalf("History after expiry (-want +got):\n%s", diff)
			}
			if st := s.Stats(); st.Expired != 1 {
				t.Errorf("Stats().Expired = %d, want 1", st.Expired)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired key not reaped within 5s (real) of the fake clock passing its expiry; history %+v", h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenLocked: a second Open of a directory in use fails at once.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, nil)
	done := make(chan error, 1)
	go func() {
		s, err := vkv.Open(dir, nil)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, vkv.ErrLocked) {
			t.Fatalf("second Open: %v, want ErrLocked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Open hangs")
	}
}

// TestTxnTooManyBytes: a transaction larger than one commit holds is refused
// whole.
func TestTxnTooManyBytes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	val := make([]byte, 8<<10)
	_, err := s.Update(ctx, func(tx vkv.Txn) error {
		for i := 0; i < 500; i++ {
			if err := tx.Put(fmt.Sprintf("k%03d", i), val); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, vkv.ErrTxnTooLarge) {
		t.Fatalf("Update of 4 MB inline values: %v, want ErrTxnTooLarge", err)
	}
	if lr, _ := s.List(ctx, "", "", 10); len(lr.Entries) != 0 {
		t.Fatalf("refused transaction wrote %d keys", len(lr.Entries))
	}
}

// BenchmarkRSS measures the resident memory of an open store, empty, after
// 100k 100-byte keys written by 16 writers, after reads, after 5 s idle and
// after a GC, and reports the figures as metrics (MiB of VmRSS; peak-MiB is
// VmHWM), so that benchstat can compare them across changes. It is a
// measurement and not a test with a bound: resident memory depends on the
// kernel, the Go runtime and whatever else the process did, so a bound loose
// enough never to fail on a shared machine would check nothing. It runs the
// scenario once, whatever b.N:
//
//	go test -run '^$' -bench BenchmarkRSS -benchtime 1x .
//
// VKV_RSS_MEMTABLE_MB, VKV_RSS_BASETABLE_KB and VKV_RSS_BADGER_DEFAULTS=1
// change the store's settings; VKV_HEAP_PROFILE and VKV_HEAP_PROFILE_IDLE
// name files for heap profiles after the load and after the idle time.
func BenchmarkRSS(b *testing.B) {
	if _, ok := procStatusMiB("VmRSS:"); !ok {
		b.Skip("no /proc/self/status here")
	}
	ctx := context.Background()
	measure := func(stage, metric string) {
		b.Helper()
		b.Logf("%s: %s", stage, rss(b))
		if metric != "" {
			mib, ok := procStatusMiB("VmRSS:")
			if !ok {
				b.Fatalf("%s: cannot read VmRSS from /proc/self/status", stage)
			}
			b.ReportMetric(mib, metric)
		}
	}
	measure("before open", "")
	o := &vkv.Options{NoSync: true}
	if mb, _ := strconv.Atoi(os.Getenv("VKV_RSS_MEMTABLE_MB")); mb > 0 {
		o.MemTableSize = int64(mb) << 20
	}
	if kb, _ := strconv.Atoi(os.Getenv("VKV_RSS_BASETABLE_KB")); kb > 0 {
		o.Badger = func(b badger.Options) badger.Options { return b.WithBaseTableSize(int64(kb) << 10) }
	}
	if os.Getenv("VKV_RSS_BADGER_DEFAULTS") != "" {
		// Badger's own defaults (options.go DefaultOptions), for comparison.
		o.MemTableSize = 64 << 20
		o.BlockCacheSize = 256 << 20
		o.Badger = func(b badger.Options) badger.Options {
			return b.WithNumMemtables(5).WithCompression(options.Snappy).WithNumCompactors(4).
				WithNumLevelZeroTables(5).WithNumLevelZeroTablesStall(15).WithValueThreshold(1 << 20)
		}
	}
	s := openStore(b, b.TempDir(), o)
	measure("open, empty", "empty-MiB")
	val := make([]byte, 100)
	const n = 100_000
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				if _, err := s.Put(ctx, fmt.Sprintf("key%012d", i), val); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	measure(fmt.Sprintf("after %d puts", n), "loaded-MiB")
	if p := os.Getenv("VKV_HEAP_PROFILE"); p != "" {
		writeHeapProfile(b, p)
	}
	for i := 0; i < n; i += 7 {
		if _, err := s.Get(ctx, fmt.Sprintf("key%012d", i)); err != nil {
			b.Fatal(err)
		}
	}
	measure("after reads", "")
	time.Sleep(5 * time.Second)
	measure("after 5 s idle", "idle-MiB")
	runtime.GC()
	measure("after GC", "")
	debug.FreeOSMemory()
	measure("after FreeOSMemory", "freed-MiB")
	if hwm, ok := procStatusMiB("VmHWM:"); ok {
		b.ReportMetric(hwm, "peak-MiB")
	}
	if p := os.Getenv("VKV_HEAP_PROFILE_IDLE"); p != "" {
		writeHeapProfile(b, p)
	}
	b.ReportMetric(0, "ns/op") // the time is the scenario's, not a figure
}

// writeHeapProfile writes a heap profile to the file path.
func writeHeapProfile(tb testing.TB, path string) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		tb.Fatal(err)
	}
}

// procStatusMiB returns the field of /proc/self/status (such as "VmRSS:"),
// given there in kB, in MiB.
func procStatusMiB(field string) (float64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range splitLines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, false
			}
			return float64(kb) / 1024, true
		}
	}
	return 0, false
}

func rss(t testing.TB) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	var out string
	for _, line := range splitLines(string(b)) {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") ||
			strings.HasPrefix(line, "RssAnon:") || strings.HasPrefix(line, "RssFile:") {
			out += line + " "
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return out + fmt.Sprintf("GoHeapInuse=%dMB GoSys=%dMB", ms.HeapInuse>>20, ms.Sys>>20)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// TestExpiredBeforeReaped is invariant 5 with the reaper off: an expired key
// is invisible to Get, List and conditions before anything deletes it, and a
// write over it first records the expiry under its own version.
func TestExpiredBeforeReaped(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	o := vkv.WithoutReaper(vkv.Options{InMemory: true, Clock: clock})
	s := openStore(t, "", &o)
	v1, err := s.Put(ctx, "lock", []byte("old holder"), vkv.WithTTL(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Millisecond)

	if _, err := s.Get(ctx, "lock"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("Get(expired) = %v, want ErrNotFound", err)
	}
	lr, err := s.List(ctx, "", "", 0)
	page := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].Key != "other" {
		t.Errorf("List shows %+v, want only \"other\"", page)
	}
	_, err = s.CompareAndSwap(ctx, "lock", v1, []byte("stale holder"))
	var ce *vkv.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 0 || ce.Current != nil {
		t.Fatalf("CAS expecting the expired version: %v, want ConflictError with Actual 0", err)
	}
	if _, err := s.CompareAndDelete(ctx, "lock", v1); !errors.As(err, &ce) {
		t.Fatalf("CompareAndDelete expecting the expired version: %v, want ConflictError", err)
	}
	if _, err := s.Delete(ctx, "lock"); !errors.Is(err, vkv.ErrNotFound) {
		t.Fatalf("Delete(expired): %v, want ErrNotFound", err)
	}
	v3, err := s.CompareAndSwap(ctx, "lock", 0, []byte("new holder"))
	if err != nil {
		t.Fatalf("create-only over an expired key: %v", err)
	}
	h, err := s.History(ctx, "lock", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []vkv.Entry{
		{Key: "lock", Value: []byte("new holder"), Version: v3, CreateVersion: v3},
		{Key: "lock", Version: v3 - 1, CreateVersion: v1, Deleted: true},
		{Key: "lock", Value: []byte("old holder"), Version: v1, CreateVersion: v1},
	}
	if diff := cmp.Diff(want, h, ignoreExpiry); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
}

// TestStats checks the counters against a known sequence of writes.
func TestStats(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	v, _ := s.Put(ctx, "a", []byte("1"))
	s.CompareAndSwap(ctx, "a", v+5, []byte("2")) // conflict
	s.Put(ctx, "b", []byte("1"))
	st := s.Stats()
	if st.Version != v+1 || st.Writes != 2 || st.Conflicts != 1 || st.Commits != 3 {
		t.Fatalf("Stats = %+v; want Version %d, 2 writes, 1 conflict, 3 commits", st, v+1)
	}
	if st.BatchSizes[0] != 3 || st.BatchRequests != 3 {
		t.Fatalf("BatchSizes = %v, BatchRequests = %d; want 3 commits of one request", st.BatchSizes, st.BatchRequests)
	}
	if st.ValueLogBytes == 0 {
		t.Errorf("ValueLogBytes = 0 for an open on-disk store")
	}
}

// TestCancelMidWrite: transactions of four writes under deadlines that end
// at random moments are each applied whole or not at all, and one that
// returned a context error was not applied. The case that matters is a
// deadline that ends after the transaction function returned, while the
// writes are being submitted or committed ("cut off mid-write"); rounds are
// run until at least minCutOff such transactions were seen, and the test
// fails if they cannot be had, so it cannot pass without checking them.
func TestCancelMidWrite(t *testing.T) {
	const (
		minCutOff = 20
		maxRounds = 20
	)
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	keys := []string{"a", "b", "c", "d"}
	var mu sync.Mutex
	failed := map[string]bool{} // values of transactions that returned a context error
	cutOff := 0                 // of those, the ones whose deadline ended after fn returned
	for round := 0; round < maxRounds && cutOff < minCutOff; round++ {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					val := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%20)*20*time.Microsecond)
					var liveAfterFn bool
					_, err := s.Update(ctx, func(tx vkv.Txn) error {
						for _, k := range keys {
							if err := tx.Put(k, []byte(val)); err != nil {
								return err
							}
						}
						liveAfterFn = ctx.Err() == nil
						return nil
					})
					cancel()
					switch {
					case errors.Is(err, context.DeadlineExceeded):
						mu.Lock()
						failed[val] = true
						if liveAfterFn {
							cutOff++
						}
						mu.Unlock()
					case err != nil:
						t.Errorf("Update: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	ctx := context.Background()
	seen := map[string]map[string]vkv.Version{} // value -> key -> version
	for _, k := range keys {
		h, err := s.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h {
			if seen[string(e.Value)] == nil {
				seen[string(e.Value)] = map[string]vkv.Version{}
			}
			seen[string(e.Value)][k] = e.Version
		}
	}
	applied := 0
	for val, byKey := range seen {
		if len(byKey) != len(keys) {
			t.Errorf("transaction %s applied to %d of %d keys: %v", val, len(byKey), len(keys), byKey)
		}
		if failed[val] {
			t.Errorf("transaction %s returned a context error but was applied", val)
		}
		applied++
	}
	t.Logf("%d transactions applied, %d returned a context error, %d of them cut off mid-write", applied, len(failed), cutOff)
	if cutOff < minCutOff {
		t.Errorf("only %d transactions were cut off mid-write in %d rounds, want at least %d: the test did not check what it is for", cutOff, maxRounds, minCutOff)
	}
}

// TestInputEdges: limits below the key-quoting length and TTLs past what an
// expiry time can hold give typed errors, not panics or wrapped times.
func TestInputEdges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "", &vkv.Options{InMemory: true, MaxKeySize: 8})
	if _, err := s.Put(ctx, "0123456789", nil); !errors.Is(err, vkv.ErrInvalidKey) {
		t.Errorf("Put of a 10-byte key over an 8-byte limit: %v, want ErrInvalidKey", err)
	}
	for _, ttl := range []time.Duration{-time.Second, vkv.MaxTTL + time.Hour, 1<<63 - 1} {
		if _, err := s.Put(ctx, "k", nil, vkv.WithTTL(ttl)); !errors.Is(err, vkv.ErrInvalidTTL) {
			t.Errorf("Put with ttl %v: %v, want ErrInvalidTTL", ttl, err)
		}
	}
	if _, err := s.Put(ctx, "k", []byte("x"), vkv.WithTTL(vkv.MaxTTL)); err != nil {
		t.Fatalf("Put with MaxTTL: %v", err)
	}
	if e, err := s.Get(ctx, "k"); err != nil || e.ExpiresAt.Year() < 2100 {
		t.Errorf("Get of a key with MaxTTL = %+v, %v; want it present, expiring in about 100 years", e, err)
	}
}
