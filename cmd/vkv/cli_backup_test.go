package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// snapshotOf returns every key of kv (List, paged) and the history of each
// key in keys, for comparing two stores.
type storeState struct {
	List    []vkv.Entry
	History map[string][]vkv.Entry
}

func snapshotOf(t *testing.T, ctx context.Context, kv vkv.Reader, keys []string) storeState {
	t.Helper()
	st := storeState{History: map[string][]vkv.Entry{}}
	for after := ""; ; {
		lr, err := kv.List(ctx, "", after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		st.List = append(st.List, page...)
		if next == "" {
			break
		}
		after = next
	}
	for _, k := range keys {
		h, err := kv.History(ctx, k, 0)
		if err != nil {
			t.Fatalf("History(%q): %v", k, err)
		}
		st.History[k] = h
	}
	return st
}

// TestCLIBackupRestore backs a server up with vkv backup (to stdout and
// with -out), restores with vkv restore (from stdin and from a file) and
// compares the restored stores with the original; and checks the failures:
// a directory that is not empty, a damaged backup (the directory is
// cleaned up), a server that cannot back up (no file is left).
func TestCLIBackupRestore(t *testing.T) {
	ctx := t.Context()
	s := newCLIServer(t, nil, nil)
	keys := []string{"a", "b", "c", "gone", "lease"}
	s.ok(t, "", "put", "a", "1")
	s.ok(t, "", "put", "b", "2")
	s.ok(t, "", "cas", "a", "1", "one")
	s.ok(t, "", "put", "gone", "x")
	s.ok(t, "", "del", "gone")
	s.ok(t, "", "put", "-ttl", "1h", "lease", "held")
	s.ok(t, `{"ops":[{"op":"put","key":"c","value":"Mw=="},{"op":"delete","key":"b"}]}`, "txn")
	want := snapshotOf(t, ctx, s.store, keys)
	tmp := t.TempDir()

	backup := s.ok(t, "", "backup")
	dir := filepath.Join(tmp, "from-stdin")
	out := s.ok(t, backup, "restore", "-dir", dir)
	if !regexp.MustCompile(`^restored \d+ bytes into .*from-stdin in \S+; the store is at version 7\n$`).MatchString(out) {
		t.Errorf("restore printed %q", out)
	}
	file := filepath.Join(tmp, "vkv.backup")
	if out := s.ok(t, "", "backup", "-out", file); !strings.HasPrefix(out, "wrote ") || !strings.Contains(out, file) {
		t.Errorf("backup -out printed %q", out)
	}
	dir2 := filepath.Join(tmp, "from-file")
	os.Mkdir(dir2, 0o755) // an empty directory is fine too
	s.ok(t, "", "restore", "-dir", dir2, file)
	for _, d := range []string{dir, dir2} {
		r, err := vkv.Open(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, snapshotOf(t, ctx, r, keys)); diff != "" {
			t.Errorf("restored %s differs (-original +restored):\n%s", d, diff)
		}
		if v, err := r.Put(ctx, "after", nil); err != nil || v != 8 {
			t.Errorf("first write after the restore: version %d, %v; want 8", v, err)
		}
		r.Close()
	}

	// A directory that is not empty is left alone.
	s.fails(t, 1, "is not empty", backup, "restore", "-dir", dir)
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Errorf("a refused restore touched %s: %v", dir, err)
	}
	// A damaged backup: the new directory is removed, an existing one emptied.
	damaged := backup[:len(backup)/2] + "garbage"
	bad := filepath.Join(tmp, "bad")
	s.fails(t, 1, "restoring from stdin", damaged, "restore", "-dir", bad)
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a failed restore left %s behind: %v", bad, err)
	}
	os.Mkdir(bad, 0o755)
	s.fails(t, 1, "restoring from stdin", "not a backup at all", "restore", "-dir", bad)
	if entries, err := os.ReadDir(bad); err != nil || len(entries) != 0 {
		t.Errorf("a failed restore left %d files in %s (%v)", len(entries), bad, err)
	}
	s.fails(t, 1, "no such file", "", "restore", "-dir", bad, filepath.Join(tmp, "missing"))
	// Empty input is no backup: even an empty store's backup has its end
	// marker.
	s.fails(t, 1, "not a complete backup", "", "restore", "-dir", filepath.Join(t.TempDir(), "empty"))

	// A server whose store cannot back up; a wrong token. -out leaves nothing.
	plain := newCLIServer(t, nil, func(kv vkv.KV) vkv.KV { return struct{ vkv.KV }{kv} })
	nofile := filepath.Join(tmp, "nothing.backup")
	plain.fails(t, 1, "vkv backup: not-implemented: this server's store cannot write a backup", "", "backup", "-out", nofile)
	r := s.cli(t, "", []string{"backup", "-out", nofile}, envToken, "wrong")
	if r.code != 1 || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("backup with a wrong token: exit %d, %s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("failed backups left files: %q", names)
	}

	// Interrupted: the backup stops with an error.
	cctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-cctx.Done()
	if r := s.cliCtx(cctx, "", []string{"backup", "-out", nofile}); r.code != 1 || !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("interrupted backup: exit %d, %s", r.code, r.stderr)
	}
}
