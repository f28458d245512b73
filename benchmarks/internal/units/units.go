// Package units formats the rates and durations the benchmark programs
// print in their tables, so that httpload and etcdkvbench write them alike.
package units

import "fmt"

// Rate formats x operations per second: 1.23M, 45.6k, 7.89k or 123.
func Rate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.1fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.2fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// Nanos formats a duration of ns nanoseconds: 1.23 s, 4.56 ms, 7.8 µs or
// 90 ns.
func Nanos(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
