package vkv_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// TestOpenRefusesOptionsThatFailMidWrite checks that Open refuses, with a
// *OptionsError naming both fields, option combinations under which a write
// within the limits could only fail inside the committer.
func TestOpenRefusesOptionsThatFailMidWrite(t *testing.T) {
	tests := []struct {
		name   string
		opts   vkv.Options
		want   *vkv.OptionsError // nil: Open succeeds
		reason string
	}{
		{
			name:   "value larger than a value-log file",
			opts:   vkv.Options{MaxValueSize: 2 << 20, ValueLogFileSize: 1 << 20},
			want:   &vkv.OptionsError{Option: "MaxValueSize", Other: "ValueLogFileSize"},
			reason: "Badger refuses an entry larger than a value-log file",
		},
		{
			name:   "value just fits a value-log file",
			opts:   vkv.Options{MaxValueSize: 1<<20 - 64, ValueLogFileSize: 1 << 20},
			reason: "the record header is small enough",
		},
		{
			name: "largest write larger than one commit",
			opts: vkv.Options{MaxValueSize: 90_000, MemTableSize: 1 << 20}.WithBadger(func(o badger.Options) badger.Options {
				return o.WithValueThreshold(100_000) // values stay in the LSM tree, counted twice
			}),
			want:   &vkv.OptionsError{Option: "MaxValueSize", Other: "MemTableSize"},
			reason: "a commit holds 15% of a memtable",
		},
		{
			name:   "defaults",
			reason: "the zero Options are valid",
		},
		{
			name:   "throughput profile",
			opts:   vkv.ThroughputOptions(),
			reason: "ThroughputOptions are valid",
		},
		{
			name:   "unknown profile",
			opts:   vkv.Options{Profile: vkv.ProfileThroughput + 1},
			want:   &vkv.OptionsError{Option: "Profile"},
			reason: "only the two profiles exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := vkv.Open(dir, &tt.opts)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v (%s)", err, tt.reason)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an OptionsError (%s)", tt.reason)
			}
			var oe *vkv.OptionsError
			if !errors.As(err, &oe) || !errors.Is(err, vkv.ErrInvalidOptions) {
				t.Fatalf("Open = %v, want a *vkv.OptionsError matching ErrInvalidOptions", err)
			}
			got := &vkv.OptionsError{Option: oe.Option, Other: oe.Other}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open error fields (-want +got):\n%s\n%v", diff, err)
			}
			if oe.Reason == "" {
				t.Errorf("Open error has no reason: %v", err)
			}
			if tt.want.Other == "ValueLogFileSize" {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("Open created %s before refusing the options (stat: %v)", dir, err)
				}
			}
		})
	}
}

// TestProfiles checks what each profile sets: the Badger memtables that may
// wait for a flush and the committer's key cache, whether the profile comes
// from ThroughputOptions or from a bare Profile field; and that a store
// written under one profile opens under the other with its data.
func TestProfiles(t *testing.T) {
	rows := []struct {
		name      string
		o         vkv.Options
		memtables int
		keyCache  int
	}{
		{"zero Options: lean", vkv.Options{}, 1, vkv.DefaultKeyCacheSize},
		{"DefaultOptions: lean", vkv.DefaultOptions(), 1, vkv.DefaultKeyCacheSize},
		{"ThroughputOptions", vkv.ThroughputOptions(), 2, vkv.ThroughputKeyCacheSize},
		{"Profile field alone", vkv.Options{Profile: vkv.ProfileThroughput}, 2, vkv.ThroughputKeyCacheSize},
		{"throughput with a key cache of its own", vkv.Options{Profile: vkv.ProfileThroughput, KeyCacheSize: 10}, 2, 10},
	}
	for _, r := range rows {
		bo := vkv.BadgerOptions(t.TempDir(), r.o)
		got := []int{bo.NumMemtables, vkv.KeyCacheSizeOf(r.o)}
		if diff := cmp.Diff([]int{r.memtables, r.keyCache}, got); diff != "" {
			t.Errorf("%s: [NumMemtables, KeyCacheSize] differ (-want +got):\n%s", r.name, diff)
		}
	}
	ctx := t.Context()
	dir := t.TempDir()
	s, err := vkv.Open(dir, &vkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Put(ctx, "k", []byte("lean"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := vkv.ThroughputOptions()
	s = openStore(t, dir, &o)
	e, err := s.Get(ctx, "k")
	if err != nil || e.Version != v || string(e.Value) != "lean" {
		t.Fatalf("Get after reopening under the throughput profile: %+v, %v; want version %d, value lean", e, err, v)
	}
	if got := vkv.ProfileThroughput.String() + "," + vkv.ProfileLean.String(); got != "throughput,lean" {
		t.Errorf("Profile names: %s", got)
	}
}
