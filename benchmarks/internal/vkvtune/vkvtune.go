// Package vkvtune overrides vkv's options for the experiments of the
// benchmark commands (cmd/rss, cmd/peers): one set of flags, one way of
// applying them, so that a setting measured by one command means the same
// in the other.
package vkvtune

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv"
)

// Tuning holds the overrides; a zero field leaves the option as the
// profile sets it.
type Tuning struct {
	MemTable, BlockCache, ValueLog int64 // vkv.Options fields, in bytes
	KeyCache                       int   // vkv.Options.KeyCacheSize
	NumMemtables, Compactors       int   // Badger's NumMemtables, NumCompactors
	BaseTable                      int64 // Badger's BaseTableSize, in bytes
	// Level0 is Badger's level-0 compaction and stall table counts, as
	// "T,S".
	Level0 string
}

// Register adds one flag per field to fs, each named prefix + its name
// (memtable, blockcache, vlog, keycache, memtables, compactors, basetable,
// level0).
func (t *Tuning) Register(fs *flag.FlagSet, prefix string) {
	fs.Int64Var(&t.MemTable, prefix+"memtable", 0, "experiments: MemTableSize in bytes (default: the profile's)")
	fs.Int64Var(&t.BlockCache, prefix+"blockcache", 0, "experiments: BlockCacheSize in bytes (default: the profile's)")
	fs.Int64Var(&t.ValueLog, prefix+"vlog", 0, "experiments: ValueLogFileSize in bytes (default: the profile's)")
	fs.IntVar(&t.KeyCache, prefix+"keycache", 0, "experiments: KeyCacheSize (default: the profile's)")
	fs.IntVar(&t.NumMemtables, prefix+"memtables", 0, "experiments: Badger's NumMemtables (default: the profile's)")
	fs.IntVar(&t.Compactors, prefix+"compactors", 0, "experiments: Badger's NumCompactors (default: vkv's)")
	fs.Int64Var(&t.BaseTable, prefix+"basetable", 0, "experiments: Badger's BaseTableSize in bytes (default: vkv's)")
	fs.StringVar(&t.Level0, prefix+"level0", "", `experiments: Badger's level-0 compaction and stall table counts, as "T,S" (default: vkv's)`)
}

// Args returns the flags of the fields set, named as Register names them,
// for a child process.
func (t Tuning) Args(prefix string) []string {
	var args []string
	add := func(name string, v int64) {
		if v != 0 {
			args = append(args, "-"+prefix+name, strconv.FormatInt(v, 10))
		}
	}
	add("memtable", t.MemTable)
	add("blockcache", t.BlockCache)
	add("vlog", t.ValueLog)
	add("keycache", int64(t.KeyCache))
	add("memtables", int64(t.NumMemtables))
	add("compactors", int64(t.Compactors))
	add("basetable", t.BaseTable)
	if t.Level0 != "" {
		args = append(args, "-"+prefix+"level0", t.Level0)
	}
	return args
}

// Apply returns o with t's overrides, or an error that says what is wrong
// with Level0.
func (t Tuning) Apply(o vkv.Options) (vkv.Options, error) {
	var l0, l0Stall int
	if t.Level0 != "" {
		if _, err := fmt.Sscanf(t.Level0, "%d,%d", &l0, &l0Stall); err != nil || l0 < 1 || l0Stall <= l0 {
			return o, fmt.Errorf("level0 %q: want two table counts T,S with 0 < T < S", t.Level0)
		}
	}
	if t.MemTable > 0 {
		o.MemTableSize = t.MemTable
	}
	if t.BlockCache > 0 {
		o.BlockCacheSize = t.BlockCache
	}
	if t.ValueLog > 0 {
		o.ValueLogFileSize = t.ValueLog
	}
	if t.KeyCache != 0 {
		o.KeyCacheSize = t.KeyCache
	}
	if t.NumMemtables > 0 || t.Compactors > 0 || t.BaseTable > 0 || l0 > 0 {
		prev := o.Badger
		o.Badger = func(bo badger.Options) badger.Options {
			if prev != nil {
				bo = prev(bo)
			}
			if t.NumMemtables > 0 {
				bo = bo.WithNumMemtables(t.NumMemtables)
			}
			if t.Compactors > 0 {
				bo = bo.WithNumCompactors(t.Compactors)
			}
			if t.BaseTable > 0 {
				bo = bo.WithBaseTableSize(t.BaseTable)
			}
			if l0 > 0 {
				bo = bo.WithNumLevelZeroTables(l0).WithNumLevelZeroTablesStall(l0Stall)
			}
			return bo
		}
	}
	return o, nil
}
