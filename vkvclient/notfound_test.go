package vkvclient_test

import (
	"errors"
	"testing"

	"github.com/vkvstore/vkv"
)

// TestNotFoundNamesTheKey: over HTTP too, a 404 becomes an error that
// names the key and matches vkv.ErrNotFound, as the embedded store's does.
func TestNotFoundNamesTheKey(t *testing.T) {
	c := serve(t)
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := c.Get(ctx, "users/42"); return err },
		"Delete": func() error { _, err := c.Delete(ctx, "users/42"); return err },
	} {
		err := call()
		var nf *vkv.NotFoundError
		if !errors.Is(err, vkv.ErrNotFound) || !errors.As(err, &nf) || err.Error() != `vkv: key "users/42" not found` {
			t.Errorf("%s of an absent key: %v, want vkv: key \"users/42\" not found, matching vkv.ErrNotFound", name, err)
		}
	}
}
