package httpapi

import (
	"log/slog"
	"time"

	"github.com/vkvstore/vkv"
)

// Defaults of the handler's limits.
const (
	// DefaultMaxKeySize is the longest key the handler accepts, in bytes.
	DefaultMaxKeySize = vkv.DefaultMaxKeySize
	// DefaultMaxBodySize is the largest value a PUT may carry: 1 MiB.
	DefaultMaxBodySize = 1 << 20
	// DefaultMaxTxnBodySize is the largest POST /v1/txn body: 8 MiB, so that a
	// transaction holding a 1 MiB value (base64: 4/3 of it) fits.
	DefaultMaxTxnBodySize = 8 << 20
	// DefaultMaxTxnOps is the most ops one transaction may hold.
	DefaultMaxTxnOps = vkv.DefaultMaxTxnOps
	// MaxTTL is the longest TTL a PUT or a transaction op may ask for: 100
	// years. The store keeps expiry times as Unix nanoseconds, which end in
	// 2262; a longer TTL would wrap and expire the key at once.
	MaxTTL = 100 * 365 * 24 * time.Hour
	// DefaultHistoryLimit is the most versions GET /v1/history serves: 0,
	// meaning every version the store keeps.
	DefaultHistoryLimit = 0
)

// config is what the options set.
type config struct {
	maxKeySize     int
	maxBodySize    int64
	maxTxnBodySize int64
	maxTxnOps      int
	historyLimit   int
	token          string
	logger         *slog.Logger
	heartbeat      time.Duration // of watch streams; 0: wire.DefaultHeartbeat
	metrics        Metrics       // WithMetrics; nil: none
}

func defaultConfig() config {
	return config{
		maxKeySize:     DefaultMaxKeySize,
		maxBodySize:    DefaultMaxBodySize,
		maxTxnBodySize: DefaultMaxTxnBodySize,
		maxTxnOps:      DefaultMaxTxnOps,
		historyLimit:   DefaultHistoryLimit,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// Option configures the handler returned by New.
type Option func(*config)

// WithMaxKeySize sets the longest key accepted, in bytes; longer keys get 400
// invalid-key. n <= 0 keeps the default, DefaultMaxKeySize.
func WithMaxKeySize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxKeySize = n
		}
	}
}

// WithMaxBodySize sets the largest value a PUT may carry, in bytes; larger
// bodies get 413 payload-too-large and nothing is written. n <= 0 keeps the
// default, DefaultMaxBodySize.
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

// WithMaxTxnOps sets the most ops one transaction may hold; more get 400
// invalid-request. n <= 0 keeps the default, DefaultMaxTxnOps.
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

// WithToken makes every request except GET /healthz need the header
// "Authorization: Bearer <token>"; others get 401 unauthorized. The token is
// compared in constant time. An empty token turns authentication off, the
// default.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
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
