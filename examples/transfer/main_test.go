package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vkvstore/vkv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openStore opens a store in a temporary directory, closed when the test
// ends.
func openStore(t *testing.T) *vkv.Store {
	t.Helper()
	s, err := vkv.Open(t.TempDir(), &vkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return s
}

func mustBalances(t *testing.T, kv vkv.KV, accounts ...string) map[string]int64 {
	t.Helper()
	b, err := balances(context.Background(), kv, accounts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConcurrentTransfersKeepTotal: under concurrent transfers every audit
// sums to the same total, no balance goes negative, and every applied
// transfer is recorded.
func TestConcurrentTransfersKeepTotal(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	accounts := []string{"a", "b", "c", "d", "e", "f"}
	if err := open(ctx, s, accounts, 100); err != nil {
		t.Fatal(err)
	}
	var st stats
	if err := simulate(ctx, s, accounts, 8, 60, 600, "test", &st); err != nil {
		t.Fatal(err)
	}
	if st.applied.Load() == 0 || st.audits.Load() == 0 {
		t.Fatalf("%d transfers applied and %d audits: the test tested nothing", st.applied.Load(), st.audits.Load())
	}
	b := mustBalances(t, s, accounts...)
	if sum(b) != 600 {
		t.Fatalf("total %d, want 600: %v", sum(b), b)
	}
	for a, n := range b {
		if n < 0 {
			t.Errorf("account %s is at %d", a, n)
		}
	}
	lr, err := s.List(ctx, transferPrefix, "", vkv.MaxListLimit)
	records := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(records)) != st.applied.Load() {
		t.Fatalf("%d transfer records, %d transfers applied", len(records), st.applied.Load())
	}
}

// TestRefusedTransfersWriteNothing: a transfer that fails its checks
// changes nothing in the store, not even its version.
func TestRefusedTransfersWriteNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := open(ctx, s, []string{"a", "b"}, 100); err != nil {
		t.Fatal(err)
	}
	before, err := s.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, from, to string
		amount       int64
		want         error
	}{
		{"t1", "a", "b", 101, errInsufficientFunds},
		{"t2", "a", "nobody", 1, errUnknownAccount},
		{"t3", "nobody", "a", 1, errUnknownAccount},
		{"t4", "a", "a", 1, errInvalidTransfer},
		{"t5", "a", "b", 0, errInvalidTransfer},
		{"", "a", "b", 1, errInvalidTransfer},
	} {
		if _, err := transfer(ctx, s, tc.id, tc.from, tc.to, tc.amount); !errors.Is(err, tc.want) {
			t.Errorf("transfer(%q, %s -> %s, %d): %v, want %v", tc.id, tc.from, tc.to, tc.amount, err, tc.want)
		}
	}
	after, err := s.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the store went from version %d to %d", before, after)
	}
	if diff := cmp.Diff(map[string]int64{"a": 100, "b": 100}, mustBalances(t, s, "a", "b")); diff != "" {
		t.Errorf("balances (-want +got):\n%s", diff)
	}
	if err := open(ctx, s, []string{"b"}, 5); !errors.Is(err, vkv.ErrConflict) {
		t.Errorf("opening an account twice: %v, want a conflict", err)
	}
}

// TestRetriedTransferAppliesOnce: the same id twice moves the money once
// and reports the first version; the id with another transfer is refused.
func TestRetriedTransferAppliesOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := open(ctx, s, []string{"a", "b"}, 100); err != nil {
		t.Fatal(err)
	}
	v1, err := transfer(ctx, s, "t1", "a", "b", 30)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := transfer(ctx, s, "t1", "a", "b", 30)
	if err != nil || v2 != v1 {
		t.Fatalf("retry: version %d, %v; want %d, nil", v2, err, v1)
	}
	if _, err := transfer(ctx, s, "t1", "a", "b", 31); !errors.Is(err, errIDReused) {
		t.Fatalf("another transfer under the same id: %v, want errIDReused", err)
	}
	if diff := cmp.Diff(map[string]int64{"a": 70, "b": 130}, mustBalances(t, s, "a", "b")); diff != "" {
		t.Errorf("balances (-want +got):\n%s", diff)
	}
	// Both balances and the record were written at one version.
	for _, key := range []string{accountPrefix + "a", accountPrefix + "b", transferPrefix + "t1"} {
		if e, err := s.Get(ctx, key); err != nil || e.Version != v1 {
			t.Errorf("%s: version %d, %v; want %d", key, e.Version, err, v1)
		}
	}
}

// TestRun runs the command with small numbers, twice on one directory: the
// second run goes on with the accounts of the first.
func TestRun(t *testing.T) {
	args := []string{"-accounts", "4", "-workers", "4", "-transfers", "30", "-dir", t.TempDir()}
	for i, first := range []string{"4 accounts with 1000 each: 4000 in total", "4 accounts already there: 4000 in total"} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		for _, want := range []string{
			first,
			"transfer demo-1 retried -> version 2 again",
			fmt.Sprintf("-> %v", errInsufficientFunds),
			"total 4000\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output of run %d lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
}
