package vkv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkvstore/vkv"
)

// TestErrorsNameTheKey: a missing key and a version past the store say
// which, and still match the sentinels.
func TestErrorsNameTheKey(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	v, err := s.Put(ctx, "users/1", []byte("Ada"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 100)
	for _, c := range []struct {
		name, reason string
		call         func() error
		want         string
	}{
		{"Get", "an absent key is named", func() error { _, err := s.Get(ctx, "users/42"); return err }, `vkv: key "users/42" not found`},
		{"Get long", "a long key is cut to 64 bytes, as in *KeyError", func() error { _, err := s.Get(ctx, long); return err }, `vkv: key "` + long[:64] + `" not found`},
		{"GetAt", "absent at a version", func() error { _, err := s.GetAt(ctx, "users/42", v); return err }, `vkv: key "users/42" not found`},
		{"Delete", "deleting an absent key", func() error { _, err := s.Delete(ctx, "users/42"); return err }, `vkv: key "users/42" not found`},
		{"Txn.Get", "inside a transaction", func() error {
			_, err := s.Update(ctx, func(tx vkv.Txn) error { _, err := tx.Get("users/42"); return err })
			return err
		}, `vkv: key "users/42" not found`},
	} {
		err := c.call()
		var nf *vkv.NotFoundError
		if !errors.Is(err, vkv.ErrNotFound) || !errors.As(err, &nf) || err.Error() != c.want {
			t.Errorf("%s (%s): %v, want %q matching vkv.ErrNotFound and *vkv.NotFoundError", c.name, c.reason, err, c.want)
		}
	}

	_, err = s.GetAt(ctx, "users/1", 999999)
	var fe *vkv.FutureVersionError
	if !errors.Is(err, vkv.ErrFutureVersion) || !errors.As(err, &fe) || fe.Newest != v || fe.Requested != 999999 {
		t.Fatalf("GetAt(999999): %v, want a *vkv.FutureVersionError naming version %d", err, v)
	}
	if want := "vkv: version 999999 is newer than the store, which is at version 1"; err.Error() != want {
		t.Errorf("GetAt(999999): %q, want %q", err, want)
	}
}
