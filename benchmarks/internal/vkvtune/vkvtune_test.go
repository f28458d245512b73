package vkvtune

import (
	"flag"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// TestArgsRoundTrip: the arguments a parent passes to a child parse back
// into the same overrides, with the parent's prefix.
func TestArgsRoundTrip(t *testing.T) {
	want := Tuning{MemTable: 4 << 20, BlockCache: 8 << 20, ValueLog: 1 << 20, KeyCache: -1, NumMemtables: 2,
		Compactors: 3, BaseTable: 512 << 10, Level0: "10,30"}
	var got Tuning
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	got.Register(fs, "vkv-")
	if err := fs.Parse(want.Args("vkv-")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed back (-want +got):\n%s", diff)
	}
}

// TestApply: the overrides reach vkv's options and Badger's, and a bad
// level-0 pair is refused.
func TestApply(t *testing.T) {
	o, err := Tuning{MemTable: 4 << 20, KeyCache: -1, Level0: "10,30", Compactors: 3}.Apply(vkv.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	bo := o.Badger(badger.DefaultOptions(""))
	got := []int64{o.MemTableSize, int64(o.KeyCacheSize), int64(bo.NumLevelZeroTables), int64(bo.NumLevelZeroTablesStall), int64(bo.NumCompactors)}
	if diff := cmp.Diff([]int64{4 << 20, -1, 10, 30, 3}, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"5", "5,5", "0,3", "x,y"} {
		if _, err := (Tuning{Level0: bad}).Apply(vkv.DefaultOptions()); err == nil {
			t.Errorf("Level0 %q accepted", bad)
		}
	}
}
