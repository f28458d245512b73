package latency

import (
	"testing"
	"time"
)

func TestHistBuckets(t *testing.T) {
	prev := -1
	for _, ns := range []uint64{0, 1, 63, 64, 65, 100, 127, 128, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1} {
		i := bucketOf(ns)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below the previous %d", ns, i, prev)
		}
		prev = i
		mid := bucketMid(i)
		if ns >= 64 && (mid < float64(ns)*0.95 || mid > float64(ns)*1.05) {
			t.Errorf("bucketMid(bucketOf(%d)) = %.0f, more than 5%% off", ns, mid)
		}
	}
}

func TestHistQuantile(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500e3}, {0.99, 990e3}} {
		got := h.Quantile(c.q)
		if got < c.want*0.96 || got > c.want*1.04 {
			t.Errorf("quantile(%v) = %.0f, want about %.0f", c.q, got, c.want)
		}
	}
}
