package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/vkvstore/vkv"
)

// Problem names, the anchors of docs/problems.md.
const (
	nameConflict             = "conflict"
	namePreconditionFailed   = "precondition-failed"
	nameNotFound             = "not-found"
	nameCompacted            = "compacted"
	nameInvalidKey           = "invalid-key"
	nameInvalidVersion       = "invalid-version"
	nameInvalidRequest       = "invalid-request"
	namePayloadTooLarge      = "payload-too-large"
	nameUnsupportedMediaType = "unsupported-media-type"
	nameMethodNotAllowed     = "method-not-allowed"
	nameUnauthorized         = "unauthorized"
	nameInsufficientStorage  = "insufficient-storage"
	nameInternal             = "internal"
	nameUnavailable          = "unavailable"
)

// titles holds the title of each problem name.
var titles = map[string]string{
	nameConflict:             "Version conflict",
	namePreconditionFailed:   "Precondition failed",
	nameNotFound:             "Not found",
	nameCompacted:            "Version compacted",
	nameInvalidKey:           "Invalid key",
	nameInvalidVersion:       "Invalid version",
	nameInvalidRequest:       "Invalid request",
	namePayloadTooLarge:      "Payload too large",
	nameUnsupportedMediaType: "Unsupported media type",
	nameMethodNotAllowed:     "Method not allowed",
	nameUnauthorized:         "Unauthorized",
	nameInsufficientStorage:  "Insufficient storage",
	nameInternal:             "Internal server error",
	nameUnavailable:          "Service unavailable",
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
		status: http.StatusRequestEntityTooLarge, name: namePayloadTooLarge,
		detail: fmt.Sprintf("the request body is larger than the limit of %d bytes", limit),
		limit:  &limit, code: code,
	}
}

// preconditionError reports that an If-Match or If-None-Match condition did
// not hold. current is the key's entry, nil when absent.
type preconditionError struct {
	key     string
	current *vkv.Entry
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
		return &preconditionError{key: ce.Key, current: ce.Current}
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
func problemFor(err error, info errInfo) (p *Problem, internal bool) {
	p = &Problem{Key: info.key}
	set := func(status int, name, detail string) {
		p.Status, p.Type, p.Title, p.Detail = status, ProblemTypeBase+name, titles[name], detail
	}
	var (
		re  *requestError
		pe  *preconditionError
		ce  *vkv.ConflictError
		cpe *vkv.CompactedError
		ke  *vkv.KeyError
		le  *vkv.LimitError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &re):
		set(re.status, re.name, re.detail)
		if re.key != nil {
			p.Key = re.key
		}
		p.Limit, p.Code = re.limit, re.code
	case errors.As(err, &pe):
		set(http.StatusPreconditionFailed, namePreconditionFailed, "")
		p.Key = &pe.key
		var cur vkv.Version
		if pe.current != nil {
			cur = pe.current.Version
			p.Detail = fmt.Sprintf("the precondition does not hold: key %q is at version %d", pe.key, cur)
			if info.prefer {
				p.CurrentValue = valuePtr(pe.current.Value)
				p.CurrentCreateVersion = pe.current.CreateVersion
				p.CurrentExpiresAt = timePtr(pe.current)
			}
		} else {
			p.Detail = fmt.Sprintf("the precondition does not hold: key %q does not exist", pe.key)
		}
		p.CurrentVersion = &cur
	case errors.As(err, &ce):
		set(http.StatusConflict, nameConflict, conflictDetail(ce.Key, ce.Expected, ce.Actual))
		p.Key = &ce.Key
		p.ExpectedVersion, p.CurrentVersion = &ce.Expected, &ce.Actual
		if info.prefer && ce.Current != nil {
			p.CurrentValue = valuePtr(ce.Current.Value)
			p.CurrentCreateVersion = ce.Current.CreateVersion
			p.CurrentExpiresAt = timePtr(ce.Current)
		}
		if info.txn {
			conflicts := ce.Conflicts
			if len(conflicts) == 0 {
				conflicts = []vkv.Conflict{{Key: ce.Key, Expected: ce.Expected, Actual: ce.Actual, Current: ce.Current}}
			}
			for _, c := range conflicts {
				it := ConflictItem{Key: c.Key, KeyBase64: KeyBytes(c.Key), ExpectedVersion: c.Expected, CurrentVersion: c.Actual}
				if info.prefer && c.Current != nil {
					it.CurrentValue = valuePtr(c.Current.Value)
					it.CurrentCreateVersion = c.Current.CreateVersion
					it.CurrentExpiresAt = timePtr(c.Current)
				}
				p.Conflicts = append(p.Conflicts, it)
			}
			if n := len(conflicts); n > 1 {
				p.Detail = fmt.Sprintf("%d conditions failed; the first: %s", n, p.Detail)
			}
		}
	case errors.Is(err, vkv.ErrNotFound):
		if p.Key != nil {
			set(http.StatusNotFound, nameNotFound, fmt.Sprintf("key %q does not exist", *p.Key))
		} else {
			set(http.StatusNotFound, nameNotFound, "no such key")
		}
	case errors.As(err, &cpe):
		if cpe.Key == "" {
			// A watch: the change log names no key.
			set(http.StatusGone, nameCompacted, fmt.Sprintf("the changes after version %d are compacted; the oldest kept version is %d, so fromVersion must be %d or later",
				cpe.Requested, cpe.Oldest, max(cpe.Oldest, 1)-1))
		} else {
			set(http.StatusGone, nameCompacted, fmt.Sprintf("version %d of key %q is compacted; the oldest kept version is %d", cpe.Requested, cpe.Key, cpe.Oldest))
			p.Key = &cpe.Key
		}
		p.OldestVersion = &cpe.Oldest
	case errors.As(err, &ke):
		set(http.StatusBadRequest, nameInvalidKey, fmt.Sprintf("the key is invalid: %s", ke.Reason))
		p.Key = &ke.Key
	case errors.Is(err, vkv.ErrInvalidKey):
		set(http.StatusBadRequest, nameInvalidKey, "the key is invalid")
	case errors.Is(err, vkv.ErrFutureVersion):
		set(http.StatusBadRequest, nameInvalidVersion, "the version is newer than the store")
		p.Code = "future-version"
	case errors.Is(err, vkv.ErrInvalidVersion):
		set(http.StatusBadRequest, nameInvalidVersion, "the version does not parse")
	case errors.Is(err, vkv.ErrInvalidTTL):
		set(http.StatusBadRequest, nameInvalidRequest, "the ttl must not be negative")
		p.Code = "invalid-ttl"
	case errors.As(err, &le) && errors.Is(err, vkv.ErrValueTooLarge):
		set(http.StatusRequestEntityTooLarge, namePayloadTooLarge, fmt.Sprintf("the value is larger than the limit of %d bytes", le.Limit))
		limit := int64(le.Limit)
		p.Limit, p.Code = &limit, "value-too-large"
		if le.Key != "" {
			p.Key = &le.Key
		}
	case errors.Is(err, vkv.ErrValueTooLarge):
		set(http.StatusRequestEntityTooLarge, namePayloadTooLarge, "the value is too large")
		p.Code = "value-too-large"
	case errors.As(err, &le) && errors.Is(err, vkv.ErrTxnTooLarge):
		set(http.StatusRequestEntityTooLarge, namePayloadTooLarge, fmt.Sprintf("the transaction is larger than the store's limit (%d over %d)", le.Size, le.Limit))
		limit := int64(le.Limit)
		p.Limit, p.Code = &limit, "txn-too-large"
	case errors.Is(err, vkv.ErrTxnTooLarge):
		set(http.StatusRequestEntityTooLarge, namePayloadTooLarge, "the transaction is too large for the store")
		p.Code = "txn-too-large"
	case errors.As(err, &mbe):
		*p = *tooLargeProblem(mbe.Limit)
	case errors.Is(err, vkv.ErrClosed):
		set(http.StatusServiceUnavailable, nameUnavailable, "the store is closed")
		p.Code = "closed"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		set(http.StatusServiceUnavailable, nameUnavailable, "the request was cancelled or timed out")
	case errors.Is(err, vkv.ErrInsufficientStorage), errors.Is(err, syscall.ENOSPC):
		set(http.StatusInsufficientStorage, nameInsufficientStorage, "the store is out of disk space")
	default:
		set(http.StatusInternalServerError, nameInternal, "the server failed to handle the request; the log has the details under the request id")
		p.Key = nil
		return p, true
	}
	if p.Key != nil {
		p.KeyBase64 = KeyBytes(*p.Key)
	}
	return p, false
}

func tooLargeProblem(limit int64) *Problem {
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

func valuePtr(b []byte) *[]byte {
	if b == nil {
		b = []byte{}
	}
	return &b
}

func timePtr(e *vkv.Entry) *time.Time {
	if e.ExpiresAt.IsZero() {
		return nil
	}
	t := e.ExpiresAt.UTC()
	return &t
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
	writeProblem(w, r, p)
}

// writeProblem writes p as application/problem+json, filling instance.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = instance(r)
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"` + ProblemTypeBase + nameInternal + `","title":"Internal server error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/problem+json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	w.Write(b)
}

// instance is the request's path as the client sent it.
func instance(r *http.Request) string {
	if orig, ok := r.Context().Value(origPathKey{}).(string); ok {
		return orig
	}
	return r.URL.EscapedPath()
}
