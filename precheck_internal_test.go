package vkv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestCheckManifestDoesNotReplay: a MANIFEST that Badger cannot replay
// fails checkManifest (and so Open) instead of turning the table checks off
// without a word; damage matches ErrCorrupt, a MANIFEST of another format
// version does not.
func TestCheckManifestDoesNotReplay(t *testing.T) {
	pristine := t.TempDir()
	s, err := Open(pristine, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := s.Put(context.Background(), k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(pristine, badger.ManifestFilename))
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest) < 20 {
		t.Fatalf("MANIFEST of %d bytes: expected a change set after the magic", len(manifest))
	}
	cases := []struct {
		name    string
		edit    func(b []byte)
		corrupt bool // the error must match ErrCorrupt
	}{
		{"bad magic", func(b []byte) { copy(b, "XXXX") }, true},
		{"change set checksum", func(b []byte) { b[8+8] ^= 0xff }, true},
		{"change set length over the file", func(b []byte) { b[8] = 0x7f }, true},
		{"other Badger format version", func(b []byte) { b[7]++ }, false},
		{"other external magic", func(b []byte) { b[5]++ }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
				t.Fatal(err)
			}
			b := append([]byte{}, manifest...)
			tc.edit(b)
			if err := os.WriteFile(filepath.Join(dir, badger.ManifestFilename), b, 0o644); err != nil {
				t.Fatal(err)
			}
			o := Options{}.withDefaults()
			listed, err := checkManifest(dir, badgerOptions(dir, o, &loggerAdapter{l: o.Logger}), true)
			if err == nil {
				t.Fatalf("checkManifest = %v, nil; want an error", listed)
			}
			if got := errors.Is(err, ErrCorrupt); got != tc.corrupt {
				t.Errorf("checkManifest: %v; errors.Is(err, ErrCorrupt) = %v, want %v", err, got, tc.corrupt)
			}
			// Open says the same.
			s, err := Open(dir, &Options{NoSync: true})
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded on a MANIFEST that does not replay")
			}
			if got := errors.Is(err, ErrCorrupt); got != tc.corrupt {
				t.Errorf("Open: %v; errors.Is(err, ErrCorrupt) = %v, want %v", err, got, tc.corrupt)
			}
		})
	}
}
