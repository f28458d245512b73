package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vkvstore/vkv/authfile"
	"github.com/vkvstore/vkv/httpapi"
)

// grantFlags is the repeated -grant PREFIX=read|write flag.
type grantFlags []authfile.Grant

// String formats the grants.
func (g *grantFlags) String() string {
	if g == nil {
		return ""
	}
	var parts []string
	for _, gr := range *g {
		parts = append(parts, gr.Prefix+"="+gr.Access.String())
	}
	return strings.Join(parts, " ")
}

// Set parses one PREFIX=read|write; the prefix may be empty (every key) and
// may hold '=': the access is after the last one.
func (g *grantFlags) Set(s string) error {
	i := strings.LastIndexByte(s, '=')
	if i < 0 {
		return errors.New("want PREFIX=read or PREFIX=write")
	}
	var a httpapi.Access
	switch s[i+1:] {
	case "read":
		a = httpapi.Read
	case "write":
		a = httpapi.Write
	default:
		return fmt.Errorf("unknown access %q: want read or write", s[i+1:])
	}
	*g = append(*g, authfile.Grant{Prefix: s[:i], Access: a})
	return nil
}

// runToken is "vkv token new".
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{
		name: "token new",
		args: "",
		doc: "Make a fresh token (256 bits from crypto/rand) for a principal of an auth file (vkv serve -auth-file).\n" +
			"It prints the token, for the client, and the principal's entry, for the auth file: the entry holds\n" +
			"the token's SHA-256, never the token. Add the entry to the file's \"principals\" and send SIGHUP to\n" +
			"vkv serve. The token is shown once.",
		example: "vkv token new -name deployer -grant app/=write -grant flags/=read",
	}, stderr)
	name := fs.String("name", "", "the principal's `name`, as problems and the audit log show it")
	var grants grantFlags
	fs.Var(&grants, "grant", "a grant `PREFIX=read|write` (repeat for several; \"=read\" is every key)")
	if len(args) == 0 || args[0] != "new" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return fs.usageError("want the subcommand new")
	}
	if _, err := fs.parse(args[1:], 0, 0); err != nil {
		return err
	}
	if *name == "" {
		return fs.usageError("-name is required")
	}
	tok, err := authfile.NewToken()
	if err != nil {
		return err
	}
	entry, err := authfile.Entry(*name, authfile.HashToken(tok), grants)
	if err != nil {
		return err
	}
	// Check that the entry is one the server accepts.
	if _, err := authfile.Parse([]byte(`{"principals": [` + string(entry) + `]}`)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Token for %s (give it to the client, e.g. as VKV_TOKEN; it is not stored anywhere and is shown once):\n%s\n\n", *name, tok)
	fmt.Fprintf(stdout, "Entry for the auth file (add it to \"principals\", then send SIGHUP to vkv serve):\n%s\n", entry)
	return nil
}
