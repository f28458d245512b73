// Command httpload measures vkv's HTTP server on loopback against a bare
// net/http handler, a minimal CAS handler over raw Badger and etcd's JSON
// gateway, with a keep-alive load generator of -conns connections (64 by
// default), and prints one markdown table.
//
// Keys are 16 bytes and hold 100-byte values. By default every server is
// preloaded with -keys keys (100,000) and each request takes one at random:
// connection i among the keys j with j%conns == i, so that no two
// connections write one key. With -hot (the "hot cache" variant, the
// harness's first mode) each connection always uses one key of its own, and
// only those are preloaded.
//
// Workloads:
//
//   - get: GET /v1/kv/KEY on vkv (httpapi over vkv.Open, durable defaults),
//     and on a bare handler that answers the same status, headers and body
//     (copied once from a real vkv answer) without looking at the request;
//     POST /v3/kv/range on etcd's JSON gateway.
//   - cas-sync and cas-nosync: a compare-and-swap loop, with and without
//     fsync: vkv's PUT /v1/kv/KEY with If-Match: "VERSION"; the same on a
//     handler doing the CAS in one raw Badger transaction (vkv's Badger
//     profile, the version as an 8-byte prefix of the value); and etcd's POST
//     /v3/kv/txn (compare MOD revision, put) through its grpc-gateway JSON
//     API. Each connection learns its key's new version from the answer (the
//     ETag, or etcd's header.revision) and sends it with its next CAS. Every
//     CAS must succeed, since no one else writes the key: a failure is
//     counted and fails the run.
//
// Servers over etcd: vkv-etcd is the real vkv serve -etcd (the binary of
// cmd/vkv, built from this tree unless -vkv names one), with its defaults
// (request log at Info, metrics), over one embedded etcd member in a child
// process whose keys etcdkv preloaded; vkv-etcd2 is two vkv serve replicas
// over the same member, the connections spread over both. Their server CPU
// is the etcd member's and the replicas' together.
//
// Each server runs in a fresh child process (this binary re-executed) with a
// fresh data directory, so that its CPU time can be read from
// /proc/PID/stat: the table's server CPU per request is the child's
// utime+stime over the measured interval divided by the requests answered
// in it. Other processes' CPU over the same interval is reported too: the
// machine may be shared.
//
//	go run ./cmd/httpload                         # every cell once, 5 s each after 1 s of warm-up
//	go run ./cmd/httpload -duration 5s -count 3   # medians of 3 runs
//	go run ./cmd/httpload -workloads cas-sync -servers vkv,etcd
//	go run ./cmd/httpload -servers vkv-etcd,vkv-etcd2,etcd -workloads get,cas-sync
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/vkvstore/vkv/benchmarks/internal/units"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vkvstore/vkv/benchmarks/internal/disk"
)

// Workloads.
const (
	wlGet       = "get"
	wlCASSync   = "cas-sync"
	wlCASNoSync = "cas-nosync"
)

// cellSpec is one cell of the table: a workload on a server.
type cellSpec struct {
	workload, kind string
}

// cells in the order of the table. The bare GET cell needs vkv's answer,
// which the vkv GET cell before it captures.
var cells = []cellSpec{
	{wlGet, kindVKV}, {wlGet, kindBare}, {wlGet, kindVKVServe}, {wlGet, kindVKVTLS},
	{wlGet, kindEtcd}, {wlGet, kindEtcdKV}, {wlGet, kindEtcdKV2},
	{wlCASSync, kindVKV}, {wlCASSync, kindVKVServe}, {wlCASSync, kindVKVTLS}, {wlCASSync, kindBadger}, {wlCASSync, kindEtcd},
	{wlCASSync, kindEtcdKV}, {wlCASSync, kindEtcdKV2},
	{wlCASNoSync, kindVKV}, {wlCASNoSync, kindBadger}, {wlCASNoSync, kindEtcd},
}

// config is what the flags set.
type config struct {
	duration, warmup time.Duration
	conns, count     int
	keys             int  // keys preloaded and chosen at random (not with hot)
	hot              bool // the hot-cache variant: connection i always uses key i
	vkvBin           string
	reruns           int
	valueSize        int
	dir              string
	profDir          string
	fsyncProbe       time.Duration
	// set by run: the data directory's file system and fsync rate
	fsType    string
	fsyncRate float64
	workloads map[string]bool
	servers   map[string]bool
}

// cellResult is one measurement of one cell.
type cellResult struct {
	spec          cellSpec
	run           int // the interleaved run it belongs to, from 1; 0 for a rerun
	seconds       float64
	ops           uint64
	failures      uint64
	firstErr      string
	p50, p99, max float64 // nanoseconds
	serverCPU     float64 // seconds, every server process together
	etcdCPU       float64 // seconds, of which the etcd member (vkv-etcd kinds)
	clientCPU     float64 // seconds
	others        float64 // cores used by other processes meanwhile
	cpuOK         bool
}

func (c cellResult) opsPerSec() float64 { return float64(c.ops) / c.seconds }

// serverCPUPerOp and clientCPUPerOp are in nanoseconds.
func (c cellResult) serverCPUPerOp() float64 { return c.serverCPU * 1e9 / float64(c.ops) }
func (c cellResult) clientCPUPerOp() float64 { return c.clientCPU * 1e9 / float64(c.ops) }
func (c cellResult) etcdCPUPerOp() float64   { return c.etcdCPU * 1e9 / float64(c.ops) }

// nkeys is how many keys each server preloads.
func (cfg config) nkeys() int {
	if cfg.hot {
		return cfg.conns
	}
	return cfg.keys
}

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(serveMain(os.Args[1:]))
	}
	var (
		duration  = flag.Duration("duration", 5*time.Second, "measured time per cell")
		warmup    = flag.Duration("warmup", time.Second, "unmeasured warm-up per cell, on the same connections")
		conns     = flag.Int("conns", 64, "keep-alive connections, one request in flight on each")
		keys      = flag.Int("keys", 100_000, "keys preloaded in every server, each request on one at random (at least -conns)")
		hot       = flag.Bool("hot", false, "hot cache: each connection always uses one key of its own, and only those are preloaded (the harness's first mode)")
		vkvBin    = flag.String("vkv", "", "the vkv binary the vkv-etcd servers run (default: built from this tree with go build)")
		count     = flag.Int("count", 1, "runs of every cell, interleaved; the table shows medians")
		dir       = flag.String("dir", "", "directory for the servers' data, one fresh subdirectory per cell (default: a temporary directory, removed after)")
		wls       = flag.String("workloads", "get,cas-sync,cas-nosync", "workloads to run, comma-separated")
		servers   = flag.String("servers", "vkv,bare,vkv-serve,vkv-tls,badger,etcd,vkv-etcd,vkv-etcd2", "servers to run, comma-separated (bare needs vkv's get cell)")
		valueSize = flag.Int("value-size", 100, "bytes per value")
		profDir   = flag.String("profile-dir", "", "write a CPU profile of every server child (its whole life) to this directory")
		reruns    = flag.Int("reruns", 2, "extra runs of the cells that have fewer than -count quiet runs (other processes used more than 0.25 cores meanwhile)")
		probe     = flag.Duration("fsync-probe", time.Second, "how long to measure the disk's fsync rate before the runs (0: skip)")
		_         = flag.String("serve", "", "internal: run one server (with "+childEnv+" set)")
	)
	flag.Parse()
	cfg := config{duration: *duration, warmup: *warmup, conns: *conns, keys: *keys, hot: *hot, vkvBin: *vkvBin, count: *count, valueSize: *valueSize,
		dir: *dir, profDir: *profDir, fsyncProbe: *probe, reruns: *reruns, workloads: set(*wls), servers: set(*servers)}
	if cfg.conns < 1 || cfg.count < 1 || cfg.duration <= 0 {
		fatalf("-conns, -count and -duration must be positive")
	}
	if !cfg.hot && cfg.keys < cfg.conns {
		fatalf("-keys must be at least -conns (or give -hot)")
	}
	if cfg.servers[kindBare] && cfg.workloads[wlGet] && !cfg.servers[kindVKV] {
		fatalf("the bare server copies vkv's answer: -servers needs vkv with bare")
	}

	// Kill the running child on SIGINT or SIGTERM (Pdeathsig covers the rest).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		killChildren()
		fatalf("%v", s)
	}()

	results, err := run(&cfg, os.Stderr)
	killChildren()
	printTable(os.Stdout, cfg, results)
	if err != nil {
		fatalf("%v", err)
	}
}

func set(list string) map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m[s] = true
		}
	}
	return m
}

// run measures every selected cell cfg.count times, interleaved, logging
// progress to log. It returns every measurement and an error if any cell
// failed (a CAS that did not succeed, a wrong answer, a server that failed).
func run(cfg *config, log io.Writer) ([]cellResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	base := cfg.dir
	if base == "" {
		if base, err = os.MkdirTemp("", "httpload-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(base)
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	cfg.fsType = disk.FSType(base)
	if cfg.fsyncProbe > 0 {
		if cfg.fsyncRate, err = disk.FsyncRate(base, cfg.fsyncProbe); err != nil {
			return nil, fmt.Errorf("fsync probe: %w", err)
		}
		fmt.Fprintf(log, "httpload: data on %s; 4 KiB write+fsync: %.0f/s\n", cfg.fsType, cfg.fsyncRate)
	}
	if cfg.vkvBin == "" && (cfg.servers[kindEtcdKV] || cfg.servers[kindEtcdKV2]) {
		bin, err := os.MkdirTemp("", "httpload-vkv-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(bin)
		cfg.vkvBin = filepath.Join(bin, "vkv")
		fmt.Fprintf(log, "httpload: building vkv (github.com/vkvstore/vkv/cmd/vkv) for the vkv-etcd servers\n")
		// Built in vkv's own module (the replace directive's directory),
		// with its go.mod and go.sum: the binary users build, and the
		// dependencies only cmd/vkv uses need no entry here.
		dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vkvstore/vkv").Output()
		if err != nil {
			return nil, fmt.Errorf("finding vkv's module (run from the benchmarks module, or give -vkv): %w", err)
		}
		build := exec.Command("go", "build", "-o", cfg.vkvBin, "./cmd/vkv")
		build.Dir = strings.TrimSpace(string(dir))
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/vkv in %s (or give -vkv): %w\n%s", build.Dir, err, out)
		}
	}
	var (
		results []cellResult
		errs    []error
		spec    *bareSpec // vkv's GET answer, for the bare server
		n       int
	)
	measure := func(label string, runNo int, c cellSpec) {
		n++
		if c.kind == kindBare && spec == nil {
			errs = append(errs, errors.New("get on bare: no answer of vkv's to copy"))
			return
		}
		dir := fmt.Sprintf("%s/%02d-%s-%s", base, n, c.workload, c.kind)
		res, captured, err := runCell(exe, dir, *cfg, c, spec)
		os.RemoveAll(dir)
		if captured != nil && spec == nil {
			spec = captured
		}
		if err != nil {
			err = fmt.Errorf("%s: %s on %s: %w", label, c.workload, c.kind, err)
			fmt.Fprintf(log, "httpload: %v\n", err)
			errs = append(errs, err)
			return
		}
		noisy := ""
		if res.others > noisyCores {
			noisy = " NOISY"
		}
		fmt.Fprintf(log, "httpload: %s: %-10s %-9s %8.0f ops/s  p50 %s  p99 %s  server CPU/op %s  others %.2f cores%s\n",
			label, c.workload, c.kind, res.opsPerSec(), units.Nanos(res.p50), units.Nanos(res.p99),
			units.Nanos(res.serverCPUPerOp()), res.others, noisy)
		if res.failures > 0 {
			err := fmt.Errorf("%s: %s on %s: %d wrong answers; the first: %s", label, c.workload, c.kind, res.failures, res.firstErr)
			fmt.Fprintf(log, "httpload: %v\n", err)
			errs = append(errs, err)
		}
		res.run = runNo
		results = append(results, res)
	}
	selected := func(c cellSpec) bool { return cfg.workloads[c.workload] && cfg.servers[c.kind] }
	for runNo := 1; runNo <= cfg.count; runNo++ {
		for _, c := range cells {
			if selected(c) {
				measure(fmt.Sprintf("run %d/%d", runNo, cfg.count), runNo, c)
			}
		}
	}
	// Rerun the cells that other processes disturbed, so that each figure
	// is the median of -count quiet runs where the machine allows.
	for extra := 1; extra <= cfg.reruns && len(errs) == 0; extra++ {
		for _, c := range cells {
			if selected(c) && len(quiet(results, c)) < cfg.count {
				measure(fmt.Sprintf("rerun %d/%d of a noisy cell", extra, cfg.reruns), 0, c)
			}
		}
	}
	return results, errors.Join(errs...)
}

// noisyCores is the CPU other processes may use during a cell before it is
// flagged as noisy.
const noisyCores = 0.25

// children are the running server processes, killed on exit.
var (
	childMu  sync.Mutex
	children = map[*exec.Cmd]bool{}
)

func killChildren() {
	childMu.Lock()
	defer childMu.Unlock()
	for cmd := range children {
		cmd.Process.Kill()
	}
}

// child is a started server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready readyLine
	done  chan error
}

func startChild(exe, dir string, cfg config, c cellSpec, spec *bareSpec) (*child, error) {
	kind := c.kind
	if replicasOf(kind) > 0 {
		kind = kindEtcdNode // the member; the replicas are started after it
	}
	args := []string{"-serve", kind, "-dir", dir, "-sync=" + fmt.Sprint(c.workload != wlCASNoSync),
		"-keys", fmt.Sprint(cfg.nkeys()), "-value-size", fmt.Sprint(cfg.valueSize)}
	if cfg.profDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(cfg.profDir, filepath.Base(dir)+".cpu.pprof"))
	}
	if c.kind == kindBare {
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		args = append(args, "-bare", string(b))
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	childMu.Lock()
	err = cmd.Start()
	if err == nil {
		children[cmd] = true
	}
	childMu.Unlock()
	if err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	line := make(chan error, 1)
	go func() {
		br := bufio.NewReader(stdout)
		l, err := br.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(l, &ch.ready)
		}
		line <- err
		io.Copy(io.Discard, br)
		ch.done <- cmd.Wait()
	}()
	select {
	case err = <-line:
	case <-time.After(2 * time.Minute):
		err = errors.New("no ready line after 2 minutes")
	}
	if err == nil && len(ch.ready.Versions) != cfg.nkeys() {
		err = fmt.Errorf("%d versions for %d keys", len(ch.ready.Versions), cfg.nkeys())
	}
	if err != nil {
		ch.stop()
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	return ch, nil
}

// stop closes the child's stdin, which makes it shut down and close its
// store, and kills it if it has not exited after 30 s.
func (ch *child) stop() error {
	ch.stdin.Close()
	var err error
	select {
	case err = <-ch.done:
	case <-time.After(30 * time.Second):
		ch.cmd.Process.Kill()
		<-ch.done
		err = errors.New("did not exit within 30s of its stdin closing; killed")
	}
	childMu.Lock()
	delete(children, ch.cmd)
	childMu.Unlock()
	return err
}

// captureGet fetches key 0 from vkv with net/http and returns the answer for
// the bare server to repeat: status, headers but Date and Content-Length
// (net/http sets those) and body.
func captureGet(addr string) (*bareSpec, error) {
	resp, err := http.Get("http://" + addr + "/v1/kv/" + keyName(0))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: status %d: %s", resp.StatusCode, body)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	http.DefaultClient.CloseIdleConnections()
	return &bareSpec{Status: resp.StatusCode, Header: h, Body: body}, nil
}

// runCell starts a server, runs the load on it and stops it. For vkv's get
// cell it also returns vkv's answer, for the bare server.
func runCell(exe, dir string, cfg config, c cellSpec, spec *bareSpec) (cellResult, *bareSpec, error) {
	res := cellResult{spec: c}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, nil, err
	}
	ch, err := startChild(exe, dir, cfg, c, spec)
	if err != nil {
		return res, nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			ch.stop()
		}
	}()
	var captured *bareSpec
	if c.workload == wlGet && c.kind == kindVKV {
		// The bare server's answer; vkv-serve's GET answer is the same but
		// for the request id.
		if captured, err = captureGet(ch.ready.Addr); err != nil {
			return res, nil, err
		}
	}
	addrs := []string{ch.ready.Addr}
	pids := []int{ch.cmd.Process.Pid}
	var reps []*replica
	stopReplicas := func() error {
		var errs []error
		for _, r := range reps {
			errs = append(errs, r.stop())
		}
		reps = nil
		return errors.Join(errs...)
	}
	defer stopReplicas()
	if n := replicasOf(c.kind); n > 0 {
		addrs, pids = nil, pids[:1]
		for i := range n {
			r, err := startReplica(cfg.vkvBin, dir, i, ch.ready.Addr)
			if err != nil {
				return res, nil, fmt.Errorf("vkv serve replica %d: %w", i+1, err)
			}
			reps = append(reps, r)
			addrs = append(addrs, r.addr)
			pids = append(pids, r.cmd.Process.Pid)
		}
	}
	t := &target{addrs: addrs, kind: c.kind, workload: c.workload, value: valueOf(cfg.valueSize),
		versions: slices.Clone(ch.ready.Versions), conns: cfg.conns, hot: cfg.hot, ca: ch.ready.CA}
	lr, err := startLoad(t, cfg.conns)
	if err != nil {
		return res, captured, err
	}
	time.Sleep(cfg.warmup)
	a := sampleCPU(pids)
	t0 := time.Now()
	lr.phase.Store(phaseMeasure)
	time.Sleep(cfg.duration)
	b := sampleCPU(pids)
	lr.phase.Store(phaseStop)
	res.seconds = time.Since(t0).Seconds()
	total, lerr := lr.finish()
	stopped = true
	rerr := stopReplicas()
	serr := errors.Join(rerr, ch.stop())
	res.ops, res.failures, res.firstErr = total.ops, total.failures, total.firstErr
	res.p50, res.p99, res.max = total.h.Quantile(0.5), total.h.Quantile(0.99), total.h.Quantile(1)
	if a.ok && b.ok {
		res.cpuOK = true
		res.serverCPU = float64(b.server-a.server) / clockTicks
		if replicasOf(c.kind) > 0 {
			res.etcdCPU = float64(b.first-a.first) / clockTicks
		}
		res.clientCPU = float64(b.self-a.self) / clockTicks
		others := float64(b.busy-a.busy) - float64(b.server-a.server) - float64(b.self-a.self)
		res.others = max(others, 0) / clockTicks / res.seconds
	}
	if lerr != nil {
		return res, captured, lerr
	}
	if serr != nil {
		return res, captured, fmt.Errorf("server: %w", serr)
	}
	if res.ops == 0 {
		return res, captured, errors.New("no request completed while measuring")
	}
	return res, captured, nil
}

var serverTitles = map[string]string{
	kindVKV:      "vkv (httpapi over vkv.Open)",
	kindVKVServe: "vkv as vkv serve runs it (request log, metrics)",
	kindBare:     "bare net/http handler, same answer",
	kindBadger:   "minimal handler over raw Badger",
	kindVKVTLS:   "vkv over TLS (HTTP/1.1 keep-alive, ECDSA P-256)",
	kindEtcd:     "etcd JSON gateway (/v3/kv/txn, /v3/kv/range)",
	kindEtcdKV:   "vkv serve -etcd, one replica, over one etcd member",
	kindEtcdKV2:  "vkv serve -etcd, two replicas, over one etcd member",
}

var workloadTitles = map[string]string{
	wlGet:       "GET",
	wlCASSync:   "CAS, fsync",
	wlCASNoSync: "CAS, no fsync",
}

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

// quiet returns the measurements of cell c during which other processes
// stayed below noisyCores.
func quiet(results []cellResult, c cellSpec) []cellResult {
	var q []cellResult
	for _, r := range results {
		if r.spec == c && r.ops > 0 && r.others <= noisyCores {
			q = append(q, r)
		}
	}
	return q
}

// kept returns the measurements of cell c that the table uses: the quiet
// ones if there are any, else all.
func kept(results []cellResult, c cellSpec) []cellResult {
	if q := quiet(results, c); len(q) > 0 {
		return q
	}
	var all []cellResult
	for _, r := range results {
		if r.spec == c && r.ops > 0 {
			all = append(all, r)
		}
	}
	return all
}

// figure is the median of f over the kept measurements of one cell, and
// whether there was any.
func figure(results []cellResult, c cellSpec, f func(cellResult) float64) (float64, bool) {
	var xs []float64
	for _, r := range kept(results, c) {
		xs = append(xs, f(r))
	}
	return median(xs), len(xs) > 0
}

// printTable writes the markdown table of the medians and the ratios the
// issue's targets are about.
func printTable(w io.Writer, cfg config, results []cellResult) {
	fmt.Fprintln(w, "| workload | server | ops/s | p50 | p99 | server CPU/op | client CPU/op | runs kept / made | other processes (cores) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, c := range cells {
		runs, failures := 0, uint64(0)
		for _, r := range results {
			if r.spec == c {
				runs++
				failures += r.failures
			}
		}
		if runs == 0 {
			continue
		}
		fig := func(f func(cellResult) float64) float64 { v, _ := figure(results, c, f); return v }
		ops := units.Rate(fig(cellResult.opsPerSec))
		if failures > 0 {
			ops += fmt.Sprintf(" (%d FAILED)", failures)
		}
		serverCPU := units.Nanos(fig(cellResult.serverCPUPerOp))
		if replicasOf(c.kind) > 0 {
			serverCPU += " (etcd " + units.Nanos(fig(cellResult.etcdCPUPerOp)) + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %d / %d | %.2f |\n",
			workloadTitles[c.workload], serverTitles[c.kind], ops,
			units.Nanos(fig(func(r cellResult) float64 { return r.p50 })),
			units.Nanos(fig(func(r cellResult) float64 { return r.p99 })),
			serverCPU, units.Nanos(fig(cellResult.clientCPUPerOp)),
			len(kept(results, c)), runs, fig(func(r cellResult) float64 { return r.others }))
	}
	keys := fmt.Sprintf("%d keys of 16 bytes preloaded, each request on one at random (connection i on keys j with j %% %d == i)", cfg.keys, cfg.conns)
	if cfg.hot {
		keys = "hot cache: each connection on one key of its own, 16 bytes"
	}
	fmt.Fprintf(w, "\n_%d keep-alive connections on loopback, one request in flight each; %s per cell after %s of warm-up; median of %d run(s), the quiet ones where there are any (other processes under 0.25 cores); %s, values of %d bytes; data on %s%s; CPU/op is the process's utime+stime over the measured interval divided by the requests answered in it (vkv serve -etcd: the etcd member's and the replicas' together, the member's in brackets)._\n\n",
		cfg.conns, cfg.duration, cfg.warmup, cfg.count, keys, cfg.valueSize, cfg.fsType, fsyncNote(cfg.fsyncRate))

	type ratio struct {
		what, target string
		num, den     cellSpec
		f            func(cellResult) float64
		inverse      bool // the ratio of time per op, the inverse of the ops/s ratio
	}
	opsF := cellResult.opsPerSec
	ratios := []ratio{
		{"vkv GET / bare GET, time per op (1 / ops/s)", "<= 2x", cellSpec{wlGet, kindVKV}, cellSpec{wlGet, kindBare}, opsF, true},
		{"vkv GET / bare GET, p50 latency", "", cellSpec{wlGet, kindVKV}, cellSpec{wlGet, kindBare}, func(r cellResult) float64 { return r.p50 }, false},
		{"vkv GET / bare GET, server CPU per GET", "<= 1.5x", cellSpec{wlGet, kindVKV}, cellSpec{wlGet, kindBare}, cellResult.serverCPUPerOp, false},
		{"vkv as served / bare GET, time per op", "", cellSpec{wlGet, kindVKVServe}, cellSpec{wlGet, kindBare}, opsF, true},
		{"vkv as served / bare GET, server CPU per GET", "", cellSpec{wlGet, kindVKVServe}, cellSpec{wlGet, kindBare}, cellResult.serverCPUPerOp, false},
		{"vkv over TLS / plain, GET time per op", "", cellSpec{wlGet, kindVKVTLS}, cellSpec{wlGet, kindVKV}, opsF, true},
		{"vkv over TLS / plain, server CPU per GET", "<= 1.3x", cellSpec{wlGet, kindVKVTLS}, cellSpec{wlGet, kindVKV}, cellResult.serverCPUPerOp, false},
		{"vkv over TLS / plain, durable CAS time per op", "", cellSpec{wlCASSync, kindVKVTLS}, cellSpec{wlCASSync, kindVKV}, opsF, true},
		{"vkv over TLS / plain, server CPU per durable CAS", "<= 1.3x", cellSpec{wlCASSync, kindVKVTLS}, cellSpec{wlCASSync, kindVKV}, cellResult.serverCPUPerOp, false},
		{"vkv / etcd gateway, durable CAS ops/s", ">= 3x", cellSpec{wlCASSync, kindVKV}, cellSpec{wlCASSync, kindEtcd}, opsF, false},
		{"vkv as served / etcd gateway, durable CAS ops/s", "", cellSpec{wlCASSync, kindVKVServe}, cellSpec{wlCASSync, kindEtcd}, opsF, false},
		{"vkv / etcd gateway, no-fsync CAS ops/s", "> 1x", cellSpec{wlCASNoSync, kindVKV}, cellSpec{wlCASNoSync, kindEtcd}, opsF, false},
		{"vkv / raw-Badger handler, durable CAS ops/s", "> 1x", cellSpec{wlCASSync, kindVKV}, cellSpec{wlCASSync, kindBadger}, opsF, false},
		{"vkv / raw-Badger handler, no-fsync CAS ops/s", "> 1x", cellSpec{wlCASNoSync, kindVKV}, cellSpec{wlCASNoSync, kindBadger}, opsF, false},
		{"vkv / etcd gateway, server CPU per durable CAS", "", cellSpec{wlCASSync, kindVKV}, cellSpec{wlCASSync, kindEtcd}, cellResult.serverCPUPerOp, false},
		{"vkv / raw-Badger handler, server CPU per durable CAS", "", cellSpec{wlCASSync, kindVKV}, cellSpec{wlCASSync, kindBadger}, cellResult.serverCPUPerOp, false},
		{"vkv / raw-Badger handler, server CPU per no-fsync CAS", "", cellSpec{wlCASNoSync, kindVKV}, cellSpec{wlCASNoSync, kindBadger}, cellResult.serverCPUPerOp, false},
		{"vkv serve -etcd / etcd gateway, durable CAS ops/s", "", cellSpec{wlCASSync, kindEtcdKV}, cellSpec{wlCASSync, kindEtcd}, opsF, false},
		{"vkv serve -etcd / etcd gateway, server CPU per durable CAS", "", cellSpec{wlCASSync, kindEtcdKV}, cellSpec{wlCASSync, kindEtcd}, cellResult.serverCPUPerOp, false},
		{"vkv serve -etcd / etcd gateway, GET ops/s", "", cellSpec{wlGet, kindEtcdKV}, cellSpec{wlGet, kindEtcd}, opsF, false},
		{"vkv serve -etcd / etcd gateway, server CPU per GET", "", cellSpec{wlGet, kindEtcdKV}, cellSpec{wlGet, kindEtcd}, cellResult.serverCPUPerOp, false},
		{"vkv serve -etcd, two replicas / one, durable CAS ops/s", "", cellSpec{wlCASSync, kindEtcdKV2}, cellSpec{wlCASSync, kindEtcdKV}, opsF, false},
		{"vkv serve -etcd, two replicas / one, GET ops/s", "", cellSpec{wlGet, kindEtcdKV2}, cellSpec{wlGet, kindEtcdKV}, opsF, false},
		{"vkv serve -etcd, two replicas / one, server CPU per durable CAS", "", cellSpec{wlCASSync, kindEtcdKV2}, cellSpec{wlCASSync, kindEtcdKV}, cellResult.serverCPUPerOp, false},
		{"vkv serve -etcd, two replicas / one, server CPU per GET", "", cellSpec{wlGet, kindEtcdKV2}, cellSpec{wlGet, kindEtcdKV}, cellResult.serverCPUPerOp, false},
	}
	header := false
	for _, r := range ratios {
		n, ok1 := figure(results, r.num, r.f)
		d, ok2 := figure(results, r.den, r.f)
		if !ok1 || !ok2 || n == 0 || d == 0 {
			continue
		}
		if !header {
			fmt.Fprintln(w, "| ratio | of the medians | per run (median; each run) | target |")
			fmt.Fprintln(w, "| --- | ---: | ---: | --- |")
			header = true
		}
		x := n / d
		if r.inverse {
			x = d / n
		}
		// The ratio within each interleaved run (cells measured minutes
		// apart at most), quiet or not: on a busy machine the medians
		// above may compare quiet runs of one cell with noisy runs of the
		// other.
		var per []float64
		for _, a := range results {
			for _, b := range results {
				if a.run > 0 && a.run == b.run && a.spec == r.num && b.spec == r.den && a.ops > 0 && b.ops > 0 {
					if y := r.f(a) / r.f(b); r.inverse {
						per = append(per, 1/y)
					} else {
						per = append(per, y)
					}
				}
			}
		}
		perRun := ""
		if len(per) > 0 {
			each := make([]string, len(per))
			for i, y := range per {
				each[i] = fmt.Sprintf("%.2f", y)
			}
			perRun = fmt.Sprintf("%.2fx (%s)", median(per), strings.Join(each, ", "))
		}
		fmt.Fprintf(w, "| %s | %.2fx | %s | %s |\n", r.what, x, perRun, r.target)
	}
}

func fsyncNote(rate float64) string {
	if rate == 0 {
		return ""
	}
	return fmt.Sprintf(", %s 4 KiB write+fsync/s (one at a time) before the runs", units.Rate(rate))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "httpload: "+format+"\n", args...)
	os.Exit(2)
}
