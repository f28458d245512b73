package vkv_test

import (
	"context"
	"fmt"
	"iter"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
)

// Watch benchmarks, embedded (Store.Watch) and over HTTP (vkvclient.Watch
// reading GET /v1/watch from httpapi on loopback). docs/watch.md has the
// numbers and the commands:
//
//	go test -run '^$' -bench 'WatchLatency' -benchtime 5000x .
//	go test -run '^$' -bench 'WatchReplay' -benchtime 3x .

// watchPaths runs f with the embedded store's Watch and with a client's
// Watch over a loopback server of the same store.
func watchPaths(b *testing.B, s *vkv.Store, f func(b *testing.B, w vkv.Watcher)) {
	b.Run("path=embedded", func(b *testing.B) { f(b, s) })
	b.Run("path=sse", func(b *testing.B) {
		srv := httptest.NewServer(httpapi.New(s))
		defer func() {
			srv.CloseClientConnections()
			srv.Close()
		}()
		c, err := vkvclient.New(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		f(b, c)
	})
}

// BenchmarkWatchLatency measures the time from the start of a Put to the
// delivery of its event to a watcher, one write at a time, and reports its
// median and 99th percentile (and those of the Put itself, for scale).
func BenchmarkWatchLatency(b *testing.B) {
	s, err := vkv.Open(b.TempDir(), &vkv.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	watchPaths(b, s, func(b *testing.B, w vkv.Watcher) {
		ctx, cancel := context.WithCancel(context.Background())
		from, _ := s.CurrentVersion(ctx)
		events := make(chan vkv.Entry, 1)
		var wg sync.WaitGroup
		wg.Go(func() {
			for e, err := range w.Watch(ctx, "lat/", from) {
				if err != nil {
					return
				}
				events <- e
			}
		})
		defer func() {
			cancel()
			wg.Wait()
		}()
		// One write before timing: the stream is up.
		if _, err := s.Put(ctx, "lat/warm", nil); err != nil {
			b.Fatal(err)
		}
		<-events
		var lat, put []time.Duration
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			v, err := s.Put(ctx, "lat/"+benchKey(i), benchValue)
			if err != nil {
				b.Fatal(err)
			}
			acked := time.Now()
			e := <-events
			lat = append(lat, time.Since(start))
			put = append(put, acked.Sub(start))
			if e.Version != v {
				b.Fatalf("event at version %d, want %d", e.Version, v)
			}
		}
		b.ReportMetric(pct(lat, 50), "p50-µs")
		b.ReportMetric(pct(lat, 99), "p99-µs")
		b.ReportMetric(pct(put, 50), "put-p50-µs")
		b.ReportMetric(pct(put, 99), "put-p99-µs")
	})
}

// pct returns the p-th percentile of ds in microseconds.
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return float64(s[i].Nanoseconds()) / 1e3
}

// replayChanges is how many changes BenchmarkWatchReplay replays.
const replayChanges = 100_000

// BenchmarkWatchReplay measures how fast a watch from version 0 replays
// 100 000 committed changes of 100-byte values: written as single puts
// (100 000 versions) and as transactions of 100 puts (1 000 versions). It
// reports events per second.
func BenchmarkWatchReplay(b *testing.B) {
	for _, txn := range []int{1, 100} {
		b.Run(fmt.Sprintf("txn=%d", txn), func(b *testing.B) {
			s, err := vkv.Open(b.TempDir(), &vkv.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fillChanges(b, s, txn)
			watchPaths(b, s, func(b *testing.B, w vkv.Watcher) {
				n := 0
				for b.Loop() {
					n += replay(b, w.Watch(context.Background(), "", 0))
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			})
		})
	}
}

// fillChanges commits replayChanges puts, txn per transaction, from 8
// writers at once (group commit keeps that fast).
func fillChanges(b *testing.B, s *vkv.Store, txn int) {
	b.Helper()
	const writers = 8 // divides replayChanges/txn
	ctx := context.Background()
	var wg sync.WaitGroup
	per := replayChanges / txn / writers
	for g := range writers {
		wg.Go(func() {
			for i := range per {
				base := (g*per + i) * txn
				var err error
				if txn == 1 {
					_, err = s.Put(ctx, benchKey(base), benchValue)
				} else {
					_, err = s.Update(ctx, func(tx vkv.Txn) error {
						for j := range txn {
							if err := tx.Put(fmt.Sprintf("key%012d", base+j), benchValue); err != nil {
								return err
							}
						}
						return nil
					})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// replay reads seq until it has seen replayChanges events and returns how
// many it saw.
func replay(b *testing.B, seq iter.Seq2[vkv.Entry, error]) int {
	n := 0
	for _, err := range seq {
		if err != nil {
			b.Fatalf("replay after %d events: %v", n, err)
		}
		if n++; n == replayChanges {
			break
		}
	}
	return n
}
