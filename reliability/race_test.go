//go:build race

package reliability_test

// raceEnabled is true when the tests run under the race detector, which
// makes them several times slower; the histories are scaled down then.
const raceEnabled = true
