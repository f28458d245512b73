package vkv_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// snapshot is every key's history (newest first) as of version at.
func snapshotAt(t *testing.T, s *vkv.Store, keys []string, at vkv.Version) map[string][]vkv.Entry {
	t.Helper()
	ctx := context.Background()
	out := map[string][]vkv.Entry{}
	for _, k := range keys {
		h, err := s.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h {
			if e.Version <= at {
				out[k] = append(out[k], e)
			}
		}
	}
	return out
}

// TestBackupRestore backs a store up while writers run, restores it into a
// fresh directory, and compares every key, version and history entry with
// the original as of the version the backup holds.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	var keys []string
	for i := 0; i < 50; i++ {
		keys = append(keys, fmt.Sprintf("k/%02d", i))
	}
	for round := 0; round < 3; round++ {
		for i, k := range keys {
			if _, err := s.Put(ctx, k, []byte(fmt.Sprint(round, i))); err != nil {
				t.Fatal(err)
			}
			if round == 1 && i%5 == 0 {
				if _, err := s.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.Put(ctx, "k/ttl", []byte("lease"), vkv.WithTTL(time.Hour))
	keys = append(keys, "k/ttl")

	// Writers go on during the backup.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if _, err := s.Put(ctx, keys[i%len(keys)], []byte(fmt.Sprint("during ", i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var buf bytes.Buffer
	if err := s.Backup(ctx, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	stop.Store(true)
	wg.Wait()

	dir := filepath.Join(t.TempDir(), "restored")
	if err := vkv.Restore(dir, bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	r := openStore(t, dir, nil)
	at, _ := r.CurrentVersion(ctx)
	if at == 0 {
		t.Fatal("restored store is empty")
	}
	want := snapshotAt(t, s, keys, at)
	got := snapshotAt(t, r, keys, at)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("restored history differs at version %d (-original +restored):\n%s", at, diff)
	}
	for _, k := range keys {
		e1, err1 := s.GetAt(ctx, k, at)
		e2, err2 := r.Get(ctx, k)
		if !errors.Is(err1, err2) && (err1 != nil || err2 != nil) {
			t.Fatalf("key %q: original at %d: %v, restored: %v", k, at, err1, err2)
		}
		if diff := cmp.Diff(e1, e2); diff != "" {
			t.Fatalf("key %q (-original at %d +restored):\n%s", k, at, diff)
		}
	}
	// The restored store continues the numbering.
	v, err := r.Put(ctx, "after", nil)
	if err != nil || v != at+1 {
		t.Fatalf("first write after restore: %d, %v; want version %d", v, err, at+1)
	}
	if err := vkv.Restore(dir, bytes.NewReader(buf.Bytes()), nil); !errors.Is(err, vkv.ErrNotEmpty) {
		t.Fatalf("Restore into a store in use: %v, want ErrNotEmpty", err)
	}
}

// TestRestoreBadBackup: a backup cut anywhere, damaged, or followed by other
// data is refused with ErrBadBackup, never restored in part or panicking.
func TestRestoreBadBackup(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "", &vkv.Options{InMemory: true})
	for i := 0; i < 200; i++ {
		s.Put(ctx, fmt.Sprintf("k%03d", i), bytes.Repeat([]byte{byte(i)}, 50))
	}
	var buf bytes.Buffer
	if err := s.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	damaged := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":             nil,
		"cut in the header": good[:4],
		"cut in a frame":    good[:len(good)/2],
		"cut before the end marker": func() []byte {
			// The end marker is the last frame: an 8-byte length, then a
			// protobuf list whose only key is the marker's.
			idx := bytes.LastIndex(good, []byte("vkv-backup-end"))
			for start := idx - 1; start >= 8; start-- {
				if int(binary.LittleEndian.Uint64(good[start-8:start])) == len(good)-start {
					return good[:start-8]
				}
			}
			t.Fatal("end marker not found")
			return nil
		}(),
		"huge frame length": damaged(func(b []byte) []byte { b[7] = 0x7f; return b }),
		"garbage frame":     damaged(func(b []byte) []byte { copy(b[8:40], bytes.Repeat([]byte{0xff}, 32)); return b }),
		"trailing data":     append(append([]byte(nil), good...), 1, 2, 3),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			err := vkv.Restore(filepath.Join(t.TempDir(), "r"), bytes.NewReader(data), nil)
			if !errors.Is(err, vkv.ErrBadBackup) {
				t.Fatalf("Restore: %v, want ErrBadBackup", err)
			}
		})
	}
	if err := vkv.Restore(filepath.Join(t.TempDir(), "r"), bytes.NewReader(good), nil); err != nil {
		t.Fatalf("Restore of the whole backup: %v", err)
	}
}
