package wire

import (
	"time"

	"github.com/vkvstore/vkv"
)

// WriteResult is the body of a successful PUT or DELETE.
type WriteResult struct {
	Key       string      `json:"key"`
	KeyBase64 []byte      `json:"keyBase64,omitempty"`
	Version   vkv.Version `json:"version"`
}

// Item is one entry of a list page. Value is base64 in JSON.
type Item struct {
	Key           string      `json:"key"`
	KeyBase64     []byte      `json:"keyBase64,omitempty"`
	Version       vkv.Version `json:"version"`
	Value         []byte      `json:"value"`
	CreateVersion vkv.Version `json:"createVersion,omitempty"`
	ExpiresAt     *time.Time  `json:"expiresAt,omitempty"`
}

// ItemOf returns the list item of the entry e.
func ItemOf(e *vkv.Entry) Item {
	return Item{Key: e.Key, KeyBase64: KeyBytes(e.Key), Version: e.Version, Value: nonNil(e.Value),
		CreateVersion: e.CreateVersion, ExpiresAt: ExpiryOf(e)}
}

// Entry returns the entry it describes.
func (it *Item) Entry() vkv.Entry {
	e := vkv.Entry{Key: WireKey(it.Key, it.KeyBase64), Value: it.Value, Version: it.Version, CreateVersion: it.CreateVersion}
	if it.ExpiresAt != nil {
		e.ExpiresAt = *it.ExpiresAt
	}
	return e
}

// ListResult is the body of GET /v1/kv. Next is the key to pass as after for
// the following page; it is empty (and omitted) when no entries remain.
// Version is the version the page was read at (vkv.ListResult.Version):
// the ?version= asked for, else the store's newest when it was read; the
// response also carries it in HeaderStoreVersion. A server from before it
// sends none (0).
type ListResult struct {
	Items      []Item      `json:"items"`
	Next       string      `json:"next,omitempty"`
	NextBase64 []byte      `json:"nextBase64,omitempty"`
	Version    vkv.Version `json:"version"`
}

// HistoryVersion is one version in a history. Value is base64 in JSON, null
// for a delete.
type HistoryVersion struct {
	Version       vkv.Version `json:"version"`
	Value         []byte      `json:"value"`
	Deleted       bool        `json:"deleted"`
	CreateVersion vkv.Version `json:"createVersion,omitempty"`
	ExpiresAt     *time.Time  `json:"expiresAt,omitempty"`
}

// HistoryVersionOf returns the history entry of the version e.
func HistoryVersionOf(e *vkv.Entry) HistoryVersion {
	hv := HistoryVersion{Version: e.Version, CreateVersion: e.CreateVersion, Deleted: e.Deleted}
	if !e.Deleted {
		hv.Value, hv.ExpiresAt = nonNil(e.Value), ExpiryOf(e)
	}
	return hv
}

// Entry returns the version hv describes, of key.
func (hv *HistoryVersion) Entry(key string) vkv.Entry {
	e := vkv.Entry{Key: key, Value: hv.Value, Version: hv.Version, CreateVersion: hv.CreateVersion, Deleted: hv.Deleted}
	if hv.ExpiresAt != nil {
		e.ExpiresAt = *hv.ExpiresAt
	}
	return e
}

// HistoryResult is the body of GET /v1/history/{key}, newest first.
type HistoryResult struct {
	Key       string           `json:"key"`
	KeyBase64 []byte           `json:"keyBase64,omitempty"`
	Versions  []HistoryVersion `json:"versions"`
}

// TxnRequest is the body of POST /v1/txn.
type TxnRequest struct {
	Conditions []TxnCondition `json:"conditions"`
	Ops        []TxnOp        `json:"ops"`
}

// TxnCondition requires Key to be at Version (0: absent) at commit.
// Version is a pointer so that a missing version is told from 0.
//
// With Range (and Count; Key empty) it is a range condition, what a range
// read in a transaction (vkv.Txn.List) becomes: the live keys of Range at
// commit are those a read at Version saw, Count of them, none changed
// after Version (vkv.TxnCondition).
type TxnCondition struct {
	Key       string       `json:"key,omitempty"`
	KeyBase64 []byte       `json:"keyBase64,omitempty"`
	Version   *vkv.Version `json:"version"`
	Range     *KeyRange    `json:"range,omitempty"`
	Count     *int         `json:"count,omitempty"`
}

// KeyRange is a vkv.KeyRange: the keys under Prefix after After, up to Last
// ("" for the end of the prefix). Each member has a base64 twin for keys
// that are not UTF-8, as keys do.
type KeyRange struct {
	Prefix       string `json:"prefix"`
	PrefixBase64 []byte `json:"prefixBase64,omitempty"`
	After        string `json:"after,omitempty"`
	AfterBase64  []byte `json:"afterBase64,omitempty"`
	Last         string `json:"last,omitempty"`
	LastBase64   []byte `json:"lastBase64,omitempty"`
}

// KeyRangeOf returns the wire form of r.
func KeyRangeOf(r *vkv.KeyRange) *KeyRange {
	if r == nil {
		return nil
	}
	return &KeyRange{Prefix: r.Prefix, PrefixBase64: KeyBytes(r.Prefix), After: r.After, AfterBase64: KeyBytes(r.After),
		Last: r.Last, LastBase64: KeyBytes(r.Last)}
}

// KeyRange returns the range r describes.
func (r *KeyRange) KeyRange() *vkv.KeyRange {
	if r == nil {
		return nil
	}
	return &vkv.KeyRange{Prefix: WireKey(r.Prefix, r.PrefixBase64), After: WireKey(r.After, r.AfterBase64), Last: WireKey(r.Last, r.LastBase64)}
}

// Ops of a TxnOp.
const (
	// OpPut is the op of a put.
	OpPut = "put"
	// OpDelete is the op of a delete.
	OpDelete = "delete"
)

// TxnOp is one write of a transaction: Op is OpPut or OpDelete. A put needs
// Value (base64, may be empty) and may have TTL, a Go duration or a number of
// seconds.
type TxnOp struct {
	Op        string  `json:"op"`
	Key       string  `json:"key"`
	KeyBase64 []byte  `json:"keyBase64,omitempty"`
	Value     *[]byte `json:"value,omitempty"`
	TTL       string  `json:"ttl,omitempty"`
}

// TxnResult is the body of a successful POST /v1/txn.
type TxnResult struct {
	Version vkv.Version `json:"version"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// ExpiryOf returns the expiresAt member for e: its ExpiresAt in UTC, or nil
// when e does not expire.
func ExpiryOf(e *vkv.Entry) *time.Time {
	if e.ExpiresAt.IsZero() {
		return nil
	}
	t := e.ExpiresAt.UTC()
	return &t
}

// nonNil returns b, or an empty slice for nil, so that JSON shows "" rather
// than null.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
