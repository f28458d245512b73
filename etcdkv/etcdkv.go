package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vkvstore/vkv"
)

// Defaults of Options.
const (
	// DefaultMaxValueSize is the longest value by default: 1 MiB, which
	// leaves room for the key, the record header and a few more writes in
	// etcd's default request limit of 1.5 MiB.
	DefaultMaxValueSize = 1 << 20
	// DefaultEtcdMaxTxnOps is etcd's default --max-txn-ops
	// (server/embed/config.go DefaultMaxTxnOps).
	DefaultEtcdMaxTxnOps = 128
	// DefaultEtcdMaxRequestBytes is etcd's default --max-request-bytes
	// (server/embed/config.go DefaultMaxRequestBytes).
	DefaultEtcdMaxRequestBytes = 3 << 19
	// DefaultRequestTimeout bounds one request to etcd when the caller's
	// context has no earlier deadline.
	DefaultRequestTimeout = 5 * time.Second
)

// Options configure a KV. The zero value is ready to use against an etcd
// cluster running with its default limits.
type Options struct {
	// Clock is the source of time for TTLs and the reaper. Default
	// vkv.SystemClock.
	Clock vkv.Clock
	// MaxKeySize is the longest key in bytes. Default vkv.DefaultMaxKeySize.
	MaxKeySize int
	// MaxValueSize is the longest value in bytes. Default
	// DefaultMaxValueSize.
	MaxValueSize int
	// EtcdMaxTxnOps is the cluster's --max-txn-ops. The most writes (and
	// Expect conditions) one vkv transaction may make is derived from it:
	// (EtcdMaxTxnOps-1)/2. Default DefaultEtcdMaxTxnOps.
	EtcdMaxTxnOps int
	// EtcdMaxRequestBytes is the cluster's --max-request-bytes; a
	// transaction whose keys and values add up to more is refused with
	// vkv.ErrTxnTooLarge before it is sent. Default
	// DefaultEtcdMaxRequestBytes.
	EtcdMaxRequestBytes int
	// RequestTimeout bounds each request to etcd whose context has no
	// earlier deadline, so that an unreachable cluster gives an error
	// matching vkv.ErrUnavailable instead of a call that never returns.
	// Watches are not bounded. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// NoReaper turns off the background recording of expiries. Expired
	// keys stay invisible, and the next write records them; a watcher sees
	// an expiry only then. For tests and for replicas that leave reaping to
	// others.
	NoReaper bool
	// Logger receives the reaper's errors. Default slog.Default().
	Logger *slog.Logger
}

// KV is a vkv.KV and vkv.Watcher on an etcd cluster, under one key prefix.
// It is safe for concurrent use, and any number of KVs (in one process or
// many) may share a cluster and a prefix: they agree on every read and
// write, as replicas of one store.
type KV struct {
	cli    *clientv3.Client
	owned  bool   // Close closes cli (Dial made it)
	prefix string // namespace, ends the key spaces' names
	opts   Options
	limits vkv.Limits
	txns   *vkv.TxnEngine

	// closed is set once by Close; every call checks it first.
	closed atomic.Bool
	// ctx is cancelled by Close: it ends the reaper and open watches.
	ctx    context.Context
	cancel context.CancelFunc
	// bg counts the reaper goroutine; Close waits for it.
	bg sync.WaitGroup
}

var (
	_ vkv.KV      = (*KV)(nil)
	_ vkv.Watcher = (*KV)(nil)
)

// New returns a KV on the cluster cli is connected to, keeping its data
// under prefix (for example "vkv/"; "" uses the whole keyspace). The KV
// does not own cli: Close leaves it open. opts may be nil.
func New(cli *clientv3.Client, prefix string, opts *Options) (*KV, error) {
	if cli == nil {
		return nil, errors.New("etcdkv: New: the client is nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, err
	}
	kv := &KV{cli: cli, prefix: prefix, opts: o}
	kv.limits = vkv.Limits{MaxKeySize: o.MaxKeySize, MaxValueSize: o.MaxValueSize, MaxTxnOps: (o.EtcdMaxTxnOps - 1) / 2}
	kv.txns = vkv.NewTxnEngine(backend{kv}, vkv.TxnEngineOptions{Limits: kv.limits})
	kv.ctx, kv.cancel = context.WithCancel(context.Background())
	if !o.NoReaper {
		kv.bg.Add(1)
		go kv.reapLoop()
	}
	return kv, nil
}

// Dial connects to the cluster described by cfg and returns a KV that owns
// the connection (Close closes it). See New for prefix and opts.
func Dial(cfg clientv3.Config, prefix string, opts *Options) (*KV, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcdkv: Dial: no endpoints: give at least one etcd client URL, such as http://127.0.0.1:2379")
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcdkv: connecting to %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	kv, err := New(cli, prefix, opts)
	if err != nil {
		cli.Close()
		return nil, err
	}
	kv.owned = true
	return kv, nil
}

func (o *Options) fill() error {
	if o.Clock == nil {
		o.Clock = vkv.SystemClock
	}
	if o.MaxKeySize == 0 {
		o.MaxKeySize = vkv.DefaultMaxKeySize
	}
	if o.MaxValueSize == 0 {
		o.MaxValueSize = DefaultMaxValueSize
	}
	if o.EtcdMaxTxnOps == 0 {
		o.EtcdMaxTxnOps = DefaultEtcdMaxTxnOps
	}
	if o.EtcdMaxRequestBytes == 0 {
		o.EtcdMaxRequestBytes = DefaultEtcdMaxRequestBytes
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.MaxKeySize < 0 || o.MaxValueSize < 0 || o.RequestTimeout < 0:
		return fmt.Errorf("etcdkv: %w: MaxKeySize, MaxValueSize and RequestTimeout must not be negative", vkv.ErrInvalidOptions)
	case o.EtcdMaxTxnOps < 3:
		return fmt.Errorf("etcdkv: %w: EtcdMaxTxnOps %d is below 3, the fewest one write needs; give the cluster's --max-txn-ops", vkv.ErrInvalidOptions, o.EtcdMaxTxnOps)
	case o.MaxValueSize+o.MaxKeySize+recordHeader+requestSlack > o.EtcdMaxRequestBytes:
		return fmt.Errorf("etcdkv: %w: MaxValueSize %d with MaxKeySize %d does not fit in one etcd request of EtcdMaxRequestBytes %d; lower MaxValueSize or raise the cluster's --max-request-bytes", vkv.ErrInvalidOptions, o.MaxValueSize, o.MaxKeySize, o.EtcdMaxRequestBytes)
	}
	return nil
}

// Limits returns the sizes kv accepts.
func (kv *KV) Limits() vkv.Limits { return kv.limits }

// Client returns the etcd client kv uses.
func (kv *KV) Client() *clientv3.Client { return kv.cli }

// Close stops the reaper and ends open watches; calls after Close return
// vkv.ErrClosed. It closes the etcd client only if Dial made it.
func (kv *KV) Close() error {
	if kv.closed.Swap(true) {
		return nil
	}
	kv.cancel()
	kv.bg.Wait()
	if kv.owned {
		return kv.cli.Close()
	}
	return nil
}

// enter checks that kv is open.
func (kv *KV) enter() error {
	if kv.closed.Load() {
		return vkv.ErrClosed
	}
	return nil
}

// bound gives ctx the request timeout when it has no earlier deadline.
func (kv *KV) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= kv.opts.RequestTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, kv.opts.RequestTimeout)
}
