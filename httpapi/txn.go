package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// txn serves POST /v1/txn: every condition is expected and every op applied
// in one vkv.KV.Update, which reads nothing and so never reruns.
func (h *handler) txn(w http.ResponseWriter, r *http.Request) {
	info := errInfo{prefer: preferRepresentation(r), txn: true}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		h.writeError(w, r, &requestError{status: http.StatusUnsupportedMediaType, name: wire.ProblemUnsupportedMediaType,
			detail: "the body of POST /v1/txn must be sent as Content-Type: application/json"}, info)
		return
	}
	body, err := readBody(w, r, h.cfg.maxTxnBodySize)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) && re.status == http.StatusRequestEntityTooLarge {
			re.code = wire.CodeTxnTooLarge
		}
		h.writeError(w, r, err, info)
		return
	}
	req, opts, err := h.decodeTxn(body)
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	// Every key, before anything is written: read on each condition's,
	// write on each op's.
	for _, c := range req.Conditions {
		need := Need{Access: Read, Key: c.Key}
		if c.Range != nil {
			need = Need{Access: Read, Key: c.Range.KeyRange().Prefix, Prefix: true}
		}
		if !h.allow(w, r, need) {
			return
		}
	}
	for _, op := range req.Ops {
		if !h.allow(w, r, Need{Access: Write, Key: op.Key}) {
			return
		}
	}
	v, err := h.kv.Update(r.Context(), func(tx vkv.Txn) error {
		if err := h.checkRanges(r.Context(), tx, req.Conditions); err != nil {
			return err
		}
		for _, c := range req.Conditions {
			if c.Range != nil {
				continue
			}
			if err := tx.Expect(c.Key, *c.Version); err != nil {
				return err
			}
		}
		for i, op := range req.Ops {
			var err error
			if op.Op == wire.OpPut {
				err = tx.Put(op.Key, *op.Value, opts[i]...)
			} else {
				err = tx.Delete(op.Key)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.writeError(w, r, err, info)
		return
	}
	if len(req.Ops) > 0 {
		keys := make([]string, len(req.Ops))
		for i, op := range req.Ops {
			keys[i] = op.Key
		}
		h.auditWrite(r.Context(), r, keys, v)
	}
	writeJSON(w, http.StatusOK, wire.TxnResult{Version: v})
}

// decodeTxn parses and checks a transaction body. opts holds the write
// options of each op.
func (h *handler) decodeTxn(body []byte) (*wire.TxnRequest, [][]vkv.WriteOption, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		// json.Decoder takes null for an empty transaction.
		return nil, nil, badRequest(wire.ProblemInvalidRequest, "the body is not a valid transaction: it must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req wire.TxnRequest
	if err := dec.Decode(&req); err != nil {
		return nil, nil, badRequest(wire.ProblemInvalidRequest, "the body is not a valid transaction: "+jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, badRequest(wire.ProblemInvalidRequest, "the body holds more than one JSON value")
	}
	if err := h.checkTxnOps(len(req.Ops), "ops"); err != nil {
		return nil, nil, err
	}
	for i := range req.Conditions {
		req.Conditions[i].Key = wire.WireKey(req.Conditions[i].Key, req.Conditions[i].KeyBase64)
	}
	for i := range req.Ops {
		req.Ops[i].Key = wire.WireKey(req.Ops[i].Key, req.Ops[i].KeyBase64)
	}
	if err := h.checkTxnOps(len(req.Conditions), "conditions"); err != nil {
		return nil, nil, err
	}
	for i, c := range req.Conditions {
		if c.Range != nil || c.Count != nil {
			if err := checkRangeCond(i, c); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := h.checkKey(c.Key); err != nil {
			return nil, nil, err
		}
		if c.Version == nil {
			key := c.Key
			return nil, nil, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, key: &key,
				detail: fmt.Sprintf("condition %d has no version", i)}
		}
	}
	seen := make(map[string]bool, len(req.Ops))
	opts := make([][]vkv.WriteOption, len(req.Ops))
	for i, op := range req.Ops {
		key := op.Key
		bad := func(format string, args ...any) error {
			return &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, key: &key,
				detail: fmt.Sprintf("op %d: ", i) + fmt.Sprintf(format, args...)}
		}
		if err := h.checkKey(op.Key); err != nil {
			return nil, nil, err
		}
		if seen[op.Key] {
			return nil, nil, bad("key %q appears in more than one op", op.Key)
		}
		seen[op.Key] = true
		switch op.Op {
		case wire.OpPut:
			if op.Value == nil {
				return nil, nil, bad("a put needs a value (base64, may be empty)")
			}
			o, err := ttlOptions(op.TTL)
			if err != nil {
				var re *requestError
				errors.As(err, &re)
				re.key = &key
				return nil, nil, err
			}
			opts[i] = o
		case wire.OpDelete:
			if op.Value != nil || op.TTL != "" {
				return nil, nil, bad("a delete takes no value and no ttl")
			}
		default:
			return nil, nil, bad("unknown op %q; want \"put\" or \"delete\"", op.Op)
		}
	}
	return &req, opts, nil
}

// checkTxnOps checks n ops, or n conditions (what), against the handler's
// limit with vkv.Limits.CheckTxnOps, and reports a transaction over it as
// 400 invalid-request, code too-many-ops, before any of it reaches the KV.
func (h *handler) checkTxnOps(n int, what string) error {
	var le *vkv.LimitError
	if err := h.limits.CheckTxnOps(n); !errors.As(err, &le) {
		return err
	}
	limit := int64(le.Limit)
	return &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest, code: wire.CodeTooManyOps,
		limit: &limit, detail: fmt.Sprintf("the transaction has %d %s, more than the limit of %d", n, what, limit)}
}

// jsonProblem describes a JSON decoding error without Go type names.
func jsonProblem(err error) string {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("member %q has the wrong type", te.Field)
		}
		return "a member has the wrong type"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends early"
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return "a value is not valid base64"
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.TrimPrefix(msg, "json: ")
	}
	return "invalid JSON"
}
