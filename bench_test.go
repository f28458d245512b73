package vkv_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// Benchmarks come in pairs: vkv, and raw Badger doing the same work with the
// same Badger options, so that ratios can be read from one run:
//
//	go test -run '^$' -bench . -count 5 . | benchstat -col /impl -
//
// Raw Badger has no versions, so its CAS keeps an 8-byte version in front
// of the value and reads the key in the transaction (so that Badger detects
// a conflicting writer); it has no history, so its History reads every
// version Badger kept of a key.

const benchKeys = 10_000

func benchKey(i int) string { return fmt.Sprintf("key%012d", i%benchKeys) }

var benchValue = bytes.Repeat([]byte("v"), 100)

// durability runs f once without and once with fsync.
func durability(b *testing.B, f func(b *testing.B, sync bool)) {
	for _, sync := range []bool{false, true} {
		b.Run("sync="+strconv.FormatBool(sync), func(b *testing.B) { f(b, sync) })
	}
}

// benchOptions returns the options of the benchmarks' stores (and of raw
// Badger's, through vkv.BadgerOptions): the default profile, or
// vkv.ThroughputOptions when the environment has
// VKV_BENCH_PROFILE=throughput.
func benchOptions(noSync bool) *vkv.Options {
	o := vkv.DefaultOptions()
	if os.Getenv("VKV_BENCH_PROFILE") == "throughput" {
		o = vkv.ThroughputOptions()
	}
	o.NoSync = noSync
	return &o
}

func openBenchStore(b *testing.B, sync bool) *vkv.Store {
	b.Helper()
	s, err := vkv.Open(b.TempDir(), benchOptions(!sync))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func openBenchBadger(b *testing.B, sync bool, tune ...func(badger.Options) badger.Options) *badger.DB {
	b.Helper()
	o := vkv.BadgerOptions(b.TempDir(), *benchOptions(!sync)).WithDetectConflicts(true)
	for _, t := range tune {
		o = t(o)
	}
	db, err := badger.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func loadStore(b *testing.B, s *vkv.Store) {
	ctx := context.Background()
	for i := 0; i < benchKeys; i += 100 {
		_, err := s.Update(ctx, func(tx vkv.Txn) error {
			for j := i; j < i+100; j++ {
				if err := tx.Put(benchKey(j), benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func loadBadger(b *testing.B, db *badger.DB) {
	wb := db.NewWriteBatch()
	for i := 0; i < benchKeys; i++ {
		wb.Set([]byte(benchKey(i)), append(binary.BigEndian.AppendUint64(nil, 1), benchValue...))
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		loadStore(b, s)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, benchKey(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, false)
		loadBadger(b, db)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := badgerGet(db, []byte(benchKey(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func badgerGet(db *badger.DB, key []byte) ([]byte, error) {
	var v []byte
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	return v, err
}

// BenchmarkPutBestCase is the best case of BenchmarkPut: an empty store and
// 10,000 keys written in turn, so that the store stays small.
func BenchmarkPutBestCase(b *testing.B) {
	durability(b, func(b *testing.B, sync bool) {
		ctx := context.Background()
		b.Run("impl=vkv", func(b *testing.B) {
			s := openBenchStore(b, sync)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Put(ctx, benchKey(i), benchValue); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=badger", func(b *testing.B) {
			db := openBenchBadger(b, sync)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				err := db.Update(func(txn *badger.Txn) error {
					return txn.Set([]byte(benchKey(i)), benchValue)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// errBadgerMismatch is raw Badger's failed CAS condition.
var errBadgerMismatch = errors.New("version mismatch")

// badgerCAS is compare-and-swap on raw Badger; versions count per key.
func badgerCAS(db *badger.DB, key []byte, expected uint64, value []byte) (uint64, error) {
	var next uint64
	err := db.Update(func(txn *badger.Txn) error {
		var cur uint64
		item, err := txn.Get(key)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if err := item.Value(func(b []byte) error { cur = binary.BigEndian.Uint64(b); return nil }); err != nil {
				return err
			}
		}
		if cur != expected {
			return errBadgerMismatch
		}
		next = cur + 1
		return txn.Set(key, append(binary.BigEndian.AppendUint64(nil, next), value...))
	})
	return next, err
}

// BenchmarkCompareAndSwapBestCase is the best case of
// BenchmarkCompareAndSwap: an empty store and 10,000 keys swapped in turn,
// every one of them in the committer's key cache once written.
func BenchmarkCompareAndSwapBestCase(b *testing.B) {
	durability(b, func(b *testing.B, sync bool) {
		ctx := context.Background()
		b.Run("impl=vkv", func(b *testing.B) {
			s := openBenchStore(b, sync)
			vers := make([]vkv.Version, benchKeys)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				v, err := s.CompareAndSwap(ctx, benchKey(i), vers[i%benchKeys], benchValue)
				if err != nil {
					b.Fatal(err)
				}
				vers[i%benchKeys] = v
			}
		})
		b.Run("impl=badger", func(b *testing.B) {
			db := openBenchBadger(b, sync)
			vers := make([]uint64, benchKeys)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				v, err := badgerCAS(db, []byte(benchKey(i)), vers[i%benchKeys], benchValue)
				if err != nil {
					b.Fatal(err)
				}
				vers[i%benchKeys] = v
			}
		})
	})
}

// preloadSizes are the store sizes of the preloaded benchmarks (BenchmarkPut,
// BenchmarkCompareAndSwap): 1,000 and 100,000 keys, and 1,000,000 when the
// environment has VKV_BENCH_1M=1 (each store is loaded once per run, but
// loading 1M keys takes tens of seconds, too long for CI's -benchtime 1x
// runs).
func preloadSizes() []int {
	sizes := []int{1_000, 100_000}
	if os.Getenv("VKV_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	return sizes
}

// bySize runs f once per preloadSizes, as sub-benchmarks keys=1k, keys=100k
// and keys=1M.
func bySize(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range preloadSizes() {
		name := strconv.Itoa(n/1000) + "k"
		if n >= 1_000_000 {
			name = strconv.Itoa(n/1_000_000) + "M"
		}
		b.Run("keys="+name, func(b *testing.B) { f(b, n) })
	}
}

// preloadKey is the i-th key of a preloaded store: 16 bytes, as in
// benchmarks/cmd/peers.
func preloadKey(i int) string { return fmt.Sprintf("key%013d", i) }

// preloadKeys returns the n keys of a preloaded store, made before the
// measurement, and an order of 65,536 of them at random (fixed seed) for the
// benchmark to cycle through.
func preloadKeys(n int) (keys []string, order []int32) {
	keys = make([]string, n)
	for i := range keys {
		keys[i] = preloadKey(i)
	}
	r := rand.New(rand.NewPCG(uint64(n), 15))
	order = make([]int32, 1<<16)
	for i := range order {
		order[i] = int32(r.IntN(n))
	}
	return keys, order
}

// preloads holds the preloaded stores, made once per test binary run and
// copied for each benchmark that opens one, so that -count 5 loads each
// store once, not five times. The directories are removed at the end of the
// run (TestMain calls removePreloads).
var preloads struct {
	mu   sync.Mutex
	root string
	vkv  map[int]preloaded[vkv.Version]
	raw  map[int]preloaded[uint64]
}

// preloaded is a store directory with n keys loaded and each key's version.
type preloaded[V any] struct {
	dir  string
	vers []V
}

// removePreloads removes the preloaded stores' directories.
func removePreloads() {
	preloads.mu.Lock()
	defer preloads.mu.Unlock()
	if preloads.root != "" {
		os.RemoveAll(preloads.root)
		preloads.root = ""
	}
}

// preloadDir returns a new directory under the preloads' root; the caller
// holds preloads.mu.
func preloadDir(b *testing.B, name string) string {
	b.Helper()
	if preloads.root == "" {
		root, err := os.MkdirTemp("", "vkv-bench-preload-")
		if err != nil {
			b.Fatal(err)
		}
		preloads.root = root
		preloads.vkv = map[int]preloaded[vkv.Version]{}
		preloads.raw = map[int]preloaded[uint64]{}
	}
	dir := filepath.Join(preloads.root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// copyDir copies the preloaded store in src to a new temporary directory of
// b and returns it.
func copyDir(b *testing.B, src string) string {
	b.Helper()
	dst := b.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	return dst
}

// openPreloadedStore opens a copy of a store holding keys (preloadKeys of
// len(keys)) with the benchmarks' options, and returns it with each key's
// version.
func openPreloadedStore(b *testing.B, sync bool, keys []string) (*vkv.Store, []vkv.Version) {
	b.Helper()
	n := len(keys)
	preloads.mu.Lock()
	p, ok := preloads.vkv[n]
	if !ok {
		dir := preloadDir(b, fmt.Sprintf("vkv-%d", n))
		s, err := vkv.Open(dir, benchOptions(true))
		if err != nil {
			preloads.mu.Unlock()
			b.Fatal(err)
		}
		vers, err := preloadStore(s, keys)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			preloads.mu.Unlock()
			b.Fatal(err)
		}
		p = preloaded[vkv.Version]{dir: dir, vers: vers}
		preloads.vkv[n] = p
	}
	preloads.mu.Unlock()
	s, err := vkv.Open(copyDir(b, p.dir), benchOptions(!sync))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, slices.Clone(p.vers)
}

// openPreloadedBadger is openPreloadedStore for raw Badger (badgerCAS's
// layout, every key at version 1).
func openPreloadedBadger(b *testing.B, sync bool, keys []string) (*badger.DB, []uint64) {
	b.Helper()
	n := len(keys)
	preloads.mu.Lock()
	p, ok := preloads.raw[n]
	if !ok {
		dir := preloadDir(b, fmt.Sprintf("badger-%d", n))
		db, err := badger.Open(vkv.BadgerOptions(dir, *benchOptions(true)))
		if err != nil {
			preloads.mu.Unlock()
			b.Fatal(err)
		}
		vers, err := preloadBadger(db, keys)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			preloads.mu.Unlock()
			b.Fatal(err)
		}
		p = preloaded[uint64]{dir: dir, vers: vers}
		preloads.raw[n] = p
	}
	preloads.mu.Unlock()
	o := vkv.BadgerOptions(copyDir(b, p.dir), *benchOptions(!sync)).WithDetectConflicts(true)
	db, err := badger.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, slices.Clone(p.vers)
}

// preloadStore writes every key in transactions of 500 keys and returns each
// key's version.
func preloadStore(s *vkv.Store, keys []string) ([]vkv.Version, error) {
	ctx := context.Background()
	vers := make([]vkv.Version, len(keys))
	for i := 0; i < len(keys); i += 500 {
		end := min(i+500, len(keys))
		v, err := s.Update(ctx, func(tx vkv.Txn) error {
			for _, k := range keys[i:end] {
				if err := tx.Put(k, benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for j := i; j < end; j++ {
			vers[j] = v
		}
	}
	return vers, nil
}

// preloadBadger writes every key to raw Badger at version 1 (badgerCAS's
// layout) and returns each key's version.
func preloadBadger(db *badger.DB, keys []string) ([]uint64, error) {
	wb := db.NewWriteBatch()
	val := append(binary.BigEndian.AppendUint64(nil, 1), benchValue...)
	vers := make([]uint64, len(keys))
	for i, k := range keys {
		if err := wb.Set([]byte(k), val); err != nil {
			wb.Cancel()
			return nil, err
		}
		vers[i] = 1
	}
	return vers, wb.Flush()
}

// BenchmarkPut overwrites keys chosen at random in a store preloaded with
// 1k, 100k (and 1M, see preloadSizes) keys of 16 bytes, 100-byte values.
func BenchmarkPut(b *testing.B) {
	bySize(b, func(b *testing.B, n int) {
		durability(b, func(b *testing.B, sync bool) {
			ctx := context.Background()
			keys, order := preloadKeys(n)
			b.Run("impl=vkv", func(b *testing.B) {
				s, _ := openPreloadedStore(b, sync, keys)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := s.Put(ctx, keys[order[i&(len(order)-1)]], benchValue); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("impl=badger", func(b *testing.B) {
				db, _ := openPreloadedBadger(b, sync, keys)
				val := append(binary.BigEndian.AppendUint64(nil, 1), benchValue...)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					k := keys[order[i&(len(order)-1)]]
					err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(k), val) })
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	})
}

// BenchmarkCompareAndSwap swaps keys chosen at random, each at its current
// version, in a store preloaded with 1k, 100k (and 1M, see preloadSizes)
// keys of 16 bytes, 100-byte values: the peers workload.
func BenchmarkCompareAndSwap(b *testing.B) {
	bySize(b, func(b *testing.B, n int) {
		durability(b, func(b *testing.B, sync bool) {
			ctx := context.Background()
			keys, order := preloadKeys(n)
			b.Run("impl=vkv", func(b *testing.B) {
				s, vers := openPreloadedStore(b, sync, keys)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					j := order[i&(len(order)-1)]
					v, err := s.CompareAndSwap(ctx, keys[j], vers[j], benchValue)
					if err != nil {
						b.Fatal(err)
					}
					vers[j] = v
				}
			})
			b.Run("impl=badger", func(b *testing.B) {
				db, vers := openPreloadedBadger(b, sync, keys)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					j := order[i&(len(order)-1)]
					v, err := badgerCAS(db, []byte(keys[j]), vers[j], benchValue)
					if err != nil {
						b.Fatal(err)
					}
					vers[j] = v
				}
			})
		})
	})
}

// BenchmarkTxnLarge is one Update of 1,000 puts (MaxTxnOps) to keys of a
// preloaded store, without fsync: the committer's work per key of a large
// transaction. ns/op is per transaction.
func BenchmarkTxnLarge(b *testing.B) {
	ctx := context.Background()
	keys, _ := preloadKeys(100_000)
	s, _ := openPreloadedStore(b, false, keys)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		lo := (i * 1000) % len(keys)
		_, err := s.Update(ctx, func(tx vkv.Txn) error {
			for _, k := range keys[lo : lo+1000] {
				if err := tx.Put(k, benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCASParallel is CAS on distinct keys from GOMAXPROCS goroutines.
func BenchmarkCASParallel(b *testing.B) {
	durability(b, func(b *testing.B, sync bool) { benchCASWriters(b, sync, 0) })
}

// BenchmarkDurableCAS is group commit: durable CAS on distinct keys from 1, 8
// and 64 goroutines. Throughput should grow past one writer's fsync rate.
func BenchmarkDurableCAS(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) { benchCASWriters(b, true, n) })
	}
}

// benchCASWriters runs CAS on a key per goroutine; writers 0 means
// GOMAXPROCS goroutines.
func benchCASWriters(b *testing.B, sync bool, writers int) {
	ctx := context.Background()
	parallel := func(b *testing.B, body func(id int64, next func() bool)) {
		b.ReportAllocs()
		if writers > 0 && writers < runtime.GOMAXPROCS(0) {
			// RunParallel runs at least GOMAXPROCS goroutines; fewer
			// writers run in the benchmark's own goroutine.
			if writers != 1 {
				b.Fatalf("writers=%d: only 1 or a multiple of GOMAXPROCS", writers)
			}
			body(1, b.Loop)
			return
		}
		var n atomic.Int64
		if writers > 0 {
			// RunParallel starts p*GOMAXPROCS goroutines.
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
		}
		b.RunParallel(func(pb *testing.PB) { body(n.Add(1), pb.Next) })
	}
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, sync)
		parallel(b, func(id int64, next func() bool) {
			key := fmt.Sprintf("p%d", id)
			var v vkv.Version
			for next() {
				var err error
				if v, err = s.CompareAndSwap(ctx, key, v, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, sync)
		parallel(b, func(id int64, next func() bool) {
			key := []byte(fmt.Sprintf("p%d", id))
			var v uint64
			for next() {
				var err error
				if v, err = badgerCAS(db, key, v, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkHotKey is CAS contended on one key by 16 goroutines, durable: each
// reads the key and tries to swap it. It reports successful swaps per second
// and conflicts per attempt; ns/op is per attempt.
func BenchmarkHotKey(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, attempt func() (ok bool, err error)) {
		var wins, conflicts atomic.Int64
		b.SetParallelism(8) // 16 goroutines on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ok, err := attempt()
				if err != nil {
					b.Error(err)
					return
				}
				if ok {
					wins.Add(1)
				} else {
					conflicts.Add(1)
				}
			}
		})
		b.ReportMetric(float64(wins.Load())/b.Elapsed().Seconds(), "wins/s")
		b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/op")
	}
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, true)
		run(b, func() (bool, error) {
			var cur vkv.Version
			if e, err := s.Get(ctx, "hot"); err == nil {
				cur = e.Version
			} else if !errors.Is(err, vkv.ErrNotFound) {
				return false, err
			}
			_, err := s.CompareAndSwap(ctx, "hot", cur, benchValue)
			if errors.Is(err, vkv.ErrConflict) {
				return false, nil
			}
			return err == nil, err
		})
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, true)
		run(b, func() (bool, error) {
			var cur uint64
			if v, err := badgerGet(db, []byte("hot")); err == nil {
				cur = binary.BigEndian.Uint64(v)
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return false, err
			}
			_, err := badgerCAS(db, []byte("hot"), cur, benchValue)
			if errors.Is(err, errBadgerMismatch) || errors.Is(err, badger.ErrConflict) {
				return false, nil
			}
			return err == nil, err
		})
	})
}

// BenchmarkTxn4 is a transaction over 4 keys with a condition on each.
func BenchmarkTxn4(b *testing.B) {
	durability(b, func(b *testing.B, sync bool) {
		ctx := context.Background()
		b.Run("impl=vkv", func(b *testing.B) {
			s := openBenchStore(b, sync)
			vers := make([]vkv.Version, benchKeys)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				base := (i * 4) % benchKeys
				v, err := s.Update(ctx, func(tx vkv.Txn) error {
					for j := base; j < base+4; j++ {
						tx.Expect(benchKey(j), vers[j])
						if err := tx.Put(benchKey(j), benchValue); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				for j := base; j < base+4; j++ {
					vers[j] = v
				}
			}
		})
		b.Run("impl=badger", func(b *testing.B) {
			db := openBenchBadger(b, sync)
			vers := make([]uint64, benchKeys)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				base := (i * 4) % benchKeys
				err := db.Update(func(txn *badger.Txn) error {
					for j := base; j < base+4; j++ {
						var cur uint64
						item, err := txn.Get([]byte(benchKey(j)))
						if err == nil {
							err = item.Value(func(v []byte) error { cur = binary.BigEndian.Uint64(v); return nil })
						} else if errors.Is(err, badger.ErrKeyNotFound) {
							err = nil
						}
						if err != nil {
							return err
						}
						if cur != vers[j] {
							return errBadgerMismatch
						}
						if err := txn.Set([]byte(benchKey(j)), append(binary.BigEndian.AppendUint64(nil, cur+1), benchValue...)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				for j := base; j < base+4; j++ {
					vers[j]++
				}
			}
		})
	})
}

// BenchmarkList100 reads a page of 100 entries with values.
func BenchmarkList100(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		loadStore(b, s)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			lr, err := s.List(ctx, "key", benchKey(i*100), 100)
			page := lr.Entries
			if err != nil || len(page) == 0 {
				b.Fatal(err, len(page))
			}
		}
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, false)
		loadBadger(b, db)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			n := 0
			err := db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: []byte("key")})
				defer it.Close()
				for it.Seek(append([]byte(benchKey(i*100)), 0)); it.Valid() && n < 100; it.Next() {
					if _, err := it.Item().ValueCopy(nil); err != nil {
						return err
					}
					_ = string(it.Item().Key())
					n++
				}
				return nil
			})
			if err != nil || n == 0 {
				b.Fatal(err, n)
			}
		}
	})
}

// BenchmarkHistory reads the 10 newest versions of a key with 50.
func BenchmarkHistory(b *testing.B) {
	ctx := context.Background()
	const versions = 50
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		for j := 0; j < versions; j++ {
			for i := 0; i < 100; i++ {
				if _, err := s.Put(ctx, benchKey(i), benchValue); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h, err := s.History(ctx, benchKey(i%100), 10)
			if err != nil || len(h) != 10 {
				b.Fatal(err, len(h))
			}
		}
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, false, func(o badger.Options) badger.Options { return o.WithNumVersionsToKeep(math.MaxInt32) })
		for j := 0; j < versions; j++ {
			for i := 0; i < 100; i++ {
				if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(benchKey(i)), benchValue) }); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			n := 0
			key := []byte(benchKey(i % 100))
			err := db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, PrefetchValues: true, PrefetchSize: 10, Prefix: key})
				defer it.Close()
				for it.Seek(key); it.Valid() && n < 10; it.Next() {
					if _, err := it.Item().ValueCopy(nil); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil || n != 10 {
				b.Fatal(err, n)
			}
		}
	})
}

// BenchmarkHTTP measures the handler over a real loopback listener with a
// keep-alive client, against a bare handler that answers the same bytes over
// the same kind of listener: the floor of HTTP cost.
func BenchmarkHTTP(b *testing.B) {
	ctx := context.Background()
	client := func(b *testing.B) *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	do := func(b *testing.B, c *http.Client, req *http.Request, want int) {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("%s %s: %d, want %d", req.Method, req.URL, resp.StatusCode, want)
		}
	}
	serve := func(b *testing.B, h http.Handler) string {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		return srv.URL
	}
	b.Run("op=get/impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		loadStore(b, s)
		url, c := serve(b, httpapi.New(s)), client(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/kv/"+benchKey(i), nil)
			do(b, c, req, 200)
		}
	})
	b.Run("op=get/impl=bare", func(b *testing.B) {
		url := serve(b, bareHandler(200, "application/octet-stream", benchValue))
		c := client(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/kv/"+benchKey(i), nil)
			do(b, c, req, 200)
		}
	})
	b.Run("op=put/impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		loadStore(b, s)
		url, c := serve(b, httpapi.New(s)), client(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequestWithContext(ctx, "PUT", url+"/v1/kv/"+benchKey(i), bytes.NewReader(benchValue))
			do(b, c, req, 200)
		}
	})
	b.Run("op=put/impl=bare", func(b *testing.B) {
		url := serve(b, bareHandler(200, "application/json", []byte(`{"key":"key000000000001","version":12345}`)))
		c := client(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req, _ := http.NewRequestWithContext(ctx, "PUT", url+"/v1/kv/"+benchKey(i), bytes.NewReader(benchValue))
			do(b, c, req, 200)
		}
	})
	b.Run("op=cas/impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		url, c := serve(b, httpapi.New(s)), client(b)
		vers := make([]vkv.Version, benchKeys)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i % benchKeys
			req, _ := http.NewRequestWithContext(ctx, "PUT", url+"/v1/kv/"+benchKey(k)+"?version="+vers[k].String(), bytes.NewReader(benchValue))
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 && resp.StatusCode != 201 {
				b.Fatalf("CAS: %d", resp.StatusCode)
			}
			v, err := vkv.ParseVersion(resp.Header.Get(wire.HeaderVersion))
			if err != nil {
				b.Fatal(err)
			}
			vers[k] = v
		}
	})
}

// bareHandler answers every request with the same status, type and body.
func bareHandler(status int, ctype string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("ETag", `"12345"`)
		w.WriteHeader(status)
		w.Write(body)
	})
}

// BenchmarkLayoutCost is raw Badger's CAS writing one entry per write, as
// BenchmarkCompareAndSwap's baseline does, and writing three (the value, a
// history entry and a change-log entry, as vkv does), without fsync: the
// part of vkv's CAS cost that comes from its layout rather than its code.
func BenchmarkLayoutCost(b *testing.B) {
	for _, entries := range []int{1, 3} {
		b.Run(fmt.Sprintf("entries=%d", entries), func(b *testing.B) {
			db := openBenchBadger(b, false)
			vers := make([]uint64, benchKeys)
			var seq uint64
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				key := []byte(benchKey(i))
				var next uint64
				err := db.Update(func(txn *badger.Txn) error {
					var cur uint64
					item, err := txn.Get(key)
					switch {
					case errors.Is(err, badger.ErrKeyNotFound):
					case err != nil:
						return err
					default:
						if err := item.Value(func(b []byte) error { cur = binary.BigEndian.Uint64(b); return nil }); err != nil {
							return err
						}
					}
					if cur != vers[i%benchKeys] {
						return errBadgerMismatch
					}
					next = cur + 1
					enc := append(binary.BigEndian.AppendUint64(nil, next), benchValue...)
					if err := txn.Set(key, enc); err != nil || entries == 1 {
						return err
					}
					seq++
					if err := txn.Set(binary.BigEndian.AppendUint64(append([]byte("h"), key...), seq), enc); err != nil {
						return err
					}
					return txn.Set(binary.BigEndian.AppendUint64([]byte("c"), seq), append([]byte{0}, key...))
				})
				if err != nil {
					b.Fatal(err)
				}
				vers[i%benchKeys] = next
			}
		})
	}
}

// BenchmarkUpdateContended is Update incrementing one key from 2, 16 and 64
// goroutines, durable: the read-modify-write every counter, quota or
// sequence does. ns/op is per Update; runs/p99 is the 99th percentile of
// how often one Update ran its function, runs/max the most, and gaveup/op
// the share of Updates that gave up with a conflict (0 since the progress
// guarantee; kept so that a run of older code can be compared).
func BenchmarkUpdateContended(b *testing.B) {
	ctx := context.Background()
	for _, g := range []int{2, 16, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			s := openBenchStore(b, true)
			var (
				mu     sync.Mutex
				runs   []int
				next   atomic.Int64
				gaveUp atomic.Int64
				wg     sync.WaitGroup
			)
			b.ReportAllocs()
			b.ResetTimer()
			for range g {
				wg.Go(func() {
					var mine []int
					for next.Add(1) <= int64(b.N) {
						r := 0
						_, err := s.Update(ctx, func(tx vkv.Txn) error {
							r++
							var n uint64
							if e, err := tx.Get("ctr"); err == nil {
								n = binary.BigEndian.Uint64(e.Value)
							} else if !errors.Is(err, vkv.ErrNotFound) {
								return err
							}
							return tx.Put("ctr", binary.BigEndian.AppendUint64(nil, n+1))
						})
						if errors.Is(err, vkv.ErrConflict) {
							gaveUp.Add(1)
						} else if err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, r)
					}
					mu.Lock()
					runs = append(runs, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			b.StopTimer()
			if len(runs) > 0 {
				slices.Sort(runs)
				b.ReportMetric(float64(runs[(len(runs)-1)*99/100]), "runs/p99")
				b.ReportMetric(float64(runs[len(runs)-1]), "runs/max")
			}
			b.ReportMetric(float64(gaveUp.Load())/float64(b.N), "gaveup/op")
		})
	}
}
