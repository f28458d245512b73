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
