package vkv_test

import (
	"fmt"
	"testing"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvtest"
)

// TestUpdateContention has 2, 8 and 64 goroutines each increment one key 500
// times through Store.Update: no Update may give up, and the counter must be
// exact. The runs per function are logged.
func TestUpdateContention(t *testing.T) {
	for _, g := range []int{2, 8, 64} {
		t.Run(fmt.Sprintf("goroutines=%d", g), func(t *testing.T) {
			s, err := vkv.Open("", &vkv.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			t.Log(vkvtest.CheckUpdateContention(t, s, "ctr", g, 500))
		})
	}
}
