package etcdkv

import (
	"context"
	"errors"
	"iter"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
)

// Watch returns every change under prefix after version from; see
// vkv.Watcher. It is an etcd watch of the records from revision from+1,
// with each delete's previous record (for its CreateVersion). When the
// watch breaks (the member lost its leader, the connection dropped) it is
// opened again from the last revision delivered, so the sequence has no gap
// and no duplicate; a from below etcd's compacted revision gives a
// *vkv.CompactedError.
func (kv *KV) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	return func(yield func(vkv.Entry, error) bool) {
		if err := kv.enter(); err != nil {
			yield(vkv.Entry{}, err)
			return
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(kv.ctx, cancel)
		defer stop()
		cursor := int64(from)
		for {
			ch := kv.cli.Watch(clientv3.WithRequireLeader(wctx), kv.recordKey(prefix), clientv3.WithPrefix(), clientv3.WithRev(cursor+1), clientv3.WithPrevKV())
			for resp := range ch {
				if resp.CompactRevision != 0 {
					yield(vkv.Entry{}, &vkv.CompactedError{Requested: vkv.Version(cursor), Oldest: vkv.Version(resp.CompactRevision)})
					return
				}
				if err := resp.Err(); err != nil {
					if errors.Is(rpctypes.Error(err), rpctypes.ErrCompacted) {
						yield(vkv.Entry{}, &vkv.CompactedError{Requested: vkv.Version(cursor), Oldest: kv.oldest(ctx)})
						return
					}
					break // open it again from cursor
				}
				for _, ev := range resp.Events {
					var e vkv.Entry
					if ev.Type == clientv3.EventTypeDelete {
						n := len(kv.prefix) + len(recordSpace)
						e = tombstone(string(ev.Kv.Key[n:]), ev.Kv.ModRevision, ev.PrevKv)
					} else {
						var err error
						if e, err = kv.entry(ev.Kv); err != nil {
							yield(vkv.Entry{}, err)
							return
						}
					}
					if !yield(e, nil) {
						return
					}
				}
				// A response holds whole revisions, so the watch can be
				// opened again after its last one.
				if n := len(resp.Events); n > 0 {
					cursor = resp.Events[n-1].Kv.ModRevision
				}
			}
			switch {
			case kv.closed.Load():
				yield(vkv.Entry{}, vkv.ErrClosed)
				return
			case ctx.Err() != nil:
				yield(vkv.Entry{}, ctx.Err())
				return
			}
			pause(wctx, 100*time.Millisecond)
		}
	}
}
