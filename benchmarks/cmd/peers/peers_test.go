package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestEngines runs every workload on every engine briefly, in this process,
// and fails on any error or failed sanity check: a CAS that lost an update,
// a version that does not match what the engine stores, a wrong value.
func TestEngines(t *testing.T) {
	cfg := benchConfig{keys: 2000, duration: 50 * time.Millisecond, dir: t.TempDir(), workloads: map[string]bool{}}
	for _, w := range workloads {
		cfg.workloads[w.id] = true
	}
	results := map[string][]*childResult{}
	for _, name := range engineNames {
		t.Run(name, func(t *testing.T) {
			res, err := runChild(name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Errors {
				t.Error(p)
			}
			for _, w := range workloads {
				c, ok := res.Cells[w.id]
				if !ok || c.Err != "" || c.Ops == 0 {
					t.Errorf("%s: %+v", w.id, c)
				}
			}
			if res.RSSLoaded == 0 {
				t.Error("no RSS measured")
			}
			results[name] = []*childResult{res}
		})
	}
	var buf bytes.Buffer
	r := report{cfg: cfg, count: 1, names: engineNames, results: results}
	r.print(&buf)
	out := buf.String()
	if strings.Contains(out, "error") || strings.Count(out, "\n| ") < 3*len(workloads) {
		t.Errorf("table:\n%s", out)
	}
	t.Logf("\n%s", out)
}
