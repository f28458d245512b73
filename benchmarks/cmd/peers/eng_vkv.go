package main

import (
	"context"
	"errors"

	"github.com/vkvstore/vkv"
)

// vkvEngine is vkv with opts (the default profile, or ThroughputOptions);
// NoSync is the durability switch.
type vkvEngine struct {
	opts vkv.Options
	s    *vkv.Store
}

func (e *vkvEngine) open(dir string, sync bool) error {
	o := e.opts
	o.NoSync = !sync
	s, err := vkv.Open(dir, &o)
	if err != nil {
		return err
	}
	e.s = s
	return nil
}

func (e *vkvEngine) close() error { return e.s.Close() }

func (e *vkvEngine) load(keys []key, value []byte, vers []uint64) error {
	ctx := context.Background()
	for i := 0; i < len(keys); i += 100 {
		end := min(i+100, len(keys))
		v, err := e.s.Update(ctx, func(tx vkv.Txn) error {
			for _, k := range keys[i:end] {
				if err := tx.Put(k.s, value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for j := i; j < end; j++ {
			vers[j] = uint64(v)
		}
	}
	return nil
}

func (e *vkvEngine) get(k key) ([]byte, error) {
	en, err := e.s.Get(context.Background(), k.s)
	return en.Value, err
}

func (e *vkvEngine) version(k key) (uint64, error) {
	en, err := e.s.Get(context.Background(), k.s)
	return uint64(en.Version), err
}

func (e *vkvEngine) cas(k key, expected uint64, value []byte) (uint64, bool, error) {
	v, err := e.s.CompareAndSwap(context.Background(), k.s, vkv.Version(expected), value)
	if err == nil {
		return uint64(v), true, nil
	}
	// The conflict names the version found: no second read is needed.
	if ce, ok := errors.AsType[*vkv.ConflictError](err); ok {
		return uint64(ce.Actual), false, nil
	}
	return 0, false, err
}

func (e *vkvEngine) storeVersion() (uint64, error) {
	v, err := e.s.CurrentVersion(context.Background())
	return uint64(v), err
}
