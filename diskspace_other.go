//go:build !linux

package vkv

// freeBytes is not implemented here: the free-space guard is off.
func freeBytes(dir string) (int64, bool) { return 0, false }
