package vkv_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
)

// TestUpdateManyKeysReadAndWritten checks a transaction that reads and then
// writes more keys than the committer scans (it indexes them past 16): each
// key keeps its own CreateVersion and takes its own new value.
func TestUpdateManyKeysReadAndWritten(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir(), &vkv.Options{NoSync: true})
	const n = 40
	key := func(i int) string { return fmt.Sprintf("many/%02d", i) }
	created := map[string]vkv.Version{}
	for i := range n {
		v, err := s.Put(ctx, key(i), []byte("old"))
		if err != nil {
			t.Fatal(err)
		}
		created[key(i)] = v
	}
	update := func() (vkv.Version, error) {
		return s.Update(ctx, func(tx vkv.Txn) error {
			for i := range n {
				e, err := tx.Get(key(i))
				if err != nil {
					return err
				}
				if err := tx.Put(key(i), append(e.Value, []byte("+"+key(i))...)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	v, err := update()
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[string]string{}, map[string]string{}
	for i := range n {
		e, err := s.Get(ctx, key(i))
		if err != nil {
			t.Fatal(err)
		}
		want[key(i)] = fmt.Sprintf("old+%s v%d created %d", key(i), v, created[key(i)])
		got[key(i)] = fmt.Sprintf("%s v%d created %d", e.Value, e.Version, e.CreateVersion)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after one Update of %d keys (-want +got):\n%s", n, diff)
	}

}
