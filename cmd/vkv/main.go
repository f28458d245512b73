// Command vkv runs the vkv server and, later, talks to it.
//
// Usage:
//
//	vkv serve [-addr 127.0.0.1:8080] [-dir ./vkv-data] [-token-file FILE] [-nosync]
//	vkv help [command]
//
// vkv serve serves a vkv store over HTTP as the vkv HTTP contract (v1)
// describes. It logs with log/slog to stderr and shuts down gracefully on
// SIGINT and SIGTERM: in-flight requests finish, then the store is closed.
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
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
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
	fmt.Fprintln(w, `Run "vkv help <command>" for a command's flags.`)
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
