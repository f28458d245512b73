// Package console is vkv's web console: a page a person opens in a browser
// to browse keys, read a key's history as diffs, follow changes live and
// edit values with optimistic concurrency, the conflict shown when someone
// else changed the value meanwhile (docs/console.md shows each page).
//
// # Basics
//
// Handler serves the console's pages and assets under /ui/; Mount puts it
// in front of an API handler (httpapi.New), as vkv serve does:
//
//	api := httpapi.New(store, httpapi.WithToken(token))
//	srv := httpapi.NewServer(console.Mount(api), logger)
//
// The console is plain HTML, CSS and ES modules embedded in the binary with
// embed: nothing is built, and nothing is fetched from another host. It
// talks to the server only through the public HTTP API (docs/http.md), like
// any other client, so it needs no access of its own and imports no backend:
// an embedder who does not want it mounts the API handler alone.
//
// # Addresses
//
// Every page has its own address, safe to reload and to share:
//
//	/ui/?prefix=P              the keys under P (after=K for a later page)
//	/ui/kv/{key}               a key, escaped as in the API (/v1/kv/{key})
//	/ui/kv/{key}?version=N     the key as it was at version N
//	/ui/new?prefix=P           a form to create a key under P
//
// # Security
//
// The pages and assets hold no data and need no credentials; every read and
// write the console makes is an API request that carries the token the
// person entered, kept in the browser's sessionStorage only. Every response
// of Handler carries a Content-Security-Policy that allows scripts, styles
// and connections from the server's own origin only (no inline script or
// style, no eval) and forbids framing, and X-Content-Type-Options: nosniff.
// Keys and values are always put into the page as text, never as HTML.
// What the principal may not do (GET /v1/whoami) is shown disabled, with the
// reason, before the person tries; the API still decides every request, and
// a 403 is explained when it comes.
package console
