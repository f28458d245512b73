package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// Range conditions of POST /v1/txn: what a client's range read in a
// transaction (vkv.Txn.List) becomes. The handler serves any vkv.KV, so it
// checks them with the KV's own range reads inside the Update that
// commits: the live keys of the range, read with Txn.List, must be Count
// and none above the condition's version. Those reads are range conditions
// of the Update in turn, so the check holds at the commit.

// checkRangeCond checks the range condition i as decoded.
func checkRangeCond(i int, c wire.TxnCondition) error {
	bad := func(format string, args ...any) error {
		return &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest,
			detail: fmt.Sprintf("condition %d: ", i) + fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Range == nil:
		return bad("a count needs a range")
	case c.Key != "" || c.KeyBase64 != nil:
		return bad("a range condition has no key")
	case c.Version == nil:
		return bad("a range condition needs the version the range was read at")
	case c.Count == nil || *c.Count < 0:
		return bad("a range condition needs the count of keys the range held (0 or more)")
	}
	return nil
}

// checkRanges checks the range conditions of conds in tx. When one fails
// it returns the *vkv.ConflictError of every failed condition, in order,
// the key conditions read with tx.Get.
func (h *handler) checkRanges(ctx context.Context, tx vkv.Txn, conds []wire.TxnCondition) error {
	var failed bool
	cs := make([]*vkv.Conflict, len(conds))
	for i, c := range conds {
		if c.Range == nil {
			continue
		}
		cf, err := h.checkRange(ctx, tx, c)
		if err != nil {
			return err
		}
		cs[i], failed = cf, failed || cf != nil
	}
	if !failed {
		return nil
	}
	var out []vkv.Conflict
	for i, c := range conds {
		if c.Range != nil {
			if cs[i] != nil {
				out = append(out, *cs[i])
			}
			continue
		}
		e, err := tx.Get(c.Key)
		if err != nil && !errors.Is(err, vkv.ErrNotFound) {
			return err
		}
		if e.Version != *c.Version {
			cf := vkv.Conflict{Key: c.Key, Expected: *c.Version, Actual: e.Version}
			if err == nil {
				cf.Current = &e
			}
			out = append(out, cf)
		}
	}
	return vkv.NewConflictError(out)
}

// checkRange checks one range condition in tx and returns its conflict,
// or nil when it holds.
func (h *handler) checkRange(ctx context.Context, tx vkv.Txn, c wire.TxnCondition) (*vkv.Conflict, error) {
	r, v := c.Range.KeyRange(), *c.Version
	live := make(map[string]bool)
	for after := r.After; ; {
		page, err := tx.List(r.Prefix, after, vkv.MaxListLimit)
		if err != nil {
			return nil, err
		}
		for i := range page.Entries {
			e := &page.Entries[i]
			if !r.Contains(e.Key) {
				break
			}
			if e.Version > v {
				return &vkv.Conflict{Key: e.Key, Expected: v, Actual: e.Version, Current: e, Range: r}, nil
			}
			live[e.Key] = true
		}
		if page.Next == "" || (r.Last != "" && page.Next >= r.Last) {
			break
		}
		after = page.Next
	}
	if len(live) == *c.Count {
		return nil, nil
	}
	// A key went away: name one the range held at v, if it is kept.
	cf := &vkv.Conflict{Expected: v, Range: r}
	for after := r.After; ; {
		page, err := h.kv.ListAt(ctx, r.Prefix, after, vkv.MaxListLimit, v)
		if err != nil {
			return cf, nil
		}
		for _, e := range page.Entries {
			if r.Contains(e.Key) && !live[e.Key] {
				cf.Key = e.Key
				return cf, nil
			}
		}
		if page.Next == "" || (r.Last != "" && page.Next >= r.Last) {
			return cf, nil
		}
		after = page.Next
	}
}
