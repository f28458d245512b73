package vkv

import "time"

// Clock is the store's source of time: the time at which TTLs start and
// expired keys stop being visible, the reaper's schedule, and the interval
// of the free-space check all come from it. Set Options.Clock to a fake
// clock to test TTLs, locks and watches without sleeping; the default is
// the system clock.
//
// A Clock must be safe for concurrent use, and its time must not go
// backwards: the store orders expiries by it.
//
// Not everything that waits goes through the Clock: network and context
// deadlines, the short back-off between retries of Store.Update, and the
// intervals of the background history compaction and value-log garbage
// collection run on real time (they pace work; they decide nothing a caller
// can observe, and Store.Compact runs a compaction on demand).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// CallAt arranges for f to be called in its own goroutine once the
	// clock reads t or later (at once if it already does). The returned
	// stop cancels the call if it has not started yet and reports whether
	// it did; f may still run after stop returns false. f must not block.
	CallAt(t time.Time, f func()) (stop func() bool)
}

// systemClock is the default Clock: the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) CallAt(t time.Time, f func()) func() bool {
	return time.AfterFunc(time.Until(t), f).Stop
}

// SystemClock is the Clock of the time package, the default of every
// backend that takes a Clock.
var SystemClock Clock = systemClock{}
