package vkvtest_test

import (
	"context"
	"errors"
	"iter"

	"github.com/vkvstore/vkv"
)

// Mutants of the change feed, each breaking one promise of vkv.Watcher, and
// the watch properties that must catch them.
func init() {
	for name, failing := range map[string][]string{
		"watch-prefix-ignored":   {"Watch/Replay", "Watch/Concurrent"},
		"watch-from-inclusive":   {"Watch/Replay", "Watch/Concurrent"},
		"watch-duplicates":       {"Watch/Replay", "Watch/Concurrent"},
		"watch-txn-tail-dropped": {"Watch/Replay", "Watch/Concurrent"},
		"watch-unordered":        {"Watch/Replay"},
		"watch-deletes-dropped":  {"Watch/Replay", "Watch/Expiry"},
		"watch-ctx-silent":       {"Watch/Cancel"},
		"watch-close-silent":     {"Watch/Closed"},
		"watch-txnend-always":    {"Watch/TxnEnd"},
		"watch-progress-ahead":   {"Watch/ProgressPeriodic"},
		"watch-progress-early":   {"Watch/ProgressPeriodic", "Watch/ProgressRequest", "Watch/ProgressRacing"},
		"watch-progress-unasked": {"Watch/Replay", "Watch/Concurrent"},
	} {
		mutants[name] = failing
	}
}

// Watch is the store's Watch, broken as the mutant's name says.
func (k *mutant) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	w := k.KV.(vkv.Watcher)
	switch {
	case k.is("watch-prefix-ignored"):
		prefix = ""
	case k.is("watch-from-inclusive") && from > 0:
		from--
	}
	return func(yield func(vkv.Entry, error) bool) {
		var (
			n    int
			prev vkv.Entry
			held *vkv.Entry // watch-unordered: the first event, held back
		)
		for e, err := range w.Watch(ctx, prefix, from, opts...) {
			if err != nil {
				if k.is("watch-ctx-silent") && ctx.Err() != nil || k.is("watch-close-silent") && errors.Is(err, vkv.ErrClosed) {
					return
				}
				yield(e, err)
				return
			}
			n++
			switch {
			case k.is("watch-duplicates") && n == 2:
				if !yield(e, nil) {
					return
				}
			case k.is("watch-txn-tail-dropped") && n > 1 && e.Version == prev.Version:
				continue
			case k.is("watch-deletes-dropped") && e.Deleted:
				continue
			case k.is("watch-unordered") && n == 1:
				held = &e
				continue
			case k.is("watch-txnend-always") && !e.Progress:
				e.TxnEnd = true
			case k.is("watch-progress-ahead") && e.Progress:
				e.Version++
			case k.is("watch-progress-early") && len(opts) > 0 && !e.Progress:
				// A progress that claims the change before it is delivered.
				if !yield(vkv.Entry{Version: e.Version, Progress: true}, nil) {
					return
				}
			}

			prev = e
			if !yield(e, nil) {
				return
			}
			if k.is("watch-progress-unasked") && !e.Progress {
				if !yield(vkv.Entry{Version: e.Version, Progress: true}, nil) {
					return
				}
			}
			if held != nil {
				if !yield(*held, nil) {
					return
				}
				held = nil
			}
		}
	}
}
