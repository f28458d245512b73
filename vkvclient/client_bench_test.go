package vkvclient_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkvstore/vkv"
)

// The benchmarks measure one call over loopback HTTP to httpapi over an
// in-memory store: the cost the client and the server add to the store.

// BenchmarkEmbeddedPut is BenchmarkPut without HTTP, for comparison.
func BenchmarkEmbeddedPut(b *testing.B) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	val := make([]byte, 128)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Put(b.Context(), fmt.Sprintf("k%d", i%1000), val); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	c := serveTB(b)
	val := make([]byte, 128)
	for i := 0; b.Loop(); i++ {
		if _, err := c.Put(b.Context(), fmt.Sprintf("k%d", i%1000), val); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	c := serveTB(b)
	if _, err := c.Put(b.Context(), "k", make([]byte, 128)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Get(b.Context(), "k"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateIncrement(b *testing.B) {
	c := serveTB(b)
	for b.Loop() {
		_, err := c.Update(b.Context(), func(tx vkv.Txn) error {
			e, err := tx.Get("counter")
			if err != nil && !errors.Is(err, vkv.ErrNotFound) {
				return err
			}
			return tx.Put("counter", append(e.Value, 'x')[:1])
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutParallel(b *testing.B) {
	c := serveTB(b)
	val := make([]byte, 128)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := c.Put(b.Context(), fmt.Sprintf("k%d", i%1000), val); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
