package vkv_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/vkvstore/vkv"
)

func ExampleStore_CompareAndSwap() {
	ctx := context.Background()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	v1, _ := s.CompareAndSwap(ctx, "config", 0, []byte("a")) // create only
	v2, _ := s.CompareAndSwap(ctx, "config", v1, []byte("b"))
	_, err = s.CompareAndSwap(ctx, "config", v1, []byte("c")) // stale version

	var ce *vkv.ConflictError
	if errors.As(err, &ce) {
		fmt.Printf("conflict on %s: expected %d, actual %d, current value %q\n",
			ce.Key, ce.Expected, ce.Actual, ce.Current.Value)
	}
	fmt.Println(v1, v2, errors.Is(err, vkv.ErrConflict))
	// Output:
	// conflict on config: expected 1, actual 2, current value "b"
	// 1 2 true
}

func ExampleStore_Update() {
	ctx := context.Background()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	s.Put(ctx, "alice", []byte("10"))
	s.Put(ctx, "bob", []byte("0"))

	// Move alice's balance to bob, atomically; both writes share a version.
	v, err := s.Update(ctx, func(tx vkv.Txn) error {
		a, err := tx.Get("alice")
		if err != nil {
			return err
		}
		if err := tx.Put("bob", a.Value); err != nil {
			return err
		}
		return tx.Put("alice", []byte("0"))
	})
	if err != nil {
		log.Fatal(err)
	}
	a, _ := s.Get(ctx, "alice")
	b, _ := s.Get(ctx, "bob")
	fmt.Println(v, a.Version == v, b.Version == v, string(b.Value))
	// Output: 3 true true 10
}

func ExampleStore_Update_expect() {
	ctx := context.Background()
	s, _ := vkv.Open("", &vkv.Options{InMemory: true})
	defer s.Close()
	s.Put(ctx, "a", []byte("1"))

	// Both conditions fail; the error lists both and nothing is written.
	_, err := s.Update(ctx, func(tx vkv.Txn) error {
		tx.Expect("a", 7)
		tx.Expect("b", 3)
		return tx.Put("c", []byte("x"))
	})
	var ce *vkv.ConflictError
	if errors.As(err, &ce) {
		for _, c := range ce.Conflicts {
			fmt.Printf("%s: expected %d, actual %d\n", c.Key, c.Expected, c.Actual)
		}
	}
	_, err = s.Get(ctx, "c")
	fmt.Println(errors.Is(err, vkv.ErrNotFound))
	// Output:
	// a: expected 7, actual 1
	// b: expected 3, actual 0
	// true
}

func ExampleStore_History() {
	ctx := context.Background()
	s, _ := vkv.Open("", &vkv.Options{InMemory: true})
	defer s.Close()
	s.Put(ctx, "k", []byte("one"))
	v2, _ := s.Put(ctx, "k", []byte("two"))
	s.Delete(ctx, "k")

	h, _ := s.History(ctx, "k", 0)
	for _, e := range h {
		fmt.Printf("%d deleted=%v %q\n", e.Version, e.Deleted, e.Value)
	}
	old, _ := s.GetAt(ctx, "k", v2)
	fmt.Println(string(old.Value))
	// Output:
	// 3 deleted=true ""
	// 2 deleted=false "two"
	// 1 deleted=false "one"
	// two
}

func ExampleStore_List() {
	ctx := context.Background()
	s, _ := vkv.Open("", &vkv.Options{InMemory: true})
	defer s.Close()
	for _, k := range []string{"users/3", "users/1", "users/2", "groups/1"} {
		s.Put(ctx, k, nil)
	}
	page, err := s.List(ctx, "users/", "", 2)
	for err == nil {
		for _, e := range page.Entries {
			fmt.Println(e.Key)
		}
		if page.Next == "" {
			break
		}
		s.Delete(ctx, "users/3") // the following pages still see it:
		page, err = s.ListAt(ctx, "users/", page.Next, 2, page.Version)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listed at version", page.Version)
	// Output:
	// users/1
	// users/2
	// users/3
	// listed at version 4
}

func ExampleTxn_List() {
	ctx := context.Background()
	s, _ := vkv.Open("", &vkv.Options{InMemory: true})
	defer s.Close()
	// Create a job only if no job exists under jobs/: the range the List
	// read is a condition of the commit, so two such transactions never
	// both create one.
	create := func(id string) (bool, error) {
		created := false
		_, err := s.Update(ctx, func(tx vkv.Txn) error {
			page, err := tx.List("jobs/", "", 1)
			if err != nil || len(page.Entries) > 0 {
				created = false
				return err
			}
			created = true
			return tx.Put("jobs/"+id, nil)
		})
		return created, err
	}
	fmt.Println(create("a"))
	fmt.Println(create("b"))
	// Output:
	// true <nil>
	// false <nil>
}

func ExampleParseETag() {
	v, err := vkv.ParseETag(`"42"`)
	fmt.Println(v, err, v.ETag())
	_, err = vkv.ParseETag(`W/"42"`)
	fmt.Println(errors.Is(err, vkv.ErrInvalidVersion))
	// Output:
	// 42 <nil> "42"
	// true
}
