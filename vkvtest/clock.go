package vkvtest

import (
	"sync"
	"time"

	"github.com/vkvstore/vkv"
)

// FakeClock is a vkv.Clock whose time moves only when Advance is called, for
// tests of TTLs, locks and watches that would otherwise sleep. Give it to a
// store as vkv.Options.Clock (and to a vkvclient.Client with
// vkvclient.WithClock, so that the client judges expiry on the same clock).
// It lives here rather than in an internal package so that tests outside
// this module (of code built on vkv, or of other backends run through the
// suite) can use it too.
//
// A FakeClock is safe for concurrent use. Its zero value is not usable; use
// NewFakeClock.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeCall
}

// fakeCall is one function waiting in CallAt.
type fakeCall struct {
	at time.Time
	f  func()
}

var _ vkv.Clock = (*FakeClock)(nil)

// NewFakeClock returns a FakeClock that reads start until it is advanced.
// The monotonic clock reading of start, if any, is dropped.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start.Round(0)}
}

// Now returns the clock's current time: start plus every Advance so far.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// CallAt arranges for f to be called in its own goroutine once the clock
// reads t or later: at once if it already does, else during the Advance
// that reaches t. stop cancels the call if it has not been started and
// reports whether it cancelled it.
func (c *FakeClock) CallAt(t time.Time, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := &fakeCall{at: t, f: f}
	if !t.After(c.now) {
		go f()
		return func() bool { return false }
	}
	c.pending = append(c.pending, call)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, p := range c.pending {
			if p == call {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Advance moves the clock forward by d (d <= 0 is a no-op) and starts, each
// in its own goroutine, the functions of CallAt that are then due. It does
// not wait for them to finish: a test waits for their effect (such as an
// expired key's tombstone) itself.
func (c *FakeClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeCall
	kept := c.pending[:0]
	for _, p := range c.pending {
		if p.at.After(c.now) {
			kept = append(kept, p)
		} else {
			due = append(due, p)
		}
	}
	clear(c.pending[len(kept):])
	c.pending = kept
	c.mu.Unlock()
	for _, p := range due {
		go p.f()
	}
}
