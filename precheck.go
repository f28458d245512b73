package vkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// checkTables opens every table file in dir the way Badger will, before
// Badger does, and verifies the checksum of every block. Badger opens tables in goroutines of its own, where a damaged
// footer panics with nothing to recover it (table.go initBiggestAndSmallest
// re-panics), and it skips a table whose checksum does not match and opens
// the store without it (levels.go newLevelsController), which would serve
// older versions as current. Here both become ErrCorrupt.
func checkTables(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sst") {
			continue
		}
		if err := checkTable(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func checkTable(path string) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("%w: table %s: %v", ErrCorrupt, filepath.Base(path), err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: table %s is damaged: %v", ErrCorrupt, filepath.Base(path), r)
		}
		mf.Close(-1)
	}()
	// OpenTable reads the footer and the index, verifies the index checksum
	// and, with OnTableRead, every block's. Every block must be checked here:
	// later, a block that fails its checksum makes Badger's table iterator
	// invalid without an error, so Get would say ErrKeyNotFound for a key that
	// exists (table/iterator.go seekFrom keeps the error to itself).
	if _, err := table.OpenTable(mf, table.Options{ChkMode: options.OnTableRead, Compression: options.None, BlockSize: 4 << 10}); err != nil {
		return fmt.Errorf("%w: table %s: %v", ErrCorrupt, filepath.Base(path), err)
	}
	return nil
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

// checkManifest compares the tables on disk with those the MANIFEST lists.
// Badger deletes every table the MANIFEST does not list, which after a crash
// during a flush or compaction is debris, but after damage to the MANIFEST is
// the data itself. Debris can only be newer than every listed table and can
// only exist after a crash; so a table the MANIFEST does not list is
// corruption if it is older than a listed one or if the store was closed
// cleanly (clean is true). A missing MANIFEST beside tables is corruption too.
func checkManifest(dir string, bo badger.Options, clean bool) error {
	var onDisk []uint64
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	for _, e := range entries {
		if id, ok := table.ParseFileID(e.Name()); ok {
			onDisk = append(onDisk, id)
		}
	}
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, os.ErrNotExist) {
		if len(onDisk) > 0 {
			return fmt.Errorf("%w: %s is missing but %d tables are present", ErrCorrupt, badger.ManifestFilename, len(onDisk))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, bo.ExternalMagicVersion, bo)
	if err != nil {
		return nil // Badger reports it when it opens the same file.
	}
	present := make(map[uint64]bool, len(onDisk))
	for _, id := range onDisk {
		present[id] = true
	}
	var maxListed uint64
	for id := range m.Tables {
		maxListed = max(maxListed, id)
		if !present[id] {
			return fmt.Errorf("%w: table %d is in the %s but not on disk", ErrCorrupt, id, badger.ManifestFilename)
		}
	}
	for _, id := range onDisk {
		if _, ok := m.Tables[id]; ok {
			continue
		}
		if clean || id <= maxListed {
			return fmt.Errorf("%w: table %d is on disk but not in the %s (which lists %d tables)", ErrCorrupt, id, badger.ManifestFilename, len(m.Tables))
		}
	}
	return nil
}
