package vkvtest_test

import (
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvtest"
)

// TestMain checks that no test leaves goroutines behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestStoreInMemory runs the suite against an in-memory embedded store on
// the suite's fake clock.
func TestStoreInMemory(t *testing.T) {
	vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV {
		s, err := vkv.Open("", &vkv.Options{InMemory: true, Clock: clock})
		if err != nil {
			t.Fatalf("Open in memory: %v", err)
		}
		return s
	})
}

// TestStoreRealClock runs the suite against an in-memory embedded store on
// the system clock: TTLs run out and the reaper runs on real time, as in
// production.
func TestStoreRealClock(t *testing.T) {
	vkvtest.Run(t, func(t *testing.T) vkv.KV {
		s, err := vkv.Open("", &vkv.Options{InMemory: true})
		if err != nil {
			t.Fatalf("Open in memory: %v", err)
		}
		return s
	})
}

// TestStoreOnDisk runs the suite against an embedded store in a directory,
// on the system clock.
func TestStoreOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("on-disk store skipped in -short mode")
	}
	vkvtest.Run(t, func(t *testing.T) vkv.KV {
		s, err := vkv.Open(t.TempDir(), &vkv.Options{NoSync: true})
		if err != nil {
			t.Fatalf("Open(%q): %v", "dir", err)
		}
		return s
	})
}

// TestStoreKeyCache runs the suite against in-memory stores whose committer
// caches no keys, or a single key (so that every write evicts one), as well
// as the default cache above: conditions must be checked alike either way.
func TestStoreKeyCache(t *testing.T) {
	for _, n := range []int{-1, 1} {
		t.Run("keys="+strconv.Itoa(n), func(t *testing.T) {
			vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV {
				s, err := vkv.Open("", &vkv.Options{InMemory: true, KeyCacheSize: n, Clock: clock})
				if err != nil {
					t.Fatalf("Open in memory: %v", err)
				}
				return s
			})
		})
	}
}
