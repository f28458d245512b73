package httpapi

import (
	"time"
	"unicode/utf8"

	"github.com/vkvstore/vkv"
)

// Header names of the API beyond the standard ones.
const (
	// HeaderVersion carries the version of the entry a response is about,
	// in decimal.
	HeaderVersion = "Vkv-Version"
	// HeaderCreateVersion carries the entry's CreateVersion on GET.
	HeaderCreateVersion = "Vkv-Create-Version"
	// HeaderExpiresAt carries the entry's expiry time (RFC 3339, nanoseconds)
	// on GET, for keys written with a TTL.
	HeaderExpiresAt = "Vkv-Expires-At"
	// HeaderStoreVersion carries, on /healthz, the newest version the store
	// has handed out, when the KV can tell.
	HeaderStoreVersion = "Vkv-Store-Version"
	// HeaderRequestID carries the id of the request, as logged.
	HeaderRequestID = "X-Request-Id"
)

// ProblemTypeBase is the prefix of every problem type URI; the problem name
// follows it.
const ProblemTypeBase = "https://github.com/vkvstore/vkv/blob/main/docs/problems.md#"

// Keys in JSON. A JSON string cannot hold bytes that are not UTF-8, so every
// member "key" (and "next") has a sibling "keyBase64" ("nextBase64") that is
// sent only when the key is not valid UTF-8; it then holds the exact key,
// and "key" a lossy rendering for humans. Requests may send "keyBase64"
// instead of "key".

// KeyBytes returns the keyBase64 member to send beside key: nil when key is
// valid UTF-8.
func KeyBytes(key string) []byte {
	if utf8.ValidString(key) {
		return nil
	}
	return []byte(key)
}

// WireKey returns the key a pair of "key" and "keyBase64" members holds.
func WireKey(key string, keyBase64 []byte) string {
	if keyBase64 != nil {
		return string(keyBase64)
	}
	return key
}

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

// ListResult is the body of GET /v1/kv. Next is the key to pass as after for
// the following page; it is empty (and omitted) when no entries remain.
type ListResult struct {
	Items      []Item `json:"items"`
	Next       string `json:"next,omitempty"`
	NextBase64 []byte `json:"nextBase64,omitempty"`
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
type TxnCondition struct {
	Key       string       `json:"key"`
	KeyBase64 []byte       `json:"keyBase64,omitempty"`
	Version   *vkv.Version `json:"version"`
}

// TxnOp is one write of a transaction: Op is "put" or "delete". A put needs
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

// ConflictItem is one failed condition in a conflict problem. The Current
// fields other than CurrentVersion are only sent with
// Prefer: return=representation, and only when the key exists.
type ConflictItem struct {
	Key                  string      `json:"key"`
	KeyBase64            []byte      `json:"keyBase64,omitempty"`
	ExpectedVersion      vkv.Version `json:"expectedVersion"`
	CurrentVersion       vkv.Version `json:"currentVersion"`
	CurrentValue         *[]byte     `json:"currentValue,omitempty"`
	CurrentCreateVersion vkv.Version `json:"currentCreateVersion,omitempty"`
	CurrentExpiresAt     *time.Time  `json:"currentExpiresAt,omitempty"`
}

// Problem is an RFC 9457 problem details object with the extension members
// of the vkv contract. Members that do not apply are omitted.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`

	// Key is the key the problem is about, where one applies.
	Key *string `json:"key,omitempty"`
	// KeyBase64 is the key in base64, sent beside Key when the key is not
	// valid UTF-8 (see KeyBytes).
	KeyBase64 []byte `json:"keyBase64,omitempty"`
	// ExpectedVersion is the version a failed condition asked for (conflict).
	ExpectedVersion *vkv.Version `json:"expectedVersion,omitempty"`
	// CurrentVersion is the key's version when a condition failed (0 when
	// absent).
	CurrentVersion *vkv.Version `json:"currentVersion,omitempty"`
	// CurrentValue, CurrentCreateVersion and CurrentExpiresAt describe the
	// key's entry when a condition failed, with Prefer: return=representation.
	CurrentValue         *[]byte     `json:"currentValue,omitempty"`
	CurrentCreateVersion vkv.Version `json:"currentCreateVersion,omitempty"`
	CurrentExpiresAt     *time.Time  `json:"currentExpiresAt,omitempty"`
	// Conflicts lists every failed condition of a transaction.
	Conflicts []ConflictItem `json:"conflicts,omitempty"`
	// OldestVersion is the oldest version still kept (compacted).
	OldestVersion *vkv.Version `json:"oldestVersion,omitempty"`
	// Limit is the limit exceeded: bytes for 413, ops for too-many-ops.
	Limit *int64 `json:"limit,omitempty"`
	// Code refines the problem for programs, where one name covers several
	// vkv errors: "future-version", "invalid-ttl", "too-many-ops",
	// "value-too-large", "txn-too-large", "closed".
	Code string `json:"code,omitempty"`
	// RequestID is the id of the request, on 500 internal, to find its log.
	RequestID string `json:"requestId,omitempty"`
}

// Name returns the problem's name: its type URI without ProblemTypeBase.
func (p *Problem) Name() string {
	if len(p.Type) > len(ProblemTypeBase) && p.Type[:len(ProblemTypeBase)] == ProblemTypeBase {
		return p.Type[len(ProblemTypeBase):]
	}
	return p.Type
}

// Error describes the problem, so that a *Problem can be returned as an
// error.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return "vkv server: " + p.Name() + ": " + p.Detail
	}
	return "vkv server: " + p.Name()
}
