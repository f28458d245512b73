package badgerfmt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// written is a directory Badger wrote and closed, shared by the tests of
// this file, which copy it before they change it.
var written struct {
	once   sync.Once
	dir    string
	err    error
	listed []uint64 // the tables its MANIFEST lists, ascending
}

// badgerOpts are the options the directory is written and checked with:
// small memtables, so that it has several tables, and no compression, as
// vkv writes them.
func badgerOpts(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10).
		WithCompression(options.None).WithLogger(nil)
}

// writtenDir returns a copy of a directory Badger wrote: values, some in
// the value log, flushed to several tables, some of which DB.DropPrefix
// then rewrote, so that the MANIFEST records deletions too.
func writtenDir(t *testing.T) (dir string, listed []uint64) {
	t.Helper()
	written.once.Do(func() {
		written.dir, written.err = os.MkdirTemp("", "badgerfmt-")
		if written.err == nil {
			written.listed, written.err = writeDir(badgerOpts(written.dir))
		}
	})
	if written.err != nil {
		t.Fatal(written.err)
	}
	dir = t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(written.dir)); err != nil {
		t.Fatal(err)
	}
	return dir, written.listed
}

// writeDir writes the directory o names, and returns the tables its
// MANIFEST lists.
func writeDir(o badger.Options) ([]uint64, error) {
	// Each Close flushes the memtable to a new table; DropPrefix rewrites
	// the tables that hold the prefix and deletes them.
	for i := range 4 {
		db, err := badger.Open(o)
		if err != nil {
			return nil, err
		}
		if i == 2 {
			err = db.DropPrefix([]byte("key/0/"))
		}
		if err == nil {
			err = db.Update(func(txn *badger.Txn) error {
				for j := range 250 {
					n := 100
					if j%10 == 0 {
						n = 2000 // over the value threshold: in the value log
					}
					if err := txn.Set(fmt.Appendf(nil, "key/%d/%04d", i, j), make([]byte, n)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	f, err := os.Open(filepath.Join(o.Dir, badger.ManifestFilename))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, o.ExternalMagicVersion, o)
	if err != nil {
		return nil, err
	}
	var listed []uint64
	for id := range m.Tables {
		listed = append(listed, id)
	}
	slices.Sort(listed)
	return listed, nil
}

// TestMain removes the shared directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if written.dir != "" {
		os.RemoveAll(written.dir)
	}
	os.Exit(code)
}

// TestManifestLayout reads the header and the first change set of a
// MANIFEST Badger wrote with the layout the constants describe.
func TestManifestLayout(t *testing.T) {
	dir, _ := writtenDir(t)
	b, err := os.ReadFile(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < badgerfmt.ManifestHeaderLen+badgerfmt.ChangeSetHeaderLen {
		t.Fatalf("a MANIFEST of %d bytes", len(b))
	}
	if got := string(b[:len(badgerfmt.ManifestMagic)]); got != badgerfmt.ManifestMagic {
		t.Errorf("the MANIFEST starts with %q, not ManifestMagic %q", got, badgerfmt.ManifestMagic)
	}
	if got := binary.BigEndian.Uint16(b[4:6]); got != 0 {
		t.Errorf("external magic version %d in the header, want 0 (the default)", got)
	}
	if got := binary.BigEndian.Uint16(b[6:8]); got != badgerfmt.ManifestVersion {
		t.Errorf("format version %d in the header, not ManifestVersion %d", got, badgerfmt.ManifestVersion)
	}
	cs := b[badgerfmt.ManifestHeaderLen:]
	n := binary.BigEndian.Uint32(cs[0:4])
	if int(n) > len(cs)-badgerfmt.ChangeSetHeaderLen {
		t.Fatalf("the first change set says it has %d bytes; %d follow its header", n, len(cs)-badgerfmt.ChangeSetHeaderLen)
	}
	data := cs[badgerfmt.ChangeSetHeaderLen : badgerfmt.ChangeSetHeaderLen+int(n)]
	if got, want := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)), binary.BigEndian.Uint32(cs[4:8]); got != want {
		t.Errorf("the first change set's CRC-32 is %#x; its header says %#x", got, want)
	}
}

// TestFileNames: the files Badger wrote end with the suffixes named.
func TestFileNames(t *testing.T) {
	dir, listed := writtenDir(t)
	if got, want := filepath.Base(table.NewFilename(listed[0], dir)), fmt.Sprintf("%06d%s", listed[0], badgerfmt.TableSuffix); got != want {
		t.Errorf("table %d is named %q, want %q", listed[0], got, want)
	}
	// A DB that was not closed still has its write-ahead log.
	live := t.TempDir()
	db := openBadger(t, badgerOpts(live))
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{badgerfmt.ValueLogSuffix, badgerfmt.MemTableSuffix} {
		if m, _ := filepath.Glob(filepath.Join(live, "*"+suffix)); len(m) == 0 {
			t.Errorf("no file ending in %q in an open DB's directory", suffix)
		}
	}
}

// TestCheck damages a directory Badger wrote, tables and MANIFEST, and
// leaves in it what a crash can leave, and checks that Check tells damage
// (ErrDamaged) from debris (no error) and from a MANIFEST of another
// version (an error, not ErrDamaged).
func TestCheck(t *testing.T) {
	_, listed := writtenDir(t)
	if len(listed) < 2 {
		t.Fatalf("the MANIFEST lists %d tables; the cases need 2", len(listed))
	}
	// A table number below the highest listed that is not listed: Badger
	// deleted that table, and the MANIFEST records it.
	deletedID := uint64(0)
	for id := uint64(1); id < listed[len(listed)-1]; id++ {
		if !slices.Contains(listed, id) {
			deletedID = id
			break
		}
	}
	if deletedID == 0 {
		t.Fatalf("tables %v: none was deleted; the cases need one", listed)
	}
	newerID := listed[len(listed)-1] + 100
	tableFile := func(id uint64) string { return filepath.Base(table.NewFilename(id, "")) }
	first, last := tableFile(listed[0]), tableFile(listed[len(listed)-1])
	manifest := badger.ManifestFilename
	hdr, csh := badgerfmt.ManifestHeaderLen, badgerfmt.ChangeSetHeaderLen

	flip := func(at float64) func([]byte) []byte {
		return func(b []byte) []byte {
			i := int(float64(len(b)) * at)
			for j := i; j < i+16 && j < len(b); j++ {
				b[j] ^= 0xff
			}
			return b
		}
	}
	edit := func(f func(b []byte)) func([]byte) []byte {
		return func(b []byte) []byte { f(b); return b }
	}
	junk := func([]byte) []byte { return []byte("half a table") }
	tests := []struct {
		name    string
		file    string              // the file to change, add or delete
		change  func([]byte) []byte // nil: delete the file
		clean   bool                // the DB was closed cleanly
		damaged bool                // Check's error must match ErrDamaged; false: no error
		other   bool                // Check must fail, but not with ErrDamaged
	}{
		{name: "as written, clean", clean: true},
		{name: "as written, after a crash"},
		{name: "table: bytes flipped in a block", file: last, change: flip(0.3), damaged: true},
		{name: "table: bytes flipped in the index", file: last, change: flip(0.97), damaged: true},
		{name: "table: truncated", file: first, change: func(b []byte) []byte { return b[:len(b)/2] }, damaged: true},
		{name: "table: empty", file: first, change: func([]byte) []byte { return nil }, damaged: true},
		{name: "table: a few bytes of junk (Badger panics)", file: first, change: junk, damaged: true},
		{name: "table: deleted", file: first, damaged: true},
		{name: "MANIFEST: bad magic", file: manifest, change: edit(func(b []byte) { copy(b, "XXXX") }), damaged: true},
		{name: "MANIFEST: change set checksum", file: manifest, change: edit(func(b []byte) { b[hdr+csh] ^= 0xff }), damaged: true},
		{name: "MANIFEST: change set length over the file", file: manifest, change: edit(func(b []byte) { b[hdr] = 0x7f }), damaged: true},
		{name: "MANIFEST: bytes flipped in the middle", file: manifest, change: flip(0.5), damaged: true},
		{name: "MANIFEST: only its header, clean", file: manifest, change: func(b []byte) []byte { return b[:hdr] }, clean: true, damaged: true},
		{name: "MANIFEST: deleted", file: manifest, damaged: true},
		{name: "MANIFEST: another Badger format version", file: manifest, change: edit(func(b []byte) { b[7]++ }), other: true},
		{name: "MANIFEST: another external magic version", file: manifest, change: edit(func(b []byte) { b[5]++ }), other: true},
		{name: "debris: a table newer than all, after a crash", file: tableFile(newerID), change: junk},
		{name: "debris: a table the MANIFEST deleted, after a crash", file: tableFile(deletedID), change: junk},
		{name: "a table newer than all, after a clean close", file: tableFile(newerID), change: junk, clean: true, damaged: true},
		{name: "a table the MANIFEST deleted, after a clean close", file: tableFile(deletedID), change: junk, clean: true, damaged: true},
		{name: "an unlisted table older than the newest, never deleted", file: tableFile(0), change: junk, damaged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := writtenDir(t)
			if tt.file != "" {
				path := filepath.Join(dir, tt.file)
				if tt.change == nil {
					if err := os.Remove(path); err != nil {
						t.Fatal(err)
					}
				} else {
					b, err := os.ReadFile(path)
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, tt.change(b), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := badgerfmt.Check(dir, badgerOpts(dir), tt.clean)
			switch {
			case tt.damaged && !errors.Is(err, badgerfmt.ErrDamaged):
				t.Errorf("Check: %v; want an error matching ErrDamaged", err)
			case tt.other && (err == nil || errors.Is(err, badgerfmt.ErrDamaged)):
				t.Errorf("Check: %v; want an error that does not match ErrDamaged", err)
			case !tt.damaged && !tt.other && err != nil:
				t.Errorf("Check: %v; want no error", err)
			}
			t.Logf("Check: %.200v", err)
		})
	}
}

// TestCheckCompressed: Check reads each table with the compression it was
// written with, whatever the DB's options say now.
func TestCheckCompressed(t *testing.T) {
	dir := t.TempDir()
	zstd := badgerOpts(dir).WithCompression(options.ZSTD).WithBlockCacheSize(8 << 20)
	listed, err := writeDir(zstd)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []badger.Options{zstd, badgerOpts(dir), badgerOpts(dir).WithCompression(options.Snappy).WithBlockCacheSize(8 << 20)} {
		if err := badgerfmt.Check(dir, o, true); err != nil {
			t.Errorf("Check with compression %v of a directory written with ZSTD: %v", o.Compression, err)
		}
	}
	path := table.NewFilename(listed[len(listed)-1], dir)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := badgerfmt.Check(dir, zstd, true); !errors.Is(err, badgerfmt.ErrDamaged) {
		t.Errorf("Check after a byte of a compressed table was flipped: %v; want an error matching ErrDamaged", err)
	}
}

// TestRemoveEmptyLogs: Badger fails to open a directory with an empty
// value-log or write-ahead log file, as a crash can leave it, and opens it
// once RemoveEmptyLogs has run.
func TestRemoveEmptyLogs(t *testing.T) {
	for _, name := range []string{"000099" + badgerfmt.ValueLogSuffix, "00099" + badgerfmt.MemTableSuffix} {
		t.Run(name, func(t *testing.T) {
			// badger.Open sizes the empty file before it fails: it works on
			// a copy.
			dir, _ := writtenDir(t)
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			failed := t.TempDir()
			if err := os.CopyFS(failed, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			t.Logf("badger.Open: %v", openErr(t, badgerOpts(failed)))
			if err := badgerfmt.RemoveEmptyLogs(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s after RemoveEmptyLogs: %v", name, err)
			}
			openBadger(t, badgerOpts(dir))
		})
	}
}
