package vkv

import (
	"math/bits"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

// Stats are counters of a Store since it was opened, for metrics.
type Stats struct {
	// Version is the newest version handed out; OldestVersion the oldest
	// GetAt answers for.
	Version, OldestVersion Version
	// Commits counts Badger commits of the committer, one fsync each when
	// durable; Writes counts the write requests they carried that
	// succeeded, Conflicts those whose conditions failed, and Refused
	// those refused for want of disk space.
	Commits, Writes, Conflicts, Refused uint64
	// Expired counts keys deleted by the TTL reaper.
	Expired uint64
	// Redone counts Badger transactions the committer discarded and built
	// again because a request failed after adding some of its writes (the
	// failed request is then left out, so that none of it is committed).
	Redone uint64
	// BatchSizes[i] counts commits that carried between 2^(i-1)+1 and 2^i
	// requests (BatchSizes[0]: one request); BatchRequests is the number of
	// requests all commits carried, failed ones included.
	BatchSizes    [13]uint64
	BatchRequests uint64
	// LSMBytes and ValueLogBytes are the sizes of Badger's table (.sst) and
	// value-log (.vlog) files on disk; 0 for an in-memory store.
	LSMBytes, ValueLogBytes int64
}

// counters are the Store's live statistics; the committer updates them.
type counters struct {
	commits, writes, conflicts, refused, expired, redone atomic.Uint64
	batchSizes                                           [13]atomic.Uint64
	batchRequests                                        atomic.Uint64
	// redoneShared counts the redone transactions that held other
	// requests before the failed one, for tests.
	redoneShared atomic.Uint64
}

// batch records a commit of n requests.
func (c *counters) batch(n int) {
	c.commits.Add(1)
	c.batchRequests.Add(uint64(n))
	i := 0
	if n > 1 {
		i = min(bits.Len(uint(n-1)), len(c.batchSizes)-1)
	}
	c.batchSizes[i].Add(1)
}

// Stats returns the store's counters. It is cheap and safe for concurrent
// use, also after Close.
func (s *Store) Stats() Stats {
	st := Stats{
		Version:       Version(s.current.Load()),
		OldestVersion: Version(s.compacted.Load()),
		Commits:       s.stats.commits.Load(),
		Writes:        s.stats.writes.Load(),
		Conflicts:     s.stats.conflicts.Load(),
		Refused:       s.stats.refused.Load(),
		Expired:       s.stats.expired.Load(),
		Redone:        s.stats.redone.Load(),
	}
	for i := range st.BatchSizes {
		st.BatchSizes[i] = s.stats.batchSizes[i].Load()
	}
	st.BatchRequests = s.stats.batchRequests.Load()
	if !s.opts.InMemory {
		// Badger's own DB.Size is zero with its metrics off, as they are
		// here; the files say it as well.
		st.LSMBytes, st.ValueLogBytes = fileSizes(s.dir)
	}
	return st
}

// fileSizes adds up the sizes of the table and value-log files in dir.
func fileSizes(dir string) (lsm, vlog int64) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch filepath.Ext(e.Name()) {
		case badgerfmt.TableSuffix:
			lsm += info.Size()
		case badgerfmt.ValueLogSuffix:
			vlog += info.Size()
		}
	}
	return lsm, vlog
}
