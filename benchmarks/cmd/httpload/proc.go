package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat: 100 on
// every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// procTicks returns the CPU time (utime+stime, in clock ticks) that process
// pid has used, all its threads included.
func procTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after its ")".
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14 of the line
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return utime + stime, nil
}

// busyTicks returns the CPU time all CPUs have spent busy (user, nice,
// system, irq, softirq, steal), in clock ticks.
func busyTicks() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, _ := strconv.ParseUint(f[i], 10, 64)
		busy += n
	}
	return busy, nil
}

// cpuSample is the CPU time, in clock ticks, of the server processes (all
// of them, and the first alone), of this process (the load generator) and of
// the whole machine at one moment.
type cpuSample struct {
	server, first, self, busy uint64
	ok                        bool
}

func sampleCPU(serverPIDs []int) cpuSample {
	s := cpuSample{ok: true}
	for i, pid := range serverPIDs {
		t, err := procTicks(pid)
		if err != nil {
			s.ok = false
		}
		if i == 0 {
			s.first = t
		}
		s.server += t
	}
	var err1, err2 error
	s.self, err1 = procTicks(os.Getpid())
	s.busy, err2 = busyTicks()
	s.ok = s.ok && err1 == nil && err2 == nil
	return s
}
