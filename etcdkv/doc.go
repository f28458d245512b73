// Package etcdkv is a vkv backend on an etcd cluster: the same vkv.KV
// contract, typed errors and conformance suite as the embedded store, with
// the data replicated by etcd's Raft log instead of kept on one machine.
//
// # Mapping
//
// A vkv version is an etcd revision: global, monotonic, never reused, also
// after a compaction (etcd server/storage/mvcc/kvstore.go keeps currentRev
// across Compact). An entry's Version is the ModRevision of its record, its
// CreateVersion the record's CreateRevision, and every write of one
// transaction shares the revision of the one etcd Txn that makes it.
//
// Under the namespace prefix given to New, etcdkv keeps:
//
//	<prefix>k/<key>                the record of key: its expiry time and value
//	<prefix>x/<expiry><key>        the expiry index: one entry per write with a TTL
//	<prefix>d/<key>                the delete marker: rewritten by every delete of key
//
// List, History and Watch see only the records (k/); the other two spaces
// are bookkeeping. A delete marker is written in the same Txn as each
// delete, so that a transaction made only of deletes still takes a new
// revision (etcd takes none for a Txn that changes nothing, server/storage/
// mvcc/kvstore_txn.go End) and History can find the deletes between a key's
// generations.
//
// # Time to live
//
// etcd's leases are whole seconds with a minimum, too coarse for vkv's
// TTLs, so a TTL is kept with the value instead: the record holds its
// expiry time and reads hide an expired record at once. Every conditional
// commit also compares, in the same Txn, that no expiry index entry is due
// (a compare over the range of due entries, which etcd evaluates atomically
// with the rest, server/etcdserver/txn/txn.go applyCompare). When one is
// due, the writer first records the expiry itself, as a delete of the
// record with its own revision, compared on the revision that set the TTL,
// and then commits: so no write ever lands on an expired record, and etcd's
// CreateRevision stays vkv's CreateVersion. A background reaper in every
// KV records expiries as they fall due, so watchers see them without
// waiting for a write; several replicas reaping at once are harmless, since
// each expiry delete is compared on the record's revision.
//
// Expiry is judged by the Clock of the KV that reads or writes (Options.
// Clock); replicas should keep their clocks in sync (NTP), as with any TTL.
//
// # Range reads
//
// List reads at one revision and reports it; ListAt is an etcd range read
// at revision v. Txn.List inside Update makes the range it read a
// condition, compared as "ModRevision < v+1" over the range of records and
// over the range of delete markers (a deleted key has no record left to
// compare; txnrange.go). A delete of an absent key also rewrites its
// marker, so it fails such a condition, and the transaction runs again.
//
// # Limits
//
// etcd bounds the operations of one Txn (--max-txn-ops, default 128) and
// the size of one request (--max-request-bytes, default 1.5 MiB). A vkv
// write takes up to two etcd operations (the record and its expiry index
// entry, or the delete and its marker), so the default MaxTxnOps is 63;
// Options tells etcdkv the cluster's settings. A request etcd refuses for
// its size or number of operations gives a *vkv.LimitError matching
// vkv.ErrTxnTooLarge.
//
// # Errors
//
// An unreachable cluster, a lost quorum or a timeout gives an error
// matching vkv.ErrUnavailable (the request did not take effect) or, for a
// write whose answer was lost in flight, vkv.ErrOutcomeUnknown; a context
// that ends gives its error. etcdkv never retries a write whose outcome is
// unknown.
//
// # History
//
// etcd keeps no per-key list of revisions; History walks back from the
// newest record with reads at earlier revisions (one round trip per kept
// version), and finds the deletes between generations through the delete
// markers. How much history is kept is etcd's compaction setting
// (--auto-compaction-retention): a read or watch below the compacted
// revision gives a *vkv.CompactedError.
package etcdkv
