package wire

import (
	"time"

	"github.com/vkvstore/vkv"
)

// Limits is the body of GET /v1/limits: the sizes the server accepts, so
// that a client can check its requests with vkv.Limits before it sends them
// and refuse what the server would refuse with the same errors.
type Limits struct {
	// MaxKeySize is the longest key, in bytes.
	MaxKeySize int `json:"maxKeySize"`
	// MaxValueSize is the longest value, in bytes.
	MaxValueSize int `json:"maxValueSize"`
	// MaxTxnOps is the most ops, and the most conditions, one transaction
	// may hold.
	MaxTxnOps int `json:"maxTxnOps"`
	// MaxTxnBodySize is the largest body of POST /v1/txn, in bytes.
	MaxTxnBodySize int64 `json:"maxTxnBodySize"`
	// MaxTTLSeconds is the longest TTL, in seconds: vkv.MaxTTL.
	MaxTTLSeconds int64 `json:"maxTTLSeconds"`
}

// LimitsOf returns the body of GET /v1/limits for a server that enforces l
// and accepts transaction bodies of up to txnBody bytes.
func LimitsOf(l vkv.Limits, txnBody int64) Limits {
	return Limits{MaxKeySize: l.MaxKeySize, MaxValueSize: l.MaxValueSize, MaxTxnOps: l.MaxTxnOps,
		MaxTxnBodySize: txnBody, MaxTTLSeconds: int64(vkv.MaxTTL / time.Second)}
}

// Limits returns the key, value and transaction limits of l, to check
// requests with.
func (l *Limits) Limits() vkv.Limits {
	return vkv.Limits{MaxKeySize: l.MaxKeySize, MaxValueSize: l.MaxValueSize, MaxTxnOps: l.MaxTxnOps}
}
