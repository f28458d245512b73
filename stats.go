package vkv

import (
	"math/bits"
	"sync/atomic"
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
	// BatchSizes[i] counts commits that carried between 2^(i-1)+1 and 2^i
	// requests (BatchSizes[0]: one request).
	BatchSizes [13]uint64
	// LSMBytes and ValueLogBytes are the sizes of Badger's files, as Badger
	// last measured them (it does so every minute).
	LSMBytes, ValueLogBytes int64
}

// counters are the Store's live statistics; the committer updates them.
type counters struct {
	commits, writes, conflicts, refused, expired atomic.Uint64
	batchSizes                                   [13]atomic.Uint64
}

// batch records a commit of n requests.
func (c *counters) batch(n int) {
	c.commits.Add(1)
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
	}
	for i := range st.BatchSizes {
		st.BatchSizes[i] = s.stats.batchSizes[i].Load()
	}
	if !s.opts.InMemory {
		st.LSMBytes, st.ValueLogBytes = s.db.Size()
	}
	return st
}
