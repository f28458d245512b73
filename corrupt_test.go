package vkv_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vkvstore/vkv"
)

// corruptValue is the value stored under key: derived from the key, so that
// a reader can tell a right value from a wrong one.
func corruptValue(key string, big bool) []byte {
	sum := sha256.Sum256([]byte(key))
	n := 200
	if big {
		n = 20 << 10 // over the value threshold: lives in the value log
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:]...)
	}
	return out[:n]
}

const corruptKeys = 3000

func corruptKey(i int) (string, bool) { return fmt.Sprintf("key/%05d", i), i%10 == 0 }

// corruptResult is what the child reports.
type corruptResult struct {
	OpenErr string
	OK      int
	Errors  int
	Missing []string // ErrNotFound for a key that was written
	Wrong   []string
	// NotCorrupt samples read errors that do not match vkv.ErrCorrupt.
	NotCorrupt []string
}

// TestCorruptionChild runs in a child process: it opens the store in
// VKV_CORRUPT_DIR and reads every key. A panic kills only the child.
func TestCorruptionChild(t *testing.T) {
	dir := os.Getenv("VKV_CORRUPT_DIR")
	if dir == "" {
		t.Skip("run by TestCorruption")
	}
	var res corruptResult
	s, err := vkv.Open(dir, nil)
	if err != nil {
		res.OpenErr = err.Error()
	} else {
		ctx := context.Background()
		for i := 0; i < corruptKeys; i++ {
			k, big := corruptKey(i)
			e, err := s.Get(ctx, k)
			switch {
			case errors.Is(err, vkv.ErrNotFound):
				res.Missing = append(res.Missing, k)
			case err != nil:
				res.Errors++
				if !errors.Is(err, vkv.ErrCorrupt) && len(res.NotCorrupt) < 3 {
					res.NotCorrupt = append(res.NotCorrupt, err.Error())
				}
			case string(e.Value) != string(corruptValue(k, big)):
				res.Wrong = append(res.Wrong, k)
			default:
				res.OK++
			}
		}
		s.Close()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// TestCorruption damages the files of a closed store in several ways and
// checks that opening and reading it never panics and never returns a wrong
// value: each read is right or an error, or Open fails.
func TestCorruption(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	pristine := t.TempDir()
	s, err := vkv.Open(pristine, &vkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < corruptKeys; i++ {
		k, big := corruptKey(i)
		if _, err := s.Put(ctx, k, corruptValue(k, big)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]string{}
	filepath.WalkDir(pristine, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			ext := filepath.Ext(p)
			if ext == "" {
				ext = filepath.Base(p)
			}
			files[ext] = append(files[ext], p)
		}
		return nil
	})
	for ext := range files {
		sort.Strings(files[ext])
	}
	if len(files[".sst"]) == 0 || len(files[".vlog"]) == 0 || len(files["MANIFEST"]) == 0 {
		t.Fatalf("expected .sst, .vlog and MANIFEST files, have %v", files)
	}

	flip := func(off float64) func(b []byte) []byte {
		return func(b []byte) []byte {
			i := int(float64(len(b)) * off)
			for j := i; j < i+16 && j < len(b); j++ {
				b[j] ^= 0xff
			}
			return b
		}
	}
	truncate := func(frac float64) func(b []byte) []byte {
		return func(b []byte) []byte { return b[:int(float64(len(b))*frac)] }
	}
	// crashed makes the store look as if its process had been killed: no
	// clean-shutdown marker, and add, a file a crash may leave behind.
	crashed := func(name string, data []byte) func(dir string) error {
		return func(dir string) error {
			if err := os.Remove(filepath.Join(dir, "VKV-CLEAN")); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
	}
	cases := []struct {
		name string
		ext  string
		edit func([]byte) []byte // nil: delete the file
		prep func(dir string) error
		// opens: the store must open (with every read right).
		opens bool
	}{
		{name: "crash-debris-table", prep: crashed("000099.sst", []byte("half a table")), opens: true},
		{name: "crash-empty-table", prep: crashed("000099.sst", nil), opens: true},
		{name: "crash-empty-wal", prep: crashed("00099.mem", nil), opens: true},
		{name: "crash-empty-vlog", prep: crashed("000099.vlog", nil), opens: true},
		{name: "clean-with-debris-table", prep: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "000099.sst"), []byte("not ours"), 0o644)
		}},
		{name: "sst-flip-middle", ext: ".sst", edit: flip(0.5)},
		{name: "sst-flip-start", ext: ".sst", edit: flip(0.01)},
		{name: "sst-flip-index", ext: ".sst", edit: flip(0.97)},
		{name: "sst-truncated", ext: ".sst", edit: truncate(0.5)},
		{name: "sst-deleted", ext: ".sst", edit: nil},
		{name: "vlog-flip-middle", ext: ".vlog", edit: flip(0.5)},
		{name: "vlog-truncated", ext: ".vlog", edit: truncate(0.3)},
		{name: "manifest-truncated", ext: "MANIFEST", edit: truncate(0.5)},
		{name: "manifest-flip", ext: "MANIFEST", edit: flip(0.5)},
		{name: "manifest-deleted", ext: "MANIFEST", edit: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
				t.Fatal(err)
			}
			target := ""
			if tc.ext != "" {
				target = filepath.Join(dir, strings.TrimPrefix(files[tc.ext][0], pristine))
			}
			if tc.prep != nil {
				if err := tc.prep(dir); err != nil {
					t.Fatal(err)
				}
			} else if tc.edit == nil {
				if err := os.Remove(target); err != nil {
					t.Fatal(err)
				}
			} else {
				b, err := os.ReadFile(target)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(target, tc.edit(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCorruptionChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "VKV_CORRUPT_DIR="+dir)
			out, err := cmd.CombinedOutput()
			var res corruptResult
			line := ""
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "RESULT ") {
					line = strings.TrimPrefix(l, "RESULT ")
				}
			}
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) || line == "" {
				t.Fatalf("child crashed (%v):\n%s", err, tail(string(out), 40))
			}
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Wrong) > 0 {
				t.Fatalf("%d reads returned a wrong value, e.g. %q", len(res.Wrong), res.Wrong[0])
			}
			if len(res.Missing) > 0 {
				t.Fatalf("%d written keys read as not found, e.g. %q", len(res.Missing), res.Missing[0])
			}
			if res.OpenErr != "" && tc.opens {
				t.Fatalf("Open refused a store a crash could leave: %s", res.OpenErr)
			}
			if tc.opens && res.OK != corruptKeys {
				t.Fatalf("after a crash-like state: %d of %d reads right, %d errors", res.OK, corruptKeys, res.Errors)
			}
			if len(res.NotCorrupt) > 0 {
				t.Errorf("read errors that do not match vkv.ErrCorrupt, e.g. %q", res.NotCorrupt)
			}
			if res.OpenErr != "" {
				t.Logf("Open refused: %.200s", res.OpenErr)
			} else {
				t.Logf("opened: %d reads right, %d errors, 0 wrong", res.OK, res.Errors)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
