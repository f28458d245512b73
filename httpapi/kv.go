package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// setEntryHeaders sets the headers that describe e.
func setEntryHeaders(w http.ResponseWriter, e *vkv.Entry) {
	hd := w.Header()
	hd.Set("ETag", e.Version.ETag())
	hd.Set(wire.HeaderVersion, e.Version.String())
	if e.CreateVersion != 0 {
		hd.Set(wire.HeaderCreateVersion, e.CreateVersion.String())
	}
	if !e.ExpiresAt.IsZero() {
		hd.Set(wire.HeaderExpiresAt, e.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
}

// writeJSON writes v as application/json with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// The API's own types always marshal.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// get serves GET and HEAD /v1/kv/{key...}, with ?version=N for a past
// version, ?version=latest for a read pinned to the newest version, and
// If-None-Match for 304.
func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	info := errInfo{key: &key}
	if err := h.checkKey(key); err != nil {
		h.writeError(w, r, err, info)
		return
	}
	if !h.allow(w, r, Need{Access: Read, Key: key}) {
		return
	}
	inm, err := parseTags(r, "If-None-Match", true)
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	var e vkv.Entry
	if vals := r.URL.Query()[wire.ParamVersion]; len(vals) == 1 && vals[0] == wire.VersionLatest {
		e, err = h.getPinned(r.Context(), w.Header(), key)
	} else {
		var v vkv.Version
		var at bool
		if v, at, err = queryVersion(r); err != nil {
			h.writeError(w, r, err, info)
			return
		}
		if at {
			e, err = h.kv.GetAt(r.Context(), key, v)
		} else {
			e, err = h.kv.Get(r.Context(), key)
		}
	}
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	setEntryHeaders(w, &e)
	if inm != nil && inm.matches(e.Version) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(e.Value)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.Value)
	}
}

// getPinned reads key for GET ?version=latest: at the KV's newest version
// V exactly, as GetAt(key, V) does, so that the answer agrees with later
// reads at V; V goes in the header Vkv-Store-Version, on a 404 too, for the
// client to pin its next reads to. A KV that cannot tell its newest version
// is read with Get, and the header is not sent.
func (h *handler) getPinned(ctx context.Context, hd http.Header, key string) (vkv.Entry, error) {
	vr, ok := h.kv.(versioner)
	if !ok {
		return h.kv.Get(ctx, key)
	}
	v, err := vr.CurrentVersion(ctx)
	if err != nil {
		return vkv.Entry{}, err
	}
	e, err := h.kv.GetAt(ctx, key, v)
	if err == nil || errors.Is(err, vkv.ErrNotFound) {
		hd.Set(wire.HeaderStoreVersion, v.String())
	}
	return e, err
}

// readBody reads r's body up to limit bytes; more gives a 413 problem.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit, "")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit, "")
		}
		return nil, badRequest(wire.ProblemInvalidRequest, "the request body could not be read")
	}
	return b, nil
}

// writeTarget reads what PUT and DELETE share: the key and the conditions
// on it. On bad input it writes the problem and reports false.
func (h *handler) writeTarget(w http.ResponseWriter, r *http.Request) (string, errInfo, writeConds, bool) {
	key := r.PathValue("key")
	info := errInfo{key: &key, prefer: preferRepresentation(r)}
	if err := h.checkKey(key); err != nil {
		h.writeError(w, r, err, info)
		return "", info, writeConds{}, false
	}
	if !h.allow(w, r, Need{Access: Write, Key: key}) {
		return "", info, writeConds{}, false
	}
	conds, err := parseWriteConds(r)
	if err != nil {
		h.writeError(w, r, err, info)
		return "", info, writeConds{}, false
	}
	return key, info, conds, true
}

// put serves PUT /v1/kv/{key...}: 201 when the key was created, else 200.
func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key, info, conds, ok := h.writeTarget(w, r)
	if !ok {
		return
	}
	var err error
	opts, err := ttlOptions(r.URL.Query().Get(wire.ParamTTL))
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	body, err := readBody(w, r, int64(h.limits.MaxValueSize))
	if err != nil {
		var re *requestError
		if errors.As(err, &re) && re.status == http.StatusRequestEntityTooLarge {
			re.code = wire.CodeValueTooLarge
		}
		h.writeError(w, r, err, info)
		return
	}

	var (
		v       vkv.Version
		created bool
		written vkv.Entry // filled by a KV that supports vkv.Written
	)
	switch kind, expected, viaHeader := conds.kind(); kind {
	case condNone:
		v, err = h.kv.Put(ctx, key, body, append(opts, vkv.Written(&written))...)
		if err == nil {
			if written.Version == v {
				created = written.CreateVersion == v
			} else {
				created = h.createdAt(ctx, key, v)
			}
		}
	case condVersion:
		v, err = h.kv.CompareAndSwap(ctx, key, expected, body, append(opts, vkv.Written(&written))...)
		if err != nil && viaHeader {
			err = asPrecondition(err)
		}
		created = expected == 0
	default:
		v, err = h.kv.Update(ctx, func(tx vkv.Txn) error {
			cur, err := txGet(tx, key)
			if err != nil {
				return err
			}
			if err := conds.check(key, cur); err != nil {
				return err
			}
			created = cur == nil
			return tx.Put(key, body, opts...)
		})
	}
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	h.auditWrite(ctx, r, []string{key}, v)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	if written.Version == v {
		setEntryHeaders(w, &written)
	} else {
		w.Header().Set("ETag", v.ETag())
		w.Header().Set(wire.HeaderVersion, v.String())
	}
	writeJSON(w, status, wire.WriteResult{Key: key, KeyBase64: wire.KeyBytes(key), Version: v})
}

// createdAt reports whether the write of key at version v created it, for
// a KV that does not fill vkv.Written. A failed read reports false (200
// rather than 201).
func (h *handler) createdAt(ctx context.Context, key string, v vkv.Version) bool {
	e, err := h.kv.GetAt(ctx, key, v)
	return err == nil && e.Version == v && e.CreateVersion == v
}

// txGet reads key in tx; an absent key gives nil and no error.
func txGet(tx vkv.Txn, key string) (*vkv.Entry, error) {
	e, err := tx.Get(key)
	if errors.Is(err, vkv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// delete serves DELETE /v1/kv/{key...}.
func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key, info, conds, ok := h.writeTarget(w, r)
	if !ok {
		return
	}
	var err error
	var v vkv.Version
	switch kind, expected, viaHeader := conds.kind(); kind {
	case condNone:
		v, err = h.kv.Delete(ctx, key)
	case condVersion:
		v, err = h.kv.CompareAndDelete(ctx, key, expected)
		if err != nil && viaHeader {
			err = asPrecondition(err)
		}
	default:
		v, err = h.kv.Update(ctx, func(tx vkv.Txn) error {
			cur, err := txGet(tx, key)
			if err != nil {
				return err
			}
			if err := conds.check(key, cur); err != nil {
				return err
			}
			if cur == nil {
				return vkv.ErrNotFound
			}
			return tx.Delete(key)
		})
	}
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	h.auditWrite(ctx, r, []string{key}, v)
	w.Header().Set(wire.HeaderVersion, v.String())
	writeJSON(w, http.StatusOK, wire.WriteResult{Key: key, KeyBase64: wire.KeyBytes(key), Version: v})
}

// intParam parses the non-negative integer query parameter name; absent
// gives 0.
func intParam(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest(wire.ProblemInvalidRequest, fmt.Sprintf("the query parameter %s=%q is not a non-negative integer", name, s))
	}
	return n, nil
}

// list serves GET /v1/kv?prefix=P&after=K&limit=N, and with &version=N
// the page as it was at version N (vkv.Reader.ListAt). The version the
// page was read at is in the body and in Vkv-Store-Version; ?version=latest
// is the same as no version.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, wire.ParamLimit)
	if err != nil {
		h.writeError(w, r, err, errInfo{})
		return
	}
	if limit == 0 {
		limit = vkv.DefaultListLimit
	}
	limit = min(limit, vkv.MaxListLimit)
	q := r.URL.Query()
	prefix := q.Get(wire.ParamPrefix)
	var v vkv.Version
	at := false
	if vals := q[wire.ParamVersion]; !(len(vals) == 1 && vals[0] == wire.VersionLatest) {
		if v, at, err = queryVersion(r); err != nil {
			h.writeError(w, r, err, errInfo{})
			return
		}
	}
	// The whole range must be granted: a list is never filtered.
	if !h.allow(w, r, Need{Access: Read, Key: prefix, Prefix: true}) {
		return
	}
	var page vkv.ListResult
	if at {
		page, err = h.kv.ListAt(r.Context(), prefix, q.Get(wire.ParamAfter), limit, v)
	} else {
		page, err = h.kv.List(r.Context(), prefix, q.Get(wire.ParamAfter), limit)
	}
	if err != nil {
		h.writeError(w, r, err, errInfo{})
		return
	}
	res := wire.ListResult{Items: make([]wire.Item, 0, len(page.Entries)), Next: page.Next, NextBase64: wire.KeyBytes(page.Next), Version: page.Version}
	for i := range page.Entries {
		res.Items = append(res.Items, wire.ItemOf(&page.Entries[i]))
	}
	w.Header().Set(wire.HeaderStoreVersion, page.Version.String())
	writeJSON(w, http.StatusOK, res)
}

// history serves GET /v1/history/{key...}?limit=N.
func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	info := errInfo{key: &key}
	if err := h.checkKey(key); err != nil {
		h.writeError(w, r, err, info)
		return
	}
	if !h.allow(w, r, Need{Access: Read, Key: key}) {
		return
	}
	limit, err := intParam(r, wire.ParamLimit)
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	if max := h.cfg.historyLimit; max > 0 && (limit == 0 || limit > max) {
		limit = max
	}
	entries, err := h.kv.History(r.Context(), key, limit)
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	res := wire.HistoryResult{Key: key, KeyBase64: wire.KeyBytes(key), Versions: make([]wire.HistoryVersion, 0, len(entries))}
	for i := range entries {
		res.Versions = append(res.Versions, wire.HistoryVersionOf(&entries[i]))
	}
	writeJSON(w, http.StatusOK, res)
}

// healthz serves GET /healthz, without authentication.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if vr, ok := h.kv.(versioner); ok {
		v, err := vr.CurrentVersion(r.Context())
		if err != nil {
			h.writeError(w, r, err, errInfo{})
			return
		}
		w.Header().Set(wire.HeaderStoreVersion, v.String())
	}
	writeJSON(w, http.StatusOK, wire.Health{Status: "ok"})
}
