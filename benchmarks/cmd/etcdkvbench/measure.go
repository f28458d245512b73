package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vkvstore/vkv/benchmarks/internal/latency"
)

// Sides of a row.
const (
	sideRaw = "raw"
	sideKV  = "etcdkv"
)

// cell is one measurement of one workload on one side.
type cell struct {
	workload, side string
	round          int // the alternation it belongs to, from 1
	ops            uint64
	seconds        float64
	p50, p99       float64 // nanoseconds per call
	cpu            float64 // seconds of this process's CPU (server and client both)
	mallocs        uint64
	others         float64 // cores other processes used meanwhile
	err            string
}

// nsPerOp is the time per operation: wall time over operations (for one
// goroutine the mean latency, for many the inverse of the throughput).
func (c cell) nsPerOp() float64 { return c.seconds * 1e9 / float64(c.ops) }

func (c cell) cpuPerOp() float64    { return c.cpu * 1e9 / float64(c.ops) }
func (c cell) allocsPerOp() float64 { return float64(c.mallocs) / float64(c.ops) }

// Phases of a cell: workers record only calls started while measuring.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// measure runs wl on one side for cfg.warmup and then cfg.duration.
func measure(b *bench, cfg config, wl workload, side string, round int) cell {
	c := cell{workload: wl.id, side: side, round: round}
	f := wl.raw
	if side == sideKV {
		f = wl.kv
	}
	var (
		phase   atomic.Int32
		started atomic.Int64 // calls started while measuring
		wg      sync.WaitGroup
		mu      sync.Mutex
		hists   = make([]latency.Hist, wl.goroutines)
		ops     = make([]uint64, wl.goroutines)
	)
	for g := range wl.goroutines {
		w := &worker{b: b, g: g, of: wl.goroutines, hot: wl.hot, rng: rand.New(rand.NewPCG(uint64(round), uint64(g)))}
		wg.Go(func() {
			for {
				ph := phase.Load()
				if ph == phaseStop {
					return
				}
				if ph == phaseMeasure {
					started.Add(1)
				}
				start := time.Now()
				if err := f(w); err != nil {
					mu.Lock()
					if c.err == "" {
						c.err = err.Error()
					}
					mu.Unlock()
					phase.Store(phaseStop)
					return
				}
				if ph == phaseMeasure {
					hists[g].Record(time.Since(start))
					ops[g]++
				}
			}
		})
	}
	time.Sleep(cfg.warmup)
	var prof *os.File
	if cfg.profDir != "" {
		var err error
		if prof, err = os.Create(filepath.Join(cfg.profDir, fmt.Sprintf("%s-%s-%d.pprof", wl.id, side, round))); err == nil {
			if err = pprof.StartCPUProfile(prof); err != nil {
				prof.Close()
				prof = nil
			}
		}
		if err != nil {
			c.err = err.Error()
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	a := sampleCPU()
	t0 := time.Now()
	phase.CompareAndSwap(phaseWarmup, phaseMeasure)
	time.Sleep(cfg.duration)
	// A cell shorter than one call (a short test cell on a stalled disk)
	// would measure nothing: go on until a call has started, for up to a
	// minute.
	for deadline := time.Now().Add(time.Minute); started.Load() == 0 && phase.Load() == phaseMeasure && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	phase.Store(phaseStop)
	c.seconds = time.Since(t0).Seconds()
	bs := sampleCPU()
	runtime.ReadMemStats(&m1)
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	wg.Wait()
	var h latency.Hist
	for g := range hists {
		h.Merge(&hists[g])
		c.ops += ops[g]
	}
	c.p50, c.p99 = h.Quantile(0.5), h.Quantile(0.99)
	c.mallocs = m1.Mallocs - m0.Mallocs
	if a.ok && bs.ok {
		c.cpu = float64(bs.self-a.self) / 1e9
		other := float64(bs.busy-a.busy)/clockTicks - c.cpu
		c.others = max(other, 0) / c.seconds
	}
	if c.ops == 0 && c.err == "" {
		c.err = "no operation completed while measuring"
	}
	return c
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSample is this process's CPU time (nanoseconds, from getrusage) and
// the machine's busy time (clock ticks, from /proc/stat) at one moment.
type cpuSample struct {
	self, busy uint64
	ok         bool
}

func sampleCPU() cpuSample {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSample{}
	}
	s := cpuSample{self: uint64(ru.Utime.Nano() + ru.Stime.Nano())}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	fs := strings.Fields(line)
	if len(fs) < 9 || fs[0] != "cpu" {
		return cpuSample{}
	}
	// user nice system idle iowait irq softirq steal
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, _ := strconv.ParseUint(fs[i], 10, 64)
		s.busy += n
	}
	s.ok = true
	return s
}

// loadAvg returns the first three fields of /proc/loadavg, as uptime prints
// them, or "" where there is none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}
