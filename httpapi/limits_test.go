package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// TestLimits checks GET /v1/limits against the store's Limits and the
// handler's options, and that the handler enforces exactly what it reports:
// a key, a value and a transaction at each limit pass, one byte or op over
// it is refused.
func TestLimits(t *testing.T) {
	small := vkv.Options{InMemory: true, MaxKeySize: 100, MaxValueSize: 1000, MaxTxnOps: 5}
	big := vkv.Options{InMemory: true, MaxKeySize: 2 * vkv.DefaultMaxKeySize}
	// On disk: an in-memory store holds values a little under 1 MiB, less
	// than the handler's default, which a plain KV cannot tell it.
	bigDisk := vkv.Options{NoSync: true, MaxKeySize: 2 * vkv.DefaultMaxKeySize}
	for _, tc := range []struct {
		name   string
		opts   vkv.Options
		plain  bool // serve the store behind a KV that does not tell its limits
		hopts  []httpapi.Option
		want   func(s *vkv.Store) vkv.Limits
		reason string
	}{
		{name: "default store", opts: vkv.Options{InMemory: true},
			want:   (*vkv.Store).Limits,
			reason: "the handler serves and enforces the store's limits"},
		{name: "small store", opts: small,
			want:   (*vkv.Store).Limits,
			reason: "a store's lower limits are the server's"},
		{name: "big store", opts: big,
			want:   (*vkv.Store).Limits,
			reason: "a store's higher key limit is the server's, not the handler's default"},
		{name: "options tighten", opts: vkv.Options{InMemory: true},
			hopts: []httpapi.Option{httpapi.WithMaxKeySize(10), httpapi.WithMaxBodySize(20), httpapi.WithMaxTxnOps(3)},
			want: func(*vkv.Store) vkv.Limits {
				return vkv.Limits{MaxKeySize: 10, MaxValueSize: 20, MaxTxnOps: 3}
			},
			reason: "the handler's options lower the store's limits"},
		{name: "options cannot loosen", opts: small,
			hopts:  []httpapi.Option{httpapi.WithMaxKeySize(1000), httpapi.WithMaxBodySize(1 << 20), httpapi.WithMaxTxnOps(50)},
			want:   (*vkv.Store).Limits,
			reason: "the store would refuse more than its limits, so the options are cut to them"},
		{name: "plain KV", opts: bigDisk, plain: true,
			want: func(*vkv.Store) vkv.Limits {
				return vkv.Limits{MaxKeySize: httpapi.DefaultMaxKeySize, MaxValueSize: httpapi.DefaultMaxBodySize, MaxTxnOps: httpapi.DefaultMaxTxnOps}
			},
			reason: "a KV that does not tell its limits gets the handler's defaults"},
		{name: "plain KV with options", opts: bigDisk, plain: true,
			hopts: []httpapi.Option{httpapi.WithMaxKeySize(6000), httpapi.WithMaxTxnOps(7)},
			want: func(*vkv.Store) vkv.Limits {
				return vkv.Limits{MaxKeySize: 6000, MaxValueSize: httpapi.DefaultMaxBodySize, MaxTxnOps: 7}
			},
			reason: "without the KV's limits the options are the limits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, dir := tc.opts, ""
			if !opts.InMemory {
				dir = t.TempDir()
			}
			s, err := vkv.Open(dir, &opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			var kv vkv.KV = s
			if tc.plain {
				kv = oaPlain(s)
			}
			h := httpapi.New(kv, append([]httpapi.Option{httpapi.WithToken("s3cret")}, tc.hopts...)...)
			auth := []string{"Authorization", "Bearer s3cret"}

			resp := send(h, get("/v1/limits", auth...))
			if resp.Code != 200 || resp.Header().Get("Content-Type") != ctJSON {
				t.Fatalf("GET /v1/limits: %d %s, want 200 %s\n%s", resp.Code, resp.Header().Get("Content-Type"), ctJSON, resp.Body)
			}
			var got wire.Limits
			if err := json.Unmarshal(resp.Body.Bytes(), &got); err != nil {
				t.Fatalf("GET /v1/limits: %v\n%s", err, resp.Body)
			}
			want := wire.Limits{MaxTxnBodySize: httpapi.DefaultMaxTxnBodySize, MaxTTLSeconds: int64(vkv.MaxTTL / time.Second)}
			l := tc.want(s)
			want.MaxKeySize, want.MaxValueSize, want.MaxTxnOps = l.MaxKeySize, l.MaxValueSize, l.MaxTxnOps
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("GET /v1/limits (-want +got) (%s):\n%s", tc.reason, diff)
			}

			// The handler enforces what it reports.
			for _, c := range []struct {
				what   string
				r      req
				status int
				code   string
			}{
				{"a key at the limit", put("/v1/kv/"+strings.Repeat("k", l.MaxKeySize), "x", auth...), 201, ""},
				{"a key over the limit", put("/v1/kv/"+strings.Repeat("k", l.MaxKeySize+1), "x", auth...), 400, ""},
				{"a value at the limit", put("/v1/kv/v", strings.Repeat("v", l.MaxValueSize), auth...), 201, ""},
				{"a value over the limit", put("/v1/kv/w", strings.Repeat("v", l.MaxValueSize+1), auth...), 413, wire.CodeValueTooLarge},
				{"ops at the limit", txn(deletes(l.MaxTxnOps), auth...), 200, ""},
				{"ops over the limit", txn(deletes(l.MaxTxnOps+1), auth...), 400, wire.CodeTooManyOps},
			} {
				resp := send(h, c.r)
				var p wire.Problem
				if resp.Code >= 400 {
					json.Unmarshal(resp.Body.Bytes(), &p)
				}
				if resp.Code != c.status || p.Code != c.code {
					t.Errorf("%s: %d %q, want %d %q (%s)\n%.300s", c.what, resp.Code, p.Code, c.status, c.code, tc.reason, resp.Body)
				}
			}
		})
	}
}

// deletes returns a transaction of n deletes of distinct keys.
func deletes(n int) string {
	ops := make([]string, n)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"op":"delete","key":"d%d"}`, i)
	}
	return `{"ops":[` + strings.Join(ops, ",") + `]}`
}
