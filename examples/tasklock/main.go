// Command tasklock is an HTTP service that starts an automation only when
// it is not already running, with a vkv lock: a create-only write with a TTL.
//
//	go run ./examples/tasklock                                  # in memory, 127.0.0.1:8090
//	go run ./examples/tasklock -addr 127.0.0.1:8090 -dir ./tasklock-data
//	go run ./examples/tasklock -endpoint http://127.0.0.1:8080  # through a vkv server, shared by instances
//
// POST /tasks with {"name": "nightly-report", "durationMs": 2000} starts the
// task (202) unless a run holds it, in which case the answer is 409 with an
// application/problem+json body whose runningTaskId names that run. The run
// refreshes its lease while it works and releases it when it ends; if its
// process dies, the lease expires after the TTL. GET /tasks/{name} shows
// whether the task runs and how its latest run went.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tasklock:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then stops accepting requests, cancels the
// running tasks (which release their locks) and closes the store. It prints
// the address it listens on to stdout and logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tasklock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "`address` to listen on")
	dir := fs.String("dir", "", "`directory` of an embedded store (default: in memory)")
	endpoint := fs.String("endpoint", "", "`URL` of a vkv server to keep the locks in, shared by every instance (instead of -dir)")
	ttl := fs.Duration("ttl", 30*time.Second, "lease `TTL` of a task's lock; a dead holder blocks the task this long at most")
	duration := fs.Duration("duration", 5*time.Second, "how long a task runs when the request gives no durationMs")
	hostname, _ := os.Hostname()
	instance := fs.String("instance", fmt.Sprintf("%s:%d", hostname, os.Getpid()), "`name` of this instance, shown to the requests it refuses")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *dir != "" && *endpoint != "" {
		return errors.New("-dir and -endpoint exclude each other")
	}
	if *ttl < 3*time.Millisecond {
		return fmt.Errorf("-ttl %v is too short", *ttl)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var kv vkv.KV
	var err error
	switch {
	case *endpoint != "":
		kv, err = vkvclient.New(*endpoint, vkvclient.WithToken(os.Getenv("VKV_TOKEN")))
	case *dir != "":
		kv, err = vkv.Open(*dir, &vkv.Options{Logger: logger.With("component", "store")})
	default:
		kv, err = vkv.Open("", &vkv.Options{InMemory: true})
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		kv.Close()
		return err
	}
	tasks := newServer(kv, withLeaseTTL(*ttl), withDefaultDuration(*duration),
		withInstance(*instance), withLogger(logger))
	srv := &http.Server{
		Handler:           tasks,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "tasklock listening on http://%s\n", ln.Addr())
	logger.Info("serving", "addr", ln.Addr().String(), "instance", *instance, "ttl", *ttl)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			srv.Close()
		}
		err = <-serveErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	tasks.Close() // running tasks stop, record it and release their locks
	if cerr := kv.Close(); err == nil {
		err = cerr
	}
	return err
}
