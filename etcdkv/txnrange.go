package etcdkv

import (
	etcdserverpb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
)

// Range conditions (vkv.Txn.List inside Update) as etcd compares.
//
// The condition holds when no key of the range was written after the
// snapshot's revision v: every record in the range has ModRevision <= v,
// and so has every delete marker, since a deleted key no longer has a
// record whose revision could tell. etcd evaluates a compare with a range
// end over every key of the range at the current revision, and over an
// empty KeyValue (ModRevision 0) when the range is empty
// (server/etcdserver/txn/txn.go:268-291, applyCompare, etcd v3.7.3). An
// expiry in the range is recorded as a delete (a marker) before the commit
// can pass its "no expiry is due" compare, so it fails the marker compare.
// The count of the condition is not needed. A delete of an absent key also
// writes a marker: the condition then fails although the range did not
// change, and the transaction runs again.

// rangeEnds returns the start and end of cd's range of records (space
// recordSpace) or delete markers (deleteSpace).
func (kv *KV) rangeEnds(cd vkv.TxnCondition, space func(string) string) (start, end string) {
	r := cd.Range
	start = space(r.Prefix)
	if r.After >= r.Prefix {
		start = space(r.After) + "\x00"
	}
	if r.Last != "" {
		return start, space(r.Last) + "\x00"
	}
	return start, clientv3.GetPrefixRangeEnd(space(r.Prefix))
}

// rangeCompares returns the compares of the range condition cd: no record
// and no delete marker in its range changed after cd.Version.
func (kv *KV) rangeCompares(cd vkv.TxnCondition) []clientv3.Cmp {
	rs, re := kv.rangeEnds(cd, kv.recordKey)
	ds, de := kv.rangeEnds(cd, kv.deleteKey)
	next := int64(cd.Version) + 1
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(rs), "<", next).WithRange(re),
		clientv3.Compare(clientv3.ModRevision(ds), "<", next).WithRange(de),
	}
}

// rangeChanges returns the reads that name what failed the range
// condition cd: the records and the delete markers of its range changed
// after cd.Version. (A revision filter makes etcd read the whole range and
// prune it, server/etcdserver/txn/range.go rangeLimit and pruneKVs; the
// range is one the transaction read.)
func (kv *KV) rangeChanges(cd vkv.TxnCondition) []clientv3.Op {
	rs, re := kv.rangeEnds(cd, kv.recordKey)
	ds, de := kv.rangeEnds(cd, kv.deleteKey)
	min := int64(cd.Version) + 1
	return []clientv3.Op{
		clientv3.OpGet(rs, clientv3.WithRange(re), clientv3.WithMinModRev(min), clientv3.WithLimit(1)),
		clientv3.OpGet(ds, clientv3.WithRange(de), clientv3.WithMinModRev(min), clientv3.WithLimit(1), clientv3.WithKeysOnly()),
	}
}

// rangeConflict returns the conflict of the range condition cd from the
// answers of its rangeChanges reads, or nil when it held.
func (kv *KV) rangeConflict(cd vkv.TxnCondition, recs, dels *etcdserverpb.ResponseOp) (*vkv.Conflict, error) {
	cf := &vkv.Conflict{Expected: cd.Version, Range: cd.Range}
	if kvs := recs.GetResponseRange().GetKvs(); len(kvs) > 0 {
		e, err := kv.entry(kvs[0])
		if err != nil {
			return nil, err
		}
		cf.Key, cf.Actual, cf.Current = e.Key, e.Version, &e
		return cf, nil
	}
	if kvs := dels.GetResponseRange().GetKvs(); len(kvs) > 0 {
		cf.Key = string(kvs[0].Key[len(kv.deleteKey("")):])
		return cf, nil
	}
	return nil, nil
}
