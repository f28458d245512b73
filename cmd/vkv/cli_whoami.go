package main

import (
	"context"
	"fmt"
	"io"

	"github.com/vkvstore/vkv/wire"
)

// runWhoami is "vkv whoami".
func runWhoami(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "whoami", args: "",
		doc: "Print the principal the server takes the credentials for, then one line per\n" +
			"grant: the access (read, or write, which includes read), a tab, and the prefix\n" +
			"it covers, quoted (\"\" is every key). A server without authentication prints\n" +
			"\"authentication off\". With -o json print the body of GET /v1/whoami.",
		example: "vkv whoami -token-file deployer.token"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	w, err := s.c.Whoami(ctx)
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	if cf.json() {
		return printJSON(stdout, w)
	}
	return printWhoami(stdout, w)
}

// printWhoami prints w as text.
func printWhoami(out io.Writer, w *wire.Whoami) error {
	var err error
	if w.Authentication {
		_, err = fmt.Fprintf(out, "principal %s\n", w.Principal)
	} else {
		_, err = fmt.Fprintln(out, "authentication off: every request is allowed")
	}
	if err != nil {
		return err
	}
	if !w.GrantsKnown {
		_, err = fmt.Fprintln(out, "grants: this server does not list them (a refused request says 403)")
		return err
	}
	if w.Authentication && len(w.Grants) == 0 {
		_, err = fmt.Fprintln(out, "no grants")
		return err
	}
	for _, g := range w.Grants {
		if _, err := fmt.Fprintf(out, "%s\t%q\n", g.Access, g.PrefixOf()); err != nil {
			return err
		}
	}
	return nil
}
