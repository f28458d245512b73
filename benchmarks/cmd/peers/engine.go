package main

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vkvstore/vkv"
)

// key is one benchmark key in both forms the engines take, made before any
// measurement so that no workload allocates to build its keys.
type key struct {
	b []byte
	s string
}

// makeKeys returns n keys of 16 bytes: "key" and 13 digits.
func makeKeys(n int) []key {
	ks := make([]key, n)
	for i := range ks {
		s := fmt.Sprintf("key%013d", i)
		ks[i] = key{b: []byte(s), s: s}
	}
	return ks
}

// engine is one store under test. An engine is opened once without fsync (for
// loading, the RSS measurement, get and the no-fsync CAS) and once more on the
// same directory with fsync on every commit.
type engine interface {
	// open opens (or reopens) the store in dir; sync says whether a write
	// returns only after it is on disk.
	open(dir string, sync bool) error
	close() error
	// load writes every key with value in transactions of up to 100 keys
	// and stores each key's resulting version in vers.
	load(keys []key, value []byte, vers []uint64) error
	// get returns a copy of the value of k, which the caller owns.
	get(k key) ([]byte, error)
	// version returns the current version of k.
	version(k key) (uint64, error)
	// cas writes value to k if k is at version expected. On success it
	// returns the new version and true; when the condition fails it returns
	// the version k is at and false.
	cas(k key, expected uint64, value []byte) (uint64, bool, error)
}

// storeVersioned is an engine whose versions come from one counter for the
// whole store (vkv's versions, etcd's revisions): a write takes the store's
// next version, not its key's next one.
type storeVersioned interface {
	// storeVersion returns the newest version the store has given.
	storeVersion() (uint64, error)
}

// engines in the order of the table's columns.
var engineNames = []string{"vkv", "vkv-throughput", "badger", "bbolt", "pebble", "etcd"}

var engineTitles = map[string]string{
	"vkv":            "vkv",
	"vkv-throughput": "vkv, throughput profile",
	"badger":         "raw Badger",
	"bbolt":          "bbolt",
	"pebble":         "Pebble",
	"etcd":           "etcd (embedded)",
}

func newEngine(name string) (engine, error) {
	switch name {
	case "vkv":
		return &vkvEngine{opts: vkv.DefaultOptions()}, nil
	case "vkv-throughput":
		return &vkvEngine{opts: vkv.ThroughputOptions()}, nil
	case "badger":
		return &badgerEngine{}, nil
	case "bbolt":
		return &boltEngine{}, nil
	case "pebble":
		return newPebbleEngine(), nil
	case "etcd":
		return newEtcdEngine()
	}
	return nil, fmt.Errorf("unknown engine %q (have %v)", name, engineNames)
}

// Engines without versions of their own (Badger, bbolt, Pebble) keep the
// version as an 8-byte big-endian prefix of the stored value.

const versionLen = 8

func versioned(v uint64, value []byte) []byte {
	b := make([]byte, versionLen, versionLen+len(value))
	binary.BigEndian.PutUint64(b, v)
	return append(b, value...)
}

var errShortValue = errors.New("stored value shorter than its version prefix")

func splitVersion(stored []byte) (uint64, []byte, error) {
	if len(stored) < versionLen {
		return 0, nil, errShortValue
	}
	return binary.BigEndian.Uint64(stored), stored[versionLen:], nil
}

// errCASFailed makes a read-write transaction roll back without writing when
// the condition of a CAS does not hold.
var errCASFailed = errors.New("cas: version mismatch")
