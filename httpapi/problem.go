package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// titles holds the title of each problem name.
var titles = map[string]string{
	wire.ProblemConflict:             "Version conflict",
	wire.ProblemPreconditionFailed:   "Precondition failed",
	wire.ProblemNotFound:             "Not found",
	wire.ProblemCompacted:            "Version compacted",
	wire.ProblemInvalidKey:           "Invalid key",
	wire.ProblemInvalidVersion:       "Invalid version",
	wire.ProblemInvalidRequest:       "Invalid request",
	wire.ProblemPayloadTooLarge:      "Payload too large",
	wire.ProblemUnsupportedMediaType: "Unsupported media type",
	wire.ProblemMethodNotAllowed:     "Method not allowed",
	wire.ProblemUnauthorized:         "Unauthorized",
	wire.ProblemForbidden:            "Forbidden",
	wire.ProblemInsufficientStorage:  "Insufficient storage",
	wire.ProblemInternal:             "Internal server error",
	wire.ProblemUnavailable:          "Service unavailable",
	wire.ProblemOutcomeUnknown:       "Outcome unknown",
}

// requestError is a problem the handler found in the request itself, before
// or beside the KV.
type requestError struct {
	status int
	name   string
	detail string
	key    *string
	limit  *int64
	code   string
}

func (e *requestError) Error() string { return e.name + ": " + e.detail }

func badRequest(name, detail string) *requestError {
	return &requestError{status: http.StatusBadRequest, name: name, detail: detail}
}

func tooLarge(limit int64, code string) *requestError {
	return &requestError{
		status: http.StatusRequestEntityTooLarge, name: wire.ProblemPayloadTooLarge,
		detail: fmt.Sprintf("the request body is larger than the limit of %d bytes", limit),
		limit:  &limit, code: code,
	}
}

// preconditionError reports that an If-Match or If-None-Match condition did
// not hold. current is the key's entry, nil when absent.
type preconditionError struct {
	key     string
	current *vkv.Entry
	// expected is the one version the headers asked for (If-Match: "N",
	// or 0 for If-None-Match: *), nil when they were a list or a
	// not-equal condition.
	expected *vkv.Version
}

func (e *preconditionError) Error() string {
	return fmt.Sprintf("precondition failed on key %q", e.key)
}

// asPrecondition turns the *vkv.ConflictError of a compare-and-swap made for
// an If-Match or If-None-Match header into a *preconditionError; other errors
// are returned as they are.
func asPrecondition(err error) error {
	var ce *vkv.ConflictError
	if errors.As(err, &ce) {
		return &preconditionError{key: ce.Key, current: ce.Current, expected: &ce.Expected}
	}
	return err
}

// errInfo is what problemFor needs to know about the request beside the
// error.
type errInfo struct {
	key    *string // the key of the route, if any
	prefer bool    // Prefer: return=representation was sent
	txn    bool    // the request was POST /v1/txn
}

// problemFor maps err to a problem. It is the one place where errors become
// HTTP statuses. internal reports whether err was unexpected, so that the
// caller logs it.
func problemFor(err error, info errInfo) (p *wire.Problem, internal bool) {
	p = &wire.Problem{Key: info.key}
	set := func(status int, name, detail string) {
		p.Status, p.Type, p.Title, p.Detail = status, wire.ProblemTypeBase+name, titles[name], detail
	}
	var (
		re  *requestError
		pe  *preconditionError
		ce  *vkv.ConflictError
		cpe *vkv.CompactedError
		ke  *vkv.KeyError
		le  *vkv.LimitError
		mbe *http.MaxBytesError
		fve *vkv.FutureVersionError
	)
	switch {
	case errors.As(err, &re):
		set(re.status, re.name, re.detail)
		if re.key != nil {
			p.Key = re.key
		}
		p.Limit, p.Code = re.limit, re.code
	case errors.As(err, &pe):
		set(http.StatusPreconditionFailed, wire.ProblemPreconditionFailed, "")
		p.Key = &pe.key
		p.ExpectedVersion = pe.expected
		var cur vkv.Version
		if pe.current != nil {
			cur = pe.current.Version
			p.Detail = fmt.Sprintf("the precondition does not hold: key %q is at version %d", pe.key, cur)
			if pe.expected != nil {
				p.Detail += fmt.Sprintf(", not %d", *pe.expected)
			}
			if info.prefer {
				p.CurrentValue = valuePtr(pe.current.Value)
				p.CurrentCreateVersion = pe.current.CreateVersion
				p.CurrentExpiresAt = wire.ExpiryOf(pe.current)
			}
		} else {
			p.Detail = fmt.Sprintf("the precondition does not hold: key %q does not exist", pe.key)
		}
		p.CurrentVersion = &cur
	case errors.As(err, &ce):
		detail := conflictDetail(ce.Key, ce.Expected, ce.Actual)
		if len(ce.Conflicts) > 0 && ce.Conflicts[0].Range != nil {
			detail = rangeConflictDetail(&ce.Conflicts[0])
		}
		set(http.StatusConflict, wire.ProblemConflict, detail)
		p.Key = &ce.Key
		p.ExpectedVersion, p.CurrentVersion = &ce.Expected, &ce.Actual
		if info.prefer && ce.Current != nil {
			p.CurrentValue = valuePtr(ce.Current.Value)
			p.CurrentCreateVersion = ce.Current.CreateVersion
			p.CurrentExpiresAt = wire.ExpiryOf(ce.Current)
		}
		if info.txn {
			conflicts := ce.Conflicts
			if len(conflicts) == 0 {
				conflicts = []vkv.Conflict{{Key: ce.Key, Expected: ce.Expected, Actual: ce.Actual, Current: ce.Current}}
			}
			for _, c := range conflicts {
				it := wire.ConflictItem{Key: c.Key, KeyBase64: wire.KeyBytes(c.Key), ExpectedVersion: c.Expected, CurrentVersion: c.Actual,
					Range: wire.KeyRangeOf(c.Range)}
				if info.prefer && c.Current != nil {
					it.CurrentValue = valuePtr(c.Current.Value)
					it.CurrentCreateVersion = c.Current.CreateVersion
					it.CurrentExpiresAt = wire.ExpiryOf(c.Current)
				}
				p.Conflicts = append(p.Conflicts, it)
			}
			if n := len(conflicts); n > 1 {
				p.Detail = fmt.Sprintf("%d conditions failed; the first: %s", n, p.Detail)
			}
		}
	case errors.Is(err, vkv.ErrNotFound):
		if p.Key != nil {
			set(http.StatusNotFound, wire.ProblemNotFound, fmt.Sprintf("key %q does not exist", *p.Key))
		} else {
			set(http.StatusNotFound, wire.ProblemNotFound, "no such key")
		}
	case errors.As(err, &cpe):
		switch {
		case cpe.Range != nil:
			// A list at a version (ListAt).
			set(http.StatusGone, wire.ProblemCompacted, fmt.Sprintf("version %d of the %s is compacted; the oldest kept version is %d",
				cpe.Requested, cpe.Range, cpe.Oldest))
		case cpe.Key == "":
			// A watch: the change log names no key.
			set(http.StatusGone, wire.ProblemCompacted, fmt.Sprintf("the changes after version %d are compacted; the oldest kept version is %d, so fromVersion must be %d or later",
				cpe.Requested, cpe.Oldest, max(cpe.Oldest, 1)-1))
		default:
			set(http.StatusGone, wire.ProblemCompacted, fmt.Sprintf("version %d of key %q is compacted; the oldest kept version is %d", cpe.Requested, cpe.Key, cpe.Oldest))
			p.Key = &cpe.Key
		}
		p.OldestVersion = &cpe.Oldest
	case errors.As(err, &ke):
		set(http.StatusBadRequest, wire.ProblemInvalidKey, fmt.Sprintf("the key is invalid: %s", ke.Reason))
		p.Key = &ke.Key
	case errors.Is(err, vkv.ErrInvalidKey):
		set(http.StatusBadRequest, wire.ProblemInvalidKey, "the key is invalid")
	case errors.As(err, &fve):
		set(http.StatusBadRequest, wire.ProblemInvalidVersion, fmt.Sprintf("version %d is newer than the store, which is at version %d", fve.Requested, fve.Newest))
		p.Code = wire.CodeFutureVersion
	case errors.Is(err, vkv.ErrFutureVersion):
		set(http.StatusBadRequest, wire.ProblemInvalidVersion, "the version is newer than the store")
		p.Code = wire.CodeFutureVersion
	case errors.Is(err, vkv.ErrInvalidVersion):
		set(http.StatusBadRequest, wire.ProblemInvalidVersion, "the version does not parse")
	case errors.Is(err, vkv.ErrInvalidTTL):
		set(http.StatusBadRequest, wire.ProblemInvalidRequest, "the ttl must not be negative")
		p.Code = wire.CodeInvalidTTL
	case errors.As(err, &le) && errors.Is(err, vkv.ErrValueTooLarge):
		set(http.StatusRequestEntityTooLarge, wire.ProblemPayloadTooLarge, fmt.Sprintf("the value is larger than the limit of %d bytes", le.Limit))
		limit := int64(le.Limit)
		p.Limit, p.Code = &limit, wire.CodeValueTooLarge
		if le.Key != "" {
			p.Key = &le.Key
		}
	case errors.Is(err, vkv.ErrValueTooLarge):
		set(http.StatusRequestEntityTooLarge, wire.ProblemPayloadTooLarge, "the value is too large")
		p.Code = wire.CodeValueTooLarge
	case errors.As(err, &le) && errors.Is(err, vkv.ErrTxnTooLarge):
		set(http.StatusRequestEntityTooLarge, wire.ProblemPayloadTooLarge, fmt.Sprintf("the transaction is larger than the store's limit (%d over %d)", le.Size, le.Limit))
		limit := int64(le.Limit)
		p.Limit, p.Code = &limit, wire.CodeTxnTooLarge
	case errors.Is(err, vkv.ErrTxnTooLarge):
		set(http.StatusRequestEntityTooLarge, wire.ProblemPayloadTooLarge, "the transaction is too large for the store")
		p.Code = wire.CodeTxnTooLarge
	case errors.As(err, &mbe):
		*p = *tooLargeProblem(mbe.Limit)
	case errors.Is(err, vkv.ErrClosed):
		set(http.StatusServiceUnavailable, wire.ProblemUnavailable, "the store is closed")
		p.Code = wire.CodeClosed
	case errors.Is(err, vkv.ErrOutcomeUnknown):
		set(http.StatusGatewayTimeout, wire.ProblemOutcomeUnknown, "the write was sent to the store's backend but its answer was lost: it may or may not have been committed; read the keys to find out before you retry (a conditional write can be retried as is)")
	case errors.Is(err, vkv.ErrUnavailable):
		set(http.StatusServiceUnavailable, wire.ProblemUnavailable, "the store's backend could not answer (unreachable, or without a quorum); nothing was done; retry later")
		p.Code = wire.CodeBackendUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		set(http.StatusServiceUnavailable, wire.ProblemUnavailable, "the request was cancelled or timed out")
	case errors.Is(err, vkv.ErrCorrupt):
		// Still a 500 and logged as one: the log has what was damaged.
		set(http.StatusInternalServerError, wire.ProblemInternal, "the store found damaged data while answering; nothing was changed and retrying will not help: restore the store from a backup (the server's log has the details under the request id)")
		p.Code = wire.CodeCorrupt
		p.Key = nil
		return p, true
	case errors.Is(err, vkv.ErrInsufficientStorage), errors.Is(err, syscall.ENOSPC):
		set(http.StatusInsufficientStorage, wire.ProblemInsufficientStorage, "the store is out of disk space")
	default:
		set(http.StatusInternalServerError, wire.ProblemInternal, "the server failed to handle the request; the log has the details under the request id")
		p.Key = nil
		return p, true
	}
	if p.Key != nil {
		p.KeyBase64 = wire.KeyBytes(*p.Key)
	}
	return p, false
}

func tooLargeProblem(limit int64) *wire.Problem {
	p, _ := problemFor(tooLarge(limit, ""), errInfo{})
	return p
}

func conflictDetail(key string, expected, actual vkv.Version) string {
	switch {
	case actual == 0:
		return fmt.Sprintf("key %q does not exist, not at version %d", key, expected)
	case expected == 0:
		return fmt.Sprintf("key %q already exists at version %d", key, actual)
	default:
		return fmt.Sprintf("key %q is at version %d, not %d", key, actual, expected)
	}
}

// rangeConflictDetail describes the failed range condition c.
func rangeConflictDetail(c *vkv.Conflict) string {
	d := fmt.Sprintf("the %s changed after version %d", c.Range, c.Expected)
	switch {
	case c.Key == "":
	case c.Actual == 0:
		d += fmt.Sprintf(": key %q no longer exists", c.Key)
	default:
		d += fmt.Sprintf(": key %q is at version %d", c.Key, c.Actual)
	}
	return d
}

func valuePtr(b []byte) *[]byte {
	if b == nil {
		b = []byte{}
	}
	return &b
}

// writeError writes the problem for err. A 500 is logged with the request
// id; its body carries the id and nothing else of err.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error, info errInfo) {
	p, internal := problemFor(err, info)
	if internal {
		id := requestID(r.Context())
		p.RequestID = id
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	if (p.Status == http.StatusConflict || p.Status == http.StatusPreconditionFailed) &&
		p.Conflicts == nil && p.CurrentVersion != nil && *p.CurrentVersion > 0 {
		w.Header().Set("ETag", p.CurrentVersion.ETag())
	}
	if p.Code == wire.CodeBackendUnavailable {
		// etcd elects a new leader within about a second (its default
		// election timeout).
		w.Header().Set("Retry-After", "1")
	}
	writeProblem(w, r, p)
}

// writeProblem writes p as application/problem+json, filling instance.
func writeProblem(w http.ResponseWriter, r *http.Request, p *wire.Problem) {
	p.Instance = instance(r)
	b, err := marshalProblem(p)
	if err != nil {
		b = []byte(`{"type":"` + wire.ProblemTypeBase + wire.ProblemInternal + `","title":"Internal server error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	hd := w.Header()
	hd.Set("Content-Type", wire.ProblemContentType)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	w.Write(b)
}

// marshalProblem encodes p as JSON without escaping <, > and & (json.Marshal
// would write <token> as \u003ctoken\u003e, which curl shows as it is).
func marshalProblem(p *wire.Problem) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// MaxProblemInstance bounds the instance member of a problem: the request
// path of an over-long key is cut to this many bytes (at a whole percent
// escape) and "..." is appended, so that an answer does not echo kilobytes
// back.
const MaxProblemInstance = 256

// instance is the request's path as the client sent it, cut to
// MaxProblemInstance bytes.
func instance(r *http.Request) string {
	s, ok := r.Context().Value(origPathKey{}).(string)
	if !ok {
		s = r.URL.EscapedPath()
	}
	return cutInstance(s)
}

// cutInstance cuts a path longer than MaxProblemInstance bytes.
func cutInstance(s string) string {
	if len(s) <= MaxProblemInstance {
		return s
	}
	n := MaxProblemInstance
	if i := strings.LastIndexByte(s[n-2:n], '%'); i >= 0 {
		n = n - 2 + i // do not cut a percent escape in two
	}
	return s[:n] + "..."
}
