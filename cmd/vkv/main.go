// Command vkv runs the vkv server and talks to it.
//
// Usage:
//
//	vkv serve [-addr 127.0.0.1:8080] [-dir ./vkv-data] [-token-file FILE | -auth-file FILE] [-tls-cert FILE -tls-key FILE [-tls-client-ca FILE]] [-nosync] [-metrics=false] [-pprof ADDR]
//	vkv token new -name NAME -grant PREFIX=read|write [-grant ...]
//	vkv restore -dir DIR [FILE]
//	vkv get [-version N] KEY
//	vkv put [-ttl D] KEY [VALUE]
//	vkv cas [-ttl D] KEY VERSION [VALUE]
//	vkv del [-version N] KEY
//	vkv ls [-limit N] [-after KEY] [PREFIX]
//	vkv history [-limit N] KEY
//	vkv txn [FILE]
//	vkv watch [-from N] [-count N] [PREFIX]
//	vkv backup [-out FILE]
//	vkv help [command]
//
// vkv serve serves a vkv store over HTTP as the vkv HTTP contract (v1)
// describes. It logs with log/slog to stderr and shuts down gracefully on
// SIGINT and SIGTERM: in-flight requests finish, then the store is closed.
// vkv restore loads a backup into a new directory, offline.
//
// The other commands are clients of a server (-endpoint, $VKV_ENDPOINT;
// -token, -token-file, $VKV_TOKEN) through package vkvclient. They print
// values raw and JSON with -o json, and exit with 0 on success, 1 on an
// error, 2 on a usage error and 3 on a conflict (the server's problem is
// printed to stderr as JSON).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of vkv.
type command struct {
	name    string
	summary string
	// run runs the command with its arguments (after the command name);
	// stdout and stderr are where it writes.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands, in the order help shows them. Client
// commands (get, put, ...) are meant to join this list.
var commands []*command

func init() {
	commands = []*command{
		{name: "serve", summary: "serve a store over HTTP", run: runServe},
		{name: "restore", summary: "restore a backup into a new directory (offline)", run: runRestore},
		{name: "get", summary: "print the value of a key", run: runGet},
		{name: "put", summary: "write a key", run: runPut},
		{name: "cas", summary: "write a key if it is at a version (0: create only)", run: runCAS},
		{name: "del", summary: "delete a key", run: runDel},
		{name: "ls", summary: "list keys under a prefix", run: runLs},
		{name: "history", summary: "print the kept versions of a key", run: runHistory},
		{name: "txn", summary: "run a transaction (JSON on stdin)", run: runTxn},
		{name: "watch", summary: "print changes under a prefix as they commit", run: runWatch},
		{name: "backup", summary: "write a backup of the server's store", run: runBackup},
		{name: "whoami", summary: "print the principal of the credentials and its grants", run: runWhoami},
		{name: "token", summary: "token new: make a token and its auth file entry", run: runToken},
		{name: "help", summary: "show help for vkv or a command", run: runHelp},
	}
}

// errUsage means the command line was wrong; the usage has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "vkv: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		var ee *exitError
		switch {
		case errors.As(err, &ee):
			return ee.code
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "vkv %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "vkv is a versioned key-value store.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "\tvkv <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, cliHelp)
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "vkv help <command>" for a command's flags and an example.`)
}

// runHelp prints the overview, or a command's flags.
func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	cmd := lookup(args[0])
	if cmd == nil || cmd.name == "help" {
		fmt.Fprintf(stderr, "vkv help: unknown command %q\n", args[0])
		return errUsage
	}
	// Every command prints its flags for -h.
	cmd.run(ctx, []string{"-h"}, stdout, stdout)
	return nil
}
