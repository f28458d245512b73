package reliability_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
)

// checkTimeout bounds one porcupine check (five times as long in the long
// mode). A linearizable history of the normal sizes checks in well under a
// second; Unknown (the timeout) fails the test.
const checkTimeout = 2 * time.Minute

// visualizeTimeout bounds the second check that records the partial
// linearizations the visualization shows.
const visualizeTimeout = 30 * time.Second

// linearizabilityOps is the size of the main histories: at least 10,000
// operations in a plain run, fewer under the race detector or -short, more
// in the long mode.
func linearizabilityOps() int {
	switch {
	case longMode():
		return 100_000
	case testing.Short():
		return 2_000
	case raceEnabled:
		return 5_000
	}
	return 10_000
}

// verdict is the result of checking a history.
type verdict struct {
	result  porcupine.CheckResult
	elapsed time.Duration
	// visualization is the path of porcupine's HTML rendering of the
	// history, written when the result is not Ok.
	visualization string
	// versions lists violations of the version rules across keys.
	versions []string
}

// check runs porcupine on h; partition selects the per-key model (h must
// then hold single-key operations only). If the history is not found
// linearizable, porcupine's visualization is written to vizDir, or to a new
// directory under os.TempDir that outlives the test when vizDir is "".
func check(t *testing.T, h *history, partition bool, vizDir string) verdict {
	t.Helper()
	model := kvModel(h.keys, partition)
	start := time.Now()
	timeout := checkTimeout
	if longMode() {
		timeout = 5 * checkTimeout
	}
	res := porcupine.CheckOperationsTimeout(model, h.ops, timeout)
	v := verdict{result: res, elapsed: time.Since(start), versions: versionViolations(h)}
	if res != porcupine.Ok {
		// Check again, recording what the visualization needs.
		_, info := porcupine.CheckOperationsVerbose(model, h.ops, visualizeTimeout)
		dir, err := vizDir, error(nil)
		if dir == "" {
			dir, err = os.MkdirTemp("", "vkv-porcupine-")
		}
		if err == nil {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
			v.visualization = filepath.Join(dir, name+".html")
			if err := porcupine.VisualizePath(model, info, v.visualization); err != nil {
				t.Logf("writing the visualization: %v", err)
				v.visualization = ""
			}
		}
	}
	return v
}

// requireLinearizable checks h and fails t unless it is linearizable and
// keeps the version rules.
func requireLinearizable(t *testing.T, h *history, partition bool) {
	t.Helper()
	for i, e := range h.unexpected {
		if i == 5 {
			t.Errorf("... and %d more unexpected errors", len(h.unexpected)-5)
			break
		}
		t.Errorf("unexpected error: %s", e)
	}
	v := check(t, h, partition, "")
	switch v.result {
	case porcupine.Ok:
		t.Logf("%s: linearizable: %s; checked in %v", t.Name(), h.summary(), v.elapsed.Round(time.Millisecond))
	case porcupine.Illegal:
		t.Errorf("NOT linearizable: %s; visualization: %s", h.summary(), v.visualization)
	default:
		t.Errorf("the checker gave up (result %s, after %v), so linearizability is not shown: %s; visualization: %s",
			v.result, v.elapsed.Round(time.Second), h.summary(), v.visualization)
	}
	for _, s := range v.versions {
		t.Errorf("version rule broken: %s", s)
	}
}

// target opens one implementation of vkv.KV for a test.
type target struct {
	name string
	open func(t *testing.T) vkv.KV
}

func openStore(t *testing.T, dir string, opts *vkv.Options) *vkv.Store {
	t.Helper()
	s, err := vkv.Open(dir, opts)
	if err != nil {
		t.Fatalf("vkv.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// serveHTTP serves kv with httpapi on a loopback httptest server and returns
// a vkvclient talking to it.
func serveHTTP(t *testing.T, kv vkv.KV) vkv.KV {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(kv))
	t.Cleanup(srv.Close)
	c, err := vkvclient.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// targets are the implementations checked for linearizability.
func targets() []target {
	return []target{
		{"embedded/memory", func(t *testing.T) vkv.KV {
			return openStore(t, "", &vkv.Options{InMemory: true})
		}},
		{"embedded/disk-nosync", func(t *testing.T) vkv.KV {
			return openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
		}},
		{"http/httptest", func(t *testing.T) vkv.KV {
			return serveHTTP(t, openStore(t, t.TempDir(), &vkv.Options{NoSync: true}))
		}},
		{"http/vkv-serve-binary", func(t *testing.T) vkv.KV {
			if testing.Short() {
				t.Skip("-short: does not build and run the binary")
			}
			srv := startServer(t, vkvBinary(t), filepath.Join(t.TempDir(), "data"))
			t.Cleanup(func() { srv.stop(t) })
			c, err := vkvclient.New(srv.base)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}},
	}
}

// TestLinearizableSingleKey checks histories of single-key operations on
// three hot keys, partitioned by key, against every target.
func TestLinearizableSingleKey(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			kv := tg.open(t)
			w := workload{Clients: 8, Ops: linearizabilityOps(), Keys: 3, ShortDeadlines: 0.01}
			h := w.run(t, kv)
			requireLinearizable(t, h, true)
		})
	}
}

// TestLinearizableTransactions mixes two-key Update and View transactions
// into the single-key operations and checks the history against a model of
// the whole store, so that the store-wide version counter is checked too.
func TestLinearizableTransactions(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			kv := tg.open(t)
			// A history of the whole store is not partitioned, and each
			// operation of unknown outcome stays pending to its end, so
			// the search grows fast with length: the long mode checks
			// many histories of 5,000 operations rather than one long one.
			segments, ops := 1, linearizabilityOps()/2
			if longMode() {
				segments, ops = 10, 5_000
			}
			for range segments {
				w := workload{Clients: 8, Ops: ops, Keys: 3, Txn: true, ShortDeadlines: 0.01}
				h := w.run(t, kv)
				requireLinearizable(t, h, false)
			}
		})
	}
}
