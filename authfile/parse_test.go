package authfile_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
)

var (
	hashA = authfile.HashToken("token-a")
	hashB = authfile.HashToken("token-b")
)

// TestParse: a valid file gives its principals and grants; every malformed
// one is refused with an error that names the problem.
func TestParse(t *testing.T) {
	valid := `{"principals": [
	  {"name": "deployer", "tokenSHA256": "` + hashA + `", "grants": [{"prefix": "app/", "access": "write"}]},
	  {"name": "svc", "certCN": "svc", "grants": [{"prefix": "", "access": "read"}]},
	  {"name": "both", "tokenSHA256": "` + strings.ToUpper(hashB) + `", "certCN": "both", "grants": []}
	]}`
	c, err := authfile.Parse([]byte(valid))
	if err != nil {
		t.Fatalf("Parse of a valid file: %v", err)
	}
	type pg struct {
		Name   string
		Grants []authfile.Grant
	}
	var got []pg
	for _, p := range c.Principals() {
		got = append(got, pg{p.Name(), p.Grants()})
	}
	want := []pg{
		{"deployer", []authfile.Grant{{Prefix: "app/", Access: httpapi.Write}}},
		{"svc", []authfile.Grant{{Prefix: "", Access: httpapi.Read}}},
		{"both", nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("principals (-want +got):\n%s", diff)
	}

	p := func(members string) string { return `{"principals": [{` + members + `}]}` }
	tests := []struct {
		reason, file, want string
	}{
		{"empty file", ``, "empty"},
		{"not JSON", `{"principals": [`, "ends early"},
		{"syntax error with its place", "{\n\"principals\": [}", "line 2"},
		{"no principals", `{}`, `"principals" is missing or empty`},
		{"empty principals", `{"principals": []}`, `"principals" is missing or empty`},
		{"unknown top-level member", `{"principals": [], "admins": []}`, `unknown member "admins"`},
		{"unknown principal member", p(`"name": "a", "tokenSHA256": "` + hashA + `", "token": "x"`), `unknown member "token"`},
		{"unknown grant member", p(`"name": "a", "tokenSHA256": "` + hashA + `", "grants": [{"prefix": "", "access": "read", "ttl": 1}]`), `unknown member "ttl"`},
		{"member name in another case", p(`"Name": "a", "tokenSHA256": "` + hashA + `"`), `unknown member "Name"`},
		{"member given twice", p(`"name": "a", "name": "b", "tokenSHA256": "` + hashA + `"`), `member "name" given twice`},
		{"two values", `{"principals": [{"name": "a", "tokenSHA256": "` + hashA + `"}]} {}`, "more after the JSON object"},
		{"null", `null`, `"principals" is missing or empty`},
		{"missing name", p(`"tokenSHA256": "` + hashA + `"`), `"name" is missing`},
		{"duplicate name", `{"principals": [{"name": "a", "tokenSHA256": "` + hashA + `"}, {"name": "a", "tokenSHA256": "` + hashB + `"}]}`, "duplicate name"},
		{"no credential", p(`"name": "a", "grants": []`), `neither "tokenSHA256" nor "certCN"`},
		{"hash too short", p(`"name": "a", "tokenSHA256": "` + hashA[:63] + `"`), `malformed "tokenSHA256"`},
		{"hash not hex", p(`"name": "a", "tokenSHA256": "` + strings.Repeat("g", 64) + `"`), `malformed "tokenSHA256"`},
		{"a token instead of a hash", p(`"name": "a", "tokenSHA256": "token-a"`), `malformed "tokenSHA256"`},
		{"same hash twice", `{"principals": [{"name": "a", "tokenSHA256": "` + hashA + `"}, {"name": "b", "tokenSHA256": "` + hashA + `"}]}`, `the same tokenSHA256 as principal "a"`},
		{"same certCN twice", `{"principals": [{"name": "a", "certCN": "x"}, {"name": "b", "certCN": "x"}]}`, `the same certCN as principal "a"`},
		{"empty certCN", p(`"name": "a", "certCN": ""`), `empty "certCN"`},
		{"unknown access", p(`"name": "a", "tokenSHA256": "` + hashA + `", "grants": [{"prefix": "", "access": "admin"}]`), `unknown access "admin"`},
		{"access in capitals", p(`"name": "a", "tokenSHA256": "` + hashA + `", "grants": [{"prefix": "", "access": "Write"}]`), `unknown access "Write"`},
		{"grant without prefix", p(`"name": "a", "tokenSHA256": "` + hashA + `", "grants": [{"access": "read"}]`), `"prefix" is missing`},
		{"wrong type", p(`"name": 7, "tokenSHA256": "` + hashA + `"`), "wrong type"},
	}
	for _, tt := range tests {
		_, err := authfile.Parse([]byte(tt.file))
		if err == nil {
			t.Errorf("%s: Parse accepted %s", tt.reason, tt.file)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not say %q", tt.reason, err, tt.want)
		}
	}
}

// FuzzParse feeds arbitrary bytes to Parse: no panic; an accepted file has
// principals with distinct non-empty names, each with a credential, and
// its entries (Entry) parse back to the same names and grants.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"principals": [{"name": "a", "tokenSHA256": "` + hashA + `", "grants": [{"prefix": "app/", "access": "write"}]}]}`))
	f.Add([]byte(`{"principals": [{"name": "s", "certCN": "s", "grants": [{"prefix": "", "access": "read"}]}]}`))
	f.Add([]byte(`{"principals": [{"name": "a", "name": "b"}]}`))
	f.Add([]byte(`{"principals": [{"name": "a", "tokenSHA256": "` + hashA + `"}, {"name": "a", "certCN": "x"}]}`))
	f.Add([]byte(`{"principals": [{"grants": [{"prefix": "\u0000\xff", "access": "read"}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"principals": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := authfile.Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		names := map[string]bool{}
		for _, p := range c.Principals() {
			if p.Name() == "" || names[p.Name()] {
				t.Fatalf("accepted an empty or duplicate name %q", p.Name())
			}
			names[p.Name()] = true
			for _, g := range p.Grants() {
				if g.Access != httpapi.Read && g.Access != httpapi.Write {
					t.Fatalf("accepted access %v", g.Access)
				}
			}
			// An entry written for the principal parses back.
			e, err := authfile.Entry(p.Name(), hashA, p.Grants())
			if err != nil {
				t.Fatal(err)
			}
			back, err := authfile.Parse([]byte(`{"principals": [` + string(e) + `]}`))
			if err != nil {
				t.Fatalf("the entry %s does not parse: %v", e, err)
			}
			bp := back.Principals()[0]
			if bp.Name() != p.Name() || !cmp.Equal(bp.Grants(), p.Grants()) {
				t.Fatalf("entry %s parsed back as %q %v, want %q %v", e, bp.Name(), bp.Grants(), p.Name(), p.Grants())
			}
		}
		_ = json.Valid(data)
	})
}
