package txnengine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var errConflict = errors.New("conflict")

func TestLoopOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		reruns     int   // attempts that ask for a rerun before the last
		last       error // the last attempt's error
		max        int
		wantRuns   int
		wantGaveUp bool
		wantErr    error
	}{
		{name: "first attempt commits", max: 64, wantRuns: 1},
		{name: "final error ends at once", last: errConflict, max: 64, wantRuns: 1, wantErr: errConflict},
		{name: "reruns then commits", reruns: 5, max: 64, wantRuns: 6},
		{name: "gives up at the bound", reruns: 100, max: 7, wantRuns: 7, wantGaveUp: true, wantErr: errConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate()
			n := 0
			runs, gaveUp, err := g.Loop(t.Context(), tt.max, func() (bool, error) {
				n++
				if n <= tt.reruns {
					return true, errConflict
				}
				return false, tt.last
			})
			got := []any{runs, gaveUp, err}
			want := []any{tt.wantRuns, tt.wantGaveUp, tt.wantErr}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("Loop (-want +got):\n%s", diff)
			}
			if g.queued.Load() != 0 || len(g.turn) != 0 {
				t.Errorf("after Loop the gate is still held: queued %d, turn %d", g.queued.Load(), len(g.turn))
			}
		})
	}
}

// TestLoopContextEnds checks that a cancelled context ends the loop between
// attempts, also while waiting for the turn, and leaves the gate free.
func TestLoopContextEnds(t *testing.T) {
	g := NewGate()
	// Another transaction holds the turn.
	release, err := g.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := g.Loop(ctx, 64, func() (bool, error) { return true, errConflict })
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Loop after cancel = %v, want context.Canceled", err)
	}
	release()
	if g.queued.Load() != 0 || len(g.turn) != 0 {
		t.Errorf("after Loop the gate is still held: queued %d, turn %d", g.queued.Load(), len(g.turn))
	}
}

// TestNewcomerWaitsForTheTurn checks that while a transaction holds the
// turn a new transaction's attempt does not run until the turn is given
// back, and that a holder that never gives it back delays others by MaxWait
// at most.
func TestNewcomerWaitsForTheTurn(t *testing.T) {
	g := NewGate()
	release, err := g.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan time.Time, 1)
	go g.Loop(t.Context(), 1, func() (bool, error) { ran <- time.Now(); return false, nil })
	select {
	case <-ran:
		t.Fatal("an attempt ran while another transaction held the turn")
	case <-time.After(MaxWait / 4):
	}
	released := time.Now()
	release()
	if at := <-ran; at.Before(released) {
		t.Errorf("the attempt ran before the turn was given back")
	}

	// A holder that never lets go.
	if _, err := g.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go g.Loop(t.Context(), 1, func() (bool, error) { ran <- time.Now(); return false, nil })
	select {
	case at := <-ran:
		if d := at.Sub(start); d < MaxWait/2 {
			t.Errorf("the attempt ran after %v, before MaxWait", d)
		}
	case <-time.After(10 * MaxWait):
		t.Fatal("a stuck holder blocked a newcomer for more than 10 x MaxWait")
	}
}
