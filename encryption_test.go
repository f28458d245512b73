package vkv_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkvstore/vkv"
)

// TestEncryptionAtRest: a store opened with Options.EncryptionKey holds no
// value in clear on disk, reopens with its key (the start-up check reads
// its tables with the key), and refuses to open without it, with another
// key, or with a key when it is not encrypted, with ErrEncryptionKey and
// never ErrCorrupt, and without changing anything: it opens again with the
// right key afterwards. A backup of it restores into a new encrypted store.
func TestEncryptionAtRest(t *testing.T) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	dir := t.TempDir()
	const secret = "the-secret-value-0123456789"
	s, err := vkv.Open(dir, &vkv.Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := s.Put(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i), []byte(secret)); err != nil {
			t.Fatal(err)
		}
	}
	var backup bytes.Buffer
	if err := s.Backup(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the value in clear", filepath.Base(p))
			}
		}
		return nil
	})

	tests := []struct {
		reason string
		key    []byte
	}{
		{"no key", nil},
		{"another key", other},
		{"a key of a wrong length", key[:20]},
	}
	for _, tt := range tests {
		_, err := vkv.Open(dir, &vkv.Options{EncryptionKey: tt.key})
		if !errors.Is(err, vkv.ErrEncryptionKey) || errors.Is(err, vkv.ErrCorrupt) {
			t.Errorf("%s: Open: %v; want ErrEncryptionKey, not ErrCorrupt", tt.reason, err)
		}
	}
	s, err = vkv.Open(dir, &vkv.Options{EncryptionKey: key})
	if err != nil {
		t.Fatalf("Open with the key after the refusals: %v", err)
	}
	if e, err := s.Get(ctx, "ka"); err != nil || string(e.Value) != secret {
		t.Errorf("Get after reopening: %q, %v", e.Value, err)
	}
	s.Close()

	// A plain store opened with a key.
	plain := t.TempDir()
	ps, err := vkv.Open(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps.Put(ctx, "a", []byte("b"))
	ps.Close()
	if _, err := vkv.Open(plain, &vkv.Options{EncryptionKey: key}); !errors.Is(err, vkv.ErrEncryptionKey) {
		t.Errorf("a plain store opened with a key: %v, want ErrEncryptionKey", err)
	}

	// Backup and restore into a new encrypted store, with another key.
	restored := filepath.Join(t.TempDir(), "restored")
	if err := vkv.Restore(restored, bytes.NewReader(backup.Bytes()), &vkv.Options{EncryptionKey: other}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if _, err := vkv.Open(restored, nil); !errors.Is(err, vkv.ErrEncryptionKey) {
		t.Errorf("the restored store opened without its key: %v", err)
	}
	rs, err := vkv.Open(restored, &vkv.Options{EncryptionKey: other})
	if err != nil {
		t.Fatalf("Open of the restored store: %v", err)
	}
	defer rs.Close()
	if e, err := rs.Get(ctx, "ka"); err != nil || string(e.Value) != secret {
		t.Errorf("Get in the restored store: %q, %v", e.Value, err)
	}
}
