package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// Limits of the decoder under fuzz: small, so that the fuzzer reaches them.
const (
	fuzzMaxKey = 16
	fuzzMaxOps = 4
)

// FuzzDecodeTxn feeds arbitrary bodies to the transaction decoder. It must
// never panic; a refused body must be a 400 problem; an accepted body must
// hold a valid transaction (keys present and within the limit, no key in two
// ops, ops and conditions within the limit, a value on each put and none on a
// delete, a version on each condition, a valid TTL) that encodes back to
// JSON which the decoder accepts as the same transaction.
func FuzzDecodeTxn(f *testing.F) {
	h := &handler{cfg: defaultConfig()}
	h.cfg.maxKeySize, h.cfg.maxTxnOps = fuzzMaxKey, fuzzMaxOps
	h.limits = h.cfg.limitsFor(nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, opts, err := h.decodeTxn(body)
		if err != nil {
			var re *requestError
			var ke *vkv.KeyError
			switch {
			case errors.As(err, &re):
				if re.status != http.StatusBadRequest || (re.name != wire.ProblemInvalidRequest && re.name != wire.ProblemInvalidKey) {
					t.Fatalf("refused %q with %d %s", body, re.status, re.name)
				}
			case errors.As(err, &ke):
			default:
				t.Fatalf("refused %q with an error of type %T: %v", body, err, err)
			}
			p, internal := problemFor(err, errInfo{txn: true})
			if internal || p.Status != http.StatusBadRequest || p.Detail == "" || p.Title == "" {
				t.Fatalf("refused %q with problem %+v (internal %v)", body, p, internal)
			}
			return
		}
		checkTxn(t, body, req, opts)
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("accepted %q, but it does not encode: %v", body, err)
		}
		req2, _, err := h.decodeTxn(again)
		if err != nil {
			t.Fatalf("accepted %q, but not its encoding %s: %v", body, again, err)
		}
		if diff := cmp.Diff(req, req2); diff != "" {
			t.Fatalf("accepted %q; its encoding %s decodes differently (-first +second):\n%s", body, again, diff)
		}
	})
}

// checkTxn checks a transaction the decoder accepted.
func checkTxn(t *testing.T, body []byte, req *wire.TxnRequest, opts [][]vkv.WriteOption) {
	t.Helper()
	if len(req.Ops) > fuzzMaxOps || len(req.Conditions) > fuzzMaxOps {
		t.Fatalf("accepted %q with %d ops and %d conditions, over the limit %d", body, len(req.Ops), len(req.Conditions), fuzzMaxOps)
	}
	if len(opts) != len(req.Ops) {
		t.Fatalf("accepted %q: %d ops but %d option lists", body, len(req.Ops), len(opts))
	}
	for _, c := range req.Conditions {
		if c.Range != nil {
			continue
		}
		if c.Key == "" || len(c.Key) > fuzzMaxKey || c.Version == nil {
			t.Fatalf("accepted %q with condition %+v", body, c)
		}
	}
	seen := map[string]bool{}
	for i, op := range req.Ops {
		if op.Key == "" || len(op.Key) > fuzzMaxKey {
			t.Fatalf("accepted %q with op key %q", body, op.Key)
		}
		if seen[op.Key] {
			t.Fatalf("accepted %q with key %q in two ops", body, op.Key)
		}
		seen[op.Key] = true
		switch op.Op {
		case "put":
			if op.Value == nil {
				t.Fatalf("accepted %q with a put without a value", body)
			}
			ttl := vkv.NewWriteOptions(opts[i]...).TTL
			if ttl < 0 || ttl > vkv.MaxTTL || (op.TTL == "" && ttl != 0) {
				t.Fatalf("accepted %q with ttl %q as %v", body, op.TTL, ttl)
			}
		case "delete":
			if op.Value != nil || op.TTL != "" || len(opts[i]) != 0 {
				t.Fatalf("accepted %q with a delete carrying a value or ttl", body)
			}
		default:
			t.Fatalf("accepted %q with op %q", body, op.Op)
		}
	}
}

// FuzzParseTags parses arbitrary If-Match and If-None-Match values. It must
// never panic; a refused value is a 400 invalid-version problem; an accepted
// value is "*" or a list of strong tags (weak ones too where allowed), each
// of which is a canonical version.
func FuzzParseTags(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, weak bool) {
		r := httptest.NewRequest("PUT", "/v1/kv/k", nil)
		r.Header["If-Match"] = strings.Split(value, "\n")
		tags, err := parseTags(r, "If-Match", weak)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != http.StatusBadRequest || re.name != wire.ProblemInvalidVersion {
				t.Fatalf("parseTags(%q) refused it with %v, want 400 invalid-version", value, err)
			}
			return
		}
		joined := strings.TrimSpace(strings.Join(r.Header.Values("If-Match"), ","))
		if tags.any {
			if joined != "*" || len(tags.versions) != 0 {
				t.Fatalf("parseTags(%q) = * with versions %v", value, tags.versions)
			}
			return
		}
		parts := strings.Split(joined, ",")
		if len(parts) != len(tags.versions) {
			t.Fatalf("parseTags(%q) = %d versions from %d parts", value, len(tags.versions), len(parts))
		}
		for i, part := range parts {
			part = strings.TrimSpace(part)
			if weak {
				part = strings.TrimPrefix(part, "W/")
			}
			if tags.versions[i].ETag() != part {
				t.Fatalf("parseTags(%q): part %q gave version %d", value, part, tags.versions[i])
			}
		}
	})
}
