package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestTiny runs every row once, briefly, on a small load: every operation
// must succeed (no CAS or transaction may fail on keys only its worker
// writes) and the tables must have their rows.
func TestTiny(t *testing.T) {
	cfg := config{keys: 1000, valueSize: 100, duration: 100 * time.Millisecond, warmup: 20 * time.Millisecond,
		count: 1, sync: true, dir: t.TempDir(), workloads: map[string]bool{}}
	for _, wl := range workloads {
		cfg.workloads[wl.id] = true
	}
	var log bytes.Buffer
	res, err := run(cfg, &log)
	t.Logf("\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.cells) != 2*len(workloads) {
		t.Fatalf("%d cells for %d workloads", len(res.cells), len(workloads))
	}
	var buf bytes.Buffer
	printTables(&buf, cfg, res)
	out := buf.String()
	t.Logf("\n%s", out)
	if n := strings.Count(out, "\n| "); n < 3*len(workloads)+2 || strings.Contains(out, "| – |") {
		t.Errorf("table (%d rows):\n%s", n, out)
	}
}
