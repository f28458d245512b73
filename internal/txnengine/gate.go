// Package txnengine holds the parts of a read-modify-write transaction that
// do not depend on the backend: the loop that reruns a transaction's
// function when a key it read changed, with its progress guarantee.
//
// Both the embedded store (package vkv) and the HTTP client (vkvclient) run
// Update through Loop, so that contention behaves the same on both.
package txnengine

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Tuning of the loop.
const (
	// PriorityAfter is how many optimistic attempts a transaction makes
	// before it asks for priority (Gate.acquire): after that many lost
	// races it stops competing on equal terms.
	PriorityAfter = 3

	// MaxWait bounds how long a transaction that has not lost yet waits
	// for the turn. It matters when the queue is long or the holder is
	// stuck, for example in a function that itself calls Update on the same
	// KV and so waits for the turn its caller holds.
	MaxWait = 100 * time.Millisecond
)

// Gate orders the transactions of one KV under contention. It is a turn
// that only contended transactions take:
//
//   - With nobody waiting for the turn, a transaction runs optimistically:
//     it reads, runs its function and commits with the versions it read as
//     conditions, and reruns when one changed.
//   - A transaction that lost PriorityAfter times asks for the turn and
//     keeps it until it finishes. While it holds it nobody else is queued
//     behind it to win, so it wins within an attempt or two (only attempts
//     already in flight and writes outside Update can still beat it).
//   - While anybody holds or waits for the turn, new transactions queue for
//     it as well, up to MaxWait, instead of racing: under contention each
//     commits in its turn and no attempt is wasted.
//
// Turns are given in the order they were asked for (a channel's blocked
// senders are served first in, first out), so every transaction that asks
// gets one.
//
// The gate orders one process's transactions on one KV value: a Store, or
// a vkvclient.Client. Writers in other processes (other clients of the
// same server) are not held back by it; against them a transaction relies
// on the randomised backoff and the attempt bound.
//
// The zero Gate is not usable; use NewGate. A Gate is safe for concurrent
// use.
type Gate struct {
	turn   chan struct{} // holds a token while a transaction has the turn
	queued atomic.Int64  // transactions holding or waiting for the turn
}

// NewGate returns a gate nobody holds.
func NewGate() *Gate { return &Gate{turn: make(chan struct{}, 1)} }

// wait is called before an optimistic attempt. With nobody holding or
// waiting for the turn it returns at once, with release nil. Otherwise it
// waits for the turn, up to MaxWait: release is then non-nil if it got it,
// and nil if MaxWait passed (the attempt runs anyway).
func (g *Gate) wait(ctx context.Context) (release func(), err error) {
	if g.queued.Load() == 0 {
		return nil, ctx.Err()
	}
	g.queued.Add(1)
	t := time.NewTimer(MaxWait)
	defer t.Stop()
	select {
	case g.turn <- struct{}{}:
		return g.release, nil
	case <-t.C:
		g.queued.Add(-1)
		return nil, nil
	case <-ctx.Done():
		g.queued.Add(-1)
		return nil, ctx.Err()
	}
}

// acquire waits for the turn, as long as ctx allows.
func (g *Gate) acquire(ctx context.Context) (release func(), err error) {
	g.queued.Add(1)
	select {
	case g.turn <- struct{}{}:
		return g.release, nil
	case <-ctx.Done():
		g.queued.Add(-1)
		return nil, ctx.Err()
	}
}

// release gives the turn back.
func (g *Gate) release() {
	<-g.turn
	g.queued.Add(-1)
}

// Attempt is one run of a transaction: it runs the function and commits.
// It returns rerun true (with the conflict as err) when a key the function
// read changed before the commit, so that running the function again may
// succeed; any other outcome (success with err nil, or a final error) ends
// the loop.
type Attempt func() (rerun bool, err error)

// Loop runs attempt until it succeeds, fails for good, or has run
// maxAttempts times, and returns how many times it ran. When the bound is
// reached, err is the last conflict and gaveUp is true. ctx's error is
// returned when ctx ends between attempts.
//
// The first attempt runs at once; a rerun waits a random time below the
// duration of the attempt that failed (contenders spread out over about one
// commit's time, whatever the backend's speed); from the PriorityAfter-th
// failure on, the transaction holds the gate until it finishes.
func (g *Gate) Loop(ctx context.Context, maxAttempts int, attempt Attempt) (runs int, gaveUp bool, err error) {
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for runs = 1; ; runs++ {
		if release == nil {
			if release, err = g.wait(ctx); err != nil {
				return runs - 1, false, err
			}
		}
		start := time.Now()
		rerun, err := attempt()
		if !rerun {
			return runs, false, err
		}
		if runs >= maxAttempts {
			return runs, true, err
		}
		if release == nil && runs >= PriorityAfter {
			if release, err = g.acquire(ctx); err != nil {
				return runs, false, err
			}
			continue // the gate is the wait
		}
		if runs > 1 {
			if err := sleep(ctx, time.Duration(rand.Int64N(int64(time.Since(start))+1))); err != nil {
				return runs, false, err
			}
		} else if err := ctx.Err(); err != nil {
			return runs, false, err
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
