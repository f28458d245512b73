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
//
// An etcd watch response holds whole revisions (etcd's watchable_store.go
// notify refuses a batch of more than one revision for a synced watcher,
// and watcher_group.go eventBatch.add cuts an unsynced watcher's batch only
// where a revision ends), so the last event of each revision in a response
// ends its transaction (TxnEnd).
//
// Progress notifications are etcd's: a watch that asks for them has an etcd
// watch stream of its own (clientv3.NewWatcher), on which each request and
// each interval of Options.Clock (etcd's own interval, WithProgressNotify,
// is a server setting of ten minutes) becomes a RequestProgress. etcd
// answers with its current revision, once every event up to it has been
// sent on the stream, and only while the watcher has caught up (etcd's
// watchable_store.go progressIfSync), so the request is repeated every
// 100 ms until the answer reaches the revision the cluster had when it was
// asked. The watch covers only the records, never the expiry index or the
// delete markers, so a progress revision R promises every record change up
// to R; revisions of index and marker writes are simply passed over. etcd
// sends no progress to a watcher whose start revision is above the current
// one, which is the case of a watch that has delivered everything while the
// cluster stands still: then the cluster's revision, read at the request,
// is already covered, and Watch answers at once.
func (kv *KV) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	o := vkv.NewWatchOptions(opts...)
	return func(yield func(vkv.Entry, error) bool) {
		if err := kv.enter(); err != nil {
			yield(vkv.Entry{}, err)
			return
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(kv.ctx, cancel)
		defer stop()
		ticker := vkv.NewProgressTicker(o, kv.opts.Clock)
		defer ticker.Stop()
		var watcher clientv3.Watcher = kv.cli
		if ticker.C != nil {
			w := clientv3.NewWatcher(kv.cli)
			defer w.Close()
			watcher = w
		}
		cursor := int64(from)
		// due is set while a progress notification is owed; target is the
		// cluster's revision when it was asked for.
		var (
			due    bool
			target int64
			retry  <-chan time.Time
		)
		for {
			lctx := clientv3.WithRequireLeader(wctx)
			ch := watcher.Watch(lctx, kv.recordKey(prefix), clientv3.WithPrefix(), clientv3.WithRev(cursor+1), clientv3.WithPrevKV())
			// progress yields the notification owed at revision rev.
			progress := func(rev int64) bool {
				cursor = max(cursor, rev)
				due, retry = false, nil
				return yield(vkv.Entry{Version: vkv.Version(rev), Progress: true}, nil)
			}
			// ask answers the notification owed if the cluster's revision
			// is already covered (and not below from), else asks etcd,
			// again in 100 ms unless answered.
			ask := func() bool {
				v, err := kv.CurrentVersion(wctx)
				if err != nil {
					retry = time.After(100 * time.Millisecond)
					return true // the watch itself reports what is wrong
				}
				if !due {
					due, target = true, int64(v)
				}
				if rev := int64(v); rev <= cursor && rev >= int64(from) {
					return progress(rev)
				}
				watcher.RequestProgress(lctx) // an error shows as a broken watch
				retry = time.After(100 * time.Millisecond)
				return true
			}
			if due && !ask() {
				return
			}
		stream:
			for {
				var (
					resp clientv3.WatchResponse
					ok   bool
				)
				select {
				case resp, ok = <-ch:
					if !ok {
						break stream
					}
				case <-ticker.C:
					if !due && !ask() {
						return
					}
					continue
				case <-retry:
					if !ask() {
						return
					}
					continue
				}
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
				if resp.IsProgressNotify() {
					if rev := resp.Header.Revision; due && rev >= target && rev >= cursor {
						if !progress(rev) {
							return
						}
					}
					continue
				}
				for i, ev := range resp.Events {
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
					e.TxnEnd = i == len(resp.Events)-1 || resp.Events[i+1].Kv.ModRevision != ev.Kv.ModRevision
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
