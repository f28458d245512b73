package vkvclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
)

// clientTxn is the Txn of a Client: reads at a pinned version, buffers
// writes, and records the versions it read as conditions of its commit.
type clientTxn struct {
	c        *Client
	ctx      context.Context
	readOnly bool
	done     bool

	pinned bool        // pin is known (or the server cannot tell it)
	hasPin bool        // reads go to GetAt(pin)
	pin    vkv.Version // the snapshot's version
	now    time.Time   // expiry is judged at this time, like the store's snapshot

	reads     map[string]vkv.Version
	readOrder []string
	expects   []httpapi.TxnCondition
	ops       []bufferedOp
	opIndex   map[string]int
}

// bufferedOp is a write waiting for the commit.
type bufferedOp struct {
	key   string
	value []byte
	ttl   time.Duration
	del   bool
}

var _ vkv.Txn = (*clientTxn)(nil)

func (t *clientTxn) usable(write bool) error {
	if t.done {
		return vkv.ErrTxnDone
	}
	if write && t.readOnly {
		return vkv.ErrReadOnly
	}
	return t.ctx.Err()
}

// snapshot pins the version reads are made at, once.
func (t *clientTxn) snapshot() error {
	if t.pinned {
		return nil
	}
	v, ok, err := t.c.storeVersion(t.ctx)
	if err != nil {
		return err
	}
	t.pinned, t.hasPin, t.pin, t.now = true, ok, v, t.c.now()
	return nil
}

// Get returns key as the transaction sees it: its own writes first (with
// Version 0, as the store gives them), else the snapshot.
func (t *clientTxn) Get(key string) (vkv.Entry, error) {
	if err := t.usable(false); err != nil {
		return vkv.Entry{}, err
	}
	if err := checkKey(key); err != nil {
		return vkv.Entry{}, err
	}
	if i, ok := t.opIndex[key]; ok {
		op := t.ops[i]
		if op.del {
			return vkv.Entry{}, vkv.ErrNotFound
		}
		e := vkv.Entry{Key: key, Value: append([]byte{}, op.value...)}
		if op.ttl > 0 {
			e.ExpiresAt = t.c.now().Add(op.ttl)
		}
		return e, nil
	}
	if err := t.snapshot(); err != nil {
		return vkv.Entry{}, err
	}
	var (
		e   vkv.Entry
		err error
	)
	if t.hasPin {
		e, err = t.c.GetAt(t.ctx, key, t.pin)
		if err == nil && e.Expired(t.now) {
			e, err = vkv.Entry{}, vkv.ErrNotFound
		}
	} else {
		e, err = t.c.Get(t.ctx, key)
	}
	if err != nil && !errors.Is(err, vkv.ErrNotFound) {
		return vkv.Entry{}, err
	}
	if !t.readOnly {
		if _, seen := t.reads[key]; !seen {
			if t.reads == nil {
				t.reads = make(map[string]vkv.Version)
			}
			t.reads[key] = e.Version
			t.readOrder = append(t.readOrder, key)
		}
	}
	return e, err
}

func (t *clientTxn) add(op bufferedOp) {
	if i, ok := t.opIndex[op.key]; ok {
		t.ops[i] = op
		return
	}
	if t.opIndex == nil {
		t.opIndex = make(map[string]int)
	}
	t.opIndex[op.key] = len(t.ops)
	t.ops = append(t.ops, op)
}

// Put buffers a write of value to key.
func (t *clientTxn) Put(key string, value []byte, opts ...vkv.WriteOption) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	var ttl time.Duration
	if len(opts) > 0 {
		if ttl = vkv.NewWriteOptions(opts...).TTL; ttl < 0 {
			return fmt.Errorf("%w: %v", vkv.ErrInvalidTTL, ttl)
		}
	}
	t.add(bufferedOp{key: key, value: append(make([]byte, 0, len(value)), value...), ttl: ttl})
	return nil
}

// Delete buffers a delete of key.
func (t *clientTxn) Delete(key string) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	t.add(bufferedOp{key: key, del: true})
	return nil
}

// Expect adds the condition that key is at version v at commit.
func (t *clientTxn) Expect(key string, v vkv.Version) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	t.expects = append(t.expects, httpapi.TxnCondition{Key: key, KeyBase64: httpapi.KeyBytes(key), Version: &v})
	return nil
}

// View runs fn with a read-only snapshot of the store.
func (c *Client) View(ctx context.Context, fn func(tx vkv.Txn) error) error {
	if c.closed.Load() {
		return vkv.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := &clientTxn{c: c, ctx: ctx, readOnly: true}
	defer func() { tx.done = true }()
	return fn(tx)
}

// Update runs fn in a read-write transaction and commits its writes with
// POST /v1/txn under one new version; see vkv.Writer.Update.
func (c *Client) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	if c.closed.Load() {
		return 0, vkv.ErrClosed
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		tx := &clientTxn{c: c, ctx: ctx}
		err := fn(tx)
		tx.done = true
		if err != nil {
			return 0, err
		}
		v, ce, err := c.commit(ctx, tx)
		if err != nil || ce == nil {
			return v, err
		}
		readFailed := false
		for _, cf := range ce.Conflicts {
			if rv, ok := tx.reads[cf.Key]; ok && rv == cf.Expected {
				readFailed = true
			}
		}
		if !readFailed {
			return 0, ce
		}
		if attempt >= c.attempts {
			return 0, fmt.Errorf("vkvclient: transaction gave up after %d attempts: %w", attempt, ce)
		}
		if attempt > 2 {
			d := time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond)))
			timer := time.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return 0, ctx.Err()
			case <-timer.C:
			}
		}
	}
}

// commit sends tx's conditions and writes. A conflict comes back as ce.
func (c *Client) commit(ctx context.Context, tx *clientTxn) (v vkv.Version, ce *vkv.ConflictError, err error) {
	if len(tx.ops) == 0 && len(tx.expects) == 0 {
		// Nothing to write or check: the reads came from one snapshot.
		if tx.hasPin {
			return tx.pin, nil, nil
		}
		v, _, err := c.storeVersion(ctx)
		return v, nil, err
	}
	req := httpapi.TxnRequest{
		Conditions: make([]httpapi.TxnCondition, 0, len(tx.expects)+len(tx.readOrder)),
		Ops:        make([]httpapi.TxnOp, 0, len(tx.ops)),
	}
	req.Conditions = append(req.Conditions, tx.expects...)
	for _, k := range tx.readOrder {
		v := tx.reads[k]
		req.Conditions = append(req.Conditions, httpapi.TxnCondition{Key: k, KeyBase64: httpapi.KeyBytes(k), Version: &v})
	}
	for _, op := range tx.ops {
		if op.del {
			req.Ops = append(req.Ops, httpapi.TxnOp{Op: "delete", Key: op.key, KeyBase64: httpapi.KeyBytes(op.key)})
			continue
		}
		val := op.value
		o := httpapi.TxnOp{Op: "put", Key: op.key, KeyBase64: httpapi.KeyBytes(op.key), Value: &val}
		if op.ttl > 0 {
			o.TTL = op.ttl.String()
		}
		req.Ops = append(req.Ops, o)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, nil, fmt.Errorf("vkvclient: encoding the transaction: %w", err)
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/txn", body: body,
		ctype: "application/json", prefer: true, kind: opTxn})
	if err != nil {
		if errors.As(err, &ce) {
			return 0, ce, nil
		}
		return 0, nil, valueTooLarge(tx, err)
	}
	defer resp.Body.Close()
	var res httpapi.TxnResult
	if err := decodeJSON(resp, &res); err != nil {
		return 0, nil, err
	}
	return res.Version, nil, nil
}

// valueTooLarge turns a transaction refused for its size into the
// vkv.ErrValueTooLarge the store gives at Txn.Put when one value alone could
// never be sent in a transaction body (the body limit is above the value
// limit); other errors are returned as they are.
func valueTooLarge(tx *clientTxn, err error) error {
	var le *vkv.LimitError
	if !errors.As(err, &le) || !errors.Is(err, vkv.ErrTxnTooLarge) || le.Limit <= 0 {
		return err
	}
	for _, op := range tx.ops {
		if n := base64.StdEncoding.EncodedLen(len(op.value)); !op.del && n > le.Limit {
			return &vkv.LimitError{Err: vkv.ErrValueTooLarge, Key: op.key, Size: len(op.value), Limit: le.Limit}
		}
	}
	return err
}
