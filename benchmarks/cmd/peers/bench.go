package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/vkvstore/vkv/benchmarks/internal/latency"

	"github.com/vkvstore/vkv/benchmarks/internal/procstat"
	"github.com/vkvstore/vkv/benchmarks/internal/vkvtune"
)

type kind int

const (
	kindGet kind = iota // reads of keys in a scattered order
	kindCAS             // CAS on distinct keys, every one expected to succeed
	kindHot             // CAS on one key from every goroutine
)

type workload struct {
	id         string
	title      string
	sync       bool // run on the store opened with fsync on
	goroutines int
	kind       kind
}

// workloads in the order they run and appear in the table. Those without
// fsync run first, on the store that was loaded; the store is then reopened
// with fsync on for the rest.
var workloads = []workload{
	{"get", "get, 1 goroutine", false, 1, kindGet},
	{"cas", "CAS, 1 goroutine, no fsync", false, 1, kindCAS},
	{"cas-sync", "CAS, 1 goroutine, fsync", true, 1, kindCAS},
	{"cas64-sync", "CAS, 64 goroutines, fsync, distinct keys", true, 64, kindCAS},
	{"hot16-sync", "CAS on one hot key, 16 goroutines, fsync", true, 16, kindHot},
}

// cell is the measurement of one workload on one engine.
type cell struct {
	Ops       uint64  `json:"ops"`       // successful operations
	Attempts  uint64  `json:"attempts"`  // calls made, failed CAS included
	Conflicts uint64  `json:"conflicts"` // failed CAS
	Seconds   float64 `json:"seconds"`
	P50       float64 `json:"p50_ns"` // latency of a call, failed CAS included
	P99       float64 `json:"p99_ns"`
	Max       float64 `json:"max_ns"`
	Others    float64 `json:"other_cores"` // CPU other processes used meanwhile, in cores
	Mallocs   uint64  `json:"mallocs"`     // runtime.MemStats.Mallocs delta over the cell
	Err       string  `json:"err,omitempty"`
}

func (c cell) opsPerSec() float64       { return float64(c.Ops) / c.Seconds }
func (c cell) conflictsPerSec() float64 { return float64(c.Conflicts) / c.Seconds }
func (c cell) allocsPerOp() float64 {
	if c.Attempts == 0 {
		return 0
	}
	return float64(c.Mallocs) / float64(c.Attempts)
}

// childResult is what a child process reports for its engine.
type childResult struct {
	Engine      string          `json:"engine"`
	RSSBase     uint64          `json:"rss_base"`         // VmRSS with the keys made, before the store opens
	RSSLoaded   uint64          `json:"rss_loaded"`       // VmRSS right after loading
	RSSFile     uint64          `json:"rss_file"`         // RssFile right after loading: mapped files and the binary
	RSSSettled  uint64          `json:"rss_settled"`      // VmRSS after the store has been idle for settle
	HeapLoaded  uint64          `json:"heap_loaded"`      // HeapInuse after a GC, after loading
	LoadSeconds float64         `json:"load_seconds"`     // loading, no fsync
	Cells       map[string]cell `json:"cells"`            // by workload id
	Errors      []string        `json:"errors,omitempty"` // failed sanity checks
}

type benchConfig struct {
	keys      int
	duration  time.Duration
	warmup    time.Duration
	workloads map[string]bool
	dir       string
	profDir   string
	settle    time.Duration
	tune      vkvtune.Tuning // experiments on the vkv engines' options
}

// state is what the workloads of one engine share.
type state struct {
	e     engine
	keys  []key
	vers  []uint64 // the version each key is at, as the last write returned
	value []byte
}

func valueOf(n int) []byte { return bytes.Repeat([]byte{'v'}, n) }

// runChild loads and measures one engine in this process.
func runChild(name string, cfg benchConfig) (*childResult, error) {
	e, err := newEngine(name)
	if err != nil {
		return nil, err
	}
	if ve, ok := e.(*vkvEngine); ok {
		if ve.opts, err = cfg.tune.Apply(ve.opts); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(cfg.dir, "peers-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	st := &state{e: e, keys: makeKeys(cfg.keys), vers: make([]uint64, cfg.keys), value: valueOf(100)}
	res := &childResult{Engine: name, Cells: map[string]cell{}}
	runtime.GC()
	res.RSSBase = procstat.Status("VmRSS")

	if err := e.open(dir, false); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	start := time.Now()
	if err := e.load(st.keys, st.value, st.vers); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	res.LoadSeconds = time.Since(start).Seconds()
	res.RSSLoaded = procstat.Status("VmRSS")
	res.RSSFile = procstat.Status("RssFile")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapLoaded = ms.HeapInuse
	if cfg.settle > 0 {
		// Background flushes and compactions started by the load finish.
		time.Sleep(cfg.settle)
		res.RSSSettled = procstat.Status("VmRSS")
	}
	if cfg.profDir != "" {
		if err := writeHeapProfile(filepath.Join(cfg.profDir, name+"-loaded.heap.pprof")); err != nil {
			return nil, err
		}
	}

	for _, sync := range []bool{false, true} {
		if sync {
			if err := e.close(); err != nil {
				return nil, fmt.Errorf("close: %w", err)
			}
			if err := e.open(dir, true); err != nil {
				return nil, fmt.Errorf("reopen with fsync: %w", err)
			}
		}
		for _, w := range workloads {
			if w.sync != sync || !cfg.workloads[w.id] {
				continue
			}
			logf("%s: %s", name, w.title)
			if cfg.warmup > 0 {
				runCell(st, w, cfg.warmup, "")
			}
			prof := ""
			if cfg.profDir != "" {
				prof = filepath.Join(cfg.profDir, name+"-"+w.id+".cpu.pprof")
			}
			if cfg.profDir != "" {
				if err := writeHeapProfile(filepath.Join(cfg.profDir, name+"-"+w.id+".before.heap.pprof")); err != nil {
					return nil, err
				}
			}
			c, problems := runCell(st, w, cfg.duration, prof)
			if cfg.profDir != "" {
				// go tool pprof -sample_index=alloc_space -diff_base before after
				if err := writeHeapProfile(filepath.Join(cfg.profDir, name+"-"+w.id+".after.heap.pprof")); err != nil {
					return nil, err
				}
			}
			res.Cells[w.id] = c
			for _, p := range problems {
				res.Errors = append(res.Errors, w.id+": "+p)
			}
		}
	}
	if err := e.close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return res, nil
}

// order walks the keys of goroutine g of n: indices g, g+n, g+2n, ... in a
// scattered order (a stride coprime with their count), so that reads and
// writes do not stream through the key space.
type order struct {
	g, n, m, s, q int
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newOrder(g, n, total int) *order {
	m := (total - g + n - 1) / n
	s := 7919
	for gcd(s, m) != 1 {
		s++
	}
	return &order{g: g, n: n, m: m, s: s % m, q: (g * 131) % m}
}

func (o *order) next() int {
	i := o.g + o.n*o.q
	o.q += o.s
	if o.q >= o.m {
		o.q -= o.m
	}
	return i
}

// runCell runs w for about d and returns its measurement and any failed
// sanity check. With prof set it writes a CPU profile of the cell there.
func runCell(st *state, w workload, d time.Duration, prof string) (cell, []string) {
	var problems []string
	g := w.goroutines
	hists := make([]latency.Hist, g)
	counts := make([]cell, g)
	errs := make([]error, g)
	hot := st.keys[0]
	// hot0 is the hot key's version when the cell starts; base is the
	// version its writes count up from (the store's for storeVersioned
	// engines, else the key's own).
	var hot0, base uint64
	if w.kind == kindHot {
		v, err := st.e.version(hot)
		if err != nil {
			return cell{Err: err.Error()}, []string{err.Error()}
		}
		hot0 = v
		// The first successful CAS takes the store's next version.
		if sv, ok := st.e.(storeVersioned); ok {
			if base, err = sv.storeVersion(); err != nil {
				return cell{Err: err.Error()}, []string{err.Error()}
			}
		} else {
			base = v
		}
	}
	orders := make([]*order, g)
	for i := range orders {
		orders[i] = newOrder(i, g, len(st.keys))
	}

	runtime.GC()
	if prof != "" {
		f, err := os.Create(prof)
		if err == nil {
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	var start time.Time
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-release
			h, c, o := &hists[i], &counts[i], orders[i]
			t0 := time.Now()
			exp := hot0
			for {
				var err error
				switch w.kind {
				case kindGet:
					var v []byte
					v, err = st.e.get(st.keys[o.next()])
					if err == nil && len(v) != len(st.value) {
						err = fmt.Errorf("get returned %d bytes, want %d", len(v), len(st.value))
					}
					c.Ops++
				case kindCAS:
					k := o.next()
					var v uint64
					var ok bool
					v, ok, err = st.e.cas(st.keys[k], st.vers[k], st.value)
					if ok {
						c.Ops++
					} else {
						c.Conflicts++
					}
					st.vers[k] = v
				case kindHot:
					var ok bool
					exp, ok, err = st.e.cas(hot, exp, st.value)
					if ok {
						c.Ops++
					} else {
						c.Conflicts++
					}
				}
				c.Attempts++
				t1 := time.Now()
				h.Record(t1.Sub(t0))
				t0 = t1
				if err != nil {
					errs[i] = err
					return
				}
				if t1.Sub(start) >= d {
					return
				}
			}
		}(i)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := sampleCPU()
	start = time.Now()
	close(release)
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := sampleCPU()
	runtime.ReadMemStats(&after)

	var total cell
	var all latency.Hist
	for i := range counts {
		total.Ops += counts[i].Ops
		total.Attempts += counts[i].Attempts
		total.Conflicts += counts[i].Conflicts
		all.Merge(&hists[i])
		if errs[i] != nil && total.Err == "" {
			total.Err = errs[i].Error()
			problems = append(problems, errs[i].Error())
		}
	}
	total.Seconds = elapsed.Seconds()
	total.P50 = all.Quantile(0.50)
	total.P99 = all.Quantile(0.99)
	total.Max = all.Quantile(1)
	total.Others = otherCores(cpu0, cpu1, total.Seconds)
	total.Mallocs = after.Mallocs - before.Mallocs

	// Sanity checks: the versions the engine returned must be the ones it
	// stores, and on the hot key every successful CAS took exactly one
	// version (nothing else writes during a cell).
	switch w.kind {
	case kindCAS:
		if total.Conflicts > 0 {
			problems = append(problems, fmt.Sprintf("%d CAS on distinct keys failed", total.Conflicts))
		}
		for i := 0; i < len(st.keys); i += len(st.keys)/97 + 1 {
			v, err := st.e.version(st.keys[i])
			if err != nil || v != st.vers[i] {
				problems = append(problems, fmt.Sprintf("key %d at version %d (err %v), last CAS returned %d", i, v, err, st.vers[i]))
				break
			}
		}
	case kindHot:
		v, err := st.e.version(hot)
		if err != nil || (total.Ops > 0 && v != base+total.Ops) || (total.Ops == 0 && v != hot0) {
			problems = append(problems, fmt.Sprintf("hot key at version %d (err %v) after %d successful CAS counting from version %d", v, err, total.Ops, base))
		}
		st.vers[0] = v
	}
	return total, problems
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
}
