package vkvclient

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// ProblemError is an error response of the server that has no vkv error of
// its own (or a 4xx/5xx that is not a problem at all, such as a proxy's
// 502). Err is the vkv sentinel the problem stands for, if any, so that
// errors.Is(err, vkv.ErrFutureVersion) and the like hold.
type ProblemError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Problem is the decoded problem; for a response that was not a problem,
	// one made up from the status and the start of the body.
	Problem wire.Problem
	// Err is the vkv error the problem maps to, or nil.
	Err error
}

// Error describes the problem.
func (e *ProblemError) Error() string {
	return fmt.Sprintf("vkvclient: server answered %d %s: %s", e.StatusCode, e.Problem.Name(), e.Problem.Detail)
}

// Unwrap returns Err.
func (e *ProblemError) Unwrap() error { return e.Err }

// responseError turns an error response into the error the embedded store
// would have returned for the same call.
func (c *Client) responseError(resp *http.Response, cl call) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p wire.Problem
	if mt != wire.ProblemContentType || json.Unmarshal(body, &p) != nil || p.Type == "" {
		return nonProblem(resp.StatusCode, body, cl)
	}
	return problemError(resp.StatusCode, p, cl)
}

// problemError turns the problem p, sent with status, into the error the
// embedded store would have returned for the call cl.
func problemError(status int, p wire.Problem, cl call) error {
	pe := &ProblemError{StatusCode: status, Problem: p}
	key := cl.key
	if p.Key != nil {
		key = wire.WireKey(*p.Key, p.KeyBase64)
	}
	switch p.Name() {
	case wire.ProblemConflict:
		return conflictFromProblem(&p, key)
	case wire.ProblemNotFound:
		if cl.key != "" {
			return &vkv.NotFoundError{Key: cl.key[:min(len(cl.key), 64)]}
		}
	case wire.ProblemCompacted:
		ce := &vkv.CompactedError{Key: key, Requested: cl.version}
		if p.OldestVersion != nil {
			ce.Oldest = *p.OldestVersion
		}
		return ce
	case wire.ProblemInvalidKey:
		_, reason, ok := strings.Cut(p.Detail, ": ")
		if !ok {
			reason = p.Detail
		}
		return &vkv.KeyError{Key: key, Reason: reason}
	case wire.ProblemInvalidVersion:
		if p.Code == wire.CodeFutureVersion {
			pe.Err = vkv.ErrFutureVersion
			return pe
		}
		return &vkv.VersionError{Input: cl.version.String(), Err: pe}
	case wire.ProblemInvalidRequest:
		switch p.Code {
		case wire.CodeInvalidTTL:
			pe.Err = vkv.ErrInvalidTTL
		case wire.CodeTooManyOps:
			le := &vkv.LimitError{Err: vkv.ErrTxnTooLarge}
			if p.Limit != nil {
				le.Limit = int(*p.Limit)
			}
			return le
		}
	case wire.ProblemPayloadTooLarge:
		le := &vkv.LimitError{Err: vkv.ErrValueTooLarge}
		if p.Code == wire.CodeTxnTooLarge || (p.Code == "" && cl.kind == opTxn) {
			le.Err = vkv.ErrTxnTooLarge
		} else {
			le.Key = key
		}
		if p.Limit != nil {
			le.Limit = int(*p.Limit)
		}
		return le
	case wire.ProblemUnavailable:
		switch p.Code {
		case wire.CodeClosed:
			pe.Err = vkv.ErrClosed
		case wire.CodeBackendUnavailable:
			pe.Err = vkv.ErrUnavailable
		}
	case wire.ProblemOutcomeUnknown:
		pe.Err = vkv.ErrOutcomeUnknown
	case wire.ProblemInternal:
		if p.Code == wire.CodeCorrupt {
			pe.Err = vkv.ErrCorrupt
		}
	}
	return pe
}

// nonProblem maps an error response that is not a problem.
func nonProblem(status int, body []byte, cl call) error {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestURITooLong:
		if cl.key != "" {
			return &vkv.KeyError{Key: cl.key[:min(len(cl.key), 64)], Reason: "too long for the server's request line"}
		}
	case http.StatusRequestEntityTooLarge:
		if cl.kind == opTxn {
			return &vkv.LimitError{Err: vkv.ErrTxnTooLarge}
		}
		return &vkv.LimitError{Err: vkv.ErrValueTooLarge, Key: cl.key}
	}
	detail := strings.TrimSpace(string(body[:min(len(body), 200)]))
	return &ProblemError{StatusCode: status, Problem: wire.Problem{
		Title: http.StatusText(status), Status: status, Detail: detail,
	}}
}

// conflictFromProblem rebuilds the *vkv.ConflictError of a 409 problem.
func conflictFromProblem(p *wire.Problem, key string) *vkv.ConflictError {
	var cs []vkv.Conflict
	if len(p.Conflicts) > 0 {
		for _, it := range p.Conflicts {
			k := wire.WireKey(it.Key, it.KeyBase64)
			cs = append(cs, vkv.Conflict{Key: k, Expected: it.ExpectedVersion, Actual: it.CurrentVersion,
				Current: currentEntry(k, it.CurrentVersion, it.CurrentValue, it.CurrentCreateVersion, it), Range: it.Range.KeyRange()})
		}
	} else {
		c := vkv.Conflict{Key: key}
		if p.ExpectedVersion != nil {
			c.Expected = *p.ExpectedVersion
		}
		if p.CurrentVersion != nil {
			c.Actual = *p.CurrentVersion
		}
		c.Current = currentEntry(key, c.Actual, p.CurrentValue, p.CurrentCreateVersion,
			wire.ConflictItem{CurrentExpiresAt: p.CurrentExpiresAt})
		cs = []vkv.Conflict{c}
	}
	c := cs[0]
	return &vkv.ConflictError{Key: c.Key, Expected: c.Expected, Actual: c.Actual, Current: c.Current, Conflicts: cs}
}

// currentEntry builds Conflict.Current from the representation the server
// sent; nil when the key is absent or no representation came.
func currentEntry(key string, v vkv.Version, value *[]byte, created vkv.Version, it wire.ConflictItem) *vkv.Entry {
	if v == 0 || value == nil {
		return nil
	}
	e := &vkv.Entry{Key: key, Value: *value, Version: v, CreateVersion: created}
	if it.CurrentExpiresAt != nil {
		e.ExpiresAt = *it.CurrentExpiresAt
	}
	return e
}
