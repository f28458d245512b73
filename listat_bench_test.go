package vkv_test

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkListAt100 reads a page of 100 entries at a version behind the
// newest by "behind" single-key writes elsewhere: ListAt scans the change
// log from that version (behind=0 is List's path on the latest records).
func BenchmarkListAt100(b *testing.B) {
	ctx := context.Background()
	for _, behind := range []int{0, 100, 10000} {
		b.Run(fmt.Sprintf("behind=%d", behind), func(b *testing.B) {
			s := openBenchStore(b, false)
			loadStore(b, s)
			v, err := s.CurrentVersion(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for i := range behind {
				if _, err := s.Put(ctx, fmt.Sprintf("other%d", i), benchValue); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				res, err := s.ListAt(ctx, "key", benchKey(i*100), 100, v)
				if err != nil || len(res.Entries) == 0 {
					b.Fatal(err, len(res.Entries))
				}
			}
		})
	}
}
