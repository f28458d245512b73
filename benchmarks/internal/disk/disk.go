// Package disk measures the disk the benchmark programs write to.
package disk

import (
	"os"
	"time"
)

// FsyncRate measures, for about d, how many 4 KiB write+fsync rounds the disk
// under dir completes per second, one at a time: the ceiling of a store that
// fsyncs once per write.
func FsyncRate(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.WriteAt(buf, int64(n%256)*4096); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
