package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
)

// maxCommitRounds bounds how often one commit records due expiries and
// tries again before it gives up: each round records up to reapBatch of
// them, so only a cluster where keys fall due faster than that exhausts it.
const maxCommitRounds = 64

// commit is one write: ops applied atomically under one new revision if
// every condition in conds holds (a key at a version; 0: absent or
// expired) and, with mustExist, the key of the single delete in ops
// exists. Deletes of absent keys are allowed otherwise. With no ops it only
// checks conds and returns the current revision.
type commit struct {
	conds     []vkv.TxnCondition
	ops       []vkv.TxnOp
	mustExist bool // ops is one delete of a key that must exist (ErrNotFound)
	written   *vkv.Entry
}

// run commits c. Before it can commit, due expiries are recorded (see the
// package documentation); so the Txn compares, next to c's conditions, that
// none is due, and when one is, records it and tries again.
func (kv *KV) run(ctx context.Context, c *commit) (vkv.Version, error) {
	if err := kv.checkSize(c.ops); err != nil {
		return 0, err
	}
	for round := 0; round < maxCommitRounds; round++ {
		now := kv.opts.Clock.Now()
		kept, err := kv.keptExpiries(ctx, c.ops)
		if err != nil {
			return 0, err
		}
		cmps := []clientv3.Cmp{kv.noneDue(now)}
		for key, k := range kept {
			// The expiry kept is the one of this revision of the key.
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(kv.recordKey(key)), "=", k.rev))
		}
		for _, cd := range c.conds {
			if cd.Range != nil {
				cmps = append(cmps, kv.rangeCompares(cd)...)
				continue
			}
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(kv.recordKey(cd.Key)), "=", int64(cd.Version)))
		}
		if c.mustExist {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(kv.recordKey(c.ops[0].Key)), ">", 0))
		}
		var then []clientv3.Op
		if c.written != nil {
			// The key as it was, to tell a create from an update.
			then = append(then, clientv3.OpGet(kv.recordKey(c.ops[0].Key), clientv3.WithKeysOnly()))
		}
		var expiresAt time.Time
		for _, op := range c.ops {
			rk := kv.recordKey(op.Key)
			if op.Delete {
				then = append(then, clientv3.OpDelete(rk), clientv3.OpPut(kv.deleteKey(op.Key), ""))
				continue
			}
			var exp time.Time
			switch {
			case op.TTL > 0:
				exp = now.Add(op.TTL)
			case op.KeepTTL:
				exp = kept[op.Key].exp
			}
			if !exp.IsZero() {
				then = append(then, clientv3.OpPut(kv.expiryKey(op.Key, exp), ""))
			}
			expiresAt = exp
			then = append(then, clientv3.OpPut(rk, encodeRecord(op.Value, exp)))
		}
		// On failure: every compared key as it is, and the due expiries.
		var els []clientv3.Op
		seen := make(map[string]bool)
		for _, cd := range c.conds {
			if cd.Range == nil && !seen[cd.Key] {
				seen[cd.Key] = true
				els = append(els, clientv3.OpGet(kv.recordKey(cd.Key)))
			}
		}
		nKeys := len(els)
		for _, cd := range c.conds {
			if cd.Range != nil {
				els = append(els, kv.rangeChanges(cd)...)
			}
		}
		els = append(els, kv.dueOp(now))

		rctx, cancel := kv.bound(ctx)
		resp, err := kv.cli.Txn(rctx).If(cmps...).Then(then...).Else(els...).Commit()
		cancel()
		if err != nil {
			return 0, kv.wrap(ctx, "commit", err, len(c.ops) > 0)
		}
		if resp.Succeeded {
			rev := resp.Header.Revision
			if c.written != nil {
				op := c.ops[0]
				w := vkv.Entry{Key: op.Key, Version: vkv.Version(rev), CreateVersion: vkv.Version(rev), ExpiresAt: expiresAt}
				if prev := resp.Responses[0].GetResponseRange().GetKvs(); len(prev) > 0 {
					w.CreateVersion = vkv.Version(prev[0].CreateRevision)
				}
				*c.written = w
			}
			return vkv.Version(rev), nil
		}
		// The last response is the due expiries; before it, one per
		// compared key, in the order of els.
		rs := resp.Responses
		due := rs[len(rs)-1].GetResponseRange().GetKvs()
		if len(due) > 0 {
			if err := kv.reap(ctx, due); err != nil {
				return 0, err
			}
			continue
		}
		current := make(map[string]*mvccpb.KeyValue)
		for _, r := range rs[:nKeys] {
			if kvs := r.GetResponseRange().GetKvs(); len(kvs) > 0 {
				current[string(kvs[0].Key)] = kvs[0]
			}
		}
		var conflicts []vkv.Conflict
		ranges := rs[nKeys : len(rs)-1]
		for _, cd := range c.conds {
			if cd.Range != nil {
				cf, err := kv.rangeConflict(cd, ranges[0], ranges[1])
				if err != nil {
					return 0, err
				}
				if cf != nil {
					conflicts = append(conflicts, *cf)
				}
				ranges = ranges[2:]
				continue
			}
			m := current[kv.recordKey(cd.Key)]
			var actual int64
			if m != nil {
				actual = m.ModRevision
			}
			if actual == int64(cd.Version) {
				continue
			}
			cf := vkv.Conflict{Key: cd.Key, Expected: cd.Version, Actual: vkv.Version(actual)}
			if m != nil {
				e, err := kv.entry(m)
				if err != nil {
					return 0, err
				}
				cf.Current = &e
			}
			conflicts = append(conflicts, cf)
		}
		if len(conflicts) > 0 {
			return 0, vkv.NewConflictError(conflicts)
		}
		if c.mustExist {
			return 0, vkv.ErrNotFound
		}
		if len(kept) > 0 {
			// A key whose expiry is kept changed since it was read:
			// read it again.
			continue
		}
		// Every condition held in the answer to a Txn that failed on one:
		// impossible, as the answer is read in the same Txn.
		return 0, fmt.Errorf("etcdkv: commit: %w: the transaction failed but all its conditions hold", vkv.ErrCorrupt)
	}
	return 0, fmt.Errorf("etcdkv: commit: %w: expiries fell due faster than %d rounds could record them", vkv.ErrUnavailable, maxCommitRounds)
}

// kept is the state of a key whose expiry a put keeps (WithKeepTTL).
type kept struct {
	rev int64     // the key's ModRevision; 0: absent
	exp time.Time // its expiry; zero: none
}

// keptExpiries reads, in one round trip, the keys of the puts in ops that
// keep their expiry. The commit then compares each on its revision.
func (kv *KV) keptExpiries(ctx context.Context, ops []vkv.TxnOp) (map[string]kept, error) {
	var gets []clientv3.Op
	for _, op := range ops {
		if op.KeepTTL && !op.Delete {
			gets = append(gets, clientv3.OpGet(kv.recordKey(op.Key)))
		}
	}
	if len(gets) == 0 {
		return nil, nil
	}
	rctx, cancel := kv.bound(ctx)
	resp, err := kv.cli.Txn(rctx).Then(gets...).Commit()
	cancel()
	if err != nil {
		return nil, kv.wrap(ctx, "read the expiries to keep", err, false)
	}
	out := make(map[string]kept)
	for _, op := range ops {
		if op.KeepTTL && !op.Delete {
			out[op.Key] = kept{}
		}
	}
	for _, r := range resp.Responses {
		kvs := r.GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			continue
		}
		e, err := kv.entry(kvs[0])
		if err != nil {
			return nil, err
		}
		out[e.Key] = kept{rev: kvs[0].ModRevision, exp: e.ExpiresAt}
	}
	return out, nil
}

// noneDue compares that no expiry index entry is due at now: every key of
// the (empty) range has CreateRevision 0 (etcd evaluates a compare over an
// empty range against an empty KeyValue, server/etcdserver/txn/txn.go
// applyCompare).
func (kv *KV) noneDue(now time.Time) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(kv.expiryStart()), "=", 0).WithRange(kv.dueEnd(now))
}

// dueOp reads up to reapBatch expiry index entries due at now.
func (kv *KV) dueOp(now time.Time) clientv3.Op {
	return clientv3.OpGet(kv.expiryStart(), clientv3.WithRange(kv.dueEnd(now)), clientv3.WithLimit(reapBatch), clientv3.WithKeysOnly())
}

// checkSize refuses writes that cannot fit in one etcd request.
func (kv *KV) checkSize(ops []vkv.TxnOp) error {
	n := requestSlack
	for _, op := range ops {
		n += 2*len(kv.prefix) + 2*len(op.Key) + len(op.Value) + recordHeader + expiryTimeSize + opSlack
	}
	if n > kv.opts.EtcdMaxRequestBytes {
		return &vkv.LimitError{Err: vkv.ErrTxnTooLarge, Size: n, Limit: kv.opts.EtcdMaxRequestBytes}
	}
	return nil
}

// put checks and commits one write of key.
func (kv *KV) put(ctx context.Context, key string, cond *vkv.TxnCondition, value []byte, opts []vkv.WriteOption) (vkv.Version, error) {
	if err := kv.enter(); err != nil {
		return 0, err
	}
	o := vkv.NewWriteOptions(opts...)
	if err := kv.limits.CheckKey(key); err != nil {
		return 0, err
	}
	if err := kv.limits.CheckValue(key, value); err != nil {
		return 0, err
	}
	if err := o.Check(); err != nil {
		return 0, err
	}
	c := &commit{ops: []vkv.TxnOp{{Key: key, Value: value, TTL: o.TTL, KeepTTL: o.KeepTTL}}, written: o.Written}
	if cond != nil {
		c.conds = []vkv.TxnCondition{*cond}
	}
	var w vkv.Entry
	if c.written != nil {
		c.written = &w
	}
	v, err := kv.run(ctx, c)
	if err == nil && o.Written != nil {
		*o.Written = w
	}
	return v, err
}

// Put writes value to key unconditionally; see vkv.Writer.
func (kv *KV) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return kv.put(ctx, key, nil, value, opts)
}

// CompareAndSwap writes value to key if it is at version expected (0:
// absent or expired); see vkv.Writer.
func (kv *KV) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return kv.put(ctx, key, &vkv.TxnCondition{Key: key, Version: expected}, value, opts)
}

// Delete removes key, or returns vkv.ErrNotFound; see vkv.Writer.
func (kv *KV) Delete(ctx context.Context, key string) (vkv.Version, error) {
	if err := kv.enter(); err != nil {
		return 0, err
	}
	if err := kv.limits.CheckKey(key); err != nil {
		return 0, err
	}
	return kv.run(ctx, &commit{ops: []vkv.TxnOp{{Key: key, Delete: true}}, mustExist: true})
}

// CompareAndDelete removes key if it is at version expected; see
// vkv.Writer.
func (kv *KV) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	if err := kv.enter(); err != nil {
		return 0, err
	}
	if err := kv.limits.CheckKey(key); err != nil {
		return 0, err
	}
	return kv.run(ctx, &commit{conds: []vkv.TxnCondition{{Key: key, Version: expected}}, ops: []vkv.TxnOp{{Key: key, Delete: true}}, mustExist: true})
}

// Update runs fn in a transaction on the shared vkv.TxnEngine; see
// vkv.Writer.
func (kv *KV) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	if err := kv.enter(); err != nil {
		return 0, err
	}
	return kv.txns.Update(ctx, fn)
}

// View runs fn with a read-only snapshot; see vkv.Reader.
func (kv *KV) View(ctx context.Context, fn func(tx vkv.Txn) error) error {
	if err := kv.enter(); err != nil {
		return err
	}
	return kv.txns.View(ctx, fn)
}

// backend runs the shared transaction engine on etcd: a snapshot is a
// revision, pinned by the first read; a commit is one Txn.
type backend struct{ kv *KV }

func (b backend) Snapshot(ctx context.Context) (vkv.TxnSnapshot, error) {
	return &snapshot{kv: b.kv, ctx: ctx, now: b.kv.opts.Clock.Now()}, nil
}

func (b backend) Commit(ctx context.Context, conds []vkv.TxnCondition, ops []vkv.TxnOp) (vkv.Version, error) {
	return b.kv.run(ctx, &commit{conds: conds, ops: ops})
}

// snapshot reads at one revision: the one the first read was answered at.
type snapshot struct {
	kv  *KV
	ctx context.Context
	now time.Time
	rev int64 // 0 until the first read
}

func (sn *snapshot) Get(key string) (vkv.Entry, error) {
	var opts []clientv3.OpOption
	if sn.rev != 0 {
		// The revision is pinned: the member the client talks to can
		// answer from its own store without a read-index round through
		// Raft (a serializable read at a fixed revision sees the same
		// data everywhere); one that has not applied it yet answers
		// ErrFutureRev, and the read goes through the leader instead.
		opts = append(opts, clientv3.WithRev(sn.rev), clientv3.WithSerializable())
	}
	rctx, cancel := sn.kv.bound(sn.ctx)
	resp, err := sn.kv.cli.Get(rctx, sn.kv.recordKey(key), opts...)
	if err != nil && sn.rev != 0 && errors.Is(rpctypes.Error(err), rpctypes.ErrFutureRev) {
		resp, err = sn.kv.cli.Get(rctx, sn.kv.recordKey(key), clientv3.WithRev(sn.rev))
	}
	cancel()
	if err != nil {
		return vkv.Entry{}, sn.kv.readErr(sn.ctx, key, vkv.Version(sn.rev), err)
	}
	if sn.rev == 0 {
		sn.rev = resp.Header.Revision
	}
	if len(resp.Kvs) == 0 {
		return vkv.Entry{}, vkv.ErrNotFound
	}
	e, err := sn.kv.entry(resp.Kvs[0])
	if err != nil {
		return vkv.Entry{}, err
	}
	if e.Expired(sn.now) {
		return vkv.Entry{}, vkv.ErrNotFound
	}
	return e, nil
}

func (sn *snapshot) Version() (vkv.Version, error) {
	if sn.rev == 0 {
		rctx, cancel := sn.kv.bound(sn.ctx)
		resp, err := sn.kv.cli.Get(rctx, sn.kv.recordKey(""), clientv3.WithCountOnly())
		cancel()
		if err != nil {
			return 0, sn.kv.wrap(sn.ctx, "read", err, false)
		}
		sn.rev = resp.Header.Revision
	}
	return vkv.Version(sn.rev), nil
}

// List reads a page at the snapshot's revision; the first read pins it.
func (sn *snapshot) List(prefix, after string, limit int) (vkv.ListResult, error) {
	res, err := sn.kv.list(sn.ctx, prefix, after, limit, sn.rev, &sn.now)
	if err == nil && sn.rev == 0 {
		sn.rev = int64(res.Version)
	}
	return res, err
}

func (sn *snapshot) Now() time.Time { return sn.now }
func (sn *snapshot) Close()         {}
