// Command etcdkvbench measures etcdkv, vkv's etcd backend, against the raw
// etcd client (clientv3) doing the same operation on the same etcd member,
// and prints a markdown table of the time per operation of each side and
// their ratio.
//
// One etcd member runs embedded in this process (server/v3/embed; data in a
// temporary directory; fsync on by default, as etcd runs, so that every
// write row is durable; -nosync runs it as --unsafe-no-fsync). Both sides
// use one gRPC client over loopback. -keys keys (100,000) of 16 bytes with
// -value-size byte values (100) are loaded on each side: raw/<key> for the
// raw client, and etcdkv's records under the prefix vkv/. Keys are chosen
// at random. The rows:
//
//   - get: raw Get against etcdkv's Get (both linearizable reads).
//   - get-hot: the same on one key (a best case).
//   - cas: raw Txn(If ModRevision == v, Then Put, Else Get) against
//     etcdkv's CompareAndSwap.
//   - txn4: raw Txn with 4 ModRevision compares and 4 puts (versions known
//     to the caller) against an etcdkv Update that reads 4 keys and writes
//     them.
//   - txn4-read: the same Update against a raw client that first reads the
//     4 keys in one Txn of 4 gets.
//   - cas64: the cas row from 64 goroutines, each on keys of its own.
//
// Each row runs the two sides alternately, raw then etcdkv, -count times
// (3), each for -duration (3 s) after -warmup (500 ms); the table gives
// the medians and the median of the per-alternation ratios, over the
// alternations during which other processes used under 0.25 cores where
// there are any (the machine may be shared). Time per
// operation is wall time over operations: for one goroutine the mean
// latency, for 64 the inverse of the throughput. CPU per operation is this
// process's (the etcd server and the client both), allocs per operation its
// mallocs.
//
//	go run ./cmd/etcdkvbench                       # every row, durable
//	go run ./cmd/etcdkvbench -nosync               # the same on --unsafe-no-fsync
//	go run ./cmd/etcdkvbench -workloads cas -profile-dir /tmp/prof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/vkvstore/vkv/benchmarks/internal/units"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vkvstore/vkv/benchmarks/internal/disk"
	"github.com/vkvstore/vkv/etcdkv"
)

// config is what the flags set.
type config struct {
	keys, valueSize  int
	duration, warmup time.Duration
	count            int
	sync             bool
	dir, profDir     string
	workloads        map[string]bool
	fsyncProbe       time.Duration
}

// result is a whole run.
type result struct {
	cells                []cell
	loadBefore, loadDone string // /proc/loadavg at the start and the end
	loadSeconds          float64
	fsType               string
	fsyncRate            float64
}

func main() {
	var (
		cfg config
		wls string
	)
	flag.IntVar(&cfg.keys, "keys", 100_000, "keys loaded on each side")
	flag.IntVar(&cfg.valueSize, "value-size", 100, "bytes per value")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "measured time per cell")
	flag.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up per cell")
	flag.IntVar(&cfg.count, "count", 3, "alternations (raw, etcdkv) per row")
	nosync := flag.Bool("nosync", false, "run etcd as --unsafe-no-fsync (default: fsync every commit)")
	flag.StringVar(&cfg.dir, "dir", "", "parent of etcd's data directory (default: the system's temporary directory)")
	flag.StringVar(&cfg.profDir, "profile-dir", "", "write a CPU profile of every measured cell (the whole process: etcd server and client) to this directory")
	flag.StringVar(&wls, "workloads", "get,get-hot,cas,txn4,txn4-read,cas64", "rows to run, comma-separated")
	flag.DurationVar(&cfg.fsyncProbe, "fsync-probe", time.Second, "how long to measure the disk's fsync rate first (0: skip)")
	flag.Parse()
	cfg.sync = !*nosync
	cfg.workloads = map[string]bool{}
	for w := range strings.SplitSeq(wls, ",") {
		if w = strings.TrimSpace(w); w != "" {
			cfg.workloads[w] = true
		}
	}
	for w := range cfg.workloads {
		if !slices.ContainsFunc(workloads, func(x workload) bool { return x.id == w }) {
			fatalf("unknown workload %q", w)
		}
	}
	if cfg.keys < 64 || cfg.count < 1 || cfg.duration <= 0 {
		fatalf("-keys must be at least 64, -count and -duration positive")
	}
	res, err := run(cfg, os.Stderr)
	if res != nil {
		printTables(os.Stdout, cfg, res)
	}
	if err != nil {
		fatalf("%v", err)
	}
}

// run starts the member, loads the keys and measures every selected row,
// logging progress to log.
func run(cfg config, log io.Writer) (*result, error) {
	dir, err := os.MkdirTemp(cfg.dir, "etcdkvbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res := &result{loadBefore: loadAvg(), fsType: disk.FSType(dir)}
	if cfg.fsyncProbe > 0 {
		if res.fsyncRate, err = disk.FsyncRate(dir, cfg.fsyncProbe); err != nil {
			return nil, fmt.Errorf("fsync probe: %w", err)
		}
	}
	fmt.Fprintf(log, "etcdkvbench: load average %s; data on %s; 4 KiB write+fsync %.0f/s\n", res.loadBefore, res.fsType, res.fsyncRate)
	n, err := startNode(dir, cfg.sync)
	if err != nil {
		return nil, fmt.Errorf("starting etcd: %w", err)
	}
	defer n.close()
	kv, err := etcdkv.New(n.cli, kvPrefix, nil)
	if err != nil {
		return nil, err
	}
	defer kv.Close()
	b := newBench(n.cli, kv, cfg.keys, cfg.valueSize)
	t0 := time.Now()
	if err := b.load(context.Background()); err != nil {
		return nil, err
	}
	res.loadSeconds = time.Since(t0).Seconds()
	fmt.Fprintf(log, "etcdkvbench: loaded %d keys on each side in %.1f s\n", cfg.keys, res.loadSeconds)
	var errs []error
	for _, wl := range workloads {
		if !cfg.workloads[wl.id] {
			continue
		}
		for round := 1; round <= cfg.count; round++ {
			for _, side := range []string{sideRaw, sideKV} {
				c := measure(b, cfg, wl, side, round)
				res.cells = append(res.cells, c)
				if c.err != "" {
					err := fmt.Errorf("%s on %s, round %d: %s", wl.id, side, round, c.err)
					fmt.Fprintf(log, "etcdkvbench: %v\n", err)
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(log, "etcdkvbench: %-9s %-6s round %d: %s/op  p50 %s  p99 %s  CPU %s/op  %.0f allocs/op  others %.2f cores\n",
					wl.id, side, round, units.Nanos(c.nsPerOp()), units.Nanos(c.p50), units.Nanos(c.p99), units.Nanos(c.cpuPerOp()), c.allocsPerOp(), c.others)
			}
		}
		if len(errs) > 0 {
			break
		}
	}
	res.loadDone = loadAvg()
	return res, errors.Join(errs...)
}

// noisyCores is the CPU other processes may use during a cell before its
// alternation is set aside (when quiet ones exist): the machine is shared.
const noisyCores = 0.25

// target is the bound on etcdkv's time per operation over raw
// clientv3's.
const target = 1.2

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// side returns the successful cells of one workload and side, by round.
func (r *result) side(wl, side string) map[int]cell {
	m := map[int]cell{}
	for _, c := range r.cells {
		if c.workload == wl && c.side == side && c.err == "" && c.ops > 0 {
			m[c.round] = c
		}
	}
	return m
}

func medianOf(cells map[int]cell, f func(cell) float64) float64 {
	var xs []float64
	for _, c := range cells {
		xs = append(xs, f(c))
	}
	return median(xs)
}

// printTables writes the ratio table and the detail table.
func printTables(w io.Writer, cfg config, r *result) {
	durable := "fsync on: write rows durable"
	if !cfg.sync {
		durable = "--unsafe-no-fsync: no row durable"
	}
	fmt.Fprintln(w, "| workload | durable | raw clientv3 time/op | etcdkv time/op | etcdkv / raw (median of pairs) | pairs: min–max | quiet pairs / pairs | target ≤ 1.2x | process CPU/op, etcdkv / raw (median of pairs) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
	for _, wl := range workloads {
		raw, kv := r.side(wl.id, sideRaw), r.side(wl.id, sideKV)
		if len(raw) == 0 && len(kv) == 0 {
			continue
		}
		// The ratio of each alternation, from the quiet ones where there
		// are any: other processes used under noisyCores during both cells.
		var all, ratios, allCPU, cpus []float64
		for round, a := range raw {
			if b, ok := kv[round]; ok {
				x, y := b.nsPerOp()/a.nsPerOp(), b.cpuPerOp()/a.cpuPerOp()
				all, allCPU = append(all, x), append(allCPU, y)
				if a.others <= noisyCores && b.others <= noisyCores {
					ratios, cpus = append(ratios, x), append(cpus, y)
				}
			}
		}
		quiet := len(ratios)
		if quiet == 0 {
			ratios, cpus = all, allCPU
		}
		d := "read"
		if wl.write {
			d = map[bool]string{true: "yes", false: "no"}[cfg.sync]
		}
		ratio, spread, verdict, cpu := "–", "–", "–", "–"
		if len(ratios) > 0 {
			cpu = fmt.Sprintf("%.2fx", median(cpus))
			m := median(ratios)
			ratio = fmt.Sprintf("%.2fx", m)
			spread = fmt.Sprintf("%.2f–%.2fx", slices.Min(ratios), slices.Max(ratios))
			verdict = "met"
			if m > target {
				verdict = "**missed**"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d / %d | %s | %s |\n", wl.title, d,
			units.Nanos(medianOf(raw, cell.nsPerOp)), units.Nanos(medianOf(kv, cell.nsPerOp)), ratio, spread, quiet, len(all), verdict, cpu)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | side | ops/s | p50 | p99 | process CPU/op | allocs/op | other processes (cores, most) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, wl := range workloads {
		for _, side := range []string{sideRaw, sideKV} {
			cs := r.side(wl.id, side)
			if len(cs) == 0 {
				continue
			}
			title := map[string]string{sideRaw: "raw clientv3", sideKV: "etcdkv"}[side]
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.0f | %.2f |\n", wl.id, title,
				units.Rate(medianOf(cs, func(c cell) float64 { return 1e9 / c.nsPerOp() })),
				units.Nanos(medianOf(cs, func(c cell) float64 { return c.p50 })),
				units.Nanos(medianOf(cs, func(c cell) float64 { return c.p99 })),
				units.Nanos(medianOf(cs, cell.cpuPerOp)), medianOf(cs, cell.allocsPerOp),
				slices.Max(mapSlice(cs, func(c cell) float64 { return c.others })))
		}
	}
	fmt.Fprintf(w, "\n_One etcd v3.7.3 member embedded in the process (%s), one gRPC client over loopback; %d keys of 16 bytes per side, %d-byte values, chosen at random; %s per cell after %s of warm-up; %d alternations raw, etcdkv; medians, the ratio over the quiet alternations (other processes under 0.25 cores) where there are any; data on %s%s; load average %s at the start, %s at the end; load of the keys %.1f s._\n",
		durable, cfg.keys, cfg.valueSize, cfg.duration, cfg.warmup, cfg.count, r.fsType, fsyncNote(r.fsyncRate), r.loadBefore, r.loadDone, r.loadSeconds)
}

func mapSlice(cs map[int]cell, f func(cell) float64) []float64 {
	var xs []float64
	for _, c := range cs {
		xs = append(xs, f(c))
	}
	return xs
}

func fsyncNote(rate float64) string {
	if rate == 0 {
		return ""
	}
	return fmt.Sprintf(", %s 4 KiB write+fsync/s (one at a time) before the run", units.Rate(rate))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "etcdkvbench: "+format+"\n", args...)
	os.Exit(2)
}
