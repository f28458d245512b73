// Command peers runs the same workloads on vkv and on the stores its users
// would choose instead (raw Badger, bbolt, Pebble and embedded etcd) at equal
// durability, and prints one markdown table with the engines as columns.
//
// Each engine runs in a child process of its own (this binary re-executed
// with -child), so that its resident memory after loading is its own. In the
// child, 100,000 keys of 16 bytes with 100-byte values are loaded in
// transactions of 100 without fsync; then get and single-goroutine CAS run
// without fsync; the store is closed and reopened with fsync on every commit
// for the durable workloads. Each cell runs for -duration after a warm-up;
// with -count above 1 every engine runs that many times, interleaved, and the
// table shows medians.
//
//	go run ./cmd/peers                 # the full table, about 3 s per cell
//	go run ./cmd/peers -quick          # a smoke run, a few hundred ms per cell
//	go run ./cmd/peers -engines vkv,pebble -workloads hot16-sync -count 3
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/vkvstore/vkv"

	"github.com/vkvstore/vkv/benchmarks/internal/disk"
	"github.com/vkvstore/vkv/benchmarks/internal/vkvtune"
)

func main() {
	var (
		child     = flag.String("child", "", "internal: run one engine in this process and print its results as JSON")
		engines   = flag.String("engines", strings.Join(engineNames, ","), "engines to run, comma-separated")
		wls       = flag.String("workloads", "all", "workloads to run: all, none, or comma-separated ids of "+workloadIDs())
		duration  = flag.Duration("duration", 3*time.Second, "measured time per cell")
		warmup    = flag.Duration("warmup", -1, "unmeasured warm-up per cell (default: duration/5, at most 1s)")
		quick     = flag.Bool("quick", false, "smoke run: 300ms per cell, 50ms warm-up (overrides -duration and -warmup)")
		count     = flag.Int("count", 1, "runs per engine; the table shows the median of each figure")
		reruns    = flag.Int("reruns", 2, "extra runs per engine, of the cells that have fewer than -count quiet runs (other processes busy meanwhile)")
		nkeys     = flag.Int("keys", 100_000, "keys loaded before the workloads")
		dir       = flag.String("dir", "", "directory for the stores' temporary data (default: the system temp dir)")
		jsonOut   = flag.String("json", "", "also write every run's raw results to this file")
		profDir   = flag.String("profile-dir", "", "write a CPU profile of every measured cell, and a heap profile after loading, to this directory")
		settle    = flag.Duration("settle", 20*time.Second, "idle time after loading before RSS is measured again, in the first run (0: skip)")
		fsyncTime = flag.Duration("fsync-probe", time.Second, "how long to measure the disk's fsync rate before the runs (0: skip)")
	)
	var tune vkvtune.Tuning // -vkv-*: the vkv engines' options, for experiments
	tune.Register(flag.CommandLine, "vkv-")
	flag.Parse()
	if *quick {
		*duration, *warmup, *settle = 300*time.Millisecond, 50*time.Millisecond, 0
		if *fsyncTime > 200*time.Millisecond {
			*fsyncTime = 200 * time.Millisecond
		}
	}
	if *warmup < 0 {
		*warmup = min(*duration/5, time.Second)
	}
	cfg := benchConfig{keys: *nkeys, duration: *duration, warmup: *warmup, dir: *dir, profDir: *profDir, settle: *settle, workloads: map[string]bool{},
		tune: tune}
	if _, err := tune.Apply(vkv.Options{}); err != nil {
		fatalf("-vkv-%v", err)
	}
	for _, id := range strings.Split(*wls, ",") {
		id = strings.TrimSpace(id)
		if id == "none" || id == "" {
			continue
		}
		if id == "all" {
			for _, w := range workloads {
				cfg.workloads[w.id] = true
			}
			continue
		}
		if !slices.ContainsFunc(workloads, func(w workload) bool { return w.id == id }) {
			fatalf("unknown workload %q (have %s)", id, workloadIDs())
		}
		cfg.workloads[id] = true
	}
	if cfg.keys < 64 {
		fatalf("-keys must be at least 64")
	}

	if *child != "" {
		res, err := runChild(*child, cfg)
		if err != nil {
			fatalf("%s: %v", *child, err)
		}
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			fatalf("%v", err)
		}
		return
	}

	if cfg.profDir != "" {
		if err := os.MkdirAll(cfg.profDir, 0o755); err != nil {
			fatalf("-profile-dir: %v", err)
		}
	}
	var names []string
	for _, n := range strings.Split(*engines, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(engineNames, n) {
			fatalf("unknown engine %q (have %s)", n, strings.Join(engineNames, ","))
		}
		names = append(names, n)
	}
	exe, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	rep := report{cfg: cfg, count: *count}
	if *fsyncTime > 0 {
		rate, fs, err := fsyncProbe(cfg.dir, *fsyncTime)
		if err != nil {
			fatalf("fsync probe: %v", err)
		}
		rep.fsyncRate, rep.fsType = rate, fs
		logf("data directory on %s; fsync of a 4 KiB write: %.0f/s", fs, rate)
		if fs == "tmpfs" || fs == "ramfs" {
			logf("WARNING: the data directory is in memory: fsync is free and the durable columns mean nothing; use -dir")
		}
	}
	results := map[string][]*childResult{}
	failed := false
	for run := 1; run <= *count; run++ {
		for _, name := range names {
			logf("run %d/%d: %s", run, *count, name)
			c := cfg
			if run > 1 {
				c.settle = 0 // the idle RSS is measured in the first run only
			}
			res, err := runChildProcess(exe, name, c)
			if err != nil {
				logf("%s: %v", name, err)
				failed = true
				continue
			}
			for _, p := range res.Errors {
				logf("%s: CHECK FAILED: %s", name, p)
				failed = true
			}
			for _, w := range workloads {
				if c, ok := res.Cells[w.id]; ok && c.Others > noisyCores {
					logf("%s: %s: NOISY: other processes used %.2f cores meanwhile", name, w.id, c.Others)
				}
			}
			results[name] = append(results[name], res)
		}
	}
	// Rerun the cells that other processes disturbed, so that each figure
	// is the median of -count quiet runs where the machine allows.
	for _, name := range names {
		for extra := 1; extra <= *reruns; extra++ {
			sub := cfg
			sub.settle = 0
			sub.workloads = map[string]bool{}
			for _, w := range workloads {
				if cfg.workloads[w.id] && quietRuns(results[name], w.id) < *count {
					sub.workloads[w.id] = true
				}
			}
			if len(sub.workloads) == 0 {
				break
			}
			logf("rerun %d/%d of noisy cells: %s", extra, *reruns, name)
			res, err := runChildProcess(exe, name, sub)
			if err != nil {
				logf("%s: %v", name, err)
				failed = true
				continue
			}
			for _, p := range res.Errors {
				logf("%s: CHECK FAILED: %s", name, p)
				failed = true
			}
			results[name] = append(results[name], res)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fatalf("%v", err)
		}
	}
	rep.names = names
	rep.results = results
	rep.print(os.Stdout)
	if failed {
		os.Exit(1)
	}
}

// noisyCores is the CPU other processes may use during a cell before it is
// reported as noisy.
const noisyCores = 0.25

// quietRuns counts the runs of a cell that ended without error while other
// processes stayed below noisyCores.
func quietRuns(runs []*childResult, id string) int {
	n := 0
	for _, r := range runs {
		if c, ok := r.Cells[id]; ok && c.Err == "" && c.Others <= noisyCores {
			n++
		}
	}
	return n
}

func workloadIDs() string {
	var ids []string
	for _, w := range workloads {
		ids = append(ids, w.id)
	}
	return strings.Join(ids, ",")
}

// runChildProcess re-executes this binary to measure one engine.
func runChildProcess(exe, name string, cfg benchConfig) (*childResult, error) {
	var ids []string
	for _, w := range workloads {
		if cfg.workloads[w.id] {
			ids = append(ids, w.id)
		}
	}
	args := []string{
		"-child", name,
		"-keys", fmt.Sprint(cfg.keys),
		"-duration", cfg.duration.String(),
		"-warmup", cfg.warmup.String(),
		"-workloads", strings.Join(ids, ","),
		"-dir", cfg.dir,
		"-profile-dir", cfg.profDir,
		"-settle", cfg.settle.String(),
	}
	args = append(args, cfg.tune.Args("vkv-")...)
	// Loading, reopening and every cell, with room for a slow machine.
	limit := 10*time.Minute + time.Duration(len(ids))*2*(cfg.duration+cfg.warmup)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("child: %w", err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("child output: %w", err)
	}
	return &res, nil
}

// fsyncProbe measures the disk under dir (see disk.FsyncRate) and names its
// file system.
func fsyncProbe(dir string, d time.Duration) (float64, string, error) {
	rate, err := disk.FsyncRate(dir, d)
	return rate, disk.FSType(dir), err
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
	os.Exit(2)
}
