package etcdkv

import (
	"context"
	"encoding/binary"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// reapBatch bounds the expiries one Txn records: each is a nested Txn of up
// to three operations, within etcd's default --max-txn-ops of 128.
const reapBatch = 32

// reap records the expiries of due, expiry index entries read from etcd:
// for each, in one Txn, if the record still has the revision that set its
// TTL (the index entry's own ModRevision: they were written together), it
// is deleted, with its delete marker, and the index entry with it; else the
// record was rewritten since and only the index entry goes. Several KVs
// reaping the same entries at once is harmless: the compare lets one
// delete happen.
func (kv *KV) reap(ctx context.Context, due []*mvccpb.KeyValue) error {
	var then []clientv3.Op
	seen := make(map[string]bool)
	for _, ix := range due {
		key, err := kv.indexedKey(ix.Key)
		if err != nil {
			return err
		}
		if seen[key] {
			// Two entries of one key in one Txn would write its record
			// twice, which etcd refuses; the next round takes it.
			continue
		}
		seen[key] = true
		rk := kv.recordKey(key)
		then = append(then, clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(rk), "=", ix.ModRevision)},
			[]clientv3.Op{clientv3.OpDelete(rk), clientv3.OpPut(kv.deleteKey(key), ""), clientv3.OpDelete(string(ix.Key))},
			[]clientv3.Op{clientv3.OpDelete(string(ix.Key))},
		))
	}
	rctx, cancel := kv.bound(ctx)
	defer cancel()
	_, err := kv.cli.Txn(rctx).Then(then...).Commit()
	return kv.wrap(ctx, "record expiries", err, true)
}

// reapDue records every expiry due at the clock's time.
func (kv *KV) reapDue(ctx context.Context) error {
	for {
		rctx, cancel := kv.bound(ctx)
		resp, err := kv.cli.Txn(rctx).Then(kv.dueOp(kv.opts.Clock.Now())).Commit()
		cancel()
		if err != nil {
			return kv.wrap(ctx, "read due expiries", err, false)
		}
		due := resp.Responses[0].GetResponseRange().GetKvs()
		if len(due) == 0 {
			return nil
		}
		if err := kv.reap(ctx, due); err != nil {
			return err
		}
	}
}

// next returns the time of the earliest expiry index entry (zero if none)
// and the revision it was read at.
func (kv *KV) next(ctx context.Context) (time.Time, int64, error) {
	rctx, cancel := kv.bound(ctx)
	defer cancel()
	resp, err := kv.cli.Get(rctx, kv.expiryStart(), clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithKeysOnly())
	if err != nil {
		return time.Time{}, 0, kv.wrap(ctx, "read next expiry", err, false)
	}
	if len(resp.Kvs) == 0 {
		return time.Time{}, resp.Header.Revision, nil
	}
	return kv.expiryTime(resp.Kvs[0].Key), resp.Header.Revision, nil
}

// expiryTime is the time of an expiry index key (zero if it is malformed).
func (kv *KV) expiryTime(ik []byte) time.Time {
	n := len(kv.prefix) + len(expirySpace)
	if len(ik) < n+expiryTimeSize {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(ik[n:])))
}

// reapLoop records expiries as they fall due: it sleeps on the clock until
// the earliest, or until a new index entry (from any replica) is earlier.
// It is the only goroutine a KV starts; Close ends it.
func (kv *KV) reapLoop() {
	defer kv.bg.Done()
	ctx := kv.ctx
	log := kv.opts.Logger
	var watch clientv3.WatchChan
	for ctx.Err() == nil {
		if err := kv.reapDue(ctx); err != nil {
			if ctx.Err() == nil {
				log.Error("etcdkv: recording expiries", "err", err)
				pause(ctx, time.Second)
			}
			continue
		}
		at, rev, err := kv.next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("etcdkv: recording expiries", "err", err)
				pause(ctx, time.Second)
			}
			continue
		}
		if watch == nil {
			watch = kv.cli.Watch(clientv3.WithRequireLeader(ctx), kv.expiryStart(), clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterDelete(), clientv3.WithKeysOnly())
		}
		wake := make(chan struct{}, 1)
		stop := func() bool { return false }
		if !at.IsZero() {
			stop = kv.opts.Clock.CallAt(at, func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			})
		}
	wait:
		for {
			select {
			case <-ctx.Done():
			case <-wake:
			case resp, ok := <-watch:
				if !ok || resp.Err() != nil {
					// Open a new watch after the next scan.
					watch = nil
					break wait
				}
				for _, ev := range resp.Events {
					if t := kv.expiryTime(ev.Kv.Key); at.IsZero() || t.Before(at) {
						break wait
					}
				}
				continue
			}
			break
		}
		stop()
	}
}

// pause waits d of real time, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
