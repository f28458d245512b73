package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/metrics"
)

// newMetrics returns the metrics of vkv serve: the HTTP requests and the
// statistics of store, whose directory is dir (package metrics), the Go
// runtime and the process, on a registry of their own.
func newMetrics(store *vkv.Store, dir string) (*metrics.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return metrics.NewHandler(reg, diskStats{store, dir})
}

// diskStats is the statistics of a store, with the sizes of its files
// measured in its directory when the store reports none: vkv.Store.Stats
// takes them from Badger's DB.Size, which reads the expvar metrics that
// Badger fills only when its metrics are enabled, and the store disables
// them, so they are always 0.
type diskStats struct {
	store *vkv.Store
	dir   string
}

// Stats returns the store's statistics.
func (d diskStats) Stats() vkv.Stats {
	st := d.store.Stats()
	if st.LSMBytes == 0 && st.ValueLogBytes == 0 {
		st.LSMBytes, st.ValueLogBytes = dirSizes(d.dir)
	}
	return st
}

// dirSizes adds up the sizes of Badger's table (.sst) and value log (.vlog)
// files in dir, as Badger itself does. Files that vanish meanwhile (a
// compaction) are skipped.
func dirSizes(dir string) (lsm, vlog int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if ext != ".sst" && ext != ".vlog" {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if ext == ".sst" {
			lsm += info.Size()
		} else {
			vlog += info.Size()
		}
	}
	return lsm, vlog
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
