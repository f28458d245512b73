package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/wire"
)

// TestPrintWhoami checks the text form of vkv whoami for each kind of
// answer.
func TestPrintWhoami(t *testing.T) {
	for _, tc := range []struct {
		w      wire.Whoami
		want   string
		reason string
	}{
		{wire.Whoami{GrantsKnown: true, Grants: []wire.Grant{{Prefix: "", Access: "write"}}},
			"authentication off: every request is allowed\nwrite\t\"\"\n", "no authentication"},
		{wire.Whoami{Authentication: true, Principal: "dash", GrantsKnown: true, Grants: []wire.Grant{
			{Prefix: "app/", Access: "read"}, {Prefix: "bin/\ufffd", PrefixBase64: []byte("bin/\xff"), Access: "write"}}},
			"principal dash\nread\t\"app/\"\nwrite\t\"bin/\\xff\"\n", "grants, one not UTF-8 (quoted from its bytes)"},
		{wire.Whoami{Authentication: true, Principal: "nobody", GrantsKnown: true, Grants: []wire.Grant{}},
			"principal nobody\nno grants\n", "a principal without grants"},
		{wire.Whoami{Authentication: true, Principal: "gw", Grants: []wire.Grant{}},
			"principal gw\ngrants: this server does not list them (a refused request says 403)\n", "grants not known"},
	} {
		var b strings.Builder
		if err := printWhoami(&b, &tc.w); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("printWhoami (%s) (-want +got):\n%s", tc.reason, diff)
		}
	}
}
