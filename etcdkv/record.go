package etcdkv

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/vkvstore/vkv"
)

// The key spaces under a KV's prefix; see the package documentation.
const (
	recordSpace = "k/" // <prefix>k/<key>: the record of key
	expirySpace = "x/" // <prefix>x/<expiry><key>: a write with a TTL, due at expiry
	deleteSpace = "d/" // <prefix>d/<key>: rewritten by every delete of key
)

// Sizes of the encodings.
const (
	// recordHeader is the record's header: the expiry time as 8 bytes,
	// big-endian nanoseconds since 1970, 0 for none. The value follows.
	recordHeader = 8
	// expiryTimeSize is the expiry time at the start of an expiry index
	// key: 8 bytes, big-endian nanoseconds since 1970, so that the index
	// sorts by time.
	expiryTimeSize = 8
	// requestSlack is what one etcd request needs beyond its keys and
	// values (protobuf framing, compares, the delete marker): a bound
	// used to refuse a transaction too large for the cluster before it is
	// sent.
	requestSlack = 4 << 10
	// opSlack is the same, per write.
	opSlack = 64
)

func (kv *KV) recordKey(key string) string { return kv.prefix + recordSpace + key }
func (kv *KV) deleteKey(key string) string { return kv.prefix + deleteSpace + key }

// expiryKey is the index entry of a write of key due at at.
func (kv *KV) expiryKey(key string, at time.Time) string {
	var t [expiryTimeSize]byte
	binary.BigEndian.PutUint64(t[:], uint64(at.UnixNano()))
	return kv.prefix + expirySpace + string(t[:]) + key
}

// dueEnd is the end of the range of expiry index entries due at now: every
// entry whose time is not after now sorts before it.
func (kv *KV) dueEnd(now time.Time) string {
	var t [expiryTimeSize]byte
	n := now.UnixNano()
	if n < math.MaxInt64 {
		n++
	}
	binary.BigEndian.PutUint64(t[:], uint64(n))
	return kv.prefix + expirySpace + string(t[:])
}

// expiryStart is the start of the expiry index.
func (kv *KV) expiryStart() string { return kv.prefix + expirySpace }

// indexedKey returns the user key of an expiry index entry.
func (kv *KV) indexedKey(ik []byte) (string, error) {
	n := len(kv.prefix) + len(expirySpace) + expiryTimeSize
	if len(ik) <= n {
		return "", fmt.Errorf("etcdkv: expiry index entry %q: %w: too short", ik, vkv.ErrCorrupt)
	}
	return string(ik[n:]), nil
}

// encodeRecord returns the record of a write of value expiring at exp (zero:
// never).
func encodeRecord(value []byte, exp time.Time) string {
	b := make([]byte, recordHeader+len(value))
	if !exp.IsZero() {
		binary.BigEndian.PutUint64(b, uint64(exp.UnixNano()))
	}
	copy(b[recordHeader:], value)
	return string(b)
}

// entry decodes a record read from etcd into the entry of its key.
func (kv *KV) entry(m *mvccpb.KeyValue) (vkv.Entry, error) {
	n := len(kv.prefix) + len(recordSpace)
	if len(m.Key) < n || len(m.Value) < recordHeader {
		return vkv.Entry{}, fmt.Errorf("etcdkv: record %q (revision %d): %w: %d bytes, shorter than its header", m.Key, m.ModRevision, vkv.ErrCorrupt, len(m.Value))
	}
	e := vkv.Entry{
		Key:           string(m.Key[n:]),
		Version:       vkv.Version(m.ModRevision),
		CreateVersion: vkv.Version(m.CreateRevision),
		Value:         append([]byte{}, m.Value[recordHeader:]...),
	}
	if t := binary.BigEndian.Uint64(m.Value); t != 0 {
		e.ExpiresAt = time.Unix(0, int64(t))
	}
	return e, nil
}

// tombstone is the entry recording the delete of prev at rev.
func tombstone(key string, rev int64, prev *mvccpb.KeyValue) vkv.Entry {
	e := vkv.Entry{Key: key, Version: vkv.Version(rev), Deleted: true}
	if prev != nil {
		e.CreateVersion = vkv.Version(prev.CreateRevision)
	}
	return e
}
