package etcdkv

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vkvstore/vkv"
)

// notApplied lists etcd's errors that refuse a request before it is
// proposed to Raft, so that a write that meets one certainly did not take
// effect (server/etcdserver/api/v3rpc/interceptor.go and key.go check them
// first).
var notApplied = []error{
	rpctypes.ErrNoLeader,
	rpctypes.ErrTooManyRequests,
	rpctypes.ErrNotCapable,
	rpctypes.ErrStopped,
	rpctypes.ErrPermissionDenied,
	rpctypes.ErrUserEmpty,
	rpctypes.ErrInvalidAuthToken,
	rpctypes.ErrAuthOldRevision,
}

// wrap turns an error of the etcd client into vkv's: limits into
// *vkv.LimitError, a compacted or future revision into the read errors, and
// a failure to get an answer into vkv.ErrUnavailable, or, for a write that
// may have been applied, vkv.ErrOutcomeUnknown. ctx is the caller's context
// (not the one bounded by the request timeout): when it ended, its error is
// part of the result. op names the call for the message.
func (kv *KV) wrap(ctx context.Context, op string, err error, write bool) error {
	if err == nil {
		return nil
	}
	eerr := rpctypes.Error(err)
	switch {
	case errors.Is(eerr, rpctypes.ErrTooManyOps):
		return fmt.Errorf("etcdkv: %s: %w: etcd refused a transaction of more than its --max-txn-ops (%d here: at most %d writes, or about %d keys read and expected, per transaction)", op, vkv.ErrTxnTooLarge, kv.opts.EtcdMaxTxnOps, kv.limits.MaxTxnOps, kv.opts.EtcdMaxTxnOps-1)
	case errors.Is(eerr, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("etcdkv: %s: %w: etcd refused a request over its --max-request-bytes (%d bytes here)", op, vkv.ErrTxnTooLarge, kv.opts.EtcdMaxRequestBytes)
	case errors.Is(eerr, rpctypes.ErrFutureRev):
		return vkv.ErrFutureVersion
	}
	unknown := write && !definitelyNotSent(eerr)
	for _, na := range notApplied {
		if errors.Is(eerr, na) {
			unknown = false
		}
	}
	kind := vkv.ErrUnavailable
	if unknown {
		kind = vkv.ErrOutcomeUnknown
	}
	if cerr := ctx.Err(); cerr != nil {
		if !unknown {
			return cerr
		}
		return fmt.Errorf("etcdkv: %s: %w (%w): the write may or may not have been committed", op, kind, cerr)
	}
	if unknown {
		return fmt.Errorf("etcdkv: %s: %w: the write may or may not have been committed; read the keys to find out: %v", op, kind, eerr)
	}
	return fmt.Errorf("etcdkv: %s: %w: %v; check that the etcd cluster is reachable and has a leader, then retry", op, kind, eerr)
}

// definitelyNotSent reports whether err says the request never left the
// client: no connection was available (client/v3/retry.go
// isSafeRetryMutableRPC uses the same test).
func definitelyNotSent(err error) bool {
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unavailable {
		return false
	}
	desc := rpctypes.ErrorDesc(err)
	return desc == "there is no address available" || desc == "there is no connection available"
}
