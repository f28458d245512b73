package vkvtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/vkvstore/vkv"
)

// ContentionReport is what CheckUpdateContention measured.
type ContentionReport struct {
	Goroutines, Increments int
	// MaxRuns is the most times one Update ran its function; P99Runs the
	// 99th percentile over all Updates.
	MaxRuns, P99Runs int
}

// String formats r for a test log.
func (r ContentionReport) String() string {
	return fmt.Sprintf("%d goroutines x %d Update increments of one key: runs of one function p99 %d, max %d",
		r.Goroutines, r.Increments, r.P99Runs, r.MaxRuns)
}

// CheckUpdateContention has goroutines goroutines each increment one
// counter key n times through kv.Update (read, add one, put; no Expect), all
// at once, and fails t if any Update returns an error (a transaction must
// never give up because others keep winning), or if the counter is not
// exactly goroutines*n at the end (no lost update). It returns how many
// times the functions ran.
func CheckUpdateContention(t testing.TB, kv vkv.KV, key string, goroutines, n int) ContentionReport {
	t.Helper()
	ctx := t.Context()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		runs  []int
		start = make(chan struct{})
	)
	for g := range goroutines {
		wg.Go(func() {
			<-start
			mine := make([]int, 0, n)
			for i := range n {
				r := 0
				_, err := kv.Update(ctx, func(tx vkv.Txn) error {
					r++
					e, err := tx.Get(key)
					var c int
					switch {
					case err == nil:
						if c, err = strconv.Atoi(string(e.Value)); err != nil {
							return fmt.Errorf("counter %q holds %q: %w", key, e.Value, err)
						}
					case !errors.Is(err, vkv.ErrNotFound):
						return err
					}
					return tx.Put(key, strconv.AppendInt(nil, int64(c+1), 10))
				})
				if err != nil {
					t.Errorf("goroutine %d, increment %d: Update after %d runs: %v", g, i, r, err)
					return
				}
				mine = append(mine, r)
			}
			mu.Lock()
			runs = append(runs, mine...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	rep := ContentionReport{Goroutines: goroutines, Increments: n}
	if len(runs) > 0 {
		slices.Sort(runs)
		rep.MaxRuns = runs[len(runs)-1]
		rep.P99Runs = runs[(len(runs)-1)*99/100]
	}
	if t.Failed() {
		return rep
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q) after the increments: %v", key, err)
	}
	if got, want := string(e.Value), strconv.Itoa(goroutines*n); got != want {
		t.Errorf("counter %q = %s after %d x %d increments, want %s: updates were lost", key, got, goroutines, n, want)
	}
	return rep
}
