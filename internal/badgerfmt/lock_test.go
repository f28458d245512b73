package badgerfmt_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// TestIsLocked opens one directory twice for real: the second badger.Open
// fails, and IsLocked says why. Other failures of badger.Open are not
// taken for a lock.
func TestIsLocked(t *testing.T) {
	dir := t.TempDir()
	openBadger(t, badger.DefaultOptions(dir))
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err == nil {
		db.Close()
		t.Fatal("badger.Open succeeded on a directory another DB holds")
	}
	if !badgerfmt.IsLocked(err) {
		t.Errorf("IsLocked(%q) = false for the second Open of a directory", err)
	}

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		nil,
		errors.New("some other error"),
		openErr(t, badger.DefaultOptions(notDir)),                           // not a directory
		openErr(t, badger.DefaultOptions(t.TempDir()).WithNumCompactors(1)), // refused options
	} {
		if badgerfmt.IsLocked(err) {
			t.Errorf("IsLocked(%v) = true", err)
		}
	}
}

// openErr returns the error of badger.Open with o, which must fail.
func openErr(t *testing.T, o badger.Options) error {
	t.Helper()
	db, err := badger.Open(o.WithLogger(nil))
	if err == nil {
		db.Close()
		t.Fatalf("badger.Open(%s) succeeded", o.Dir)
	}
	return err
}
