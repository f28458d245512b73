package main

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// badgerEngine is raw Badger with Badger's own defaults (64 MB memtables,
// 256 MB block cache, Snappy, conflict detection on) and SyncWrites as the
// durability switch. CAS reads the key in a read-write transaction and writes
// it only if the version prefix matches; a concurrent writer of the same key
// makes Commit fail with ErrConflict, which counts as a failed CAS.
type badgerEngine struct {
	db *badger.DB
}

func (e *badgerEngine) open(dir string, sync bool) error {
	db, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(sync).WithLogger(nil))
	if err != nil {
		return err
	}
	e.db = db
	return nil
}

func (e *badgerEngine) close() error { return e.db.Close() }

func (e *badgerEngine) load(keys []key, value []byte, vers []uint64) error {
	for i := 0; i < len(keys); i += 100 {
		end := min(i+100, len(keys))
		err := e.db.Update(func(txn *badger.Txn) error {
			for _, k := range keys[i:end] {
				if err := txn.Set(k.b, versioned(1, value)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for j := i; j < end; j++ {
			vers[j] = 1
		}
	}
	return nil
}

func (e *badgerEngine) get(k key) ([]byte, error) {
	var val []byte
	err := e.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k.b)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	_, v, err := splitVersion(val)
	return v, err
}

func (e *badgerEngine) version(k key) (uint64, error) {
	var cur uint64
	err := e.db.View(func(txn *badger.Txn) error {
		var err error
		cur, err = badgerVersion(txn, k.b)
		return err
	})
	return cur, err
}

func badgerVersion(txn *badger.Txn, k []byte) (uint64, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var cur uint64
	err = item.Value(func(b []byte) error {
		var err error
		cur, _, err = splitVersion(b)
		return err
	})
	return cur, err
}

func (e *badgerEngine) cas(k key, expected uint64, value []byte) (uint64, bool, error) {
	var cur uint64
	err := e.db.Update(func(txn *badger.Txn) error {
		var err error
		if cur, err = badgerVersion(txn, k.b); err != nil {
			return err
		}
		if cur != expected {
			return errCASFailed
		}
		return txn.Set(k.b, versioned(cur+1, value))
	})
	switch {
	case err == nil:
		return cur + 1, true, nil
	case errors.Is(err, errCASFailed):
		return cur, false, nil
	case errors.Is(err, badger.ErrConflict):
		// Another transaction wrote the key after this one read it: the
		// CAS lost. Read the version that won so the caller can retry.
		cur, err = e.version(k)
		return cur, false, err
	}
	return 0, false, err
}
