package vkv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// TestOpenDamagedFiles: Open refuses a store whose Badger files
// badgerfmt.Check finds damaged with an error matching ErrCorrupt, and one
// whose MANIFEST is of another Badger format version with an error that
// does not match it. (internal/badgerfmt tests which damage Check finds.)
func TestOpenDamagedFiles(t *testing.T) {
	pristine := t.TempDir()
	s, err := vkv.Open(pristine, &vkv.Options{NoSync: true})
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
	tables, err := filepath.Glob(filepath.Join(pristine, "*"+badgerfmt.TableSuffix))
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables of the closed store: %v, %v", tables, err)
	}
	cases := []struct {
		name    string
		file    string
		edit    func(b []byte)
		corrupt bool // the error must match ErrCorrupt
	}{
		{"table: bytes flipped", filepath.Base(tables[0]), func(b []byte) { b[len(b)/2] ^= 0xff }, true},
		{"MANIFEST: bad magic", badger.ManifestFilename, func(b []byte) { copy(b, "XXXX") }, true},
		{"MANIFEST: another Badger format version", badger.ManifestFilename, func(b []byte) { b[badgerfmt.ManifestHeaderLen-1]++ }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(b)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := vkv.Open(dir, &vkv.Options{NoSync: true})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if got := errors.Is(err, vkv.ErrCorrupt); got != tc.corrupt {
				t.Errorf("Open: %v; errors.Is(err, ErrCorrupt) = %v, want %v", err, got, tc.corrupt)
			}
		})
	}
}

// TestReopenCompressed: a store whose Options.Badger turns compression on
// opens again after Close: the checks before Badger opens read its tables
// as they were written.
func TestReopenCompressed(t *testing.T) {
	dir := t.TempDir()
	o := &vkv.Options{NoSync: true, Badger: func(b badger.Options) badger.Options {
		return b.WithCompression(options.ZSTD).WithBlockCacheSize(8 << 20)
	}}
	s := openStore(t, dir, o)
	for i := range 1000 {
		if _, err := s.Put(context.Background(), fmt.Sprintf("key/%04d", i), bytes.Repeat([]byte("abc"), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if tables, _ := filepath.Glob(filepath.Join(dir, "*"+badgerfmt.TableSuffix)); len(tables) == 0 {
		t.Fatal("Close left no table to check")
	}
	s, err := vkv.Open(dir, o)
	if err != nil {
		t.Fatalf("Open of a compressed store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
