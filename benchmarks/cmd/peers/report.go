package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// report turns the children's results into the markdown table.
type report struct {
	cfg       benchConfig
	count     int
	names     []string
	results   map[string][]*childResult
	fsyncRate float64
	fsType    string
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// quietCells returns the measurements of one engine's cell that ended
// without error, leaving out noisy ones (other processes busy meanwhile)
// when quiet ones exist.
func (r *report) quietCells(name, id string) []cell {
	var all, quiet []cell
	for _, res := range r.results[name] {
		if c, ok := res.Cells[id]; ok && c.Err == "" {
			all = append(all, c)
			if c.Others <= noisyCores {
				quiet = append(quiet, c)
			}
		}
	}
	if len(quiet) > 0 {
		return quiet
	}
	return all
}

// cellFigure is the median of f over the kept measurements of one engine's
// cell, and whether there was any.
func (r *report) cellFigure(name, id string, f func(cell) float64) (float64, bool) {
	var xs []float64
	for _, c := range r.quietCells(name, id) {
		xs = append(xs, f(c))
	}
	return median(xs), len(xs) > 0
}

func (r *report) cellError(name, id string) bool {
	for _, res := range r.results[name] {
		if c, ok := res.Cells[id]; ok && c.Err != "" {
			return true
		}
	}
	return false
}

// engineFigure is the median of f over the runs of one engine; runs where f
// is NaN (not measured) are left out.
func (r *report) engineFigure(name string, f func(*childResult) float64) (float64, bool) {
	var xs []float64
	for _, res := range r.results[name] {
		if x := f(res); !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	return median(xs), len(xs) > 0
}

func (r *report) print(w io.Writer) {
	var head, rule strings.Builder
	head.WriteString("| workload | figure |")
	rule.WriteString("| --- | --- |")
	for _, n := range r.names {
		fmt.Fprintf(&head, " %s |", engineTitles[n])
		rule.WriteString(" ---: |")
	}
	fmt.Fprintln(w, head.String())
	fmt.Fprintln(w, rule.String())

	row := func(label, figure string, cellText func(name string) string) {
		var b strings.Builder
		fmt.Fprintf(&b, "| %s | %s |", label, figure)
		for _, n := range r.names {
			fmt.Fprintf(&b, " %s |", cellText(n))
		}
		fmt.Fprintln(w, b.String())
	}
	cellRow := func(label, figure, id string, format func(name string) (string, bool)) {
		row(label, figure, func(n string) string {
			if s, ok := format(n); ok {
				return s
			}
			if r.cellError(n, id) {
				return "error"
			}
			return "–"
		})
	}
	for _, wl := range workloads {
		if !r.cfg.workloads[wl.id] {
			continue
		}
		id := wl.id
		fig := func(f func(cell) float64, show func(float64) string) func(string) (string, bool) {
			return func(n string) (string, bool) {
				x, ok := r.cellFigure(n, id, f)
				return show(x), ok
			}
		}
		opsLabel := "ops/s"
		if wl.kind == kindHot {
			opsLabel = "successful ops/s"
		}
		cellRow("**"+wl.title+"**", opsLabel, id, fig(cell.opsPerSec, fmtRate))
		if wl.kind == kindHot {
			cellRow("", "failed CAS/s", id, fig(cell.conflictsPerSec, fmtRate))
		}
		cellRow("", "p50 / p99 / max latency", id, func(n string) (string, bool) {
			p50, ok := r.cellFigure(n, id, func(c cell) float64 { return c.P50 })
			p99, _ := r.cellFigure(n, id, func(c cell) float64 { return c.P99 })
			pmax, _ := r.cellFigure(n, id, func(c cell) float64 { return c.Max })
			return fmtNs(p50) + " / " + fmtNs(p99) + " / " + fmtNs(pmax), ok
		})
		cellRow("", "allocs/op", id, fig(cell.allocsPerOp, fmtAllocs))
	}
	eng := func(f func(*childResult) float64, show func(float64) string) func(string) string {
		return func(n string) string {
			if x, ok := r.engineFigure(n, f); ok {
				return show(x)
			}
			return "error"
		}
	}
	mib := func(x float64) string { return fmt.Sprintf("%.0f MiB", x/(1<<20)) }
	row(fmt.Sprintf("**after loading %s keys**", fmtCount(r.cfg.keys)), "RSS (VmRSS)", eng(func(c *childResult) float64 { return float64(c.RSSLoaded) }, mib))
	row("", "RSS above the harness's own (before opening)", eng(func(c *childResult) float64 { return float64(c.RSSLoaded) - float64(c.RSSBase) }, mib))
	row("", "of which mapped files and the binary (RssFile)", eng(func(c *childResult) float64 { return float64(c.RSSFile) }, mib))
	if r.cfg.settle > 0 {
		row("", fmt.Sprintf("RSS after %s idle", r.cfg.settle), eng(func(c *childResult) float64 {
			if c.RSSSettled == 0 {
				return math.NaN() // measured in the first run only
			}
			return float64(c.RSSSettled)
		}, mib))
	}
	row("", "Go heap in use after GC", eng(func(c *childResult) float64 { return float64(c.HeapLoaded) }, mib))
	row("", "load time (no fsync)", eng(func(c *childResult) float64 { return c.LoadSeconds }, func(x float64) string { return fmt.Sprintf("%.2f s", x) }))

	row("**noise**", "CPU of other processes during a kept cell, most", func(n string) string {
		var most float64
		found := false
		for _, wl := range workloads {
			for _, c := range r.quietCells(n, wl.id) {
				most, found = max(most, c.Others), true
			}
		}
		if !found {
			return "–"
		}
		return fmt.Sprintf("%.2f cores", most)
	})
	row("", "runs kept per cell (quiet) / made", func(n string) string {
		kept, made := -1, len(r.results[n])
		for _, wl := range workloads {
			if !r.cfg.workloads[wl.id] {
				continue
			}
			if k := len(r.quietCells(n, wl.id)); kept < 0 || k < kept {
				kept = k
			}
		}
		kept = max(kept, 0)
		return fmt.Sprintf("%d / %d", kept, made)
	})
	fmt.Fprintln(w)
	var notes []string
	notes = append(notes, fmt.Sprintf("%s per cell after %s of warm-up", r.cfg.duration, r.cfg.warmup))
	if r.count > 1 {
		notes = append(notes, fmt.Sprintf("median of %d runs", r.count))
	}
	notes = append(notes, fmt.Sprintf("%s keys of 16 bytes, 100-byte values", fmtCount(r.cfg.keys)))
	if r.fsyncRate > 0 {
		notes = append(notes, fmt.Sprintf("data on %s, %s fsync/s (4 KiB write + fsync, one goroutine)", r.fsType, fmtRate(r.fsyncRate)))
	}
	if base, ok := r.engineFigure(r.names[0], func(c *childResult) float64 { return float64(c.RSSBase) }); ok {
		notes = append(notes, fmt.Sprintf("RSS of the harness before opening a store: %s", mib(base)))
	}
	fmt.Fprintf(w, "_%s._\n", strings.Join(notes, "; "))
}

func fmtCount(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func fmtRate(x float64) string {
	switch {
	case x >= 10e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 100e3:
		return fmt.Sprintf("%.0fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func fmtNs(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 10e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns < 100e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e6:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	case ns < 10e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.1f ms", ns/1e6)
}

func fmtAllocs(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}
