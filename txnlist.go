package vkv

import (
	"slices"
	"strings"
)

// Range reads in transactions: Txn.List on the shared engine.

// List returns a page of the keys under prefix after the key after as the
// transaction sees them; see Txn.List. Inside Update the range the page
// covered becomes a condition of the commit.
func (t *engineTxn) List(prefix, after string, limit int) (ListResult, error) {
	if err := t.usable(false); err != nil {
		return ListResult{}, err
	}
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	rng := KeyRange{Prefix: prefix, After: after}

	// This transaction's writes in the range, in key order.
	var own []TxnOp
	for _, op := range t.ops {
		if rng.Contains(op.Key) {
			own = append(own, op)
		}
	}
	slices.SortFunc(own, func(a, b TxnOp) int { return strings.Compare(a.Key, b.Key) })

	// Merge the snapshot's pages with own until one entry more than the
	// page is known (or both end): that entry says whether more remain.
	var (
		out       []Entry
		snapKeys  []string // every snapshot key read, in order
		buf       []Entry  // snapshot entries read and not merged yet
		cursor    = after
		exhausted bool
		version   Version
		read      bool
	)
	for len(out) <= limit {
		if len(buf) == 0 && !exhausted {
			page, err := t.snap.List(prefix, cursor, limit+1)
			if err != nil {
				return ListResult{}, err
			}
			if !read {
				version, read = page.Version, true
			}
			buf = page.Entries
			for _, e := range buf {
				snapKeys = append(snapKeys, e.Key)
			}
			if page.Next == "" {
				exhausted = true
			} else {
				cursor = page.Next
			}
			continue
		}
		switch {
		case len(buf) == 0 && len(own) == 0:
			goto done
		case len(own) == 0 || (len(buf) > 0 && buf[0].Key < own[0].Key):
			out = append(out, buf[0])
			buf = buf[1:]
		default:
			op := own[0]
			own = own[1:]
			if len(buf) > 0 && buf[0].Key == op.Key {
				buf = buf[1:]
			}
			if !op.Delete {
				out = append(out, t.ownEntry(op))
			}
		}
	}
done:
	res := ListResult{Entries: out, Version: version}
	count := len(snapKeys)
	if len(out) > limit {
		res.Entries = out[:limit]
		res.Next = out[limit-1].Key
		rng.Last = res.Next
		count = 0
		for _, k := range snapKeys {
			if k <= rng.Last {
				count++
			}
		}
	}
	if !t.readOnly {
		t.ranges = append(t.ranges, TxnCondition{Version: version, Range: &rng, Count: count})
	}
	return res, nil
}
