package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// tagSet is a parsed If-Match or If-None-Match header: "*" or a list of
// versions.
type tagSet struct {
	any      bool
	versions []vkv.Version
}

// matches reports whether a key at version cur (0: absent) matches the set.
// "*" matches any existing key; a listed version matches if it equals cur,
// so "0" matches an absent key, as version 0 means "does not exist".
func (t *tagSet) matches(cur vkv.Version) bool {
	if t.any {
		return cur != 0
	}
	for _, v := range t.versions {
		if v == cur {
			return true
		}
	}
	return false
}

// parseTags parses the header name of r: absent gives nil. weak allows weak
// tags (W/"7"), compared weakly, as If-None-Match on GET does; otherwise a
// weak tag is an invalid version.
func parseTags(r *http.Request, name string, weak bool) (*tagSet, error) {
	vals := r.Header.Values(name)
	if len(vals) == 0 {
		return nil, nil
	}
	s := strings.TrimSpace(strings.Join(vals, ","))
	if s == "*" {
		return &tagSet{any: true}, nil
	}
	t := &tagSet{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if weak {
			part = strings.TrimPrefix(part, "W/")
		}
		v, err := vkv.ParseETag(part)
		if err != nil {
			detail := fmt.Sprintf("header %s: %s is not a strong entity tag holding a version, such as \"7\"", name, part)
			switch {
			case part == "":
				detail = fmt.Sprintf("header %s is empty: give a version in quotes, such as \"7\"", name)
			case strings.HasPrefix(part, "W/"):
				detail = fmt.Sprintf("header %s: %s is a weak entity tag, which cannot make a write conditional: send %s: %s", name, part, name, strings.TrimPrefix(part, "W/"))
			default:
				if _, perr := vkv.ParseVersion(part); perr == nil {
					detail = fmt.Sprintf("header %s: the version must be quoted, as an entity tag: send %s: \"%s\", not %s: %s", name, name, part, name, part)
				}
			}
			return nil, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidVersion, detail: detail}
		}
		t.versions = append(t.versions, v)
	}
	return t, nil
}

// queryVersion parses the query parameter version; ok is false when absent.
func queryVersion(r *http.Request) (v vkv.Version, ok bool, err error) {
	vals, ok := r.URL.Query()[wire.ParamVersion]
	if !ok {
		return 0, false, nil
	}
	if len(vals) != 1 {
		return 0, true, badRequest(wire.ProblemInvalidVersion, "the query parameter version is given more than once")
	}
	v, err = vkv.ParseVersion(vals[0])
	if err != nil {
		return 0, true, badRequest(wire.ProblemInvalidVersion,
			fmt.Sprintf("the query parameter version=%q is not a decimal version", vals[0]))
	}
	return v, true, nil
}

// writeConds are the conditions of a PUT or DELETE.
type writeConds struct {
	version     *vkv.Version // query version=N: 409 when it fails
	ifMatch     *tagSet      // If-Match: 412 when it fails
	ifNoneMatch *tagSet      // If-None-Match: 412 when it fails
}

func parseWriteConds(r *http.Request) (writeConds, error) {
	var c writeConds
	v, ok, err := queryVersion(r)
	if err != nil {
		return c, err
	}
	if ok {
		c.version = &v
	}
	if c.ifMatch, err = parseTags(r, "If-Match", false); err != nil {
		return c, err
	}
	if c.ifNoneMatch, err = parseTags(r, "If-None-Match", false); err != nil {
		return c, err
	}
	return c, nil
}

// condKind says how a write with these conditions is carried out.
type condKind int

const (
	condNone    condKind = iota // unconditional
	condVersion                 // one expected version: compare-and-swap
	condGeneral                 // anything else: read and check in a transaction
)

// kind classifies c; for condVersion it returns the expected version and
// whether a failure is a 412 (the condition came from a header).
func (c writeConds) kind() (k condKind, expected vkv.Version, viaHeader bool) {
	switch {
	case c.version == nil && c.ifMatch == nil && c.ifNoneMatch == nil:
		return condNone, 0, false
	case c.version != nil && c.ifMatch == nil && c.ifNoneMatch == nil:
		return condVersion, *c.version, false
	case c.version == nil && c.ifNoneMatch == nil && !c.ifMatch.any && len(c.ifMatch.versions) == 1:
		return condVersion, c.ifMatch.versions[0], true
	case c.version == nil && c.ifMatch == nil && c.ifNoneMatch.any:
		return condVersion, 0, true
	}
	return condGeneral, 0, false
}

// check evaluates c against the key's entry cur (nil: absent): the headers
// first (RFC 9110 §13.2.2), then the version parameter.
func (c writeConds) check(key string, cur *vkv.Entry) error {
	var v vkv.Version
	if cur != nil {
		v = cur.Version
	}
	if c.ifMatch != nil && !c.ifMatch.matches(v) {
		pe := &preconditionError{key: key, current: cur}
		if !c.ifMatch.any && len(c.ifMatch.versions) == 1 {
			pe.expected = &c.ifMatch.versions[0]
		}
		return pe
	}
	if c.ifNoneMatch != nil && c.ifNoneMatch.matches(v) {
		pe := &preconditionError{key: key, current: cur}
		if c.ifNoneMatch.any {
			var zero vkv.Version
			pe.expected = &zero
		}
		return pe
	}
	if c.version != nil && *c.version != v {
		cf := vkv.Conflict{Key: key, Expected: *c.version, Actual: v, Current: cur}
		return &vkv.ConflictError{Key: key, Expected: cf.Expected, Actual: v, Current: cur, Conflicts: []vkv.Conflict{cf}}
	}
	return nil
}

// preferRepresentation reports whether r sent Prefer: return=representation
// (RFC 7240).
func preferRepresentation(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, val, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if strings.EqualFold(strings.TrimSpace(name), "return") &&
				strings.EqualFold(strings.Trim(strings.TrimSpace(val), `"`), "representation") {
				return true
			}
		}
	}
	return false
}

// parseTTL parses a TTL: a Go duration ("90s") or whole seconds ("90").
// "" is no TTL.
// ttlOptions returns the write options of a ttl parameter: none for "",
// WithKeepTTL for "keep", else WithTTL of parseTTL.
func ttlOptions(s string) ([]vkv.WriteOption, error) {
	switch s {
	case "":
		return nil, nil
	case wire.TTLKeep:
		return []vkv.WriteOption{vkv.WithKeepTTL()}, nil
	}
	ttl, err := parseTTL(s)
	if err != nil || ttl == 0 {
		return nil, err
	}
	return []vkv.WriteOption{vkv.WithTTL(ttl)}, nil
}

func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(1<<63-1)/int64(time.Second) || n < -int64(1<<63-1)/int64(time.Second) {
			return 0, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, code: wire.CodeInvalidTTL,
				detail: fmt.Sprintf("ttl %q is out of range", s)}
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, code: wire.CodeInvalidTTL,
			detail: fmt.Sprintf("ttl %q is neither a Go duration (\"90s\") nor a number of seconds", s)}
	}
	if err := vkv.CheckTTL(d); err != nil {
		detail := fmt.Sprintf("ttl %q is negative", s)
		if d > 0 {
			detail = fmt.Sprintf("ttl %q is longer than the limit of %d seconds", s, vkv.MaxTTL/time.Second)
		}
		return 0, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, code: wire.CodeInvalidTTL, detail: detail}
	}
	return d, nil
}

// checkKey validates a key against the handler's limits, with the check
// every vkv.KV uses.
func (h *handler) checkKey(key string) error {
	return h.limits.CheckKey(key)
}
