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

// TestTiny runs every cell briefly with a few connections: every server must
// start, answer every request right (every CAS succeeds) and stop cleanly,
// and the table must have its rows and ratios.
func TestTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight server processes")
	}
	defer killChildren()
	cfg := config{duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond, conns: 4, count: 1,
		valueSize: 100, dir: t.TempDir(), workloads: set("get,cas-sync,cas-nosync"), servers: set("vkv,bare,vkv-serve,badger,etcd")}
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
	if strings.Count(out, "\n| ") < len(cells)+1+7 || strings.Contains(out, "FAILED") {
		t.Errorf("table:\n%s", out)
	}
	if entries, _ := os.ReadDir(cfg.dir); len(entries) != 0 {
		t.Errorf("%d data directories left in %s", len(entries), cfg.dir)
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
	cfg := config{conns: 2, valueSize: 100}
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
