package etcdtests

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/vkvstore/vkv/etcdkv"
)

// BenchmarkHistory measures etcdkv's History, which walks back one round
// trip per version, on a key with 1,000 versions written among 100,000
// writes of other keys, on one embedded etcd member. It reports the cost
// per History call and per returned entry.
//
//	go test -run '^$' -bench History -benchtime 20x ./etcdtests
func BenchmarkHistory(b *testing.B) {
	c := StartCluster(b, 1)
	kv, err := etcdkv.New(c.Client(b), "hist/", &etcdkv.Options{NoReaper: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kv.Close() })
	ctx := context.Background()
	const versions, others, writers = 1000, 100_000, 32
	// Every 100th write is one of the key's; the rest spread over 10,000
	// other keys.
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < versions+others; i += writers {
				key := fmt.Sprintf("other/%05d", i%10_000)
				if i%((versions+others)/versions) == 0 {
					key = "hot"
				}
				if _, err := kv.Put(ctx, key, []byte(fmt.Sprintf("value %d", i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	hs, err := kv.History(ctx, "hot", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("the key has %d versions in history", len(hs))
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, err := kv.History(ctx, "hot", 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(hs)), "µs/entry")
	})
	b.Run("limit=10", func(b *testing.B) {
		for b.Loop() {
			if _, err := kv.History(ctx, "hot", 10); err != nil {
				b.Fatal(err)
			}
		}
	})
}
