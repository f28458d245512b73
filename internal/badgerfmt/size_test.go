package badgerfmt_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// openBadger opens a Badger DB with o, closed when t ends.
func openBadger(t *testing.T, o badger.Options) *badger.DB {
	t.Helper()
	db, err := badger.Open(o.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// entry is an entry of a transaction: a key and a value of these lengths,
// or a Delete of the key.
type entry struct {
	keyLen, valLen int
	del            bool
}

// walk adds entries to a new transaction of db, one by one, and checks
// after each that Badger refuses it with ErrTxnTooBig exactly when the
// count and size predicted with EntryCost from TxnStartCount and
// TxnStartSize are TooBig. It stops at the first entry refused and returns
// how many were taken.
func walk(t *testing.T, db *badger.DB, entries []entry) int {
	t.Helper()
	txn := db.NewTransaction(true)
	defer txn.Discard()
	threshold := db.Opts().ValueThreshold
	count, size := int64(badgerfmt.TxnStartCount), badgerfmt.TxnStartSize
	for i, e := range entries {
		key := fmt.Appendf(nil, "%0*d", e.keyLen, i)[:e.keyLen]
		count++
		size += badgerfmt.EntryCost(e.keyLen, e.valLen, threshold)
		var err error
		if e.del {
			err = txn.Delete(key)
		} else {
			err = txn.Set(key, make([]byte, e.valLen))
		}
		want := badgerfmt.TooBig(count, size, db.MaxBatchCount(), db.MaxBatchSize())
		if got := errors.Is(err, badger.ErrTxnTooBig); got != want || (err != nil && !got) {
			t.Fatalf("entry %d (key %d bytes, value %d bytes, delete %v), predicted %d entries and %d bytes of limits %d and %d: Badger says %v; want ErrTxnTooBig %v",
				i, e.keyLen, e.valLen, e.del, count, size, db.MaxBatchCount(), db.MaxBatchSize(), err, want)
		}
		if err != nil {
			return i
		}
	}
	return len(entries)
}

// toSize returns entries whose predicted size, with the transaction's
// start, is exactly total bytes: the given entries first, then entries with
// 8-byte keys and values below the threshold.
func toSize(t *testing.T, first []entry, total, threshold int64) []entry {
	t.Helper()
	out := append([]entry{}, first...)
	rest := total - badgerfmt.TxnStartSize
	for _, e := range first {
		rest -= badgerfmt.EntryCost(e.keyLen, e.valLen, threshold)
	}
	small := badgerfmt.EntryCost(8, 0, threshold) // the least the last entry costs
	for rest-small >= threshold {                 // the last entry's value would reach the threshold
		v := min(threshold-1, rest-2*small)
		out = append(out, entry{keyLen: 8, valLen: int(v)})
		rest -= badgerfmt.EntryCost(8, int(v), threshold)
	}
	if rest < small {
		t.Fatalf("the first entries cost more than %d bytes", total)
	}
	return append(out, entry{keyLen: 8, valLen: int(rest - small)})
}

// TestEntryCostAtErrTxnTooBig fills Badger transactions to one byte and
// one entry below its limits and to the limits, with entries of every kind
// EntryCost tells apart, and checks that Badger refuses an entry with
// ErrTxnTooBig exactly when TooBig says so.
func TestEntryCostAtErrTxnTooBig(t *testing.T) {
	const memTable, threshold = 1 << 20, 1000
	db := openBadger(t, badger.DefaultOptions(t.TempDir()).WithMemTableSize(memTable).WithValueThreshold(threshold))
	if got, want := db.MaxBatchSize(), badgerfmt.MaxBatchSize(memTable); got != want {
		t.Fatalf("DB.MaxBatchSize() = %d for memtables of %d bytes; MaxBatchSize says %d", got, memTable, want)
	}
	if got := db.Opts().ValueThreshold; got != threshold {
		t.Fatalf("value threshold %d, want %d", got, threshold)
	}
	// Every kind of entry: values on both sides of the threshold and at
	// it, empty values, deletes, a long key.
	kinds := []entry{
		{keyLen: 1, valLen: threshold - 1},
		{keyLen: 2, valLen: threshold},
		{keyLen: 3, valLen: threshold + 1},
		{keyLen: 4, valLen: 20 * threshold},
		{keyLen: 5, valLen: 0},
		{keyLen: 6, del: true},
		{keyLen: 4000, valLen: 10},
		{keyLen: badgerfmt.MaxKeySize, valLen: threshold},
	}
	maxSize, maxCount := db.MaxBatchSize(), db.MaxBatchCount()
	// byCount returns n-1 entries after the start: n entries in all.
	byCount := func(n int64) []entry {
		out := append([]entry{}, kinds...)
		for int64(len(out))+badgerfmt.TxnStartCount < n {
			out = append(out, entry{keyLen: 8})
		}
		return out
	}
	tests := []struct {
		name    string
		entries []entry
		taken   int // how many entries Badger takes
	}{
		{"bytes one below the limit", toSize(t, kinds, maxSize-1, threshold), -1},
		{"bytes at the limit", toSize(t, kinds, maxSize, threshold), -2},
		{"entries one below the limit", byCount(maxCount - 1), -1},
		{"entries at the limit", byCount(maxCount), -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := len(tt.entries) + 1 + tt.taken // -1: all; -2: all but the last
			if got := walk(t, db, tt.entries); got != want {
				t.Errorf("Badger took %d of %d entries, want %d", got, len(tt.entries), want)
			}
		})
	}
}

// TestLargestValue: Badger takes a value of LargestValue bytes, and Txn.Set
// refuses a longer one on disk. In memory it refuses one 2 bytes longer; one
// byte longer, as long as the threshold, it takes and then panics in its
// write goroutine, which would end the test binary.
func TestLargestValue(t *testing.T) {
	tests := []struct {
		name    string
		o       badger.Options
		refused int64 // the shortest value Txn.Set refuses, over LargestValue
	}{
		{"on disk", badger.DefaultOptions(t.TempDir()).WithValueLogFileSize(1 << 20).WithMemTableSize(16 << 20), 1},
		{"in memory", badger.DefaultOptions("").WithInMemory(true).WithValueThreshold(1 << 16), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openBadger(t, tt.o)
			n := badgerfmt.LargestValue(tt.o)
			err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), make([]byte, n)) })
			if err != nil {
				t.Fatalf("a value of LargestValue = %d bytes: %v", n, err)
			}
			err = db.View(func(txn *badger.Txn) error {
				item, err := txn.Get([]byte("k"))
				if err != nil {
					return err
				}
				v, err := item.ValueCopy(nil)
				if err == nil && int64(len(v)) != n {
					err = fmt.Errorf("read back %d bytes", len(v))
				}
				return err
			})
			if err != nil {
				t.Fatalf("reading the value of %d bytes back: %v", n, err)
			}
			txn := db.NewTransaction(true)
			defer txn.Discard()
			long := n + tt.refused
			if err := txn.Set([]byte("k"), make([]byte, long)); err == nil || !strings.Contains(err.Error(), "Value with size") {
				t.Errorf("a value of LargestValue+%d = %d bytes: %v; want Badger to refuse it", tt.refused, long, err)
			}
		})
	}
}

// TestMaxKeySize: Badger takes a key of MaxKeySize bytes and refuses a
// longer one.
func TestMaxKeySize(t *testing.T) {
	db := openBadger(t, badger.DefaultOptions("").WithInMemory(true))
	txn := db.NewTransaction(true)
	defer txn.Discard()
	if err := txn.Set(make([]byte, badgerfmt.MaxKeySize), nil); err != nil {
		t.Fatalf("a key of MaxKeySize = %d bytes: %v", badgerfmt.MaxKeySize, err)
	}
	if err := txn.Set(make([]byte, badgerfmt.MaxKeySize+1), nil); err == nil {
		t.Errorf("a key of MaxKeySize+1 = %d bytes was taken", badgerfmt.MaxKeySize+1)
	}
}

// TestMaxValueThreshold: Badger opens with a value threshold of
// MaxValueThreshold and refuses one byte more.
func TestMaxValueThreshold(t *testing.T) {
	o := badger.DefaultOptions("").WithInMemory(true).WithMemTableSize(64 << 20)
	openBadger(t, o.WithValueThreshold(badgerfmt.MaxValueThreshold))
	if db, err := badger.Open(o.WithLogger(nil).WithValueThreshold(badgerfmt.MaxValueThreshold + 1)); err == nil {
		db.Close()
		t.Errorf("Badger opened with a value threshold of MaxValueThreshold+1 = %d", badgerfmt.MaxValueThreshold+1)
	}
}
