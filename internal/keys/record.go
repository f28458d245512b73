package keys

import (
	"encoding/binary"
	"errors"
)

// Record is the stored form of an entry, as kept under the latest and history
// spaces: a flags byte, version, create version and expiry (unix nano, 0 for
// none) as 8 big-endian bytes each, then the value.
type Record struct {
	Tombstone     bool
	Version       uint64
	CreateVersion uint64
	ExpiresAt     int64
	Value         []byte
}

// RecordHeader is the size of a record without its value.
const RecordHeader = 1 + 8 + 8 + 8

const flagTombstone = 1

// ErrCorrupt is matched by every error of this package about stored data: a
// record or change-log entry that does not decode, and (through
// ErrMalformed) a key that is not in its space's form. Package vkv exports
// this very value as vkv.ErrCorrupt, so that corruption found at any depth
// matches the public sentinel without a wrap at each boundary that a new
// read path could forget.
var ErrCorrupt = errors.New("vkv: store files are corrupt")

// AppendRecord appends the encoding of r to dst.
func AppendRecord(dst []byte, r Record) []byte {
	var flags byte
	if r.Tombstone {
		flags |= flagTombstone
	}
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint64(dst, r.Version)
	dst = binary.BigEndian.AppendUint64(dst, r.CreateVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.ExpiresAt))
	return append(dst, r.Value...)
}

// DecodeRecord decodes b. The returned Value aliases b.
func DecodeRecord(b []byte) (Record, error) {
	if len(b) < RecordHeader || b[0]&^flagTombstone != 0 {
		return Record{}, ErrCorrupt
	}
	return Record{
		Tombstone:     b[0]&flagTombstone != 0,
		Version:       binary.BigEndian.Uint64(b[1:9]),
		CreateVersion: binary.BigEndian.Uint64(b[9:17]),
		ExpiresAt:     int64(binary.BigEndian.Uint64(b[17:25])),
		Value:         b[RecordHeader:],
	}, nil
}

// AppendChange appends one key of a change-log entry: a flags byte (1 for a
// delete), the key's length as a uvarint, and the key.
func AppendChange(dst []byte, key string, deleted bool) []byte {
	var flags byte
	if deleted {
		flags = flagTombstone
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// Change is one key of a change-log entry.
type Change struct {
	Key     string
	Deleted bool
}

// DecodeChanges decodes a change-log entry.
func DecodeChanges(b []byte) ([]Change, error) {
	var out []Change
	for len(b) > 0 {
		if b[0]&^flagTombstone != 0 {
			return nil, ErrCorrupt
		}
		del := b[0]&flagTombstone != 0
		n, m := binary.Uvarint(b[1:])
		if m <= 0 || n > uint64(len(b)-1-m) {
			return nil, ErrCorrupt
		}
		start := 1 + m
		out = append(out, Change{Key: string(b[start : start+int(n)]), Deleted: del})
		b = b[start+int(n):]
	}
	return out, nil
}
