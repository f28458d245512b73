package vkvclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// clientBackend runs vkv's transaction engine over HTTP: a snapshot reads
// with GET ?version= at a version pinned by its first read, and a commit is
// one POST /v1/txn.
type clientBackend struct{ c *Client }

func (b clientBackend) Snapshot(ctx context.Context) (vkv.TxnSnapshot, error) {
	return &clientSnapshot{c: b.c, ctx: ctx, now: b.c.now()}, nil
}

// clientSnapshot reads at one version of the server's store, pinned by its
// first read: GET ?version=latest reads the key at the newest version V and
// reports V, and the later reads are GET ?version=V. Only a run that reads
// nothing and commits nothing asks /healthz for V (Version).
type clientSnapshot struct {
	c      *Client
	ctx    context.Context
	now    time.Time   // expiry is judged at this time, like the store's snapshot
	pinned bool        // pin is known (or the server cannot tell it)
	hasPin bool        // reads go to GetAt(pin)
	pin    vkv.Version // the snapshot's version
}

// Version returns the version reads are made at, pinning it with a request
// to /healthz if no read has.
func (sn *clientSnapshot) Version() (vkv.Version, error) {
	if !sn.pinned {
		v, ok, err := sn.c.storeVersion(sn.ctx)
		if err != nil {
			return 0, err
		}
		sn.pinned, sn.hasPin, sn.pin = true, ok, v
	}
	return sn.pin, nil
}

// Get reads key at the snapshot's version; the first read pins it.
func (sn *clientSnapshot) Get(key string) (vkv.Entry, error) {
	var (
		e   vkv.Entry
		err error
	)
	switch {
	case !sn.pinned && !sn.c.noPinnedRead.Load():
		var (
			pin vkv.Version
			ok  bool
		)
		e, pin, ok, err = sn.c.getPinned(sn.ctx, key)
		if errors.Is(err, vkv.ErrInvalidVersion) && !errors.Is(err, vkv.ErrFutureVersion) {
			// A server from before ?version=latest: pin with /healthz.
			sn.c.noPinnedRead.Store(true)
			return sn.Get(key)
		}
		if ok || err == nil || errors.Is(err, vkv.ErrNotFound) {
			// The server answered: with the version it read at, or,
			// when its KV cannot tell one, without.
			sn.pinned, sn.hasPin, sn.pin = true, ok, pin
		}
	case !sn.pinned:
		if _, err := sn.Version(); err != nil {
			return vkv.Entry{}, err
		}
		return sn.Get(key)
	case sn.hasPin:
		e, err = sn.c.GetAt(sn.ctx, key, sn.pin)
	default:
		e, err = sn.c.Get(sn.ctx, key)
	}
	if err == nil && sn.hasPin && e.Expired(sn.now) {
		return vkv.Entry{}, vkv.ErrNotFound
	}
	return e, err
}

// List reads a page at the snapshot's version, with GET /v1/kv?version=V;
// a first read pins V with the version a plain List reports. Entries that
// have expired at the snapshot's time are left out, as the store's
// snapshot leaves them out.
func (sn *clientSnapshot) List(prefix, after string, limit int) (vkv.ListResult, error) {
	var (
		res vkv.ListResult
		err error
	)
	if !sn.pinned {
		res, err = sn.c.List(sn.ctx, prefix, after, limit)
		if err != nil {
			return vkv.ListResult{}, err
		}
		sn.pinned, sn.hasPin, sn.pin = true, true, res.Version
	} else {
		if res, err = sn.c.ListAt(sn.ctx, prefix, after, limit, sn.pin); err != nil {
			return vkv.ListResult{}, err
		}
	}
	live := res.Entries[:0]
	for _, e := range res.Entries {
		if !e.Expired(sn.now) {
			live = append(live, e)
		}
	}
	res.Entries = live
	return res, nil
}

func (sn *clientSnapshot) Now() time.Time { return sn.now }
func (sn *clientSnapshot) Close()         {}

// View runs fn with a read-only snapshot of the store.
func (c *Client) View(ctx context.Context, fn func(tx vkv.Txn) error) error {
	if c.closed.Load() {
		return vkv.ErrClosed
	}
	l, err := c.learn(ctx)
	if err != nil {
		return err
	}
	return l.txns.View(ctx, fn)
}

// Update runs fn in a read-write transaction and commits its writes with
// POST /v1/txn under one new version; see vkv.Writer.Update. It runs on
// vkv's shared transaction engine (vkv.TxnEngine), like the store's.
func (c *Client) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	if c.closed.Load() {
		return 0, vkv.ErrClosed
	}
	l, err := c.learn(ctx)
	if err != nil {
		return 0, err
	}
	return l.txns.Update(ctx, fn)
}

// Commit sends the conditions and writes as one POST /v1/txn.
func (b clientBackend) Commit(ctx context.Context, conds []vkv.TxnCondition, ops []vkv.TxnOp) (vkv.Version, error) {
	req := wire.TxnRequest{
		Conditions: make([]wire.TxnCondition, 0, len(conds)),
		Ops:        make([]wire.TxnOp, 0, len(ops)),
	}
	for _, cd := range conds {
		v := cd.Version
		if cd.Range != nil {
			n := cd.Count
			req.Conditions = append(req.Conditions, wire.TxnCondition{Version: &v, Range: wire.KeyRangeOf(cd.Range), Count: &n})
			continue
		}
		req.Conditions = append(req.Conditions, wire.TxnCondition{Key: cd.Key, KeyBase64: wire.KeyBytes(cd.Key), Version: &v})
	}
	for _, op := range ops {
		if op.Delete {
			req.Ops = append(req.Ops, wire.TxnOp{Op: wire.OpDelete, Key: op.Key, KeyBase64: wire.KeyBytes(op.Key)})
			continue
		}
		val := op.Value
		o := wire.TxnOp{Op: wire.OpPut, Key: op.Key, KeyBase64: wire.KeyBytes(op.Key), Value: &val}
		switch {
		case op.KeepTTL:
			o.TTL = wire.TTLKeep
		case op.TTL > 0:
			o.TTL = op.TTL.String()
		}
		req.Ops = append(req.Ops, o)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, fmt.Errorf("vkvclient: encoding the transaction: %w", err)
	}
	resp, err := b.c.do(ctx, call{method: http.MethodPost, path: "/v1/txn", body: body,
		ctype: "application/json", prefer: true, kind: opTxn})
	if err != nil {
		return 0, valueTooLarge(ops, err)
	}
	defer resp.Body.Close()
	var res wire.TxnResult
	if err := decodeJSON(resp, &res); err != nil {
		return 0, err
	}
	return res.Version, nil
}

// valueTooLarge turns a transaction refused for its size into the
// vkv.ErrValueTooLarge the store gives at Txn.Put when one value alone could
// never be sent in a transaction body (the body limit is above the value
// limit); other errors are returned as they are.
func valueTooLarge(ops []vkv.TxnOp, err error) error {
	var le *vkv.LimitError
	if !errors.As(err, &le) || !errors.Is(err, vkv.ErrTxnTooLarge) || le.Limit <= 0 {
		return err
	}
	for _, op := range ops {
		if n := base64.StdEncoding.EncodedLen(len(op.Value)); !op.Delete && n > le.Limit {
			return &vkv.LimitError{Err: vkv.ErrValueTooLarge, Key: op.Key, Size: len(op.Value), Limit: le.Limit}
		}
	}
	return err
}
