package vkvclient_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// TestWhoami asks a server without authentication, with WithToken, and
// with an auth file, as known and unknown principals.
func TestWhoami(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg, err := authfile.Parse([]byte(`{"principals": [{"name": "dash", "tokenSHA256": "` + authfile.HashToken("tok-dash") +
		`", "grants": [{"prefix": "app/", "access": "read"}, {"prefix": "app/w/", "access": "write"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	writeAll := []wire.Grant{{Prefix: "", Access: "write"}}
	for _, tc := range []struct {
		name   string
		opt    httpapi.Option
		token  string
		want   *wire.Whoami
		status int // of the *ProblemError, when not 0
	}{
		{name: "auth off", want: &wire.Whoami{GrantsKnown: true, Grants: writeAll}},
		{name: "token", opt: httpapi.WithToken("t0"), token: "t0",
			want: &wire.Whoami{Authentication: true, Principal: "token", GrantsKnown: true, Grants: writeAll}},
		{name: "auth file", opt: httpapi.WithAuthorizer(authfile.New(cfg)), token: "tok-dash",
			want: &wire.Whoami{Authentication: true, Principal: "dash", GrantsKnown: true,
				Grants: []wire.Grant{{Prefix: "app/", Access: "read"}, {Prefix: "app/w/", Access: "write"}}}},
		{name: "unknown token", opt: httpapi.WithAuthorizer(authfile.New(cfg)), token: "tok-other", status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(httpapi.New(s, tc.opt))
			t.Cleanup(srv.Close)
			c, err := vkvclient.New(srv.URL, vkvclient.WithToken(tc.token))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			got, err := c.Whoami(t.Context())
			if tc.status != 0 {
				var pe *vkvclient.ProblemError
				if !errors.As(err, &pe) || pe.StatusCode != tc.status {
					t.Fatalf("Whoami: %v, want a *ProblemError with status %d", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatalf("Whoami: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Whoami (-want +got):\n%s", diff)
			}
		})
	}
}
