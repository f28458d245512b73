package wire

import (
	"strings"
	"time"

	"github.com/vkvstore/vkv"
)

// ProblemTypeBase is the prefix of every problem type URI; the problem name
// follows it. The names are the anchors of docs/problems.md.
const ProblemTypeBase = "https://github.com/vkvstore/vkv/blob/main/docs/problems.md#"

// Problem names: the type of a Problem is ProblemTypeBase followed by one of
// them. docs/problems.md describes each.
const (
	// ProblemConflict is a version condition that did not hold (409).
	ProblemConflict = "conflict"
	// ProblemPreconditionFailed is an If-Match or If-None-Match that did not
	// hold (412).
	ProblemPreconditionFailed = "precondition-failed"
	// ProblemNotFound is a key that does not exist, or a path no route
	// matches (404).
	ProblemNotFound = "not-found"
	// ProblemCompacted is a version older than the kept history (410).
	ProblemCompacted = "compacted"
	// ProblemInvalidKey is an empty key or one over the limit (400).
	ProblemInvalidKey = "invalid-key"
	// ProblemInvalidVersion is a version or entity tag that does not parse,
	// or (code CodeFutureVersion) one newer than the store (400).
	ProblemInvalidVersion = "invalid-version"
	// ProblemInvalidRequest is any other bad request (400).
	ProblemInvalidRequest = "invalid-request"
	// ProblemPayloadTooLarge is a body or transaction over a limit (413).
	ProblemPayloadTooLarge = "payload-too-large"
	// ProblemUnsupportedMediaType is a body of the wrong media type (415).
	ProblemUnsupportedMediaType = "unsupported-media-type"
	// ProblemMethodNotAllowed is a method the path does not have (405).
	ProblemMethodNotAllowed = "method-not-allowed"
	// ProblemUnauthorized is a request without the server's token (401).
	ProblemUnauthorized = "unauthorized"
	// ProblemForbidden is a request from a known principal that lacks the
	// access it needs on a key or a prefix (403). Members Principal, Access
	// and Key or Prefix say which.
	ProblemForbidden = "forbidden"
	// ProblemInsufficientStorage is a full disk (507).
	ProblemInsufficientStorage = "insufficient-storage"
	// ProblemInternal is an unexpected failure of the server (500).
	ProblemInternal = "internal"
	// ProblemUnavailable is a closed store, a server shutting down, a
	// cancelled request, or a backend that could not be reached (an etcd
	// cluster without quorum, code CodeBackendUnavailable) (503). The
	// request did not take effect.
	ProblemUnavailable = "unavailable"
	// ProblemOutcomeUnknown is a write the server sent to its backend
	// whose answer was lost (504): it may or may not have been committed
	// (vkv.ErrOutcomeUnknown).
	ProblemOutcomeUnknown = "outcome-unknown"
	// ProblemNotImplemented is a feature the server's store does not offer:
	// a change feed or backups (501).
	ProblemNotImplemented = "not-implemented"
)

// Codes of a Problem: where one name covers several causes, the cause.
const (
	// CodeFutureVersion refines ProblemInvalidVersion: the version is newer
	// than the store (vkv.ErrFutureVersion).
	CodeFutureVersion = "future-version"
	// CodeInvalidTTL refines ProblemInvalidRequest: a TTL that does not
	// parse or is out of range (vkv.ErrInvalidTTL).
	CodeInvalidTTL = "invalid-ttl"
	// CodeTooManyOps refines ProblemInvalidRequest: a transaction with more
	// ops or conditions than the limit, given in Limit (vkv.ErrTxnTooLarge).
	CodeTooManyOps = "too-many-ops"
	// CodeValueTooLarge refines ProblemPayloadTooLarge: a value over the
	// limit (vkv.ErrValueTooLarge).
	CodeValueTooLarge = "value-too-large"
	// CodeTxnTooLarge refines ProblemPayloadTooLarge: a transaction body
	// over the limit (vkv.ErrTxnTooLarge).
	CodeTxnTooLarge = "txn-too-large"
	// CodeClosed refines ProblemUnavailable: the store is closed
	// (vkv.ErrClosed).
	CodeClosed = "closed"
	// CodeBackendUnavailable refines ProblemUnavailable: the store's backend
	// (an etcd cluster) could not answer; nothing was done
	// (vkv.ErrUnavailable). Retry-After says when to try again.
	CodeBackendUnavailable = "backend-unavailable"
	// CodeCorrupt refines ProblemInternal: the store met damaged data
	// while answering (vkv.ErrCorrupt). Nothing was changed; retrying does
	// not help; the store needs a restore from a backup.
	CodeCorrupt = "corrupt"
	// CodeShutdown refines ProblemUnavailable on a watch stream: the server
	// is shutting down; reconnect with Last-Event-ID.
	CodeShutdown = "shutdown"
)

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
	// Range is set for a failed range condition: Key is a key of it that
	// changed ("" if the server could not tell which) and ExpectedVersion
	// the version the range was read at (vkv.Conflict.Range).
	Range *KeyRange `json:"range,omitempty"`
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
	// vkv errors: one of the Code... constants.
	Code string `json:"code,omitempty"`
	// Principal names the principal refused (forbidden).
	Principal string `json:"principal,omitempty"`
	// Access is the access the principal lacks, "read" or "write"
	// (forbidden), on Key or on every key under Prefix.
	Access string `json:"access,omitempty"`
	// Prefix is the prefix of a list, watch or backup the principal lacks
	// access to (forbidden); PrefixBase64 is it in base64 when it is not
	// valid UTF-8 (see KeyBytes).
	Prefix       *string `json:"prefix,omitempty"`
	PrefixBase64 []byte  `json:"prefixBase64,omitempty"`
	// RequestID is the id of the request, on 500 internal, to find its log.
	RequestID string `json:"requestId,omitempty"`
}

// Name returns the problem's name: its type URI without ProblemTypeBase.
func (p *Problem) Name() string {
	if name, ok := strings.CutPrefix(p.Type, ProblemTypeBase); ok && name != "" {
		return name
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
