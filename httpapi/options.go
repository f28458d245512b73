package httpapi

import (
	"log/slog"
	"math"
	"time"

	"github.com/vkvstore/vkv"
)

// Defaults of the handler's limits. The key, value and transaction limits
// are the KV's own when it tells them (vkv.Limiter, as the embedded
// *vkv.Store does); these defaults apply to a KV that does not. The longest
// TTL is vkv.MaxTTL.
const (
	// DefaultMaxKeySize is the longest key the handler accepts, in bytes,
	// for a KV that does not tell its own limit.
	DefaultMaxKeySize = vkv.DefaultMaxKeySize
	// DefaultMaxBodySize is the largest value a PUT may carry, for a KV that
	// does not tell its own limit: 1 MiB.
	DefaultMaxBodySize = vkv.DefaultMaxValueSize
	// DefaultMaxTxnBodySize is the largest POST /v1/txn body: 8 MiB, so that a
	// transaction holding a 1 MiB value (base64: 4/3 of it) fits.
	DefaultMaxTxnBodySize = 8 << 20
	// DefaultMaxTxnOps is the most ops one transaction may hold, for a KV
	// that does not tell its own limit.
	DefaultMaxTxnOps = vkv.DefaultMaxTxnOps
	// DefaultHistoryLimit is the most versions GET /v1/history serves: 0,
	// meaning every version the store keeps.
	DefaultHistoryLimit = 0
)

// config is what the options set.
type config struct {
	maxKeySize     int   // 0: the KV's limit
	maxBodySize    int64 // 0: the KV's limit
	maxTxnBodySize int64
	maxTxnOps      int // 0: the KV's limit
	historyLimit   int
	authorizer     Authorizer // WithAuthorizer, WithToken; nil: none
	logger         *slog.Logger
	heartbeat      time.Duration // of watch streams; 0: wire.DefaultHeartbeat
	metrics        Metrics       // WithMetrics; nil: none
}

func defaultConfig() config {
	return config{
		maxTxnBodySize: DefaultMaxTxnBodySize,
		historyLimit:   DefaultHistoryLimit,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// Option configures the handler returned by New.
type Option func(*config)

// WithMaxKeySize sets the longest key accepted, in bytes; longer keys get 400
// invalid-key. It can only tighten the KV's own limit (vkv.Limiter): a larger
// n is cut to it. n <= 0 keeps the default: the KV's limit, or
// DefaultMaxKeySize for a KV that does not tell it.
func WithMaxKeySize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxKeySize = n
		}
	}
}

// WithMaxBodySize sets the largest value a PUT may carry, in bytes; larger
// bodies get 413 payload-too-large and nothing is written. It can only
// tighten the KV's own value limit (vkv.Limiter). n <= 0 keeps the default:
// the KV's limit, or DefaultMaxBodySize for a KV that does not tell it.
func WithMaxBodySize(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBodySize = n
		}
	}
}

// WithMaxTxnBodySize sets the largest POST /v1/txn body, in bytes; larger
// bodies get 413. n <= 0 keeps the default, DefaultMaxTxnBodySize.
func WithMaxTxnBodySize(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxTxnBodySize = n
		}
	}
}

// WithMaxTxnOps sets the most ops (and the most conditions) one transaction
// may hold; more get 400 invalid-request, code too-many-ops. It can only
// tighten the KV's own limit (vkv.Limiter). n <= 0 keeps the default: the
// KV's limit, or DefaultMaxTxnOps for a KV that does not tell it.
func WithMaxTxnOps(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxTxnOps = n
		}
	}
}

// WithHistoryLimit caps the versions GET /v1/history serves per request at
// n (newest first). n <= 0 serves every version the store keeps, the default.
func WithHistoryLimit(n int) Option {
	return func(c *config) {
		if n < 0 {
			n = 0
		}
		c.historyLimit = n
	}
}

// WithLogger sets the logger for request logs (one Info line per request)
// and internal errors. nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// limitsFor returns the limits the handler enforces on kv, and serves at
// GET /v1/limits: each the handler's option capped at the KV's own limit, or
// the KV's limit, or the handler's default.
func (c config) limitsFor(kv vkv.KV) vkv.Limits {
	var own vkv.Limits
	if l, ok := kv.(vkv.Limiter); ok {
		own = l.Limits()
	}
	limit := func(opt, own, def int) int {
		switch {
		case opt > 0 && own > 0:
			return min(opt, own)
		case opt > 0:
			return opt
		case own > 0:
			return own
		}
		return def
	}
	return vkv.Limits{
		MaxKeySize:   limit(c.maxKeySize, own.MaxKeySize, DefaultMaxKeySize),
		MaxValueSize: limit(int(min(c.maxBodySize, math.MaxInt)), own.MaxValueSize, DefaultMaxBodySize),
		MaxTxnOps:    limit(c.maxTxnOps, own.MaxTxnOps, DefaultMaxTxnOps),
	}
}
