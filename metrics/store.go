package metrics

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vkvstore/vkv"
)

// StatsSource is a store that tells its statistics: a *vkv.Store.
type StatsSource interface {
	Stats() vkv.Stats
}

// storeCollector reports a store's vkv.Stats at every scrape.
type storeCollector struct {
	src StatsSource

	commits, writes, conflicts, refused, expired *prometheus.Desc
	batchSize                                    *prometheus.Desc
	version, oldest                              *prometheus.Desc
	lsmBytes, vlogBytes                          *prometheus.Desc
}

// NewStoreCollector returns a prometheus.Collector that reads src.Stats()
// once per scrape and reports it as the vkv_store_* series:
//
//   - vkv_store_commits_total: commits of the store's committer, one fsync
//     each when durable.
//   - vkv_store_writes_total, vkv_store_conflicts_total,
//     vkv_store_refused_total: write requests that succeeded, whose
//     conditions failed, and that were refused for want of disk space.
//   - vkv_store_expired_total: keys deleted by the TTL reaper.
//   - vkv_store_commit_batch_size: a histogram of the requests each commit
//     carried (buckets 1, 2, 4, ... 2048); its sum is the requests all
//     commits carried.
//   - vkv_store_version, vkv_store_oldest_version: the newest version
//     handed out and the oldest one reads at a version answer for.
//   - vkv_store_lsm_size_bytes, vkv_store_value_log_size_bytes: the size of
//     Badger's LSM tree and value log on disk, as Badger last measured them
//     (once a minute); 0 for an in-memory store.
func NewStoreCollector(src StatsSource) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("vkv_store_"+name, help, nil, nil)
	}
	return &storeCollector{
		src:       src,
		commits:   d("commits_total", "Commits of the store's committer (one fsync each when durable)."),
		writes:    d("writes_total", "Write requests that succeeded."),
		conflicts: d("conflicts_total", "Write requests whose conditions failed (nothing written)."),
		refused:   d("refused_total", "Write requests refused because disk space was low."),
		expired:   d("expired_total", "Keys deleted by the TTL reaper."),
		batchSize: d("commit_batch_size", "Write requests per commit of the committer."),
		version:   d("version", "The newest version the store has handed out."),
		oldest:    d("oldest_version", "The oldest version reads at a version answer for (history before it is compacted)."),
		lsmBytes:  d("lsm_size_bytes", "Size of Badger's LSM tree on disk, as last measured (every minute)."),
		vlogBytes: d("value_log_size_bytes", "Size of Badger's value log on disk, as last measured (every minute)."),
	}
}

// Describe sends the descriptions of every series.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.commits, c.writes, c.conflicts, c.refused, c.expired,
		c.batchSize, c.version, c.oldest, c.lsmBytes, c.vlogBytes} {
		ch <- d
	}
}

// Collect reads the store's statistics and sends them.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.commits, st.Commits)
	counter(c.writes, st.Writes)
	counter(c.conflicts, st.Conflicts)
	counter(c.refused, st.Refused)
	counter(c.expired, st.Expired)
	count, buckets := batchBuckets(st.BatchSizes)
	ch <- prometheus.MustNewConstHistogram(c.batchSize, count, float64(st.BatchRequests), buckets)
	gauge(c.version, float64(st.Version))
	gauge(c.oldest, float64(st.OldestVersion))
	gauge(c.lsmBytes, float64(st.LSMBytes))
	gauge(c.vlogBytes, float64(st.ValueLogBytes))
}

// batchBuckets turns vkv.Stats.BatchSizes into the cumulative buckets of a
// Prometheus histogram. BatchSizes[0] counts commits of one request and
// BatchSizes[i] those of 2^(i-1)+1 to 2^i requests, so bucket i has the
// upper bound 2^i; the last one is open (it counts every larger commit too)
// and so goes to +Inf only.
func batchBuckets(sizes [len(vkv.Stats{}.BatchSizes)]uint64) (count uint64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(sizes)-1)
	for i, n := range sizes {
		count += n
		if i < len(sizes)-1 {
			buckets[math.Ldexp(1, i)] = count
		}
	}
	return count, buckets
}
