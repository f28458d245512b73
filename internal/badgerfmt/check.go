package badgerfmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// The files of a Badger directory, by name.
const (
	// TableSuffix ends the name of every table file: the table's ID as six
	// or more decimal digits, then TableSuffix (table/table.go:36,
	// :763-781 ParseFileID and IDToFilename).
	TableSuffix = ".sst"
	// ValueLogSuffix ends the name of every value-log file (value.go:483).
	ValueLogSuffix = ".vlog"
	// MemTableSuffix ends the name of every memtable's write-ahead log
	// (memtable.go:95).
	MemTableSuffix = ".mem"
)

// The layout of the MANIFEST file (badger.ManifestFilename), which lists the
// tables of the LSM tree: a header, then change sets appended one after the
// other, the last of which a crash may have left torn.
const (
	// ManifestMagic starts the header (manifest.go:236 magicText).
	ManifestMagic = "Bdgr"
	// ManifestHeaderLen is the length of the header: ManifestMagic, the
	// external magic version (Options.ExternalMagicVersion) as 2 big-endian
	// bytes, and ManifestVersion as 2 big-endian bytes
	// (manifest.go:250-258).
	ManifestHeaderLen = 8
	// ManifestVersion is the format version of the MANIFEST
	// (manifest.go:239 badgerMagicVersion). Badger refuses to open a
	// MANIFEST of another version (manifest.go:367-373).
	ManifestVersion = 8
	// ChangeSetHeaderLen is the length of the header of each change set:
	// the length of its data as 4 big-endian bytes, then the CRC-32
	// (Castagnoli) of the data as 4 big-endian bytes; the data is a
	// protobuf pb.ManifestChangeSet (manifest.go:216-223 addChanges, read
	// back at manifest.go:387-416).
	ChangeSetHeaderLen = 8
)

// ErrDamaged is matched by the errors of Check for a directory whose Badger
// files do not read back as Badger wrote them, or do not agree with each
// other in a way no crash explains.
var ErrDamaged = errors.New("badgerfmt: Badger files are damaged")

// damage is an error matching ErrDamaged.
type damage struct{ msg string }

func (d *damage) Error() string { return d.msg }

func (d *damage) Is(target error) bool { return target == ErrDamaged }

// damaged returns an error matching ErrDamaged with the formatted message.
func damaged(format string, args ...any) error {
	return &damage{msg: fmt.Sprintf(format, args...)}
}

// Check checks the Badger files in dir, before badger.Open opens them with
// the options o, for damage that Badger would not report. clean says that
// the DB was closed cleanly since it last ran, so that no crash can have
// left debris.
//
// It returns an error matching ErrDamaged for damage: a MANIFEST that does
// not replay, a table the MANIFEST lists that is missing, a table on disk
// that the MANIFEST does not list and no crash explains, a table that does
// not open or whose blocks fail their checksums. A MANIFEST of another
// format or external magic version (the directory of another program or
// another Badger), or a file that cannot be read, gives an error that does
// not match ErrDamaged. A directory that does not exist, or has neither a
// MANIFEST nor tables (a new DB), passes.
//
// An encrypted DB is read with o.EncryptionKey: its key registry is opened
// (read-only) as Badger opens it, and each table is read with its data key.
// A registry that does not match the key given (a wrong key, none for an
// encrypted DB, or one for a DB that is not encrypted) gives an error
// matching ErrEncryptionKey, never ErrDamaged.
func Check(dir string, o badger.Options, clean bool) error {
	if n := len(o.EncryptionKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("%w: the key must be 16, 24 or 32 bytes (AES-128, -192 or -256), not %d", ErrEncryptionKey, n)
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true,
		EncryptionKey: o.EncryptionKey, EncryptionKeyRotationDuration: o.EncryptionKeyRotationDuration})
	switch {
	case errors.Is(err, badger.ErrEncryptionKeyMismatch):
		if len(o.EncryptionKey) == 0 {
			return fmt.Errorf("%w: the DB is encrypted and no key was given", ErrEncryptionKey)
		}
		return fmt.Errorf("%w: the key registry does not match the key given (another key, or a DB that is not encrypted)", ErrEncryptionKey)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("badgerfmt: reading the key registry: %w", err)
	}
	listed, err := checkManifest(dir, o, clean)
	if err != nil {
		return err
	}
	var cache *ristretto.Cache[uint64, *fb.TableIndex]
	defer func() {
		if cache != nil {
			cache.Close()
		}
	}()
	for id, tm := range listed {
		var dk *pb.DataKey
		if tm.KeyID != 0 {
			if kr == nil {
				return fmt.Errorf("%w: table %d is encrypted and the DB has no key registry", ErrEncryptionKey, id)
			}
			if dk, err = kr.DataKey(tm.KeyID); err != nil || dk == nil {
				return fmt.Errorf("%w: table %d is encrypted with data key %d, which the key registry does not hold", ErrEncryptionKey, id, tm.KeyID)
			}
			if cache == nil {
				// Badger reads the index of an encrypted table through
				// its index cache.
				if cache, err = ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{
					NumCounters: 1000, MaxCost: 16 << 20, BufferItems: 64}); err != nil {
					return err
				}
			}
		}
		if err := checkTable(table.NewFilename(id, dir), o, tm, dk, cache); err != nil {
			return err
		}
	}
	return nil
}

// ErrEncryptionKey is matched by Check's error when the DB's key registry
// does not match the encryption key given: a wrong key, none for an
// encrypted DB, or one for a DB that is not encrypted.
var ErrEncryptionKey = errors.New("badgerfmt: wrong or missing encryption key")

// checkTable opens the table file at path the way Badger opens it, before
// Badger does, and verifies the checksum of every block; it returns an
// error matching ErrDamaged if the table does not open or a block fails.
// o are the DB's options and tm what the MANIFEST says of the table.
//
// Badger opens tables in goroutines of its own, where a damaged footer
// panics with nothing to recover it (table.OpenTable calls
// initBiggestAndSmallest, which re-panics: table/table.go:297, :334-341),
// and it skips a table whose checksum does not match and opens the DB
// without it (levels.go:141-145 newLevelsController), which would serve
// older values as current. Every block must be checked here: later, a
// block that fails its checksum makes Badger's table iterator invalid
// without an error, so a read would find no value for a key that has one
// (table/iterator.go:256 seekFrom keeps the error to itself).
func checkTable(path string, o badger.Options, tm badger.TableManifest, dk *pb.DataKey, cache *ristretto.Cache[uint64, *fb.TableIndex]) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return damaged("table %s: %v", filepath.Base(path), err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = damaged("table %s is damaged: %v", filepath.Base(path), r)
		}
		mf.Close(-1)
	}()
	// OpenTable reads the footer and the index, verifies the index checksum
	// and, with OnTableRead, every block's (table/table.go:301-306). Like
	// Badger, it reads the table with the compression the MANIFEST records
	// for it, not the DB's current setting (levels.go:130-133). A table
	// encrypted with a data key (tm.KeyID) is read with that key, from the
	// key registry, as Badger does (levels.go:120-128).
	topts := table.Options{ChkMode: options.OnTableRead, Compression: tm.Compression, BlockSize: o.BlockSize,
		DataKey: dk, IndexCache: cache}
	if _, err := table.OpenTable(mf, topts); err != nil {
		return damaged("table %s: %v", filepath.Base(path), err)
	}
	return nil
}

// checkManifest compares the tables on disk with those the MANIFEST lists,
// and returns the listed ones.
//
// Badger deletes every table the MANIFEST does not list (levels.go:46-66
// revertToManifest). After a crash that is debris: a table whose creation
// the crash kept out of the MANIFEST (it is newer than every table the
// MANIFEST mentions: Badger numbers new tables after the highest it
// listed, levels.go:163), or one whose deletion the MANIFEST records but
// whose file was not removed yet. After damage to the MANIFEST, it is the
// data itself. So a table the MANIFEST does not list is damage if the DB
// was closed cleanly (a clean Close leaves no debris), or if it is neither
// newer than every listed table nor recorded as deleted. A listed table
// missing from disk, or a missing MANIFEST beside tables, is damage too,
// and so is a MANIFEST that does not replay (see manifestError). The checks
// are skipped only for a DB that has no MANIFEST and no tables yet (nil
// map, nil error).
func checkManifest(dir string, o badger.Options, clean bool) (map[uint64]badger.TableManifest, error) {
	onDisk := map[uint64]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
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
			return nil, damaged("%s is missing but %d tables are present", badger.ManifestFilename, len(onDisk))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Badger replays it with the same function when it opens
	// (manifest.go:158 helpOpenOrCreateManifestFile).
	m, _, err := badger.ReplayManifestFile(f, o.ExternalMagicVersion, o)
	if err != nil {
		return nil, manifestError(err)
	}
	deleted, err := manifestDeletions(path)
	if err != nil {
		return nil, manifestError(err)
	}
	var maxListed uint64
	for id := range m.Tables {
		maxListed = max(maxListed, id)
		if !onDisk[id] {
			return nil, damaged("table %d is in the %s but not on disk", id, badger.ManifestFilename)
		}
	}
	for id := range onDisk {
		if _, ok := m.Tables[id]; ok {
			continue
		}
		if clean || (id <= maxListed && !deleted[id]) {
			return nil, damaged("table %d is on disk but not in the %s (which lists %d tables)", id, badger.ManifestFilename, len(m.Tables))
		}
	}
	return m.Tables, nil
}

// manifestError classifies the error of a MANIFEST that does not replay.
// Badger would refuse the DB too; refusing in Check says why.
//
// A MANIFEST of another Badger format or external magic version belongs to
// another Badger or another program, and a failed read is an I/O error:
// none of them matches ErrDamaged. Badger words the first two only in text
// ("manifest has unsupported version", manifest.go:367-373; "the external
// magic number doesn't match", manifest.go:375-379), which is matched here. Anything else (bad magic, a change set whose checksum, length or
// content is wrong, manifest.go:356-423) is damage.
func manifestError(err error) error {
	var pe *fs.PathError
	msg := err.Error()
	if errors.As(err, &pe) || strings.Contains(msg, "unsupported version") || strings.Contains(msg, "external magic number") {
		return fmt.Errorf("%s: %w", badger.ManifestFilename, err)
	}
	return damaged("%s does not replay: %v", badger.ManifestFilename, err)
}

// manifestDeletions returns the tables whose deletion the MANIFEST at path
// records, reading the layout described at ManifestHeaderLen and
// ChangeSetHeaderLen as ReplayManifestFile does (manifest.go:353-423),
// which returns only the tables left. A torn last change set ends the file.
func manifestDeletions(path string) (map[uint64]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < ManifestHeaderLen {
		return nil, damaged("%s of %d bytes has no header", badger.ManifestFilename, len(b))
	}
	deleted := map[uint64]bool{}
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for b = b[ManifestHeaderLen:]; len(b) >= ChangeSetHeaderLen; {
		n := binary.BigEndian.Uint32(b[0:4])
		if uint64(n) > uint64(len(b)-ChangeSetHeaderLen) {
			break
		}
		data := b[ChangeSetHeaderLen : ChangeSetHeaderLen+n]
		if crc32.Checksum(data, castagnoli) != binary.BigEndian.Uint32(b[4:8]) {
			return nil, damaged("a change set fails its checksum")
		}
		var cs pb.ManifestChangeSet
		if err := proto.Unmarshal(data, &cs); err != nil {
			return nil, damaged("a change set does not decode: %v", err)
		}
		for _, c := range cs.Changes {
			if c.Op == pb.ManifestChange_DELETE {
				deleted[c.Id] = true
			}
		}
		b = b[ChangeSetHeaderLen+n:]
	}
	return deleted, nil
}

// RemoveEmptyLogs deletes the empty write-ahead (MemTableSuffix) and
// value-log (ValueLogSuffix) files in dir. A crash between creating such a
// file and sizing it leaves it empty, and Badger then fails to open: the
// empty file is taken for a new one (ristretto z/file.go:35-41 returns
// z.NewFile), which is an error for an existing file ("Open existing file",
// value.go:611-613; memtable.go:130-132 and :75-78). An empty file holds no
// data.
func RemoveEmptyLogs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), MemTableSuffix) || strings.HasSuffix(e.Name(), ValueLogSuffix)) {
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
