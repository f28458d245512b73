package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// runGet is "vkv get".
func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "get", args: "KEY",
		doc: "Print the value of KEY as it is stored (raw bytes; a newline is added on a terminal).\n" +
			"With -o json print the entry: key, version, createVersion, expiresAt and value (base64).\n" +
			"A key that does not exist is an error (exit 1).",
		example: "vkv get -o json config/db"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	var at versionFlag
	fs.Var(&at, "version", "read KEY as it was at version `N`")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	var e vkv.Entry
	if at.set {
		e, err = s.c.GetAt(ctx, pos[0], at.v)
	} else {
		e, err = s.c.Get(ctx, pos[0])
	}
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	if cf.json() {
		return printJSON(stdout, entryOf(&e))
	}
	if _, err := stdout.Write(e.Value); err != nil {
		return err
	}
	if isTerminal(stdout) && !bytes.HasSuffix(e.Value, []byte("\n")) {
		fmt.Fprintln(stdout)
	}
	return nil
}

// printWrite prints the result of a write: its version, or with -o json
// the key and version.
func printWrite(stdout io.Writer, cf *clientFlags, key string, v vkv.Version) error {
	if cf.json() {
		return printJSON(stdout, wire.WriteResult{Key: key, KeyBase64: wire.KeyBytes(key), Version: v})
	}
	_, err := fmt.Fprintln(stdout, v)
	return err
}

// valueArg returns the VALUE argument at pos[i], or stdin when absent.
func valueArg(ctx context.Context, fs *cmdFlags, pos []string, i int) ([]byte, error) {
	if len(pos) > i {
		return []byte(pos[i]), nil
	}
	stdin := envOf(ctx).stdin
	if isTerminal(stdin) {
		fmt.Fprintf(fs.Output(), "%s: reading the value from stdin; end it with Ctrl-D\n", fs.Name())
	}
	return readAllLimited(stdin, "the value on stdin")
}

// runPut is "vkv put".
func runPut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "put", args: "KEY [VALUE]",
		doc: "Write VALUE to KEY, or stdin when VALUE is omitted, whatever the key's version,\n" +
			"and print the new version (with -o json: key and version).",
		example: "vkv put -ttl 30s sessions/abc token123"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	var ttl ttlFlag
	fs.Var(&ttl, "ttl", "expire the key after `duration` (30s, 1h) or a number of seconds")
	pos, err := fs.parse(args, 1, 2)
	if err != nil {
		return err
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	value, err := valueArg(ctx, fs, pos, 1)
	if err != nil {
		return err
	}
	v, err := s.c.Put(ctx, pos[0], value, ttl.opts()...)
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	return printWrite(stdout, &cf, pos[0], v)
}

// runCAS is "vkv cas".
func runCAS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "cas", args: "KEY VERSION [VALUE]",
		doc: "Write VALUE (or stdin) to KEY only if KEY is at VERSION; VERSION 0 means KEY must not\n" +
			"exist (create only). Print the new version. When KEY is at another version nothing is\n" +
			"written, the server's conflict problem (with the current version and value) is printed\n" +
			"to stderr as JSON, and the exit status is 3.",
		example: "vkv cas config/db 7 'host=db2'"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	var ttl ttlFlag
	fs.Var(&ttl, "ttl", "expire the key after `duration` (30s, 1h) or a number of seconds")
	pos, err := fs.parse(args, 2, 3)
	if err != nil {
		return err
	}
	expected, err := vkv.ParseVersion(pos[1])
	if err != nil {
		return fs.usageError("VERSION %q is not a decimal version", pos[1])
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	value, err := valueArg(ctx, fs, pos, 2)
	if err != nil {
		return err
	}
	v, err := s.c.CompareAndSwap(ctx, pos[0], expected, value, ttl.opts()...)
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	return printWrite(stdout, &cf, pos[0], v)
}

// runDel is "vkv del".
func runDel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "del", args: "KEY",
		doc: "Delete KEY and print the version of the delete. A key that does not exist is an error\n" +
			"(exit 1). With -version N, delete only if KEY is at version N; otherwise the conflict\n" +
			"problem is printed to stderr as JSON and the exit status is 3.",
		example: "vkv del -version 8 config/db"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	var expected versionFlag
	fs.Var(&expected, "version", "delete only if KEY is at version `N`")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	var v vkv.Version
	if expected.set {
		v, err = s.c.CompareAndDelete(ctx, pos[0], expected.v)
	} else {
		v, err = s.c.Delete(ctx, pos[0])
	}
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	return printWrite(stdout, &cf, pos[0], v)
}

// runLs is "vkv ls".
func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "ls", args: "[PREFIX]",
		doc: "List the keys under PREFIX (all keys when omitted) in byte order, one per line, paging\n" +
			"through all of them at one version: the newest, or -version N. With -o json print one\n" +
			"entry per line: key, version, createVersion, expiresAt and value (base64).",
		example: "vkv ls -o json -limit 10 users/"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	limit := fs.Int("limit", 0, "list at most `N` keys (0: all)")
	after := fs.String("after", "", "start after `KEY` (exclusive), to resume a listing")
	var at versionFlag
	fs.Var(&at, "version", "list the keys as they were at version `N` (default: the newest)")
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return fs.usageError("-limit %d: must not be negative", *limit)
	}
	var prefix string
	if len(pos) > 0 {
		prefix = pos[0]
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	cursor, n := *after, 0
	for {
		page := vkv.MaxListLimit
		if *limit > 0 {
			page = min(page, *limit-n)
		}
		// Every page after the first is read at the first one's version:
		// the listing is one snapshot however the store changes.
		var lr vkv.ListResult
		if at.set {
			lr, err = s.c.ListAt(ctx, prefix, cursor, page, at.v)
		} else {
			lr, err = s.c.List(ctx, prefix, cursor, page)
		}
		if err != nil {
			return s.fail(ctx, err, stderr)
		}
		at.v, at.set = lr.Version, true
		entries, next := lr.Entries, lr.Next
		for i := range entries {
			if cf.json() {
				err = printJSON(stdout, entryOf(&entries[i]))
			} else {
				_, err = fmt.Fprintln(stdout, entries[i].Key)
			}
			if err != nil {
				return err
			}
		}
		n += len(entries)
		if next == "" || (*limit > 0 && n >= *limit) {
			return nil
		}
		cursor = next
	}
}

// printChange prints one entry of a history or a watch: with -o json as an
// entry; else as VERSION, "put" or "delete", KEY (withKey) and the raw value,
// separated by tabs.
func printChange(w io.Writer, cf *clientFlags, e *vkv.Entry, withKey bool) error {
	if cf.json() {
		return printJSON(w, entryOf(e))
	}
	line := []byte(e.Version.String())
	if e.Deleted {
		line = append(line, "\tdelete"...)
	} else {
		line = append(line, "\tput"...)
	}
	if withKey {
		line = append(line, '\t')
		line = append(line, e.Key...)
	}
	if !e.Deleted {
		line = append(line, '\t')
		line = append(line, e.Value...)
	}
	line = append(line, '\n')
	_, err := w.Write(line)
	return err
}

// runHistory is "vkv history".
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "history", args: "KEY",
		doc: "Print the kept versions of KEY, newest first, one per line: VERSION, put or delete, and\n" +
			"the raw value, separated by tabs (deletes and expiries have no value). With -o json\n" +
			"print one entry per line, deletes with \"deleted\": true. A key with no history prints nothing.",
		example: "vkv history -limit 5 config/db"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	limit := fs.Int("limit", 0, "print at most `N` versions, the newest (0: every version kept)")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return fs.usageError("-limit %d: must not be negative", *limit)
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	entries, err := s.c.History(ctx, pos[0], *limit)
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	for i := range entries {
		if err := printChange(stdout, &cf, &entries[i], false); err != nil {
			return err
		}
	}
	return nil
}

// runTxn is "vkv txn".
func runTxn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "txn", args: "[FILE]",
		doc: "Run the transaction in FILE (or stdin when FILE is omitted or -), the JSON of\n" +
			"POST /v1/txn: {\"conditions\": [{\"key\", \"version\"}], \"ops\": [{\"op\": \"put\" or \"delete\",\n" +
			"\"key\", \"value\" (base64), \"ttl\"}]}. Every condition is checked and every op applied\n" +
			"atomically under one new version, which is printed. When a condition fails nothing is\n" +
			"written, the problem listing every failed condition is printed to stderr as JSON, and\n" +
			"the exit status is 3.",
		example: `echo '{"conditions":[{"key":"a","version":3}],"ops":[{"op":"delete","key":"a"}]}' | vkv txn`}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	in, name := envOf(ctx).stdin, "the transaction on stdin"
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, "the transaction in "+pos[0]
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	if isTerminal(in) {
		fmt.Fprintf(stderr, "vkv txn: reading the transaction from stdin; end it with Ctrl-D\n")
	}
	body, err := readAllLimited(in, name)
	if err != nil {
		return err
	}
	req, err := decodeTxn(body)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	v, err := s.c.Update(ctx, func(tx vkv.Txn) error {
		for _, c := range req.Conditions {
			if err := tx.Expect(wire.WireKey(c.Key, c.KeyBase64), *c.Version); err != nil {
				return err
			}
		}
		for _, op := range req.ops {
			var err error
			if op.del {
				err = tx.Delete(op.key)
			} else {
				err = tx.Put(op.key, op.value, op.ttl.opts()...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, err, stderr)
	}
	if cf.json() {
		return printJSON(stdout, wire.TxnResult{Version: v})
	}
	_, err = fmt.Fprintln(stdout, v)
	return err
}

// txnInput is a decoded transaction.
type txnInput struct {
	wire.TxnRequest
	ops []txnOp
}

// txnOp is one op of a transaction, checked.
type txnOp struct {
	key   string
	del   bool
	value []byte
	ttl   ttlFlag
}

// decodeTxn decodes and checks the JSON of POST /v1/txn as the server does,
// so that the transaction sent through the Go client means the same: no
// unknown members, a version in every condition, a known op, a value for
// every put, each key in at most one op.
func decodeTxn(body []byte) (*txnInput, error) {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in txnInput
	if err := dec.Decode(&in.TxnRequest); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	for i, c := range in.Conditions {
		if c.Version == nil {
			return nil, fmt.Errorf("condition %d has no version", i)
		}
	}
	seen := map[string]bool{}
	for i, op := range in.Ops {
		o := txnOp{key: wire.WireKey(op.Key, op.KeyBase64)}
		if seen[o.key] {
			return nil, fmt.Errorf("op %d: key %q appears in more than one op", i, o.key)
		}
		seen[o.key] = true
		switch op.Op {
		case "put":
			if op.Value == nil {
				return nil, fmt.Errorf("op %d: a put needs a value (base64, may be empty)", i)
			}
			o.value = *op.Value
			if op.TTL != "" {
				if err := o.ttl.Set(op.TTL); err != nil {
					return nil, fmt.Errorf("op %d: ttl %q: %v", i, op.TTL, err)
				}
			}
		case "delete":
			if op.Value != nil || op.TTL != "" {
				return nil, fmt.Errorf("op %d: a delete takes no value and no ttl", i)
			}
			o.del = true
		default:
			return nil, fmt.Errorf("op %d: unknown op %q; want \"put\" or \"delete\"", i, op.Op)
		}
		in.ops = append(in.ops, o)
	}
	return &in, nil
}

// runWatch is "vkv watch".
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(spec{name: "watch", args: "[PREFIX]",
		doc: "Print every change to keys under PREFIX (all keys when omitted) as it commits, until\n" +
			"interrupted (SIGINT or SIGTERM: exit 0), one per line: VERSION, put or delete, KEY and\n" +
			"the raw value, separated by tabs; with -o json one entry per line. The watch starts at\n" +
			"the newest version, or replays the changes after -from N first. It survives server\n" +
			"restarts without losing or repeating a change.",
		example: "vkv watch -from 0 orders/"}, stderr)
	var cf clientFlags
	cf.register(fs, true)
	var from versionFlag
	fs.Var(&from, "from", "print the changes after version `N` (0: every change kept), then new ones (default: only new ones)")
	count := fs.Int("count", 0, "exit after `N` changes (0: run until interrupted)")
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if *count < 0 {
		return fs.usageError("-count %d: must not be negative", *count)
	}
	var prefix string
	if len(pos) > 0 {
		prefix = pos[0]
	}
	s, err := cf.connect(ctx, fs)
	if err != nil {
		return err
	}
	defer s.close()
	start := from.v
	if !from.set {
		// A transaction that writes nothing returns the newest version.
		if start, err = s.c.Update(ctx, func(vkv.Txn) error { return nil }); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return s.fail(ctx, err, stderr)
		}
	}
	n := 0
	for e, err := range s.c.Watch(ctx, prefix, start) {
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil // interrupted: the way a watch ends
			}
			var ce *vkv.CompactedError
			if errors.As(err, &ce) {
				return fmt.Errorf("the changes the watch has not printed are no longer kept; start again with -from %d or later", max(ce.Oldest, 1)-1)
			}
			return s.fail(ctx, err, stderr)
		}
		if err := printChange(stdout, &cf, &e, true); err != nil {
			return err
		}
		if n++; *count > 0 && n >= *count {
			return nil
		}
	}
	return nil
}

// formatBytes formats n bytes for people.
func formatBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 10<<10:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// since formats the time elapsed since t, for people.
func since(t time.Time) string {
	return time.Since(t).Round(time.Millisecond).String()
}
