// Command rss measures the resident memory of a process that embeds vkv and
// has just loaded keys into it: VmRSS and VmHWM (peak) from /proc/self/status,
// split into anonymous memory and mapped files, and the Go heap in use after
// a GC. The process links only vkv, so its own RSS before opening the store
// is small; benchmarks/cmd/peers measures the same with every peer linked in.
//
//	go run ./cmd/rss                      # default profile, 100,000 keys
//	go run ./cmd/rss -profile throughput  # vkv.ThroughputOptions
//
// Keys are 16 bytes, values 100 bytes, written in transactions of 100 keys
// in random order without fsync, as the peers harness loads them.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/vkvstore/vkv"

	"github.com/vkvstore/vkv/benchmarks/internal/procstat"
	"github.com/vkvstore/vkv/benchmarks/internal/vkvtune"
)

func main() {
	var (
		profile  = flag.String("profile", "default", "options: default (vkv.DefaultOptions) or throughput (vkv.ThroughputOptions)")
		nkeys    = flag.Int("keys", 100_000, "keys to load")
		dir      = flag.String("dir", "", "directory for the store (default: a new temporary one, removed at exit)")
		settle   = flag.Duration("settle", 0, "also measure after this much idle time")
		heapProf = flag.String("heapprofile", "", "write a heap profile after loading to this file")
		tune     vkvtune.Tuning
	)
	tune.Register(flag.CommandLine, "")
	flag.Parse()
	var o vkv.Options
	switch *profile {
	case "default":
		o = vkv.DefaultOptions()
	case "throughput":
		o = vkv.ThroughputOptions()
	default:
		fmt.Fprintf(os.Stderr, "rss: unknown -profile %q\n", *profile)
		os.Exit(2)
	}
	o.NoSync = true
	o, err := tune.Apply(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rss: -%v\n", err)
		os.Exit(2)
	}
	d := *dir
	if d == "" {
		if d, err = os.MkdirTemp("", "vkv-rss-"); err != nil {
			fatal(err)
		}
		defer os.RemoveAll(d)
	}
	keys := make([]string, *nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%013d", i)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	value := make([]byte, 100)
	base := procstat.Status("VmRSS")
	s, err := vkv.Open(d, &o)
	if err != nil {
		fatal(err)
	}
	start := time.Now()
	ctx := context.Background()
	for i := 0; i < len(keys); i += 100 {
		_, err := s.Update(ctx, func(tx vkv.Txn) error {
			for _, k := range keys[i:min(i+100, len(keys))] {
				if err := tx.Put(k, value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			fatal(err)
		}
	}
	load := time.Since(start)
	fmt.Printf("profile %s, %d keys loaded in %.2f s\n", *profile, *nkeys, load.Seconds())
	fmt.Printf("before open: VmRSS %s\n", mib(base))
	report("after loading")
	if *heapProf != "" {
		f, err := os.Create(*heapProf)
		if err != nil {
			fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			fatal(err)
		}
		f.Close()
	}
	if *settle > 0 {
		time.Sleep(*settle)
		report(fmt.Sprintf("after %s idle", *settle))
	}
	if err := s.Close(); err != nil {
		fatal(err)
	}
}

func report(stage string) {
	rssNow, anon, file, hwm := procstat.Status("VmRSS"), procstat.Status("RssAnon"), procstat.Status("RssFile"), procstat.Status("VmHWM")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%s: VmRSS %s (anonymous %s, mapped files and binary %s), VmHWM %s, Go heap in use after GC %s\n",
		stage, mib(rssNow), mib(anon), mib(file), mib(hwm), mib(ms.HeapInuse))
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rss:", err)
	os.Exit(1)
}
