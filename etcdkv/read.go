package etcdkv

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
)

// Get returns the live entry of key; see vkv.Reader.
func (kv *KV) Get(ctx context.Context, key string) (vkv.Entry, error) {
	if err := kv.enter(); err != nil {
		return vkv.Entry{}, err
	}
	if err := kv.limits.CheckKey(key); err != nil {
		return vkv.Entry{}, err
	}
	now := kv.opts.Clock.Now()
	rctx, cancel := kv.bound(ctx)
	resp, err := kv.cli.Get(rctx, kv.recordKey(key))
	cancel()
	if err != nil {
		return vkv.Entry{}, kv.wrap(ctx, "get", err, false)
	}
	if len(resp.Kvs) == 0 {
		return vkv.Entry{}, &vkv.NotFoundError{Key: key[:min(len(key), 64)]}
	}
	e, err := kv.entry(resp.Kvs[0])
	if err != nil {
		return vkv.Entry{}, err
	}
	if e.Expired(now) {
		return vkv.Entry{}, &vkv.NotFoundError{Key: key[:min(len(key), 64)]}
	}
	return e, nil
}

// GetAt returns key as it was at version v; see vkv.Reader. Entries are
// returned as recorded: one that had expired at v but whose expiry was not
// yet recorded is returned with its ExpiresAt.
func (kv *KV) GetAt(ctx context.Context, key string, v vkv.Version) (vkv.Entry, error) {
	if err := kv.enter(); err != nil {
		return vkv.Entry{}, err
	}
	if err := kv.limits.CheckKey(key); err != nil {
		return vkv.Entry{}, err
	}
	if v == 0 {
		// Revision 0 means "the newest" to etcd; nothing exists at 0.
		return vkv.Entry{}, &vkv.NotFoundError{Key: key[:min(len(key), 64)]}
	}
	rctx, cancel := kv.bound(ctx)
	resp, err := kv.cli.Get(rctx, kv.recordKey(key), clientv3.WithRev(int64(v)))
	cancel()
	if err != nil {
		return vkv.Entry{}, kv.readErr(ctx, key, v, err)
	}
	if len(resp.Kvs) == 0 {
		return vkv.Entry{}, &vkv.NotFoundError{Key: key[:min(len(key), 64)]}
	}
	return kv.entry(resp.Kvs[0])
}

// readErr is wrap for a read at revision v: a compacted revision gives a
// *vkv.CompactedError with the oldest readable version, a future one
// vkv.ErrFutureVersion with the newest.
func (kv *KV) readErr(ctx context.Context, key string, v vkv.Version, err error) error {
	eerr := rpctypes.Error(err)
	switch {
	case errors.Is(eerr, rpctypes.ErrCompacted):
		return &vkv.CompactedError{Key: key, Requested: v, Oldest: kv.oldest(ctx)}
	case errors.Is(eerr, rpctypes.ErrFutureRev):
		rctx, cancel := kv.bound(ctx)
		defer cancel()
		if resp, err := kv.cli.Get(rctx, kv.recordKey(""), clientv3.WithCountOnly()); err == nil {
			return &vkv.FutureVersionError{Requested: v, Newest: vkv.Version(resp.Header.Revision)}
		}
		return &vkv.FutureVersionError{Requested: v}
	}
	return kv.wrap(ctx, "read", err, false)
}

// oldest returns the oldest readable revision: etcd's compacted revision
// (reads at it succeed, server/storage/mvcc/kvstore_txn.go rangeKeys
// refuses only revisions below it). etcd has no call that returns it, but a
// watch from revision 1 is cancelled at once with it
// (server/storage/mvcc/watchable_store.go chooseAll/syncWatchers). 0 when it
// cannot be learnt.
func (kv *KV) oldest(ctx context.Context) vkv.Version {
	wctx, cancel := kv.bound(ctx)
	defer cancel()
	for resp := range kv.cli.Watch(wctx, kv.deleteKey(""), clientv3.WithRev(1), clientv3.WithKeysOnly()) {
		return vkv.Version(resp.CompactRevision)
	}
	return 0
}

// List returns a page of live entries under prefix after the key after,
// and the revision it read them at; see vkv.Reader.
func (kv *KV) List(ctx context.Context, prefix, after string, limit int) (vkv.ListResult, error) {
	if err := kv.enter(); err != nil {
		return vkv.ListResult{}, err
	}
	now := kv.opts.Clock.Now()
	return kv.list(ctx, prefix, after, limit, 0, &now)
}

// ListAt returns a page of the entries under prefix after the key after as
// they were at version v: an etcd range read at revision v; see
// vkv.Reader.
func (kv *KV) ListAt(ctx context.Context, prefix, after string, limit int, v vkv.Version) (vkv.ListResult, error) {
	if err := kv.enter(); err != nil {
		return vkv.ListResult{}, err
	}
	if v == 0 {
		// Revision 0 means "the newest" to etcd; nothing exists at 0.
		return vkv.ListResult{}, nil
	}
	return kv.list(ctx, prefix, after, limit, int64(v), nil)
}

// list reads a page at revision rev (0: the newest), leaving out the
// entries expired at *now (nil: none, entries as recorded).
func (kv *KV) list(ctx context.Context, prefix, after string, limit int, rev int64, now *time.Time) (vkv.ListResult, error) {
	if limit <= 0 {
		limit = vkv.DefaultListLimit
	}
	limit = min(limit, vkv.MaxListLimit)
	start := kv.recordKey(prefix)
	if after >= prefix {
		start = kv.recordKey(after) + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(kv.recordKey(prefix))
	var out []vkv.Entry
	for {
		// Every page of etcd's is read at the revision of the first.
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(int64(limit + 1 - len(out)))}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		rctx, cancel := kv.bound(ctx)
		resp, err := kv.cli.Get(rctx, start, opts...)
		cancel()
		if err != nil {
			err = kv.readErr(ctx, "", vkv.Version(rev), err)
			var ce *vkv.CompactedError
			if errors.As(err, &ce) {
				ce.Range = &vkv.KeyRange{Prefix: prefix, After: after}
			}
			return vkv.ListResult{}, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, m := range resp.Kvs {
			e, err := kv.entry(m)
			if err != nil {
				return vkv.ListResult{}, err
			}
			if now != nil && e.Expired(*now) {
				continue
			}
			if len(out) == limit {
				return vkv.ListResult{Entries: out, Next: out[len(out)-1].Key, Version: vkv.Version(rev)}, nil
			}
			out = append(out, e)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return vkv.ListResult{Entries: out, Version: vkv.Version(rev)}, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// History returns the kept versions of key, newest first; see vkv.Reader.
//
// It walks back from the newest revision, one round trip per entry: at
// revision r it reads the record and the delete marker of key as of r. If
// the record exists, it is the newest event and the walk goes on below its
// ModRevision. If not, the newest delete marker is the candidate delete: if
// the record existed just before it, that was a real delete (a tombstone
// whose CreateVersion is the deleted record's); else it deleted an absent
// key and is skipped. The walk ends at the first revision of the key, at
// etcd's compacted revision, or at limit entries.
func (kv *KV) History(ctx context.Context, key string, limit int) ([]vkv.Entry, error) {
	if err := kv.enter(); err != nil {
		return nil, err
	}
	if err := kv.limits.CheckKey(key); err != nil {
		return nil, err
	}
	out := []vkv.Entry{}
	rec, del, err := kv.historyStep(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	for limit <= 0 || len(out) < limit {
		var r int64 // the revision to read at next
		switch {
		case rec != nil:
			e, err := kv.entry(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			r = rec.ModRevision - 1
		case del != nil:
			d := del.ModRevision
			if d <= 1 {
				return out, nil
			}
			rec, del, err = kv.historyStep(ctx, key, d-1)
			if errors.Is(err, vkv.ErrCompacted) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if rec != nil {
				out = append(out, tombstone(key, d, rec))
			}
			continue
		default:
			return out, nil
		}
		if r < 1 {
			return out, nil
		}
		rec, del, err = kv.historyStep(ctx, key, r)
		if errors.Is(err, vkv.ErrCompacted) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// historyStep reads the record and the delete marker of key as of rev (0:
// the newest; callers never ask for revision 0 itself) in one round trip.
func (kv *KV) historyStep(ctx context.Context, key string, rev int64) (rec, del *mvccpb.KeyValue, err error) {
	var opts []clientv3.OpOption
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	rctx, cancel := kv.bound(ctx)
	resp, err := kv.cli.Txn(rctx).Then(
		clientv3.OpGet(kv.recordKey(key), opts...),
		clientv3.OpGet(kv.deleteKey(key), append(opts, clientv3.WithKeysOnly())...),
	).Commit()
	cancel()
	if err != nil {
		return nil, nil, kv.readErr(ctx, key, vkv.Version(rev), err)
	}
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		rec = kvs[0]
	}
	if kvs := resp.Responses[1].GetResponseRange().GetKvs(); len(kvs) > 0 {
		del = kvs[0]
	}
	return rec, del, nil
}

// CurrentVersion returns the newest version of the store: the cluster's
// current revision, read linearizably. vkv serve reports it at /healthz.
func (kv *KV) CurrentVersion(ctx context.Context) (vkv.Version, error) {
	if err := kv.enter(); err != nil {
		return 0, err
	}
	rctx, cancel := kv.bound(ctx)
	defer cancel()
	resp, err := kv.cli.Get(rctx, kv.recordKey(""), clientv3.WithCountOnly())
	if err != nil {
		return 0, kv.wrap(ctx, "read the current version", err, false)
	}
	return vkv.Version(resp.Header.Revision), nil
}
