package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vkvstore/vkv/metrics"
)

// newMetrics returns the metrics of vkv serve: the HTTP requests and the
// statistics of store (package metrics; none when store is nil, as over
// etcd), the Go runtime and the process, on
// a registry of their own.
func newMetrics(store metrics.StatsSource) (*metrics.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return metrics.NewHandler(reg, store)
}

// startPprof serves net/http/pprof under /debug/pprof/ on its own listener
// at addr, apart from the API: profiles show memory, keys and values
// included, and need no token. It logs a warning when addr is not a
// loopback address. stop closes the listener and its connections.
func startPprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace takes as long as its seconds
	// parameter asks (30 s by default).
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		logger.Warn("pprof listens beyond the loopback interface: anyone who reaches it can read the process's memory", "addr", ln.Addr().String())
	}
	logger.Info("serving pprof", "addr", ln.Addr().String())
	return func() {
		srv.Close()
		<-done
	}, nil
}
