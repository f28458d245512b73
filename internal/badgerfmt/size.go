package badgerfmt

import "github.com/dgraph-io/badger/v4"

// How a Badger transaction counts its entries. Txn.checkSize (txn.go:335-344)
// adds one entry and EntryCost bytes for each Set or Delete, and refuses the
// entry with badger.ErrTxnTooBig once the count or the size would reach the
// DB's limits (DB.MaxBatchCount, DB.MaxBatchSize); see TooBig.
const (
	// MetaBytes is what every entry costs beyond its key and value: a byte
	// of meta and a byte of user meta (structs.go:154 and :156, "2 for
	// metas").
	MetaBytes = 2
	// ValuePointerBytes is what an entry whose value goes to the value log
	// costs in place of its value: a valuePointer, three uint32s
	// (structs.go:15-21 vptrSize, structs.go:156).
	ValuePointerBytes = 12
	// VersionBytes is what Txn.checkSize adds to every entry, "for the
	// version in key" (txn.go:337-338).
	VersionBytes = 10

	// TxnMarkerKey is the key of the entry Badger adds to every transaction
	// it commits, after the transaction's own entries (db.go:38 txnKey,
	// txn.go:583-590).
	TxnMarkerKey = "!badger!txn"
	// TxnStartCount is the entry count a new transaction starts with: its
	// marker (txn.go:770).
	TxnStartCount = 1
	// TxnStartSize is the size in bytes a new transaction starts with, for
	// its marker (txn.go:771).
	TxnStartSize = int64(len(TxnMarkerKey) + VersionBytes)

	// MaxBatchPercent is the share of a memtable, in percent, that one
	// transaction may fill: DB.MaxBatchSize is MaxBatchPercent*MemTableSize/100
	// (db.go:154). The entry limit follows from it (db.go:155).
	MaxBatchPercent = 15

	// MaxValueThreshold is the largest Options.ValueThreshold Badger accepts
	// (options.go:201, checked at db.go:164-167). A threshold must also not
	// exceed DB.MaxBatchSize (db.go:171-175).
	MaxValueThreshold = 1 << 20

	// MaxKeySize is the longest key a transaction takes (txn.go:352,
	// :363-367); Txn.Set refuses a longer one.
	MaxKeySize = 65000
)

// EntryCost is what Txn.checkSize adds to a transaction's size for an entry
// whose key is keyLen bytes and whose value is valLen bytes, where threshold
// is the DB's value threshold. A value shorter than the threshold is kept in
// the LSM tree and counts in full; a longer one, or one exactly as long,
// goes to the value log and counts as a value pointer
// (Entry.estimateSizeAndSetThreshold, structs.go:147-157). A Delete is an
// entry with an empty value.
//
// The threshold Badger counts with is the Options.ValueThreshold passed to
// badger.Open (db.go:263, value.go:1178, read at value.go:458-459), and it
// stays so unless Options.VLogPercentile is set, which makes Badger move it
// at run time (value.go:1195-1213). DB.Opts().ValueThreshold reports the
// same on disk; for an in-memory DB it reports math.MaxInt32
// (db.go:324-328): with that, EntryCost counts every value in full, which
// is what Badger counts for a DB whose values are all below its threshold
// (see LargestValue).
func EntryCost(keyLen, valLen int, threshold int64) int64 {
	v := int64(valLen)
	if v >= threshold {
		v = ValuePointerBytes
	}
	return int64(keyLen) + v + MetaBytes + VersionBytes
}

// TooBig reports whether a transaction of count entries and size bytes
// (counted as Txn.checkSize counts them: from TxnStartCount and TxnStartSize,
// plus one entry and EntryCost bytes for each entry) is over the limits
// maxCount and maxSize of its DB, with Badger's comparison (txn.go:339): an
// entry that makes TooBig true is refused with badger.ErrTxnTooBig.
func TooBig(count, size, maxCount, maxSize int64) bool {
	return count >= maxCount || size >= maxSize
}

// MaxBatchSize returns the byte limit of one transaction of a DB whose
// memtables are memTableSize bytes (db.go:154). An open DB reports it as
// DB.MaxBatchSize.
func MaxBatchSize(memTableSize int64) int64 {
	return MaxBatchPercent * memTableSize / 100
}

// LargestValue returns the longest value a transaction of a DB opened with
// the options o takes without failing, at once or later. o is what is
// passed to badger.Open, not what DB.Opts reports. On disk it is
// o.ValueLogFileSize: Txn.Set refuses a longer value (txn.go:368-369). In
// memory it is one byte below o.ValueThreshold: Txn.Set refuses a value
// longer than the threshold (txn.go:370-371), and one exactly as long
// passes that check but is then written as a value pointer that an
// in-memory DB does not have, which panics in Badger's write goroutine
// (db.go:834 and :847-851: b.Ptrs is empty in memory).
func LargestValue(o badger.Options) int64 {
	if o.InMemory {
		return o.ValueThreshold - 1
	}
	return o.ValueLogFileSize
}
