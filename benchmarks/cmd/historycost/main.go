// Command historycost measures what vkv's history compaction costs: it
// writes -versions puts spread round robin over -keys keys to a fresh store
// (NoSync, default HistoryVersions of 100,000), then leaves the store idle
// and reports the CPU the process uses every 5 s until it is idle again (the
// compaction pass has finished) or -max has passed.
//
//	go run ./cmd/historycost -versions 200000 -keys 10000   # 100k versions to collect, spread
//	go run ./cmd/historycost -versions 102000 -keys 1       # 2k versions of one key
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/vkvstore/vkv"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	versions := flag.Int("versions", 200_000, "puts to write")
	nkeys := flag.Int("keys", 1, "keys the puts go to, round robin")
	maxIdle := flag.Duration("max", 2*time.Minute, "give up waiting for the compaction pass after this long")
	flag.Parse()

	dir, err := os.MkdirTemp("", "historycost-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := vkv.Open(dir, &vkv.Options{NoSync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	keys := make([]string, *nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%013d", i)
	}
	value := make([]byte, 100)
	c0, t0 := cpuTime(), time.Now()
	for i := 0; i < *versions; i++ {
		if _, err := s.Put(ctx, keys[i%len(keys)], value); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%d puts over %d keys: %v, %v of CPU\n", *versions, *nkeys, time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))

	var busy time.Duration
	started := false
	for waited := time.Duration(0); waited < *maxIdle; waited += 5 * time.Second {
		c := cpuTime()
		time.Sleep(5 * time.Second)
		used := cpuTime() - c
		oldest, _ := s.OldestVersion(ctx)
		fmt.Printf("idle %3.0fs: %v of CPU in the last 5 s; oldest kept version %d\n", (waited + 5*time.Second).Seconds(), used.Round(time.Millisecond), oldest)
		if used > 200*time.Millisecond {
			started = true
			busy += used
		} else if started || oldest > 0 {
			fmt.Printf("compaction pass done: %v of CPU while idle\n", busy.Round(time.Millisecond))
			return
		}
	}
	fmt.Printf("still compacting after %v idle: %v of CPU so far\n", *maxIdle, busy.Round(time.Millisecond))
}
