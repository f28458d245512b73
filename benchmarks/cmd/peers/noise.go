package main

import (
	"os"
	"strconv"
	"strings"
)

// The machine is shared: cpuSample tells how much CPU other processes used
// while a cell ran, so that a noisy cell can be seen and rerun.

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/self/stat; 100 on
// every Linux architecture Go supports.
const clockTicks = 100

type cpuSample struct {
	busy, self uint64 // ticks: all CPUs busy, this process busy
	ok         bool
}

func sampleCPU() cpuSample {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}
	}
	var s cpuSample
	// user nice system idle iowait irq softirq steal
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, _ := strconv.ParseUint(f[i], 10, 64)
		s.busy += n
	}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return cpuSample{}
	}
	// The command name may hold spaces: fields start after its ")".
	rest := string(self)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	g := strings.Fields(rest)
	if len(g) < 13 {
		return cpuSample{}
	}
	utime, _ := strconv.ParseUint(g[11], 10, 64) // field 14 of the line
	stime, _ := strconv.ParseUint(g[12], 10, 64) // field 15
	s.self = utime + stime
	s.ok = true
	return s
}

// otherCores is the CPU, in cores, that processes other than this one used
// between a and b, over seconds.
func otherCores(a, b cpuSample, seconds float64) float64 {
	if !a.ok || !b.ok || seconds <= 0 || b.busy < a.busy {
		return 0
	}
	other := float64(b.busy-a.busy) - float64(b.self-a.self)
	return max(other, 0) / clockTicks / seconds
}
