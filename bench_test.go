package vkv_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv"
)

// Benchmarks come in pairs, vkv and raw Badger with the same Badger options,
// so that ratios can be read from one run:
//
//	go test -run '^$' -bench . -count 5 | benchstat -col /impl -

const benchKeys = 10_000

func benchKey(i int) string { return fmt.Sprintf("key%012d", i%benchKeys) }

var benchValue = make([]byte, 100)

func openBenchStore(b *testing.B, sync bool) *vkv.Store {
	b.Helper()
	s, err := vkv.Open(b.TempDir(), &vkv.Options{NoSync: !sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func openBenchBadger(b *testing.B, sync bool) *badger.DB {
	b.Helper()
	dir := b.TempDir()
	db, err := badger.Open(vkv.BadgerOptions(dir, vkv.Options{NoSync: !sync}).WithDetectConflicts(true))
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
				tx.Put(benchKey(j), benchValue)
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
		wb.Set([]byte(benchKey(i)), benchValue)
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
		b.ResetTimer()
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
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			err := db.View(func(txn *badger.Txn) error {
				item, err := txn.Get([]byte(benchKey(i)))
				if err != nil {
					return err
				}
				_, err = item.ValueCopy(nil)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Put(ctx, benchKey(i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, false)
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
}

// badgerCAS is compare-and-swap on raw Badger: the value carries an 8-byte
// version prefix; the transaction reads the key so that Badger detects a
// conflicting writer.
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
			return vkv.ErrConflict
		}
		next = cur + 1
		return txn.Set(key, append(binary.BigEndian.AppendUint64(nil, next), value...))
	})
	return next, err
}

func BenchmarkCompareAndSwap(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, false)
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
		db := openBenchBadger(b, false)
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
}

// BenchmarkDurableCASParallel is CAS on distinct keys with fsync on, from 64
// goroutines: group commit against one fsync per Badger transaction.
func BenchmarkDurableCASParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=vkv", func(b *testing.B) {
		s := openBenchStore(b, true)
		var n atomic.Int64
		b.SetParallelism(32) // 64 goroutines on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := n.Add(1)
			var v vkv.Version
			key := fmt.Sprintf("p%d", id)
			for pb.Next() {
				var err error
				if v, err = s.CompareAndSwap(ctx, key, v, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=badger", func(b *testing.B) {
		db := openBenchBadger(b, true)
		var n atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := n.Add(1)
			var v uint64
			key := []byte(fmt.Sprintf("p%d", id))
			for pb.Next() {
				var err error
				if v, err = badgerCAS(db, key, v, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
