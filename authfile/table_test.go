package authfile_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
)

// The auth file of the table: the principals, and one without
// grants.
var tableFile = `{"principals": [
  {"name": "deployer",    "tokenSHA256": "` + authfile.HashToken("tok-deployer") + `", "grants": [{"prefix": "app/", "access": "write"}]},
  {"name": "dashboards",  "tokenSHA256": "` + authfile.HashToken("tok-dashboards") + `", "grants": [{"prefix": "app/", "access": "read"}, {"prefix": "flags/", "access": "read"}]},
  {"name": "svc-billing", "certCN": "svc-billing", "grants": [{"prefix": "billing/", "access": "write"}]},
  {"name": "ops",         "tokenSHA256": "` + authfile.HashToken("tok-ops") + `", "grants": [{"prefix": "", "access": "write"}]},
  {"name": "nobody",      "tokenSHA256": "` + authfile.HashToken("tok-nobody") + `", "grants": []}
]}`

// tableKeys are the keys of the store: the boundary of the grant "app/"
// (app, app/, app/x, apple) and keys of the other grants.
var tableKeys = []string{"app", "app/", "app/x", "apple", "flags/f", "billing/b"}

// access is what a principal may do with a key, written out by hand (not
// computed with the code under test): "" none, "r" read, "rw" read and write.
var access = map[string]map[string]string{
	"deployer":    {"app/": "rw", "app/x": "rw"},
	"dashboards":  {"app/": "r", "app/x": "r", "flags/f": "r"},
	"svc-billing": {"billing/b": "rw"},
	"ops":         {"app": "rw", "app/": "rw", "app/x": "rw", "apple": "rw", "flags/f": "rw", "billing/b": "rw"},
	"nobody":      {},
}

// rangeRead is which list and watch prefixes a principal may read, by hand.
var rangeRead = map[string]map[string]bool{
	"deployer":    {"app/": true, "app/x": true},
	"dashboards":  {"app/": true, "app/x": true, "flags/": true},
	"svc-billing": {"billing/": true},
	"ops":         {"ap": true, "app/": true, "app/x": true, "": true, "flags/": true, "billing/": true},
	"nobody":      {},
}

var tablePrefixes = []string{"ap", "app/", "app/x", "", "flags/", "billing/"}

// cred is how a principal sends its credentials.
type cred struct {
	token string // bearer token
	cn    string // verified client certificate's Common Name
}

var creds = map[string]cred{
	"deployer":    {token: "tok-deployer"},
	"dashboards":  {token: "tok-dashboards"},
	"svc-billing": {cn: "svc-billing"},
	"ops":         {token: "tok-ops"},
	"nobody":      {token: "tok-nobody"},
}

// tableRow is one request of the table.
type tableRow struct {
	who    string // principal, or "" with cred set directly
	cred   cred
	method string
	target string
	body   func(s *vkv.Store) string // POST /v1/txn bodies, built at run time
	status int
	reason string
}

// txnCase is a transaction of the table: conditions (read) and ops
// (write), and which principals may run it, by hand.
type txnCase struct {
	name  string
	conds []string
	ops   []string
	ok    map[string]bool
}

var txnCases = []txnCase{
	{"two ops in app/", nil, []string{"app/t1", "app/t2"}, map[string]bool{"deployer": true, "ops": true}},
	{"second op outside (apple)", nil, []string{"app/t1", "apple"}, map[string]bool{"ops": true}},
	{"first op outside (app)", nil, []string{"app", "app/t1"}, map[string]bool{"ops": true}},
	{"last of three ops outside (flags/f)", nil, []string{"app/t1", "app/t2", "flags/f"}, map[string]bool{"ops": true}},
	{"condition on app/x, op in app/", []string{"app/x"}, []string{"app/t1"}, map[string]bool{"deployer": true, "ops": true}},
	{"condition outside the read grants", []string{"flags/f"}, []string{"app/t1"}, map[string]bool{"ops": true}},
	{"condition only, readable", []string{"flags/f"}, nil, map[string]bool{"dashboards": true, "ops": true}},
}

// txnBody returns the body of tc with each condition at the key's current
// version.
func txnBody(tc txnCase) func(s *vkv.Store) string {
	return func(s *vkv.Store) string {
		var conds, ops []string
		for _, k := range tc.conds {
			e, _ := s.Get(context.Background(), k)
			conds = append(conds, fmt.Sprintf(`{"key":%q,"version":%d}`, k, e.Version))
		}
		for _, k := range tc.ops {
			ops = append(ops, fmt.Sprintf(`{"op":"put","key":%q,"value":"dHhu"}`, k))
		}
		return `{"conditions":[` + strings.Join(conds, ",") + `],"ops":[` + strings.Join(ops, ",") + `]}`
	}
}

// tableRows builds the table: every principal × every route × every key or
// prefix, with the expected status from the hand-written matrices.
func tableRows() []tableRow {
	var rows []tableRow
	status := func(ok bool) int {
		if ok {
			return 200
		}
		return 403
	}
	for _, who := range []string{"deployer", "dashboards", "svc-billing", "ops", "nobody"} {
		for _, k := range tableKeys {
			a := access[who][k]
			path := "/v1/kv/" + k
			rows = append(rows,
				tableRow{who: who, method: "GET", target: path, status: status(a != "")},
				tableRow{who: who, method: "HEAD", target: path, status: status(a != "")},
				tableRow{who: who, method: "GET", target: "/v1/history/" + k, status: status(a != "")},
				tableRow{who: who, method: "PUT", target: path, status: status(a == "rw")},
				tableRow{who: who, method: "DELETE", target: path, status: status(a == "rw")},
				// An absent key next to it: the same answer as for one that exists.
				tableRow{who: who, method: "GET", target: path + "-absent", status: map[bool]int{true: 404, false: 403}[a != ""]},
			)
		}
		for _, p := range tablePrefixes {
			q := "?prefix=" + url.QueryEscape(p)
			rows = append(rows,
				tableRow{who: who, method: "GET", target: "/v1/kv" + q, status: status(rangeRead[who][p])},
				tableRow{who: who, method: "GET", target: "/v1/watch" + q, status: status(rangeRead[who][p])},
			)
		}
		rows = append(rows, tableRow{who: who, method: "GET", target: "/v1/backup", status: status(rangeRead[who][""])},
			tableRow{who: who, method: "GET", target: "/v1/limits", status: 200},
			tableRow{who: who, method: "GET", target: "/v1/whoami", status: 200, reason: "whoami needs a principal only (nobody too)"})
		for _, tc := range txnCases {
			rows = append(rows, tableRow{who: who, method: "POST", target: "/v1/txn", body: txnBody(tc), status: status(tc.ok[who]),
				reason: "txn: " + tc.name})
		}
	}
	// Unknown and missing credentials.
	for _, c := range []struct {
		cred   cred
		reason string
	}{
		{cred{}, "no credentials"},
		{cred{token: "tok-unknown"}, "unknown token"},
		{cred{token: "tok-op"}, "a prefix of a known token"},
		{cred{token: "tok-opsx"}, "a known token with a suffix"},
		{cred{cn: "svc-unknown"}, "a certificate no principal names"},
		{cred{token: "tok-unknown", cn: "svc-billing"}, "an unknown token with a known certificate: the token decides"},
	} {
		rows = append(rows,
			tableRow{cred: c.cred, method: "GET", target: "/v1/kv/app/x", status: 401, reason: c.reason},
			tableRow{cred: c.cred, method: "PUT", target: "/v1/kv/billing/b", status: 401, reason: c.reason},
			tableRow{cred: c.cred, method: "POST", target: "/v1/txn", body: txnBody(txnCases[0]), status: 401, reason: c.reason},
			tableRow{cred: c.cred, method: "GET", target: "/v1/whoami", status: 401, reason: c.reason})
	}
	for i := range rows {
		if rows[i].who != "" {
			rows[i].cred = creds[rows[i].who]
		}
		if rows[i].reason == "" {
			rows[i].reason = fmt.Sprintf("%s %s", rows[i].method, rows[i].target)
		}
	}
	return rows
}

// snapshot is what a store holds: every key's history and the newest
// version.
type snapshot struct {
	Version vkv.Version
	History map[string][]vkv.Entry
}

func takeSnapshot(t *testing.T, s *vkv.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	v, err := s.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshot{Version: v, History: map[string][]vkv.Entry{}}
	keys := append([]string{"app/t1", "app/t2"}, tableKeys...)
	for _, k := range keys {
		h, err := s.History(ctx, k, 0)
		if err != nil && err != vkv.ErrNotFound {
			t.Fatal(err)
		}
		snap.History[k] = h
	}
	return snap
}

// reset puts every key of the table back, and removes the keys the
// transactions create.
func reset(t *testing.T, s *vkv.Store) {
	t.Helper()
	ctx := context.Background()
	for _, k := range tableKeys {
		if _, err := s.Put(ctx, k, []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"app/t1", "app/t2"} {
		s.Delete(ctx, k)
	}
}

// verifiedCert is the TLS state of a request with a verified client
// certificate named cn.
func verifiedCert(cn string) *tls.ConnectionState {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert},
		VerifiedChains: [][]*x509.Certificate{{cert}}}
}

// TestTable sends every row of the table to a handler serving a store with
// the auth file, and checks each status; for every refused row (401, 403),
// a snapshot of the store before and after shows that nothing was written.
func TestTable(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := authfile.Parse([]byte(tableFile))
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(s, httpapi.WithAuthorizer(authfile.New(c)))
	reset(t, s)
	rows := tableRows()
	counts := map[int]int{}
	for _, row := range rows {
		var body string
		if row.body != nil {
			body = row.body(s)
		} else if row.method == "PUT" {
			body = "new"
		}
		timeout := 30 * time.Second
		if strings.HasPrefix(row.target, "/v1/watch") {
			timeout = 150 * time.Millisecond // ends the stream
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		req := httptest.NewRequestWithContext(ctx, row.method, row.target, strings.NewReader(body))
		if row.method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		if row.cred.token != "" {
			req.Header.Set("Authorization", "Bearer "+row.cred.token)
		}
		if row.cred.cn != "" {
			req.TLS = verifiedCert(row.cred.cn)
		}
		before := takeSnapshot(t, s)
		rec := httptest.NewRecorder()
		serve(t, h, rec, req)
		cancel()
		counts[rec.Code]++
		if rec.Code != row.status {
			t.Errorf("%s as %q: status %d, want %d; body %s", row.reason, row.who, rec.Code, row.status, rec.Body)
		}
		if row.status == 401 || row.status == 403 {
			if diff := cmp.Diff(before, takeSnapshot(t, s)); diff != "" {
				t.Errorf("%s as %q (refused with %d): the store changed (-before +after):\n%s", row.reason, row.who, rec.Code, diff)
			}
		} else if row.method != "GET" && row.method != "HEAD" {
			reset(t, s)
		}
	}
	t.Logf("%d rows: %v", len(rows), counts)
}

// serve serves req, turning the abort of a failed stream into a test error.
func serve(t *testing.T, h http.Handler, rec *httptest.ResponseRecorder, req *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("%s %s: the handler aborted: %v", req.Method, req.URL, v)
		}
	}()
	h.ServeHTTP(rec, req)
}
