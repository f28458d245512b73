package vkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// checkTables opens every table file in dir the way Badger will, before
// Badger does, and verifies the checksum of every block. Badger opens tables in goroutines of its own, where a damaged
// footer panics with nothing to recover it (table.go initBiggestAndSmallest
// re-panics), and it skips a table whose checksum does not match and opens
// the store without it (levels.go newLevelsController), which would serve
// older versions as current. Here both become ErrCorrupt.
//
// Only the tables the MANIFEST lists are checked: others are debris of a
// flush or compaction that a crash interrupted (see checkManifest), possibly
// half written, and Badger deletes them.
func checkTables(dir string, listed map[uint64]bool) error {
	for id := range listed {
		if err := checkTable(table.NewFilename(id, dir)); err != nil {
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

// checkManifest compares the tables on disk with those the MANIFEST lists,
// and returns the listed ones.
//
// Badger deletes every table the MANIFEST does not list. After a crash that
// is debris: a table whose creation the crash kept out of the MANIFEST (it
// is newer than every table the MANIFEST mentions), or one whose deletion
// the MANIFEST records but whose file was not removed yet. After damage to
// the MANIFEST, it is the data itself. So a table the MANIFEST does not list
// is corruption if the store was closed cleanly (clean is true: a clean
// Close leaves no debris), or if it is neither newer than every listed table
// nor recorded as deleted. A listed table missing from disk, or a missing
// MANIFEST beside tables, is corruption too, and so is a MANIFEST that does
// not replay (see manifestError). The checks are skipped only for a store
// that has no MANIFEST and no tables yet (nil map, nil error).
func checkManifest(dir string, bo badger.Options, clean bool) (map[uint64]bool, error) {
	onDisk := map[uint64]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	for _, e := range entries {
		if id, ok := table.ParseFileID(e.Name()); ok {
			onDisk[id] = true
		}
	}
	path := filepath.Join(dir, badger.ManifestFilename)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if len(onDisk) > 0 {
			return nil, fmt.Errorf("%w: %s is missing but %d tables are present", ErrCorrupt, badger.ManifestFilename, len(onDisk))
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vkv: open %s: %w", dir, err)
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, bo.ExternalMagicVersion, bo)
	if err != nil {
		return nil, manifestError(dir, err)
	}
	deleted, err := manifestDeletions(path)
	if err != nil {
		return nil, manifestError(dir, err)
	}
	listed := make(map[uint64]bool, len(m.Tables))
	var maxListed uint64
	for id := range m.Tables {
		listed[id] = true
		maxListed = max(maxListed, id)
		if !onDisk[id] {
			return nil, fmt.Errorf("%w: table %d is in the %s but not on disk", ErrCorrupt, id, badger.ManifestFilename)
		}
	}
	for id := range onDisk {
		if listed[id] {
			continue
		}
		if clean || (id <= maxListed && !deleted[id]) {
			return nil, fmt.Errorf("%w: table %d is on disk but not in the %s (which lists %d tables)", ErrCorrupt, id, badger.ManifestFilename, len(m.Tables))
		}
	}
	return listed, nil
}

// manifestError is the error of Open for a MANIFEST that does not replay.
// Badger replays it with the same function when it opens (manifest.go:158
// helpOpenOrCreateManifestFile), so it would refuse the store too; refusing
// here says why in vkv's terms instead of passing the checks silently.
//
// A MANIFEST of another Badger format or external magic version
// (ReplayManifestFile, manifest.go:367-379) is a store of another program
// version, and a failed read an I/O error: neither is ErrCorrupt. Anything
// else (bad magic, a change set whose checksum, length or content is wrong,
// manifest.go:357-423) is damage and matches ErrCorrupt.
func manifestError(dir string, err error) error {
	var pe *fs.PathError
	msg := err.Error()
	if errors.As(err, &pe) || strings.Contains(msg, "unsupported version") || strings.Contains(msg, "external magic number") {
		return fmt.Errorf("vkv: open %s: %s: %w", dir, badger.ManifestFilename, err)
	}
	return fmt.Errorf("%w: %s does not replay: %v", ErrCorrupt, badger.ManifestFilename, err)
}

// manifestDeletions returns the tables whose deletion the MANIFEST records.
// It reads the format of Badger's ReplayManifestFile (manifest.go): 8 bytes of
// magic, then change sets, each a 4-byte length, a 4-byte CRC and a protobuf
// ManifestChangeSet; a torn last change set ends the file.
func manifestDeletions(path string) (map[uint64]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, ErrCorrupt
	}
	deleted := map[uint64]bool{}
	for b = b[8:]; len(b) >= 8; {
		n := binary.BigEndian.Uint32(b[0:4])
		if uint64(n) > uint64(len(b)-8) {
			break
		}
		data := b[8 : 8+n]
		if crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(b[4:8]) {
			return nil, ErrCorrupt
		}
		var cs pb.ManifestChangeSet
		if err := proto.Unmarshal(data, &cs); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		for _, c := range cs.Changes {
			if c.Op == pb.ManifestChange_DELETE {
				deleted[c.Id] = true
			}
		}
		b = b[8+n:]
	}
	return deleted, nil
}

// removeEmptyLogs deletes empty write-ahead (.mem) and value-log (.vlog)
// files. A crash between creating such a file and sizing it leaves it empty,
// and Badger v4.9.6 then fails to open ("Open existing file ... Create a new
// file"); an empty file holds no data.
func removeEmptyLogs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".mem") || strings.HasSuffix(e.Name(), ".vlog")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() == 0 {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
