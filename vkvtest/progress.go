package vkvtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
)

// feed is a watch read in its own goroutine, one item at a time.
type feed struct {
	items chan feedItem
	seen  []vkv.Entry // every entry received so far, progress included
}

// feedItem is one value of a watch sequence.
type feedItem struct {
	e   vkv.Entry
	err error
}

// startFeed starts w.Watch(prefix, from, opts...) in a goroutine that ends
// with the test (or after watchTimeout).
func startFeed(t *testing.T, w vkv.Watcher, prefix string, from vkv.Version, opts ...vkv.WatchOption) *feed {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), watchTimeout)
	f := &feed{items: make(chan feedItem)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(f.items)
		for e, err := range w.Watch(ctx, prefix, from, opts...) {
			select {
			case f.items <- feedItem{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f
}

// next returns the next entry of the watch and checks that it keeps the
// promises of progress notifications relative to the entries before it.
func (f *feed) next(t *testing.T, what string) vkv.Entry {
	t.Helper()
	it, ok := <-f.items
	if !ok {
		t.Fatalf("%s: the watch ended after %d entries", what, len(f.seen))
	}
	if it.err != nil {
		t.Fatalf("%s: the watch ended with %v after %+v", what, it.err, f.seen)
	}
	checkProgressOrder(t, what, f.seen, it.e)
	f.seen = append(f.seen, it.e)
	return it.e
}

// nextChange returns the next change of the watch, skipping progress
// notifications.
func (f *feed) nextChange(t *testing.T, what string) vkv.Entry {
	t.Helper()
	for {
		if e := f.next(t, what); !e.Progress {
			return e
		}
	}
}

// nextProgress returns the next progress notification with a version of at
// least min, and the changes that came before it.
func (f *feed) nextProgress(t *testing.T, what string, min vkv.Version) (vkv.Entry, []vkv.Entry) {
	t.Helper()
	var changes []vkv.Entry
	for {
		e := f.next(t, what)
		if !e.Progress {
			changes = append(changes, e)
			continue
		}
		if e.Version >= min {
			return e, changes
		}
	}
}

// checkProgressOrder checks e, the entry that follows seen in a watch
// sequence: a progress notification has Key "", no value, and a version not
// below any entry before it; a change has a version above every progress
// notification before it (a change at or below one would have been owed
// before it).
func checkProgressOrder(t *testing.T, what string, seen []vkv.Entry, e vkv.Entry) {
	t.Helper()
	var maxChange, maxProgress vkv.Version
	for _, s := range seen {
		if s.Progress {
			maxProgress = max(maxProgress, s.Version)
		} else {
			maxChange = max(maxChange, s.Version)
		}
	}
	switch {
	case e.Progress && (e.Key != "" || len(e.Value) != 0 || e.Deleted || e.TxnEnd):
		t.Errorf("%s: progress notification %+v, want only Progress and Version set", what, e)
	case e.Progress && e.Version < max(maxChange, maxProgress):
		t.Errorf("%s: progress notification at %d after a change at %d or a progress at %d", what, e.Version, maxChange, maxProgress)
	case !e.Progress && maxProgress > 0 && e.Version <= maxProgress:
		t.Errorf("%s: change %q at %d after a progress notification at %d: the progress claimed a change not yet delivered",
			what, e.Key, e.Version, maxProgress)
	}
}

// checkTxnEnds checks that in got, changes in version order, exactly the
// last change of each version has TxnEnd set.
func checkTxnEnds(t *testing.T, what string, got []vkv.Entry) {
	t.Helper()
	for i, e := range got {
		last := i == len(got)-1 || got[i+1].Version != e.Version
		if e.TxnEnd != last {
			t.Errorf("%s: change %d (%q at %d) has TxnEnd %v, want %v (true only on the last change of its version)", what, i, e.Key, e.Version, e.TxnEnd, last)
		}
	}
}

// testWatchTxnEnd: the last change of each version under the watched prefix,
// and only it, has TxnEnd set: a transaction writing three keys under the
// prefix and two outside it ends on the third; single writes always end
// their transaction.
func testWatchTxnEnd(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	ctx := t.Context()
	put(t, kv, "t/0", "before")
	vTxn, err := kv.Update(ctx, func(tx vkv.Txn) error {
		tx.Put("t/a", []byte("1"))
		tx.Put("u/x", []byte("outside"))
		tx.Put("t/b", []byte("2"))
		tx.Delete("t/0")
		return tx.Put("u/y", []byte("outside"))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	put(t, kv, "t/c", "single")
	del(t, kv, "t/a")
	put(t, kv, "u/end", "")
	put(t, kv, "t/end", "")
	for _, c := range []struct {
		prefix, stop string
		inTxn        int // changes of the transaction under prefix
		reason       string
	}{
		{"t/", "t/end", 3, "3 of the transaction's changes are under t/, the last of them (whichever it is) ends it"},
		{"u/", "u/end", 2, "the transaction's last change under u/ ends it for this watcher"},
		{"", "t/end", 5, "all 5 changes, one TxnEnd"},
	} {
		what := fmt.Sprintf("Watch(%q, 0)", c.prefix)
		got, err := watchUntil(ctx, w, c.prefix, 0, c.stop)
		if err != nil {
			t.Errorf("%s: %v after %d events", what, err, len(got))
			continue
		}
		checkTxnEnds(t, what+" ("+c.reason+")", got)
		n := 0
		for _, e := range got {
			if e.Version == vTxn {
				n++
			}
		}
		if n != c.inTxn {
			t.Errorf("%s: %d changes at the transaction's version %d, want %d", what, n, vTxn, c.inTxn)
		}
	}
}

// testWatchProgressPeriodic: a watcher asking for progress every interval
// on a quiet prefix gets notifications that follow the store as it moves on
// elsewhere, each after every change at or below its version, and never a
// version the store has not reached.
func testWatchProgressPeriodic(t *testing.T, kv vkv.KV, clock *suiteClock) {
	every := time.Minute
	if clock.fake == nil {
		every = 100 * time.Millisecond
	}
	w := watcher(t, kv)
	put(t, kv, "p/a", "1")
	f := startFeed(t, w, "p/", 0, vkv.WithProgressNotify(every))
	if e := f.nextChange(t, "Watch(p/, 0, WithProgressNotify)"); e.Key != "p/a" || !e.TxnEnd {
		t.Fatalf("Watch(p/, 0, WithProgressNotify): first change %+v, want p/a with TxnEnd", e)
	}
	for round := range 3 {
		what := fmt.Sprintf("Watch(p/, 0, WithProgressNotify(%v)), round %d", every, round)
		vq := put(t, kv, keyf("q/%d", round), "elsewhere")
		clock.pass(every)
		p, _ := f.nextProgress(t, what, vq)
		if after := put(t, kv, keyf("q/after%d", round), ""); p.Version >= after {
			t.Errorf("%s: progress at %d, a version the store had not reached (the next write got %d)", what, p.Version, after)
		}
	}
	// A change under the prefix comes before any progress that covers it.
	vc := put(t, kv, "p/c", "2")
	clock.pass(every)
	_, changes := f.nextProgress(t, "Watch(p/, 0, WithProgressNotify) after p/c", vc)
	if len(changes) != 1 || changes[0].Key != "p/c" || changes[0].Version != vc {
		t.Errorf("Watch(p/, 0, WithProgressNotify): changes before the progress at or above %d: %+v, want p/c at %d", vc, changes, vc)
	}
}

// testWatchProgressRequest: a watcher asking for progress on request gets
// one notification per request, with a version at least the store's when it
// asked, and none unasked.
func testWatchProgressRequest(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	put(t, kv, "p/a", "1")
	reqs := make(chan struct{})
	f := startFeed(t, w, "p/", 0, vkv.WithProgressRequests(reqs))
	const what = "Watch(p/, 0, WithProgressRequests)"
	if e := f.next(t, what); e.Progress || e.Key != "p/a" {
		t.Fatalf("%s: first entry %+v, want the change p/a and no progress before a request", what, e)
	}
	for round := range 3 {
		vq := put(t, kv, keyf("q/%d", round), "elsewhere")
		reqs <- struct{}{}
		p := f.next(t, what)
		if !p.Progress || p.Version < vq {
			t.Fatalf("%s: round %d: %+v after a request, want a progress notification at %d or above", what, round, p, vq)
		}
	}
	vc := put(t, kv, "p/c", "2")
	if e := f.next(t, what); e.Progress || e.Key != "p/c" || e.Version != vc {
		t.Errorf("%s: %+v after the requests were answered, want the change p/c at %d and no unasked progress", what, e, vc)
	}
	close(reqs) // a closed channel asks for nothing more
	vd := put(t, kv, "p/d", "3")
	if e := f.next(t, what); e.Progress || e.Key != "p/d" || e.Version != vd {
		t.Errorf("%s: %+v after the request channel was closed, want the change p/d at %d", what, e, vd)
	}
}

// testWatchProgressRacing: while writers commit under the prefix and beside
// it and ask for progress after their writes, no progress notification
// comes before a change at or below its version, and the changes are
// exactly the committed ones.
func testWatchProgressRacing(t *testing.T, kv vkv.KV) {
	w := watcher(t, kv)
	ctx := t.Context()
	reqs := make(chan struct{}, 1)
	f := startFeed(t, w, "r/", 0, vkv.WithProgressRequests(reqs))
	var (
		mu   sync.Mutex
		keys = map[string]bool{"r/end": true}
		wg   sync.WaitGroup
	)
	for g := range workers {
		wg.Go(func() {
			for i := range 20 {
				k, other := keyf("r/%d/%d", g, i%5), keyf("s/%d", g)
				mu.Lock()
				keys[k] = true
				mu.Unlock()
				var err error
				if i%3 == 2 {
					_, err = kv.Update(ctx, func(tx vkv.Txn) error {
						tx.Put(k, []byte("t"))
						tx.Put(other, nil)
						return tx.Put(keyf("r/%d/t", g), nil)
					})
					mu.Lock()
					keys[keyf("r/%d/t", g)] = true
					mu.Unlock()
				} else {
					key := other
					if i%2 == 0 {
						key = k
					}
					_, err = kv.Put(ctx, key, []byte("p"))
				}
				if err != nil {
					t.Errorf("writer %d: %v", g, err)
					return
				}
				if i%4 == 0 {
					select {
					case reqs <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	// Read while the writers write; the feed checks the order of every entry.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case it, ok := <-f.items:
				if !ok || it.err != nil {
					t.Errorf("Watch(r/, 0, WithProgressRequests): ended with %v", it.err)
					return
				}
				checkProgressOrder(t, "Watch(r/, 0, WithProgressRequests)", f.seen, it.e)
				f.seen = append(f.seen, it.e)
				if it.e.Key == "r/end" {
					return
				}
			case <-time.After(watchTimeout):
				t.Errorf("Watch(r/, 0, WithProgressRequests): no r/end after %d entries", len(f.seen))
				return
			}
		}
	}()
	wg.Wait()
	stopAt := put(t, kv, "r/end", "")
	<-drained
	if t.Failed() {
		return
	}
	reqs <- struct{}{}
	f.nextProgress(t, "Watch(r/, 0, WithProgressRequests) after r/end", stopAt)
	var changes []vkv.Entry
	for _, e := range f.seen {
		if !e.Progress {
			changes = append(changes, e)
		}
	}
	all := make([]string, 0, len(keys))
	for k := range keys {
		all = append(all, k)
	}
	checkWatched(t, "Watch(r/, 0, WithProgressRequests)", changes, committed(t, kv, all, "r/", 0))
}
