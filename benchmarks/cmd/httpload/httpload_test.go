package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the server child too: run
// re-executes os.Args[0] with childEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(serveMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestTiny runs every cell briefly with a few connections on a few hundred
// keys at random: every server must start, answer every request right
// (every CAS succeeds) and stop cleanly, and the table must have its rows
// and ratios. It builds vkv for the vkv serve -etcd cells.
func TestTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fifteen server processes")
	}
	defer killChildren()
	cfg := config{duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond, conns: 4, keys: 300, count: 1,
		valueSize: 100, dir: t.TempDir(), workloads: set("get,cas-sync,cas-nosync"), servers: set("vkv,bare,vkv-serve,vkv-tls,badger,etcd,vkv-etcd,vkv-etcd2")}
	var log bytes.Buffer
	results, err := run(&cfg, &log)
	t.Logf("\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cells) {
		t.Fatalf("%d results for %d cells", len(results), len(cells))
	}
	for _, r := range results {
		if r.ops == 0 || r.failures != 0 {
			t.Errorf("%+v", r)
		}
	}
	var buf bytes.Buffer
	printTable(&buf, cfg, results)
	out := buf.String()
	t.Logf("\n%s", out)
	if strings.Count(out, "\n| ") < len(cells)+1+15 || strings.Contains(out, "FAILED") || !strings.Contains(out, "(etcd ") {
		t.Errorf("table:\n%s", out)
	}
	if entries, _ := os.ReadDir(cfg.dir); len(entries) != 0 {
		t.Errorf("%d data directories left in %s", len(entries), cfg.dir)
	}
}

// TestHotCache runs the hot-cache variant (each connection on one key of
// its own) on vkv and etcd's gateway.
func TestHotCache(t *testing.T) {
	defer killChildren()
	cfg := config{duration: 100 * time.Millisecond, warmup: 20 * time.Millisecond, conns: 4, hot: true, count: 1,
		valueSize: 100, dir: t.TempDir(), workloads: set("cas-sync"), servers: set("vkv,etcd")}
	var log bytes.Buffer
	results, err := run(&cfg, &log)
	t.Logf("\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results for 2 cells", len(results))
	}
	var buf bytes.Buffer
	printTable(&buf, cfg, results)
	if !strings.Contains(buf.String(), "hot cache") {
		t.Errorf("table does not name the hot-cache variant:\n%s", buf.String())
	}
}

// TestBareCopiesVKV checks that the bare server's answer is vkv's: same
// status, headers (but Date) and body.
func TestBareCopiesVKV(t *testing.T) {
	defer killChildren()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{conns: 2, keys: 2, valueSize: 100}
	v, err := startChild(exe, t.TempDir(), cfg, cellSpec{wlGet, kindVKV}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := captureGet(v.ready.Addr)
	if serr := v.stop(); serr != nil {
		t.Error(serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if spec.Header.Get("ETag") == "" || !bytes.Equal(spec.Body, valueOf(100)) {
		t.Fatalf("vkv's answer: %+v", spec)
	}
	b, err := startChild(exe, t.TempDir(), cfg, cellSpec{wlGet, kindBare}, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	got, err := captureGet(b.ready.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != spec.Status || !bytes.Equal(got.Body, spec.Body) || len(got.Header) != len(spec.Header) {
		t.Fatalf("bare answer %+v, vkv's %+v", got, spec)
	}
	for k, v := range spec.Header {
		if strings.Join(got.Header[k], ",") != strings.Join(v, ",") {
			t.Errorf("header %s: bare %q, vkv %q", k, got.Header[k], v)
		}
	}
}
