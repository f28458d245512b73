// Package latency is the latency histogram the benchmark programs share.
package latency

import (
	"math/bits"
	"time"
)

// Hist is a log-linear latency histogram: exact below 64 ns, then 32
// buckets per power of two (about 3% wide). Recording allocates nothing. The
// zero value is empty and ready; a Hist is not safe for concurrent use (give
// each goroutine its own and Merge them).
type Hist struct {
	n       uint64
	buckets [2048]uint64
}

func bucketOf(ns uint64) int {
	if ns < 64 {
		return int(ns)
	}
	s := bits.Len64(ns) - 6 // ns>>s is in [32, 64)
	return 64 + (s-1)*32 + int(ns>>s) - 32
}

// bucketMid is the middle of bucket i in nanoseconds.
func bucketMid(i int) float64 {
	if i < 64 {
		return float64(i)
	}
	s := (i-64)/32 + 1
	lo := uint64((i-64)%32+32) << s
	return float64(lo) + float64(uint64(1)<<s)/2
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[bucketOf(uint64(d))]++
	h.n++
}

// Merge adds the latencies recorded in o.
func (h *Hist) Merge(o *Hist) {
	h.n += o.n
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
}

// Quantile returns the q-quantile (0 < q <= 1) in nanoseconds; 1 gives
// the largest recorded value (to its bucket's precision).
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			return bucketMid(i)
		}
	}
	return bucketMid(len(h.buckets) - 1)
}
