package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/etcdkv"
)

// Both sides work on the same etcd member, each on its own copy of the
// keys: the raw client on raw/<key> (the value as it is), etcdkv under the
// prefix vkv/ (its records, vkv/k/<key>: an 8-byte expiry header and the
// value). Every key is written once by the load; after that, each side
// keeps the version every key is at (from its own writes: no one else
// writes them), so that every CAS and transaction is expected to succeed
// and a failed one is an error.
const (
	rawPrefix = "raw/"
	kvPrefix  = "vkv/"
)

// bench is what the workloads share.
type bench struct {
	cli     *clientv3.Client
	kv      *etcdkv.KV
	keys    []string // the user keys: "key" and 13 digits, 16 bytes
	rawKeys []string // rawPrefix + key
	value   []byte
	valStr  string
	rawVer  []int64       // the ModRevision of rawKeys[i]
	kvVer   []vkv.Version // the vkv version of keys[i]
}

func newBench(cli *clientv3.Client, kv *etcdkv.KV, n, valueSize int) *bench {
	b := &bench{cli: cli, kv: kv, value: bytes.Repeat([]byte{'v'}, valueSize),
		keys: make([]string, n), rawKeys: make([]string, n), rawVer: make([]int64, n), kvVer: make([]vkv.Version, n)}
	b.valStr = string(b.value)
	for i := range b.keys {
		b.keys[i] = fmt.Sprintf("key%013d", i)
		b.rawKeys[i] = rawPrefix + b.keys[i]
	}
	return b
}

// loadConcurrency is how many goroutines load the keys.
const loadConcurrency = 8

// load writes every key on both sides: raw, Txns of 100 puts (etcd's
// default --max-txn-ops is 128); etcdkv, Updates of 50 puts (its default
// limit is 63 writes per transaction).
func (b *bench) load(ctx context.Context) error {
	return b.inBatches(100, func(lo, hi int) error {
		ops := make([]clientv3.Op, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ops = append(ops, clientv3.OpPut(b.rawKeys[i], b.valStr))
		}
		resp, err := b.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("loading raw keys: %w", err)
		}
		for i := lo; i < hi; i++ {
			b.rawVer[i] = resp.Header.Revision
		}
		for m := lo; m < hi; m += 50 {
			end := min(m+50, hi)
			v, err := b.kv.Update(ctx, func(tx vkv.Txn) error {
				for i := m; i < end; i++ {
					if err := tx.Put(b.keys[i], b.value); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("loading etcdkv keys: %w", err)
			}
			for i := m; i < end; i++ {
				b.kvVer[i] = v
			}
		}
		return nil
	})
}

// inBatches calls f on [lo, hi) ranges of size batch covering the keys,
// from loadConcurrency goroutines, and returns the first error.
func (b *bench) inBatches(batch int, f func(lo, hi int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range loadConcurrency {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next += batch
				stop := first != nil
				mu.Unlock()
				if stop || lo >= len(b.keys) {
					return
				}
				if err := f(lo, min(lo+batch, len(b.keys))); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// worker is one goroutine of a cell. It owns the keys i with i%of == g and
// picks among them at random (or always key g: the hot-key workloads), so
// that no two workers of a cell write one key.
type worker struct {
	b     *bench
	g, of int
	hot   bool
	rng   *rand.Rand
	idx   []int
}

func (w *worker) pick() int {
	if w.hot {
		return w.g
	}
	n := (len(w.b.keys) - w.g + w.of - 1) / w.of // keys owned
	return w.rng.IntN(n)*w.of + w.g
}

// pick4 fills w.idx with 4 distinct owned keys.
func (w *worker) pick4() []int {
	w.idx = w.idx[:0]
	for len(w.idx) < 4 {
		k := w.pick()
		dup := false
		for _, j := range w.idx {
			dup = dup || j == k
		}
		if !dup {
			w.idx = append(w.idx, k)
		}
	}
	return w.idx
}

// workload is one row of the table: the same operation done by the raw
// client and by etcdkv.
type workload struct {
	id, title  string
	goroutines int
	write      bool // durable when the member fsyncs (the default)
	hot        bool // every operation on one key per worker: a best case
	raw, kv    func(w *worker) error
}

// workloads in the order they run and appear in the table.
var workloads = []workload{
	{id: "get", title: "Get, 1 goroutine", goroutines: 1, raw: rawGet, kv: kvGet},
	{id: "get-hot", title: "Get, 1 goroutine, one hot key (best case)", goroutines: 1, hot: true, raw: rawGet, kv: kvGet},
	{id: "cas", title: "CAS, 1 goroutine", goroutines: 1, write: true, raw: rawCAS, kv: kvCAS},
	{id: "txn4", title: "4-key transaction, 1 goroutine (raw: versions known, one Txn)", goroutines: 1, write: true, raw: rawTxn4, kv: kvTxn4},
	{id: "txn4-read", title: "4-key transaction, 1 goroutine (raw: one Txn of 4 gets, then one Txn)", goroutines: 1, write: true, raw: rawTxn4Read, kv: kvTxn4},
	{id: "cas64", title: "CAS, 64 goroutines, distinct keys", goroutines: 64, write: true, raw: rawCAS, kv: kvCAS},
}

func rawGet(w *worker) error {
	k := w.pick()
	resp, err := w.b.cli.Get(context.Background(), w.b.rawKeys[k])
	if err != nil {
		return err
	}
	if len(resp.Kvs) != 1 || len(resp.Kvs[0].Value) != len(w.b.value) {
		return fmt.Errorf("raw get %s: %d kvs", w.b.rawKeys[k], len(resp.Kvs))
	}
	return nil
}

func kvGet(w *worker) error {
	k := w.pick()
	e, err := w.b.kv.Get(context.Background(), w.b.keys[k])
	if err != nil {
		return err
	}
	if len(e.Value) != len(w.b.value) {
		return fmt.Errorf("etcdkv Get %s: %d bytes", w.b.keys[k], len(e.Value))
	}
	return nil
}

// rawCAS is the CAS of cmd/peers: If ModRevision == expected Then Put Else
// Get, one Txn.
func rawCAS(w *worker) error {
	k := w.pick()
	rk := w.b.rawKeys[k]
	resp, err := w.b.cli.Txn(context.Background()).
		If(clientv3.Compare(clientv3.ModRevision(rk), "=", w.b.rawVer[k])).
		Then(clientv3.OpPut(rk, w.b.valStr)).
		Else(clientv3.OpGet(rk)).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("raw CAS on %s at %d failed", rk, w.b.rawVer[k])
	}
	w.b.rawVer[k] = resp.Header.Revision
	return nil
}

func kvCAS(w *worker) error {
	k := w.pick()
	v, err := w.b.kv.CompareAndSwap(context.Background(), w.b.keys[k], w.b.kvVer[k], w.b.value)
	if err != nil {
		return fmt.Errorf("etcdkv CompareAndSwap on %s at %d: %w", w.b.keys[k], w.b.kvVer[k], err)
	}
	w.b.kvVer[k] = v
	return nil
}

// rawTxn4 is one Txn: 4 compares on the versions the caller knows, 4 puts,
// and on failure 4 gets (to learn the conflict, as etcdkv's Else does).
func rawTxn4(w *worker) error {
	ks := w.pick4()
	return w.rawCommit4(ks, w.b.rawVer)
}

func (w *worker) rawCommit4(ks []int, vers []int64) error {
	cmps := make([]clientv3.Cmp, len(ks))
	then := make([]clientv3.Op, len(ks))
	els := make([]clientv3.Op, len(ks))
	for i, k := range ks {
		rk := w.b.rawKeys[k]
		cmps[i] = clientv3.Compare(clientv3.ModRevision(rk), "=", vers[k])
		then[i] = clientv3.OpPut(rk, w.b.valStr)
		els[i] = clientv3.OpGet(rk)
	}
	resp, err := w.b.cli.Txn(context.Background()).If(cmps...).Then(then...).Else(els...).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("raw 4-key Txn on %v failed", ks)
	}
	for _, k := range ks {
		w.b.rawVer[k] = resp.Header.Revision
	}
	return nil
}

// rawTxn4Read reads the 4 keys in one Txn of 4 gets (one round trip), then
// commits as rawTxn4 on the versions read: what etcdkv's Update does, with
// its 4 reads in one round trip instead of 4.
func rawTxn4Read(w *worker) error {
	ks := w.pick4()
	gets := make([]clientv3.Op, len(ks))
	for i, k := range ks {
		gets[i] = clientv3.OpGet(w.b.rawKeys[k])
	}
	resp, err := w.b.cli.Txn(context.Background()).Then(gets...).Commit()
	if err != nil {
		return err
	}
	for i, k := range ks {
		kvs := resp.Responses[i].GetResponseRange().GetKvs()
		if len(kvs) != 1 || kvs[0].ModRevision != w.b.rawVer[k] {
			return fmt.Errorf("raw read of %s: not at %d", w.b.rawKeys[k], w.b.rawVer[k])
		}
	}
	return w.rawCommit4(ks, w.b.rawVer)
}

// kvTxn4 is an Update that reads the 4 keys and writes them: etcdkv reads
// each key (the first read pins the snapshot's revision) and commits one Txn
// comparing the 4 versions read.
func kvTxn4(w *worker) error {
	ks := w.pick4()
	v, err := w.b.kv.Update(context.Background(), func(tx vkv.Txn) error {
		for _, k := range ks {
			e, err := tx.Get(w.b.keys[k])
			if err != nil {
				return err
			}
			if e.Version != w.b.kvVer[k] {
				return fmt.Errorf("read %s at version %d, wrote it at %d", w.b.keys[k], e.Version, w.b.kvVer[k])
			}
			if err := tx.Put(w.b.keys[k], w.b.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("etcdkv Update of %v: %w", ks, err)
	}
	for _, k := range ks {
		w.b.kvVer[k] = v
	}
	return nil
}
