package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/vkvstore/vkv"
)

// TestDiskFull fills a small tmpfs: Badger writes through memory-mapped
// files and would die with SIGBUS on a full disk, so the store must refuse
// writes with ErrInsufficientStorage first, keep serving reads, refuse to
// open while space is short, and lose nothing it acknowledged.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=192m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

	// 4 MiB memtables and 8 MiB value-log files: the guard keeps
	// 4*4 + 2*8 + 32 = 64 MiB free. Leave 100 MiB, so the guard trips after
	// about 36 MiB of writes.
	opts := &vkv.Options{NoSync: true, MemTableSize: 4 << 20, ValueLogFileSize: 8 << 20}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 92<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "store")
	s, err := vkv.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open with 100 MiB free: %v", err)
	}
	ctx := context.Background()
	val := make([]byte, 32<<10)
	var (
		mu    sync.Mutex
		acked = map[string]vkv.Version{}
		wg    sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100_000; i++ {
				k := fmt.Sprintf("w%d/%06d", w, i)
				v, err := s.Put(ctx, k, val)
				if errors.Is(err, vkv.ErrInsufficientStorage) {
					return
				}
				if err != nil {
					t.Errorf("Put(%q): %v", k, err)
					return
				}
				mu.Lock()
				acked[k] = v
				mu.Unlock()
			}
			t.Errorf("writer %d never saw ErrInsufficientStorage", w)
		}()
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write succeeded before the guard tripped")
	}
	t.Logf("%d writes acknowledged before the guard tripped", len(acked))
	if _, err := s.Put(ctx, "more", []byte("x")); !errors.Is(err, vkv.ErrInsufficientStorage) {
		t.Errorf("Put while space is short: %v, want ErrInsufficientStorage", err)
	}
	for k, v := range acked {
		e, err := s.Get(ctx, k)
		if err != nil || e.Version != v {
			t.Fatalf("Get(%q) while space is short = %d, %v; want version %d", k, e.Version, err, v)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close while space is short: %v", err)
	}
	if s2, err := vkv.Open(dir, opts); !errors.Is(err, vkv.ErrInsufficientStorage) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("Open while space is short: %v, want ErrInsufficientStorage", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, opts)
	for k, v := range acked {
		e, err := s.Get(ctx, k)
		if err != nil || e.Version != v {
			t.Fatalf("Get(%q) after freeing space = %d, %v; want version %d", k, e.Version, err, v)
		}
	}
	if _, err := s.Put(ctx, "more", []byte("x")); err != nil {
		t.Errorf("Put after freeing space: %v", err)
	}
}
