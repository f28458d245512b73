package main

import (
	"errors"
	"hash/maphash"
	"log"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleEngine is Pebble with its default options; each write is committed
// with pebble.Sync or pebble.NoSync.
//
// Pebble has no read-write transactions, so CAS takes a lock for its key
// (one of 65536 striped mutexes, chosen by a hash of the key), reads the
// version prefix through an indexed batch, and, if it matches, sets the key
// in that batch and commits it, still holding the lock: the lock is what
// makes read-compare-write atomic, and it is held across the fsync. CAS
// calls on different keys (almost always different stripes) run and commit
// concurrently, so Pebble's commit pipeline can share one WAL fsync among
// them; CAS calls on one key queue on its lock.
type pebbleEngine struct {
	db    *pebble.DB
	wo    *pebble.WriteOptions
	seed  maphash.Seed
	locks []sync.Mutex
}

const pebbleStripes = 1 << 16

func newPebbleEngine() *pebbleEngine {
	return &pebbleEngine{seed: maphash.MakeSeed(), locks: make([]sync.Mutex, pebbleStripes)}
}

// quietLogger drops Pebble's informational log lines.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(f string, args ...any) { log.Printf("pebble: "+f, args...) }
func (quietLogger) Fatalf(f string, args ...any) { log.Fatalf("pebble: "+f, args...) }

func (e *pebbleEngine) open(dir string, sync bool) error {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return err
	}
	e.db = db
	e.wo = pebble.NoSync
	if sync {
		e.wo = pebble.Sync
	}
	return nil
}

func (e *pebbleEngine) close() error { return e.db.Close() }

func (e *pebbleEngine) load(keys []key, value []byte, vers []uint64) error {
	for i := 0; i < len(keys); i += 100 {
		end := min(i+100, len(keys))
		b := e.db.NewBatch()
		for _, k := range keys[i:end] {
			if err := b.Set(k.b, versioned(1, value), nil); err != nil {
				return err
			}
		}
		if err := b.Commit(e.wo); err != nil {
			return err
		}
		b.Close()
		for j := i; j < end; j++ {
			vers[j] = 1
		}
	}
	return nil
}

func (e *pebbleEngine) get(k key) ([]byte, error) {
	stored, closer, err := e.db.Get(k.b)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	_, v, err := splitVersion(stored)
	return append([]byte(nil), v...), err
}

func (e *pebbleEngine) version(k key) (uint64, error) {
	stored, closer, err := e.db.Get(k.b)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	v, _, err := splitVersion(stored)
	return v, err
}

func (e *pebbleEngine) cas(k key, expected uint64, value []byte) (uint64, bool, error) {
	mu := &e.locks[maphash.Bytes(e.seed, k.b)%pebbleStripes]
	mu.Lock()
	defer mu.Unlock()
	b := e.db.NewIndexedBatch()
	defer b.Close()
	var cur uint64
	stored, closer, err := b.Get(k.b)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return 0, false, err
	default:
		cur, _, err = splitVersion(stored)
		closer.Close()
		if err != nil {
			return 0, false, err
		}
	}
	if cur != expected {
		return cur, false, nil
	}
	if err := b.Set(k.b, versioned(cur+1, value), nil); err != nil {
		return 0, false, err
	}
	if err := b.Commit(e.wo); err != nil {
		return 0, false, err
	}
	return cur + 1, true, nil
}
