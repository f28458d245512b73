package vkvtest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv/vkvtest"
)

// TestFakeClock: the clock reads its start until advanced, runs a CallAt
// function exactly when an Advance reaches its time (at once for a time
// already reached), and not at all once stopped.
func TestFakeClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	c := vkvtest.NewFakeClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want the start %v", got, start)
	}

	var mu sync.Mutex
	var fired []string
	done := make(chan struct{}, 10)
	record := func(name string) func() {
		return func() {
			mu.Lock()
			fired = append(fired, name)
			mu.Unlock()
			done <- struct{}{}
		}
	}
	// wait waits for n calls to have run, then returns the calls so far.
	wait := func(n int) []string {
		t.Helper()
		for range n {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("a due CallAt function did not run within 5s")
			}
		}
		// Give a call that should not run a moment to show itself.
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), fired...)
	}

	c.CallAt(start.Add(time.Second), record("1s"))
	c.CallAt(start.Add(2*time.Second), record("2s"))
	stop3 := c.CallAt(start.Add(3*time.Second), record("3s"))
	c.CallAt(start, record("now"))
	if diff := cmp.Diff([]string{"now"}, wait(1)); diff != "" {
		t.Fatalf("calls before any Advance (-want +got):\n%s", diff)
	}

	c.Advance(time.Second - time.Nanosecond)
	if diff := cmp.Diff([]string{"now"}, wait(0)); diff != "" {
		t.Fatalf("calls a nanosecond before 1s (-want +got):\n%s", diff)
	}
	c.Advance(time.Nanosecond)
	if got, want := c.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Fatalf("Now() after advancing 1s = %v, want %v", got, want)
	}
	if diff := cmp.Diff([]string{"now", "1s"}, wait(1)); diff != "" {
		t.Fatalf("calls at 1s (-want +got):\n%s", diff)
	}

	if !stop3() {
		t.Fatalf("stop of a pending call = false, want true")
	}
	if stop3() {
		t.Fatalf("second stop of a call = true, want false")
	}
	c.Advance(-time.Hour) // no-op: time does not go back
	if got, want := c.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Fatalf("Now() after a negative Advance = %v, want %v", got, want)
	}
	c.Advance(time.Hour)
	if diff := cmp.Diff([]string{"now", "1s", "2s"}, wait(1)); diff != "" {
		t.Fatalf("calls after an hour, the 3s call stopped (-want +got):\n%s", diff)
	}
}
