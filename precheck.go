package vkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// precheck checks the Badger files in dir before Badger opens them
// (badgerfmt.Check), so that damage Badger would not report, or would meet
// only with a panic, fails Open with an error matching ErrCorrupt. clean
// says that the store was closed cleanly, so that no crash left debris.
// It then removes the empty log files a crash can leave, which Badger would
// refuse (badgerfmt.RemoveEmptyLogs).
func precheck(dir string, bo badger.Options, clean bool) error {
	err := badgerfmt.Check(dir, bo, clean)
	if err == nil {
		err = badgerfmt.RemoveEmptyLogs(dir)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badgerfmt.ErrEncryptionKey):
		return fmt.Errorf("%w: open %s: %v", ErrEncryptionKey, dir, err)
	case errors.Is(err, badgerfmt.ErrDamaged):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	default:
		return fmt.Errorf("vkv: open %s: %w", dir, err)
	}
}

// cleanFile records, at each clean Close, the newest version of the store.
// Open removes it, so it exists only while the store is closed after a clean
// shutdown.
const cleanFile = "VKV-CLEAN"

// readClean returns the version recorded at the last clean Close, or 0.
func readClean(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, cleanFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, cleanFile, err)
	}
	return v, nil
}

// writeClean records v as the version at a clean Close, durably.
func writeClean(dir string, v uint64) error {
	tmp := filepath.Join(dir, cleanFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strconv.FormatUint(v, 10) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, cleanFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
